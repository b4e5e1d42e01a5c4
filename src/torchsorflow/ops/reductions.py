"""Reductions: sum, max/min, log-sum-exp and softmax, with mean/var/std/norm composed from them."""
from __future__ import annotations

import builtins

from ..autodiff.tracer import Primitive, to_box
from ..backend import xp
from .elementwise import absolute, div, elementwise, equal, exp, greater, mul, power, sqrt, sub, where
from .kernels.reduce import sum_axes
from .shape import broadcast_to, reshape


def normalize_axis(axis, ndim):
    """``None`` or a sorted tuple of non-negative axes; names the bad axis when out of range."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {a})")
        out.append(a % max(ndim, 1) if ndim else 0)
    return tuple(sorted(set(out))) if ndim else None


def _kept_shape(shape, axis):
    return tuple(1 if (axis is None or i in axis) else n for i, n in enumerate(shape))


def expand_reduced(g, x, axis, keepdims):
    """Broadcast a reduced cotangent back over the reduced axes of ``x``."""
    if not keepdims and axis is not None:
        g = reshape(g, _kept_shape(x.shape, axis))
    return broadcast_to(g, x.shape)


# sum_axes turns per-channel sums of activations into matrix-vector products, and otherwise calls
# add.reduce (np.sum without its Python-level dispatch: half the overhead on small arrays).
_sum = Primitive("sum", lambda x, axis, keepdims: sum_axes(x, axis, keepdims),
                 vjp=(lambda g, ans, x, axis, keepdims: expand_reduced(g, x, axis, keepdims),),
                 linear=(0,))


def _extremum_share(ans, x, axis, keepdims):
    """Where x attains the max (min); ties share equally, as torch.amax's gradient does."""
    hits = equal(x, expand_reduced(ans, x, axis, keepdims))
    count = _sum(hits, axis=axis, keepdims=True)
    return div(hits, count)


def _extremum(name, impl):
    def vjp(g, ans, x, axis, keepdims):
        return mul(expand_reduced(g, x, axis, keepdims), _extremum_share(ans, x, axis, keepdims))

    def jvp(t, ans, x, axis, keepdims):
        return _sum(mul(t, _extremum_share(ans, x, axis, keepdims)), axis=axis, keepdims=keepdims)

    return Primitive(name, lambda x, axis, keepdims: impl(x, axis=axis, keepdims=keepdims),
                     vjp=(vjp,), jvp=(jvp,))


_amax = _extremum("amax", xp.max)
_amin = _extremum("amin", xp.min)


def _logsumexp_impl(x, axis, keepdims):
    shift = xp.max(x, axis=axis, keepdims=True, initial=-xp.inf)
    shift = xp.where(xp.isfinite(shift), shift, 0)
    with xp.errstate(divide="ignore"):
        out = xp.log(xp.sum(xp.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else xp.squeeze(out, axis=axis)


def _lse_weights(ans, x, axis, keepdims):
    return exp(sub(x, expand_reduced(ans, x, axis, keepdims)))


_logsumexp = Primitive(
    "logsumexp", _logsumexp_impl,
    vjp=(lambda g, ans, x, axis, keepdims:
         mul(expand_reduced(g, x, axis, keepdims), _lse_weights(ans, x, axis, keepdims)),),
    jvp=(lambda t, ans, x, axis, keepdims:
         _sum(mul(t, _lse_weights(ans, x, axis, keepdims)), axis=axis, keepdims=keepdims),))


def _log_softmax_impl(x, axis):
    return x - _logsumexp_impl(x, (axis,), True)


def _softmax_impl(x, axis):
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True, initial=-xp.inf))
    return e / xp.sum(e, axis=axis, keepdims=True)


_log_softmax = Primitive(
    "log_softmax", _log_softmax_impl,
    vjp=(lambda g, ans, x, axis: sub(g, mul(exp(ans), _sum(g, axis=(axis,), keepdims=True))),),
    jvp=(lambda t, ans, x, axis: sub(t, _sum(mul(exp(ans), t), axis=(axis,), keepdims=True)),))

