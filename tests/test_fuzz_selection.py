"""Differential fuzzing against PyTorch of sorting and selection (ops/sorting.py) and of the
scatter and index families (ops/indexing.py): ties and the stable order, repeated indices,
random shapes and dimensions; values exactly, gradients in both modes where torch has them."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import strategies as st  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from fuzz_support import (compare, forward_only, fuzz, nonscalar_shapes, seeds, ties,  # noqa: E402
                          values)


def _same(ours, theirs):
    np.testing.assert_array_equal(np.asarray(ours.numpy()), theirs.numpy())


@fuzz(200, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_stable_sort_and_argsort_match_torch_exactly_with_ties_and_nan(shape, seed, data):
    rng = np.random.default_rng(seed)
    x = ties(shape, rng, 3, 0.1)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    descending = data.draw(st.booleans())
    ours = tsf.sort(tsf.tensor(x), dim, descending, stable=True)
    theirs = torch.sort(torch.tensor(x), dim=dim, descending=descending, stable=True)
    _same(ours.values, theirs.values)
    _same(ours.indices, theirs.indices)
    _same(tsf.tensor(x).argsort(dim, descending, stable=True),
          torch.tensor(x).argsort(dim=dim, descending=descending, stable=True))
    _same(tsf.msort(tsf.tensor(x)), torch.msort(torch.tensor(x)))
    compare(lambda t: tsf.sort(t, dim, descending, stable=True).values,
            lambda t: torch.sort(t, dim=dim, descending=descending, stable=True).values,
            [np.nan_to_num(x, nan=7.0)], rng)


@fuzz(200, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_topk(shape, seed, data):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(0, shape[dim]))
    largest = data.draw(st.booleans())
    x = ties(shape, rng, 3, 0.1)
    ours = tsf.topk(tsf.tensor(x), k, dim, largest)
    theirs = torch.topk(torch.tensor(x), k, dim, largest)
    _same(ours.values, theirs.values)  # ties may come with other (equally valid) indices
    np.testing.assert_array_equal(np.take_along_axis(x, ours.indices.numpy(), dim),
                                  ours.values.numpy())
    distinct = values("normal", shape, rng)
    compare(lambda t: tsf.topk(t, k, dim, largest).values,
            lambda t: torch.topk(t, k, dim, largest).values, [distinct], rng)
    _same(tsf.topk(tsf.tensor(distinct), k, dim, largest).indices,
          torch.topk(torch.tensor(distinct), k, dim, largest).indices)


@st.composite
def scatter_cases(draw):
    shape = draw(nonscalar_shapes)
    dim = draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(draw(st.integers(1, n)) if k != dim else draw(st.integers(1, 5))
                        for k, n in enumerate(shape))
    return shape, dim, index_shape


@fuzz(200, case=scatter_cases(), seed=seeds)
def test_scatter_add_and_scatter_with_repeated_indices(case, seed):
    shape, dim, index_shape = case
    rng = np.random.default_rng(seed)
    index = rng.integers(0, shape[dim], index_shape)
    x, src = values("normal", shape, rng), values("normal", index_shape, rng)
    compare(lambda a, s: tsf.scatter_add(a, dim, index, s),
            lambda a, s: torch.scatter_add(a, dim, torch.tensor(index), s), [x, src], rng)
    # the last write wins in both; the gradient of src is the cotangent gathered (torch's rule)
    compare(lambda a, s: tsf.scatter(a, dim, index, s),
            lambda a, s: torch.scatter(a, dim, torch.tensor(index), s), [x, src], rng,
            modes=("rev",))
    compare(lambda a: a.scatter(dim, index, -1.5),
            lambda a: a.scatter(dim, torch.tensor(index), -1.5), [x], rng)


@fuzz(250, case=scatter_cases(), seed=seeds,
      reduce=st.sampled_from(["sum", "prod", "mean", "amax", "amin"]),
      include_self=st.booleans())
def test_scatter_reduce(case, seed, reduce, include_self):
    shape, dim, index_shape = case
    rng = np.random.default_rng(seed)
    index = rng.integers(0, shape[dim], index_shape)
    x, src = values("normal", shape, rng), values("normal", index_shape, rng)
    if reduce == "prod":  # zeros: the exclusive products must be exact
        src = np.where(rng.random(index_shape) < 0.3, 0.0, src)
    compare(lambda a, s: tsf.scatter_reduce(a, dim, index, s, reduce, include_self=include_self),
            lambda a, s: torch.scatter_reduce(a, dim, torch.tensor(index), s, reduce,
                                              include_self=include_self),
            [x, src], rng, modes=("rev",))


def test_scatter_reduce_prod_second_derivatives_with_zeros():
    """Hessian-vector products of a prod-reduction with a zero, against PyTorch's; with two
    zeros in one target (which PyTorch refuses), against finite differences."""
    index = np.array([0, 1, 0, 0, 1])
    x, src = np.array([2.0, -1.0]), np.array([0.0, 3.0, 1.5, 0.7, 0.5])
    v = np.array([0.3, -0.7, 1.1, 0.2, -0.4])
    weights = np.array([1.3, -0.6])

    def loss(lib, s):
        out = lib.scatter_reduce(lib.tensor(x), 0, lib.tensor(index), s, "prod")
        return (out * lib.tensor(weights)).sum()
    ours = tsf.func.hvp(lambda s: loss(tsf, s), tsf.tensor(src), tsf.tensor(v))
    _, theirs = torch.autograd.functional.hvp(lambda s: loss(torch, s), torch.tensor(src),
                                              torch.tensor(v))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    two_zeros = np.array([0.0, 3.0, 1.5, 0.0, 0.5])
    tsf.autodiff.check_grads(lambda s: tsf.scatter_reduce(tsf.tensor(x), 0, index, s, "prod"),
                             [two_zeros], order=2)


@fuzz(150, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_index_family(shape, seed, data):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    x = values("normal", shape, rng)
    picks = rng.integers(0, n, data.draw(st.integers(0, 5)))
    compare(lambda a: tsf.index_select(a, dim, picks),
            lambda a: torch.index_select(a, dim, torch.tensor(picks)), [x], rng)
    source_shape = list(shape)
    source_shape[dim] = len(picks)
    source = values("normal", tuple(source_shape), rng)
    compare(lambda a, s: tsf.index_add(a, dim, picks, s, alpha=-2.0),
            lambda a, s: torch.index_add(a, dim, torch.tensor(picks), s, alpha=-2.0),
            [x, source], rng)
    unique = rng.permutation(n)[:len(picks) if len(picks) <= n else n]
    source_shape[dim] = len(unique)
    source = values("normal", tuple(source_shape), rng)
    compare(lambda a, s: tsf.index_copy(a, dim, unique, s),
            lambda a, s: torch.index_copy(a, dim, torch.tensor(unique), s), [x, source], rng)
    compare(lambda a: tsf.index_fill(a, dim, picks, 0.25),
            lambda a: torch.index_fill(a, dim, torch.tensor(picks), 0.25), [x], rng)


@fuzz(150, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_masks_and_flat_indices(shape, seed, data):
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    mask = rng.random(shape) < 0.5
    mask_row = mask[..., :1] if data.draw(st.booleans()) else mask  # broadcasting
    compare(lambda a: tsf.masked_select(a, tsf.tensor(mask_row)),
            lambda a: torch.masked_select(a, torch.tensor(mask_row)), [x], rng)
    source = values("normal", (x.size + 2,), rng)
    compare(lambda a, s: tsf.masked_scatter(a, tsf.tensor(mask), s),
            lambda a, s: torch.masked_scatter(a, torch.tensor(mask), s), [x, source], rng,
            modes=("rev",))
    flat = rng.integers(-x.size, x.size, data.draw(st.sampled_from([(3,), (2, 2), ()])))
    compare(lambda a: tsf.take(a, flat), lambda a: torch.take(a, torch.tensor(flat)), [x], rng)
    accumulate = data.draw(st.booleans())
    where = flat.reshape(-1) if accumulate else np.unique(flat.reshape(-1) % x.size)
    put_values = values("normal", where.shape, rng)
    compare(lambda a, v: tsf.put(a, where, v, accumulate),
            lambda a, v: torch.put(a, torch.tensor(where), v, accumulate), [x, put_values], rng)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    index = rng.integers(0, shape[dim], shape[:dim % len(shape)] + (2,)
                         + shape[dim % len(shape) + 1:])
    compare(lambda a: tsf.take_along_dim(a, tsf.tensor(index), dim),
            lambda a: torch.take_along_dim(a, torch.tensor(index), dim), [x], rng)
    compare(lambda a: tsf.take_along_dim(a, tsf.tensor(index)),
            lambda a: torch.take_along_dim(a, torch.tensor(index)), [x], rng)
    for as_tuple in (False, True):
        ours = tsf.nonzero(tsf.tensor(mask), as_tuple=as_tuple)
        theirs = torch.nonzero(torch.tensor(mask), as_tuple=as_tuple)
        for o, t in zip(ours if as_tuple else [ours], theirs if as_tuple else [theirs]):
            _same(o, t)
    _same(tsf.argwhere(tsf.tensor(x > 0)), torch.argwhere(torch.tensor(x > 0)))
    for o, t in zip(tsf.where(tsf.tensor(mask)), torch.where(torch.tensor(mask))):
        _same(o, t)


@fuzz(150, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_unique_and_unique_consecutive(shape, seed, data):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape)
    dim = data.draw(st.none() | st.integers(0, len(shape) - 1))
    for name in ("unique", "unique_consecutive"):
        ours = getattr(tsf, name)(tsf.tensor(x), return_inverse=True, return_counts=True,
                                  dim=dim)
        theirs = getattr(torch, name)(torch.tensor(x), return_inverse=True, return_counts=True,
                                      dim=dim)
        for o, t in zip(ours, theirs):
            _same(o, t)
    _same(tsf.unique(tsf.tensor(x)), torch.unique(torch.tensor(x)))


@fuzz(150, seed=seeds, data=st.data(), right=st.booleans())
def test_searchsorted_and_bucketize(seed, data, right):
    rng = np.random.default_rng(seed)
    lead = data.draw(st.sampled_from([(), (2,), (2, 3)]))
    sequence = np.sort(rng.integers(0, 6, lead + (data.draw(st.integers(0, 5)),)), -1)
    queries = rng.integers(-1, 7, lead + (4,)).astype(np.int64)
    _same(tsf.searchsorted(tsf.tensor(sequence), tsf.tensor(queries), right=right),
          torch.searchsorted(torch.tensor(sequence), torch.tensor(queries), right=right))
    if sequence.ndim == 1:
        _same(tsf.bucketize(tsf.tensor(queries), tsf.tensor(sequence), right=right),
              torch.bucketize(torch.tensor(queries), torch.tensor(sequence), right=right))
        _same(tsf.searchsorted(tsf.tensor(sequence), 3, side="right"),
              torch.searchsorted(torch.tensor(sequence), 3, side="right"))
        shuffled = rng.permutation(sequence)
        order = np.argsort(shuffled, kind="stable")
        _same(tsf.searchsorted(tsf.tensor(shuffled), tsf.tensor(queries),
                               sorter=tsf.tensor(order)),
              torch.searchsorted(torch.tensor(shuffled), torch.tensor(queries),
                                 sorter=torch.tensor(order)))


def test_errors_name_the_problem():
    x = tsf.zeros(2, 3)
    with pytest.raises(IndexError, match=r"index_select\(\): index 3 is out of bounds for "
                                         r"dimension 1 with size 3"):
        tsf.index_select(x, 1, tsf.tensor([0, 3]))
    with pytest.raises(IndexError, match=r"scatter\(\): index 5 is out of bounds"):
        tsf.scatter(x, 1, tsf.tensor([[5]]), 1.0)
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, "
                                           "amax or amin"):
        tsf.scatter_reduce(x, 1, tsf.tensor([[0]]), tsf.ones(1, 1), "max")
    with pytest.raises(RuntimeError, match="masked_select: expected a bool mask"):
        tsf.masked_select(x, tsf.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"masked_scatter: expected source to have at least 6"):
        tsf.masked_scatter(x, tsf.ones(2, 3, dtype=tsf.bool), tsf.ones(2))
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        tsf.searchsorted(tsf.tensor([1, 2]), tsf.tensor([1]), right=True, side="left")
    with pytest.raises(TypeError, match="where"):
        tsf.where(x > 0, x)


def test_forward_values_in_float32():
    rng = np.random.default_rng(0)
    x = values("normal", (3, 4), rng)
    forward_only(lambda a: tsf.sort(a, 1).values, lambda a: torch.sort(a, 1).values, [x])
    forward_only(lambda a: tsf.scatter_reduce(a, 1, np.array([[0, 0], [1, 3], [2, 2]]),
                                              a[:, :2], "mean"),
                 lambda a: torch.scatter_reduce(a, 1, torch.tensor([[0, 0], [1, 3], [2, 2]]),
                                                a[:, :2], "mean"), [x])
