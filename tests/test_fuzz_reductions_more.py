"""Differential fuzzing against PyTorch of the reductions and scans added for torch's API
(ops/scans.py, ops/statistics.py, ops/sorting.py): random shapes and dimensions, inputs with
zeros, ties and NaN where those are the hard cases; forward values in float32 and gradients in
float64 in both modes (see tests/fuzz_support.py)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import strategies as st  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from fuzz_support import (assert_close, compare, forward_only, fuzz, nonscalar_shapes,  # noqa: E402
                          seeds, ties, values)


def _with_zeros(shape, rng, fraction=0.3):
    x = values("normal", shape, rng)
    return np.where(rng.random(shape) < fraction, 0.0, x)


@fuzz(120, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_prod_and_cumprod_with_zeros(shape, seed, data):
    rng = np.random.default_rng(seed)
    x = _with_zeros(shape, rng)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdim = data.draw(st.booleans())
    compare(lambda t: tsf.prod(t, dim, keepdim=keepdim), lambda t: torch.prod(t, dim, keepdim),
            [x], rng)
    compare(lambda t: tsf.cumprod(t, dim), lambda t: torch.cumprod(t, dim), [x], rng)
    compare(lambda t: t.prod(), lambda t: t.prod(), [x], rng)


@fuzz(80, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_logcumsumexp_and_diff(shape, seed, data):
    rng = np.random.default_rng(seed)
    scale = data.draw(st.sampled_from([1.0, 30.0]))
    x = values("normal", shape, rng) * scale
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    # PyTorch's forward mode loses accuracy on wide ranges (see the test below): reverse only
    compare(lambda t: tsf.logcumsumexp(t, dim), lambda t: torch.logcumsumexp(t, dim), [x], rng,
            modes=("rev", "fwd") if scale == 1.0 else ("rev",))
    n = data.draw(st.integers(1, 2))
    compare(lambda t: tsf.diff(t, n, dim), lambda t: torch.diff(t, n, dim), [x], rng)


@fuzz(100, shape=nonscalar_shapes, seed=seeds, data=st.data(), op=st.sampled_from(["cummax",
                                                                                     "cummin"]))
def test_cummax_cummin_with_ties(shape, seed, data, op):
    rng = np.random.default_rng(seed)
    x = ties(shape, rng)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    ours, theirs = getattr(tsf, op)(tsf.tensor(x), dim), getattr(torch, op)(torch.tensor(x), dim)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    compare(lambda t: getattr(tsf, op)(t, dim).values, lambda t: getattr(torch, op)(t, dim).values,
            [x], rng)


def _check_selection(ours, theirs, x, dim, keepdim):
    """Values equal torch's; indices point at entries holding those values (ties may pick
    another index than torch's, which documents none)."""
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    assert ours.indices.shape == tuple(theirs.indices.shape)
    index = ours.indices.numpy() if keepdim else np.expand_dims(ours.indices.numpy(), dim)
    picked = np.take_along_axis(x, index, dim)
    np.testing.assert_array_equal(picked if keepdim else np.squeeze(picked, dim),
                                  ours.values.numpy())


@fuzz(150, shape=nonscalar_shapes, seed=seeds, data=st.data(),
      op=st.sampled_from(["median", "nanmedian", "mode", "kthvalue"]))
def test_order_statistics_along_a_dim(shape, seed, data, op):
    rng = np.random.default_rng(seed)
    x = ties(shape, rng)
    if op == "nanmedian":
        x[rng.random(shape) < 0.2] = np.nan
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdim = data.draw(st.booleans())
    args = (data.draw(st.integers(1, shape[dim])),) if op == "kthvalue" else ()
    ours = getattr(tsf, op)(tsf.tensor(x), *args, dim, keepdim)
    theirs = getattr(torch, op)(torch.tensor(x), *args, dim, keepdim)
    if op == "nanmedian":  # all-NaN rows: both NaN
        np.testing.assert_array_equal(np.isnan(ours.values.numpy()),
                                      np.isnan(theirs.values.numpy()))
        return
    _check_selection(ours, theirs, x, dim % len(shape), keepdim)
    if op == "mode":  # torch documents the mode's index: its last occurrence
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    distinct = values("normal", shape, rng)  # no ties: gradients must match torch's
    compare(lambda t: getattr(tsf, op)(t, *args, dim, keepdim).values,
            lambda t: getattr(torch, op)(t, *args, dim, keepdim).values, [distinct], rng)


