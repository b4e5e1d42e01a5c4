"""Sparse COO tensors (torchsorflow/sparse.py) against PyTorch: construction, coalescing,
conversions both ways, products with either operand sparse and their gradients."""
import numpy as np
import pytest

import torchsorflow as tsf

torch = pytest.importorskip("torch")

INDICES = [[0, 1, 1, 2, 1], [1, 0, 3, 2, 0]]
VALUES = [1.0, 2.0, 3.0, 4.0, 5.0]


def _pair(values=VALUES, requires_grad=False):
    ours = tsf.sparse_coo_tensor(INDICES, values, (3, 4), requires_grad=requires_grad)
    theirs = torch.sparse_coo_tensor(INDICES, values, (3, 4), requires_grad=requires_grad)
    return ours, theirs


def test_construction_coalescing_and_conversions_match_torch():
    ours, theirs = _pair()
    assert ours.is_sparse and ours.layout == tsf.sparse_coo and tsf.ones(1).layout == tsf.strided
    assert ours.shape == tuple(theirs.shape) and ours._nnz() == theirs._nnz() == 5
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())
    oc, tc = ours.coalesce(), theirs.coalesce()
    np.testing.assert_array_equal(oc.indices().numpy(), tc.indices().numpy())
    np.testing.assert_array_equal(oc.values().numpy(), tc.values().numpy())
    assert oc.is_coalesced() and not ours.is_coalesced()
    with pytest.raises(RuntimeError, match="Cannot get indices on an uncoalesced tensor"):
        ours.indices()
    dense = np.array([[0.0, 1.5, 0.0], [0.0, 0.0, -2.0]])
    back = tsf.tensor(dense).to_sparse()
    np.testing.assert_array_equal(back.indices().numpy(),
                                  torch.tensor(dense).to_sparse().indices().numpy())
    np.testing.assert_array_equal(back.to_dense().numpy(), dense)
    assert tsf.tensor(dense).to_dense() is not None and not tsf.tensor(dense).is_sparse
    inferred = tsf.sparse_coo_tensor(INDICES, VALUES)
    assert inferred.shape == tuple(torch.sparse_coo_tensor(INDICES, VALUES).shape)


def test_hybrid_values_and_sum():
    values = np.arange(10.0).reshape(5, 2)
    ours = tsf.sparse_coo_tensor(INDICES, values, (3, 4, 2))
    theirs = torch.sparse_coo_tensor(INDICES, values, (3, 4, 2))
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())
    assert tsf.sparse.sum(ours).item() == torch.sparse.sum(theirs).item()
    np.testing.assert_array_equal(tsf.sparse.sum(ours, (0, 1)).numpy(),
                                  torch.sparse.sum(theirs, (0, 1)).numpy())
    partial = tsf.sparse.sum(ours, 0)
    assert partial.is_sparse
    np.testing.assert_array_equal(partial.to_dense().numpy(),
                                  torch.sparse.sum(theirs, 0).to_dense().numpy())


@pytest.mark.parametrize("form", ["sparse.mm", "spmm", "mm", "matmul", "@", "method"])
def test_sparse_times_dense_and_its_gradients(form):
    rng = np.random.default_rng(0)
    d = rng.standard_normal((4, 3)).astype(np.float32)
    ours, theirs = _pair(requires_grad=True)
    od, td = tsf.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    call = {"sparse.mm": lambda lib, s, x: lib.sparse.mm(s, x),
            "spmm": lambda lib, s, x: lib.spmm(s, x), "mm": lambda lib, s, x: lib.mm(s, x),
            "matmul": lambda lib, s, x: lib.matmul(s, x), "@": lambda lib, s, x: s @ x,
            "method": lambda lib, s, x: s.mm(x)}[form]
    out_o, out_t = call(tsf, ours, od), call(torch, theirs, td)
    np.testing.assert_allclose(out_o.numpy(), out_t.detach().numpy(), rtol=1e-6)
    weights = rng.standard_normal((3, 3)).astype(np.float32)
    (out_o * tsf.tensor(weights)).sum().backward()
    (out_t * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(od.grad.numpy(), td.grad.numpy(), rtol=1e-6)
    assert ours.grad.is_sparse
    # the gradient reaches the stored entries (torch.sparse.mm's rule; torch.mm's gradient
    # is dense, so it is compared on the stored coordinates)
    pattern = theirs.detach().coalesce().to_dense().numpy() != 0
    np.testing.assert_allclose(ours.grad.to_dense().numpy(),
                               theirs.grad.to_dense().numpy() * pattern, rtol=1e-6)


def test_dense_times_sparse_vectors_and_sparse_times_sparse():
    rng = np.random.default_rng(1)
    ours, theirs = _pair()
    d = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose((tsf.tensor(d) @ ours).numpy(),
                               (torch.tensor(d) @ theirs).numpy(), rtol=1e-6)
    v = rng.standard_normal(4).astype(np.float32)
    np.testing.assert_allclose(tsf.sparse.mm(ours, tsf.tensor(v)).numpy(),
                               (theirs.to_dense() @ torch.tensor(v)).numpy(), rtol=1e-6)
    product = tsf.sparse.mm(ours, ours.t())
    assert product.is_sparse
    np.testing.assert_allclose(product.to_dense().numpy(),
                               torch.sparse.mm(theirs, theirs.t()).to_dense().numpy())
    with pytest.raises(NotImplementedError, match="sparse.mm\\(sparse, sparse\\): gradients"):
        tsf.sparse.mm(tsf.sparse_coo_tensor(INDICES, VALUES, (3, 4), requires_grad=True),
                      ours.t())


def test_gradients_through_to_dense_and_to_sparse():
    x = tsf.tensor([[0.0, 2.0], [3.0, 0.0]], requires_grad=True)
    s = x.to_sparse()
    (s.to_dense() * tsf.tensor([[5.0, 7.0], [11.0, 13.0]])).sum().backward()
    assert x.grad.tolist() == [[0.0, 7.0], [11.0, 0.0]]  # only the stored entries


def test_bad_input_is_named():
    with pytest.raises(RuntimeError, match="size is inconsistent with indices: for dim 0, size "
                                           "is 2 but found index 2"):
        tsf.sparse_coo_tensor(INDICES, VALUES, (2, 4))
    with pytest.raises(RuntimeError, match="indices must be sparse_dim x nnz"):
        tsf.sparse_coo_tensor([0, 1], [1.0, 2.0], (2,))
    ours, _ = _pair()
    with pytest.raises(RuntimeError, match=r"mm: mat1 and mat2 shapes cannot be multiplied "
                                           r"\(3x4 and 3x2\)"):
        tsf.sparse.mm(ours, tsf.ones(3, 2))
    with pytest.raises(RuntimeError, match="expected mat1 and mat2 to have the same dtype"):
        tsf.sparse.mm(ours, tsf.ones(4, 2, dtype=tsf.float64))
    with pytest.raises(NotImplementedError, match="only multiplication by a scalar"):
        ours * tsf.ones(3, 4)