# The Jacobian of softmax, diag(s) − s sᵀ, is symmetric: one rule serves both modes.
_softmax = Primitive(
    "softmax", _softmax_impl,
    vjp=(lambda v, ans, x, axis: mul(ans, sub(v, _sum(mul(v, ans), axis=(axis,), keepdims=True))),),
    symmetric=True)

_argmax = Primitive("argmax", lambda x, axis, keepdims: xp.argmax(x, axis=axis, keepdims=keepdims),
                    differentiable=False)
_argmin = Primitive("argmin", lambda x, axis, keepdims: xp.argmin(x, axis=axis, keepdims=keepdims),
                    differentiable=False)


# --- public functions ------------------------------------------------------------------------
def sum(x, axis=None, keepdims=False):
    x = to_box(x)
    return _sum(x, axis=None if axis is None else normalize_axis(axis, x.ndim), keepdims=keepdims)


def amax(x, axis=None, keepdims=False):
    x = to_box(x)
    return _amax(x, axis=normalize_axis(axis, x.ndim), keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    x = to_box(x)
    return _amin(x, axis=normalize_axis(axis, x.ndim), keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    x = to_box(x)
    return _logsumexp(x, axis=normalize_axis(axis, x.ndim), keepdims=keepdims)


def _single_axis(axis, ndim):
    if not isinstance(axis, int):
        raise TypeError(f"softmax: dim must be an int, got {axis!r}")
    return normalize_axis(axis, ndim)[0] if ndim else 0


def log_softmax(x, axis=-1):
    x = to_box(x)
    return _log_softmax(x, axis=_single_axis(axis, x.ndim))


def softmax(x, axis=-1):
    x = to_box(x)
    return _softmax(x, axis=_single_axis(axis, x.ndim))


def argmax(x, axis=None, keepdims=False):
    return _argmax(to_box(x), axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    return _argmin(to_box(x), axis=axis, keepdims=keepdims)


def _count(x, axis):
    axes = range(x.ndim) if axis is None else axis
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def mean(x, axis=None, keepdims=False):
    x = to_box(x)
    axis = normalize_axis(axis, x.ndim)
    return div(_sum(x, axis=axis, keepdims=keepdims), _count(x, axis))


def var(x, axis=None, keepdims=False, correction=1, unbiased=None):
    """Variance with Bessel's ``correction`` (1 = unbiased, PyTorch's default; 0 = biased)."""
    x = to_box(x)
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axis = normalize_axis(axis, x.ndim)
    centered = sub(x, div(_sum(x, axis=axis, keepdims=True), _count(x, axis)))
    squares = _sum(mul(centered, centered), axis=axis, keepdims=keepdims)
    return div(squares, builtins.max(_count(x, axis) - correction, 0))


def _std_slope(ans):
    """1/(2·std), taken as 0 where the std is 0 (PyTorch's convention: no NaN for constant data)."""
    positive = greater(ans, 0)
    return where(positive, div(0.5, where(positive, ans, 1.0)), 0.0)


_std_from_var = elementwise("std", xp.sqrt, lambda ans, v: _std_slope(ans))


def std(x, axis=None, keepdims=False, correction=1, unbiased=None):
    return _std_from_var(var(x, axis, keepdims, correction, unbiased))


def norm(x, p=2, axis=None, keepdims=False):
    x = to_box(x)
    if p == 2 or p == "fro":
        return sqrt(sum(mul(x, x), axis, keepdims))
    if p == 1:
        return sum(absolute(x), axis, keepdims)
    if p in (float("inf"), "inf"):
        return amax(absolute(x), axis, keepdims)
    return power(sum(power(absolute(x), p), axis, keepdims), 1.0 / p)
