"""Shared machinery of the differential fuzz tests (tests/test_fuzz_*.py): PyTorch is the oracle.

* :func:`fuzz` = hypothesis ``@given`` + ``@settings`` with a fixed seed (``derandomize=True``), no
  deadline, and an example count scaled by the session's profile: the CI default, or ten times
  more with ``pytest --fuzz-long`` (see tests/conftest.py). Every example that passes is counted,
  and the session prints the total.
* :func:`compare` checks one TorchsorFlow function against its PyTorch twin: forward values in
  float32 with float32 tolerances, then in float64 the reverse-mode gradients (eager
  ``.backward`` against ``torch.autograd``) and the forward-mode tangents (``torchsorflow.func.jvp``
  against ``torch.func.jvp``) for a random cotangent and random tangents.

Input values come from a drawn seed rather than element-wise strategies: hypothesis explores and
shrinks the shapes and arguments, where the bugs live, while values stay cheap to make.
"""
from __future__ import annotations

import functools

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import torchsorflow as tsf

LONG_FACTOR = 10
CASES = 0  # examples checked in this process; conftest.py reports the total

settings.register_profile("tsf-ci", derandomize=True, deadline=None, database=None,
                          print_blob=False, suppress_health_check=list(HealthCheck),
                          phases=[Phase.explicit, Phase.generate, Phase.shrink])
settings.register_profile("tsf-long", parent=settings.get_profile("tsf-ci"))
_long = False


def load_profile(long: bool):
    """Called by conftest.py once the command line is known."""
    global _long
    _long = bool(long)
    settings.load_profile("tsf-long" if long else "tsf-ci")


@functools.cache
def _single_threaded_oracle():
    """PyTorch on one thread: on these tiny inputs its thread pool only adds latency (tens of
    milliseconds per small float64 conv when the cores are busy, e.g. under pytest -n 2)."""
    import torch
    torch.set_num_threads(1)


def fuzz(examples, **strategies):
    """``@given(**strategies)`` with ``examples`` cases in CI (×10 with ``--fuzz-long``)."""
    def decorate(test):
        @functools.wraps(test)
        def counted(*args, **kwargs):
            global CASES
            _single_threaded_oracle()
            result = test(*args, **kwargs)
            CASES += 1
            return result
        count = examples * (LONG_FACTOR if _long else 1)
        return settings(max_examples=count)(given(**strategies)(counted))
    return decorate


# --- shapes and values ----------------------------------------------------------------------------
seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4)
shapes_with_empty = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
nonscalar_shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)


def values(kind, shape, rng):
    """Arrays (float64) from a domain where the function is smooth and the test meaningful."""
    return np.asarray(_values(kind, shape, rng), dtype=np.float64)


def _values(kind, shape, rng):
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "away":  # |x| ≥ 0.2: away from the kinks of abs, relu, sign
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)
    if kind == "above_minus_one":
        return rng.uniform(-0.5, 2.0, shape)
    if kind == "open_unit":  # inside (-1, 1), away from the poles of erfinv
        return rng.uniform(-0.95, 0.95, shape)
    if kind == "probability":  # inside (0, 1), away from the poles of logit
        return rng.uniform(0.05, 0.95, shape)
    if kind == "above_one":  # the domain of acosh, away from its pole at 1
        return rng.uniform(1.2, 3.0, shape)
    raise ValueError(kind)


def ties(shape, rng, levels=4, nan_fraction=0.0):
    """Small whole numbers as float64 (many equal values), with a fraction of NaN."""
    x = rng.integers(0, levels, shape).astype(np.float64)
    x[rng.random(shape) < nan_fraction] = np.nan
    return x


# --- the comparison -------------------------------------------------------------------------------
F32 = dict(rtol=2e-5, atol=2e-6)
F64 = dict(rtol=1e-7, atol=1e-10)


def _torch():
    import torch
    return torch


def _as_numpy(x):
    if isinstance(x, tsf.Tensor):
        return x.numpy()
    return x.detach().numpy(force=True) if hasattr(x, "detach") else np.asarray(x)


def assert_close(ours, theirs, what, **tol):
    ours, theirs = _as_numpy(ours), _as_numpy(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs PyTorch's {theirs.shape}"
    finite = np.abs(theirs[np.isfinite(theirs)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=tol["rtol"], atol=tol["atol"] * scale,
                               err_msg=f"{what} differs from PyTorch")


def forward_only(ours_fn, torch_fn, arrays, dtype=np.float32, check_dtype=True):
    """Forward values (no derivatives) in ``dtype``; the output dtype must match PyTorch's too."""
    torch = _torch()
    ours = ours_fn(*[tsf.tensor(a.astype(dtype)) for a in arrays])
    theirs = torch_fn(*[torch.from_numpy(a.astype(dtype)) for a in arrays])
    tol = F32 if dtype == np.float32 else F64
    if check_dtype:
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), \
            f"dtype {ours.dtype} vs PyTorch's {theirs.dtype}"
    assert_close(ours.astype(np.float64) if ours.dtype == bool else ours,
                 theirs.double() if theirs.dtype == torch.bool else theirs, "forward", **tol)
    return ours


def compare(ours_fn, torch_fn, arrays, rng, modes=("fwd", "rev"), float32=True):
    """Forward values (float32) and derivatives (float64, both modes) of ``ours_fn`` against
    ``torch_fn``.

    Both functions take one Tensor per entry of ``arrays`` and return one Tensor.
    """
    torch = _torch()
    if float32:
        forward_only(ours_fn, torch_fn, arrays, np.float32)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    if "rev" in modes:
        xs = [tsf.tensor(a, requires_grad=True) for a in arrays]
        out = ours_fn(*xs)
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        ref = torch_fn(*ts)
        assert_close(out, ref, "forward (float64)", **F64)
        cotangent = rng.standard_normal(ref.shape)
        if out.requires_grad:
            out.backward(tsf.tensor(cotangent))
        ref_grads = torch.autograd.grad(ref, ts, torch.tensor(cotangent), allow_unused=True) \
            if ref.requires_grad else [None] * len(ts)
        for i, (x, g) in enumerate(zip(xs, ref_grads)):
            ours_g = x.grad if x.grad is not None else np.zeros(x.shape)
            assert_close(ours_g, g if g is not None else np.zeros(x.shape),
                         f"reverse-mode gradient of argument {i}", **F64)
    if "fwd" in modes:
        tangents = [rng.standard_normal(a.shape) for a in arrays]
        _, ours_t = tsf.func.jvp(ours_fn, tuple(tsf.tensor(a) for a in arrays),
                                 tuple(tsf.tensor(t) for t in tangents))
        _, ref_t = torch.func.jvp(torch_fn, tuple(torch.tensor(a) for a in arrays),
                                  tuple(torch.tensor(t) for t in tangents))
        assert_close(ours_t, ref_t, "forward-mode tangent", **F64)