@fuzz(60, shape=nonscalar_shapes, seed=seeds, nan=st.booleans())
def test_median_of_all_entries_splits_the_gradient_among_ties(shape, seed, nan):
    rng = np.random.default_rng(seed)
    x = ties(shape, rng, 3)
    if nan:
        x[rng.random(shape) < 0.2] = np.nan
    for name in ("median", "nanmedian"):
        compare(getattr(tsf, name), getattr(torch, name), [x], rng, modes=("rev",))


@st.composite
def quantile_cases(draw):
    shape = draw(nonscalar_shapes)
    dim = draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    q = draw(st.floats(0, 1) | st.lists(st.floats(0, 1), min_size=1, max_size=3))
    interpolation = draw(st.sampled_from(["linear", "lower", "higher", "midpoint", "nearest"]))
    return shape, dim, q, draw(st.booleans()), interpolation


@fuzz(200, case=quantile_cases(), seed=seeds, nan=st.booleans())
def test_quantile_and_nanquantile(case, seed, nan):
    shape, dim, q, keepdim, interpolation = case
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    if nan:
        x[rng.random(shape) < 0.25] = np.nan
    for name in ("quantile", "nanquantile"):
        def ours(t, name=name):
            level = tsf.tensor(np.array(q, dtype=t.dtype)) if isinstance(q, list) else q
            return getattr(tsf, name)(t, level, dim, keepdim, interpolation=interpolation)

        def theirs(t, name=name):
            level = torch.tensor(q, dtype=t.dtype) if isinstance(q, list) else q
            return getattr(torch, name)(t, level, dim, keepdim, interpolation=interpolation)
        if nan and name == "quantile":
            # a slice with NaN gives NaN; which NaN receives the gradient is arbitrary (torch's
            # sort is not stable), so only values are compared
            forward_only(ours, theirs, [x], np.float64)
            continue
        compare(ours, theirs, [x], rng, modes=("rev",) if nan else ("rev", "fwd"))


