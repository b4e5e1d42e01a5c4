"""Differential fuzzing against PyTorch of einsum over random equations (ellipsis, broadcasting,
letters summed out by one operand, repeated letters), of the structure functions
(ops/structure.py), the products (ops/products.py) and torch.linalg (ops/decompositions.py):
values in float32, gradients in float64 in both modes."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import strategies as st  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from fuzz_support import compare, fuzz, nonscalar_shapes, seeds, shapes, values  # noqa: E402


@st.composite
def einsum_cases(draw):
    """An equation and the operands' shapes: 1-3 operands over the letters a-e, with
    broadcasting size-1 dims, repeated letters in one operand, an optional ellipsis and an
    explicit or implicit output."""
    sizes = {c: draw(st.integers(1, 3)) for c in "abcde"}
    count = draw(st.integers(1, 3))
    ellipsis = draw(st.booleans())
    batch = draw(st.lists(st.integers(1, 3), max_size=2)) if ellipsis else []
    terms, shapes_ = [], []
    for _ in range(count):
        letters = draw(st.lists(st.sampled_from("abcde"), max_size=3))
        shape = [1 if draw(st.integers(0, 4)) == 0 else sizes[c] for c in letters]
        if len(set(letters)) < len(letters):  # a repeated letter needs one size
            shape = [sizes[c] for c in letters]
        term = "".join(letters)
        if ellipsis:
            own = draw(st.integers(0, len(batch)))
            lead = [1 if draw(st.booleans()) else n for n in batch[len(batch) - own:]]
            term, shape = "..." + term, lead + shape
        terms.append(term)
        shapes_.append(tuple(shape))
    used = sorted(set("".join(t.replace("...", "") for t in terms)))
    if draw(st.booleans()):
        output = "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))])
        equation = ",".join(terms) + "->" + ("..." if ellipsis else "") + output
    else:
        equation = ",".join(terms)
    return equation, shapes_


@fuzz(300, case=einsum_cases(), seed=seeds)
def test_einsum_over_random_equations(case, seed):
    equation, shapes_ = case
    rng = np.random.default_rng(seed)
    arrays = [values("normal", s, rng) for s in shapes_]
    try:
        torch.einsum(equation, *[torch.tensor(a) for a in arrays])
    except RuntimeError:
        with pytest.raises((ValueError, RuntimeError)):
            tsf.einsum(equation, *[tsf.tensor(a) for a in arrays])
        return
    compare(lambda *xs: tsf.einsum(equation, *xs), lambda *xs: torch.einsum(equation, *xs),
            arrays, rng)


def test_einsum_errors_name_the_problem():
    a = tsf.zeros(2, 3)
    with pytest.raises(ValueError, match=r"the number of subscripts in the equation \(3\) does "
                                         r"not match the number of dimensions \(2\) for operand 0"):
        tsf.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="output subscript k does not appear"):
        tsf.einsum("ij->k", a)
    with pytest.raises(ValueError, match="subscript j has size 3 for operand 1 which does not "
                                         "broadcast with previously seen size 2|subscript"):
        tsf.einsum("ij,jk->ik", a, tsf.zeros(2, 2))
    with pytest.raises(RuntimeError, match="same dtype"):
        tsf.einsum("ij,jk->ik", a, tsf.zeros(3, 2, dtype=tsf.float64))


@fuzz(100, shape=st.tuples(st.integers(1, 4), st.integers(1, 4)), seed=seeds, data=st.data())
def test_triangles_and_diagonals(shape, seed, data):
    rng = np.random.default_rng(seed)
    batch = data.draw(st.sampled_from([(), (2,)]))
    x = values("normal", batch + shape, rng)
    k = data.draw(st.integers(-3, 3))
    for ours, theirs in ((tsf.tril, torch.tril), (tsf.triu, torch.triu)):
        compare(lambda a, f=ours: f(a, k), lambda a, f=theirs: f(a, k), [x], rng)
    compare(lambda a: tsf.diagonal(a, k, -2, -1), lambda a: torch.diagonal(a, k, -2, -1), [x],
            rng)
    compare(lambda a: tsf.diag_embed(a, k, 0, -1), lambda a: torch.diag_embed(a, k, 0, -1),
            [x], rng)
    if not batch:
        compare(lambda a: tsf.diag(a, k), lambda a: torch.diag(a, k), [x], rng)
        compare(lambda a: tsf.diag(a[0], k), lambda a: torch.diag(a[0], k), [x], rng)
        compare(lambda a: tsf.diagflat(a, k), lambda a: torch.diagflat(a, k), [x], rng)
        compare(tsf.trace, torch.trace, [x], rng)
    for name in ("tril_indices", "triu_indices"):
        np.testing.assert_array_equal(getattr(tsf, name)(*shape, k).numpy(),
                                      getattr(torch, name)(*shape, k).numpy())


@fuzz(120, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_roll_rot90_repeat_interleave(shape, seed, data):
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    ndim = len(shape)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                              unique_by=lambda d: d % ndim))
    shifts = [data.draw(st.integers(-5, 5)) for _ in dims]
    compare(lambda a: tsf.roll(a, shifts, dims), lambda a: torch.roll(a, shifts, dims), [x], rng)
    compare(lambda a: tsf.roll(a, shifts[0]), lambda a: torch.roll(a, shifts[0]), [x], rng)
    if ndim >= 2:
        k = data.draw(st.integers(-4, 4))
        plane = tuple(data.draw(st.permutations(range(ndim)))[:2])
        compare(lambda a: tsf.rot90(a, k, plane), lambda a: torch.rot90(a, k, plane), [x], rng)
    d = data.draw(st.integers(-ndim, ndim - 1))
    counts = rng.integers(0, 3, shape[d])
    compare(lambda a: tsf.repeat_interleave(a, tsf.tensor(counts), d),
            lambda a: torch.repeat_interleave(a, torch.tensor(counts), d), [x], rng)
    compare(lambda a: tsf.repeat_interleave(a, 2), lambda a: torch.repeat_interleave(a, 2), [x],
            rng)


def test_grids_combinations_and_stacking():
    rng = np.random.default_rng(0)
    a, b, c = (values("normal", (n,), rng) for n in (2, 3, 1))
    for indexing in ("ij", "xy"):
        for k in range(3):
            compare(lambda *xs, k=k, i=indexing: tsf.meshgrid(*xs, indexing=i)[k],
                    lambda *xs, k=k, i=indexing: torch.meshgrid(*xs, indexing=i)[k], [a, b, c],
                    rng)
    with pytest.warns(UserWarning, match="indexing argument"):
        tsf.meshgrid(tsf.tensor(a), tsf.tensor(b))
    compare(lambda *xs: tsf.cartesian_prod(*xs), lambda *xs: torch.cartesian_prod(*xs), [a, b],
            rng)
    v = values("normal", (4,), rng)
    for r in (0, 1, 2, 3, 5):
        for replacement in (False, True):
            ours = tsf.combinations(tsf.tensor(v), r, replacement)
            theirs = torch.combinations(torch.tensor(v), r, replacement)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    compare(lambda x: tsf.combinations(x, 2), lambda x: torch.combinations(x, 2), [v], rng)
    m1, m2 = values("normal", (2, 3), rng), values("normal", (1, 2), rng)
    compare(lambda p, q, s: tsf.block_diag(p, q, s), lambda p, q, s: torch.block_diag(p, q, s),
            [m1, m2, values("normal", (3,), rng)], rng)
    scalar = values("normal", (), rng)
    for name in ("hstack", "vstack", "row_stack", "dstack", "column_stack"):
        parts = [m1, values("normal", (2, 3), rng)]
        ours, theirs = getattr(tsf, name), getattr(torch, name)
        compare(lambda p, q, f=ours: f([p, q]), lambda p, q, f=theirs: f([p, q]), parts, rng)
    compare(lambda p, q: tsf.hstack([p, q]), lambda p, q: torch.hstack([p, q]), [scalar, v], rng)
    compare(lambda p, q: tsf.column_stack([p, q]), lambda p, q: torch.column_stack([p, q]),
            [v, values("normal", (4, 2), rng)], rng)
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        for arr in (scalar, v, m1):
            assert getattr(tsf, name)(tsf.tensor(arr)).shape == \
                tuple(getattr(torch, name)(torch.tensor(arr)).shape)


@fuzz(100, seed=seeds, data=st.data())
def test_products(seed, data):
    rng = np.random.default_rng(seed)
    n, m, p, b = (data.draw(st.integers(1, 3)) for _ in range(4))
    beta, alpha = data.draw(st.sampled_from([0, 1, 0.5])), data.draw(st.sampled_from([1, -2.0]))
    mat, x, y = (values("normal", s, rng) for s in ((n, m), (m, p), (n, p)))
    compare(lambda c, a, w: tsf.addmm(c, a, w, beta=beta, alpha=alpha),
            lambda c, a, w: torch.addmm(c, a, w, beta=beta, alpha=alpha), [y, mat, x], rng)
    vec, out_v = values("normal", (m,), rng), values("normal", (n,), rng)
    compare(lambda c, a, v: tsf.addmv(c, a, v, beta=beta, alpha=alpha),
            lambda c, a, v: torch.addmv(c, a, v, beta=beta, alpha=alpha), [out_v, mat, vec], rng)
    compare(lambda c, u, v: tsf.addr(c, u, v, beta=beta, alpha=alpha),
            lambda c, u, v: torch.addr(c, u, v, beta=beta, alpha=alpha), [mat, out_v, vec], rng)
    b1, b2 = values("normal", (b, n, m), rng), values("normal", (b, m, p), rng)
    compare(lambda c, u, v: tsf.addbmm(c, u, v, beta=beta, alpha=alpha),
            lambda c, u, v: torch.addbmm(c, u, v, beta=beta, alpha=alpha), [y, b1, b2], rng)
    compare(lambda c, u, v: tsf.baddbmm(c, u, v, beta=beta, alpha=alpha),
            lambda c, u, v: torch.baddbmm(c, u, v, beta=beta, alpha=alpha),
            [values("normal", (b, n, p), rng), b1, b2], rng)
    compare(tsf.outer, torch.outer, [out_v, vec], rng)
    compare(tsf.kron, torch.kron, [mat, values("normal", data.draw(shapes), rng)], rng)
    power = data.draw(st.integers(-3, 4))
    square = values("normal", (n, n), rng) + 3 * np.eye(n)
    compare(lambda a: tsf.matrix_power(a, power), lambda a: torch.matrix_power(a, power),
            [square], rng)
    compare(lambda u, v: tsf.linalg.cross(u, v), lambda u, v: torch.linalg.cross(u, v),
            [values("normal", (b, 3), rng), values("normal", (1, 3), rng)], rng)
    compare(lambda u, v: tsf.cross(u, v, dim=0), lambda u, v: torch.cross(u, v, dim=0),
            [values("normal", (3, b), rng), values("normal", (3, b), rng)], rng)
    compare(lambda *ms: tsf.linalg.multi_dot(ms), lambda *ms: torch.linalg.multi_dot(ms),
            [mat, x, values("normal", (p, 2), rng)], rng)
    compare(tsf.inner, torch.inner, [mat, values("normal", (2, m), rng)], rng)
    compare(lambda u, v: tsf.tensordot(u, v, ([1, 0], [0, 1])),
            lambda u, v: torch.tensordot(u, v, ([1, 0], [0, 1])),
            [b1[0], values("normal", (m, n, 2), rng)], rng)


def _general(rng, shape):
    n = shape[-1]
    return values("normal", shape, rng) + n * np.eye(n)


@fuzz(80, seed=seeds, data=st.data())
def test_linalg_functions(seed, data):
    rng = np.random.default_rng(seed)
    n = data.draw(st.integers(1, 4))
    batch = data.draw(st.sampled_from([(), (2,)]))
    a = _general(rng, batch + (n, n))
    for name in ("det", "inv"):
        compare(getattr(tsf.linalg, name), getattr(torch.linalg, name), [a], rng)
    compare(lambda x: tsf.linalg.slogdet(x)[1], lambda x: torch.linalg.slogdet(x)[1], [a], rng)
    np.testing.assert_array_equal(tsf.linalg.slogdet(tsf.tensor(a))[0].numpy(),
                                  torch.linalg.slogdet(torch.tensor(a))[0].numpy())
    rhs = values("normal", batch + (n, 2), rng)
    compare(lambda x, y: tsf.linalg.solve(x, y, left=False),
            lambda x, y: torch.linalg.solve(x, y, left=False),
            [a, values("normal", batch + (2, n), rng)], rng)
    compare(tsf.linalg.solve, torch.linalg.solve, [a, rhs], rng)
    m, k = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    rect = values("normal", batch + (m, k), rng)
    compare(tsf.linalg.pinv, torch.linalg.pinv, [rect], rng)
    compare(lambda x: tsf.pinverse(x), lambda x: torch.pinverse(x), [rect], rng)
    compare(tsf.linalg.svdvals, torch.linalg.svdvals, [rect], rng)
    if m >= k:
        b = values("normal", batch + (m, 2), rng)
        compare(lambda x, y: tsf.linalg.lstsq(x, y).solution,
                lambda x, y: torch.linalg.lstsq(x, y).solution, [rect, b], rng)
    for ord_ in ("fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf")):
        compare(lambda x, o=ord_: tsf.linalg.matrix_norm(x, o),
                lambda x, o=ord_: torch.linalg.matrix_norm(x, o), [rect], rng, modes=("rev",))
    for ord_ in (2, 1, 3, 0.5, float("inf"), float("-inf")):
        for dim in (None, -1, (0, -1)):
            compare(lambda x, o=ord_, d=dim: tsf.linalg.vector_norm(x, o, d),
                    lambda x, o=ord_, d=dim: torch.linalg.vector_norm(x, o, d), [rect], rng)
    compare(lambda x: tsf.linalg.norm(x), lambda x: torch.linalg.norm(x), [rect], rng)
    np.testing.assert_array_equal(tsf.linalg.matrix_rank(tsf.tensor(rect)).numpy(),
                                  torch.linalg.matrix_rank(torch.tensor(rect)).numpy())
    spd = a @ np.swapaxes(a, -1, -2) + np.eye(n)
    compare(lambda x: tsf.linalg.cholesky((x + x.mT) / 2, upper=True),
            lambda x: torch.linalg.cholesky((x + x.mT) / 2, upper=True), [spd], rng)


def test_vector_norm_gradient_at_zero_is_zero_like_torch():
    x = tsf.zeros(3, dtype=tsf.float64, requires_grad=True)
    tsf.linalg.vector_norm(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3))


def test_det_gradient_at_a_singular_matrix_is_the_adjugate():
    """At an exactly singular matrix (where PyTorch 2.13 returns zeros) the gradient is the
    matrix of cofactors, which finite differences confirm (det is a polynomial)."""
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]])  # rank 2
    ours = tsf.tensor(a, requires_grad=True)
    tsf.linalg.det(ours).backward()
    tsf.autodiff.check_grads(tsf.linalg.det, [a], order=1)
    cofactors = np.array([[np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) * (-1) ** (i + j)
                           for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(ours.grad.numpy(), cofactors, atol=1e-12)


def test_eigvalsh_and_svdvals_have_finite_gradients_with_repeated_values():
    for f, g in ((tsf.linalg.eigvalsh, torch.linalg.eigvalsh),
                 (tsf.linalg.svdvals, torch.linalg.svdvals)):
        ours = tsf.eye(3, dtype=tsf.float64, requires_grad=True)
        (f(ours) * tsf.tensor([1.0, 2.0, 3.0], dtype=tsf.float64)).sum().backward()
        theirs = torch.eye(3, dtype=torch.float64, requires_grad=True)
        (g(theirs) * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
        assert np.isfinite(ours.grad.numpy()).all()
        np.testing.assert_allclose(np.trace(ours.grad.numpy()), np.trace(theirs.grad.numpy()))


def test_decomposition_arguments_are_checked():
    with pytest.raises(NotImplementedError, match="full_matrices=True"):
        tsf.linalg.svd(tsf.ones(3, 2, requires_grad=True))
    u, s, vh = tsf.linalg.svd(tsf.ones(3, 2))  # without gradients: the complete basis
    assert (u.shape, s.shape, vh.shape) == ((3, 3), (2,), (2, 2))
    with pytest.raises(RuntimeError, match="qr received unrecognized mode 'full'"):
        tsf.linalg.qr(tsf.ones(2, 2), mode="full")
    with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U'"):
        tsf.linalg.eigh(tsf.eye(2), UPLO="X")
    with pytest.raises(RuntimeError, match="A must be batches of square matrices"):
        tsf.linalg.det(tsf.ones(2, 3))
    with pytest.raises(RuntimeError, match="parameter `driver` should be one of"):
        tsf.linalg.lstsq(tsf.eye(2), tsf.ones(2, 1), driver="magic")
    with pytest.raises(RuntimeError, match="keyword argument `driver=`"):
        tsf.linalg.svd(tsf.eye(2), driver="gesvd")
    q, r = tsf.qr(tsf.tensor(np.arange(6.0).reshape(3, 2)))
    np.testing.assert_allclose((q @ r).numpy(), np.arange(6.0).reshape(3, 2), atol=1e-5)
    u, s, v = tsf.svd(tsf.tensor(np.arange(6.0).reshape(3, 2)))
    np.testing.assert_allclose((u * s) @ v.T.numpy(), np.arange(6.0).reshape(3, 2), atol=1e-5)