@fuzz(120, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_nan_reductions_counts_and_moments(shape, seed, data):
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    x[rng.random(shape) < 0.3] = np.nan
    dims = data.draw(st.none() | st.lists(st.integers(0, len(shape) - 1), min_size=1,
                                          max_size=len(shape), unique=True).map(tuple))
    keepdim = data.draw(st.booleans())
    compare(lambda t: tsf.nansum(t, dims, keepdim), lambda t: torch.nansum(t, dims, keepdim),
            [x], rng)
    empty = (~np.isnan(x)).sum(axis=dims) == 0
    # an all-NaN slice: torch's gradient is NaN (0·inf), ours 0; values are compared there
    compare(lambda t: tsf.nanmean(t, dims, keepdim), lambda t: torch.nanmean(t, dims, keepdim),
            [x], rng, modes=() if np.any(empty) else ("rev",))
    forward_only(lambda t: tsf.count_nonzero(t, dims), lambda t: torch.count_nonzero(t, dims),
                 [np.nan_to_num(np.round(x))], np.float64)
    clean = values("normal", shape, rng)
    for ours, theirs in ((tsf.std_mean, torch.std_mean), (tsf.var_mean, torch.var_mean)):
        for k in range(2):
            compare(lambda t, f=ours, k=k: f(t, dims, keepdim=keepdim)[k],
                    lambda t, f=theirs, k=k: f(t, dims, keepdim=keepdim)[k], [clean], rng)
    for k in range(2):
        d = None if dims is None else dims[0]
        compare(lambda t, d=d, k=k: tsf.aminmax(t, dim=d, keepdim=keepdim)[k],
                lambda t, d=d, k=k: torch.aminmax(t, dim=d, keepdim=keepdim)[k], [clean], rng)


def test_logcumsumexp_derivatives_are_accurate_on_wide_ranges():
    """Both modes against 50-digit arithmetic (mpmath), where values span ±90: the log-space
    rules keep the relative error near machine precision."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    rng = np.random.default_rng(0)
    for _ in range(40):
        x, t = rng.standard_normal(4) * 30, rng.standard_normal(4)
        xs, ts = [mp.mpf(float(v)) for v in x], [mp.mpf(float(v)) for v in t]
        ans = [mp.log(sum(mp.exp(xs[k]) for k in range(j + 1))) for j in range(4)]
        weight = [[mp.exp(xs[i] - ans[j]) if i <= j else 0 for j in range(4)] for i in range(4)]
        forward = np.array([float(sum(ts[i] * weight[i][j] for i in range(4))) for j in range(4)])
        reverse = np.array([float(sum(ts[j] * weight[i][j] for j in range(4))) for i in range(4)])
        _, tangent = tsf.func.jvp(lambda a: tsf.logcumsumexp(a, 0), (tsf.tensor(x),),
                                  (tsf.tensor(t),))
        _, pullback = tsf.func.vjp(lambda a: tsf.logcumsumexp(a, 0), tsf.tensor(x))
        np.testing.assert_allclose(tangent.numpy(), forward, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(pullback(tsf.tensor(t))[0].numpy(), reverse, rtol=1e-12,
                                   atol=1e-300)


def test_integer_products_accumulate_in_int64_like_torch():
    x = np.array([[3, 0, 2], [4, 5, 6]], dtype=np.int32)
    for ours, theirs in ((tsf.prod(tsf.tensor(x), 1), torch.prod(torch.tensor(x), 1)),
                         (tsf.cumprod(tsf.tensor(x), 1), torch.cumprod(torch.tensor(x), 1))):
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_cumprod_second_derivatives_are_exact_with_zeros():
    """The differentiable (n² matrix) form against PyTorch's Hessian-vector products."""
    rng = np.random.default_rng(3)
    x = np.array([[1.5, 0.0, -2.0, 0.5], [0.0, 0.0, 3.0, 1.0], [2.0, -1.0, 0.7, 0.0]])
    v = rng.standard_normal(x.shape)
    c = rng.standard_normal(x.shape)
    ours = tsf.func.hvp(lambda t: (tsf.cumprod(t, 1) * tsf.tensor(c)).sum(), tsf.tensor(x),
                        tsf.tensor(v))
    _, theirs = torch.autograd.functional.hvp(
        lambda t: (torch.cumprod(t, 1) * torch.tensor(c)).sum(), torch.tensor(x),
        torch.tensor(v))
    assert_close(ours, theirs, "cumprod hvp",
                 rtol=1e-10, atol=1e-12)


def test_bad_arguments_are_named():
    x = tsf.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match=r"quantile\(\) q values must be in the range \[0, 1\]"):
        tsf.quantile(x, 1.5)
    with pytest.raises(RuntimeError, match="interpolation must be one of"):
        tsf.quantile(x, 0.5, interpolation="cubic")
    with pytest.raises(RuntimeError, match="input tensor must be either float or double"):
        tsf.quantile(tsf.tensor([1, 2]), 0.5)
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range"):
        tsf.kthvalue(x, 3, 1)
    with pytest.raises(RuntimeError, match="topk\\(\\): selected index k out of range"):
        tsf.topk(x, 3)
    with pytest.raises(TypeError, match="prod\\(\\): argument 'dim' must be int"):
        tsf.prod(x, (0, 1))
