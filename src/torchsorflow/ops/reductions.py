"""Reductions: sum, max/min, log-sum-exp, softmax and cumulative sums, with mean/var/std/norm
composed from them. The public functions take PyTorch's arguments (``dim``, ``keepdim``,
``dtype``); ``max``/``min`` with a ``dim`` return ``(values, indices)`` as torch does."""
from __future__ import annotations

import builtins

import warnings

from ..autodiff.tracer import Box, Primitive, to_box
from ..backend import is_floating, to_dtype, xp
from .arguments import ValuesIndices, numpy_aliases
from .elementwise import (absolute, div, elementwise, equal, exp, greater, maximum, minimum, mul,
                          power, sqrt, sub, where)
from .kernels.reduce import sum_axes
from .shape import astype, broadcast_to, flip, gather, reshape, squeeze

__all__ = ["sum", "amax", "amin", "max", "min", "logsumexp", "log_softmax", "softmax", "softmin",
           "argmax", "argmin", "all", "any", "cumsum", "mean", "var", "std", "norm"]


def normalize_axis(axis, ndim):
    """``None`` or a sorted tuple of non-negative axes; names the bad axis when out of range."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    rank = builtins.max(ndim, 1)
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-rank}, {rank - 1}], but got {a})")
        out.append(a % rank if ndim else 0)
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
_sum = Primitive("sum", sum_axes,
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
_all = Primitive("all", lambda x, axis, keepdims: xp.all(x, axis=axis, keepdims=keepdims),
                 differentiable=False)
_any = Primitive("any", lambda x, axis, keepdims: xp.any(x, axis=axis, keepdims=keepdims),
                 differentiable=False)

# cumsum is linear; its adjoint sums from the other end: flip, cumsum, flip.
_cumsum = Primitive("cumsum", lambda x, axis: xp.cumsum(x, axis=axis),
                    vjp=(lambda g, ans, x, axis: flip(_cumsum(flip(g, axis), axis=axis), axis),),
                    linear=(0,))


# --- public functions ------------------------------------------------------------------------
def _cast(input, dtype):
    dtype = to_dtype(dtype)
    return input if dtype is None or dtype == input.dtype else astype(input, dtype)


@numpy_aliases
def sum(input, dim=None, keepdim=False, *, dtype=None):
    input = to_box(input) if dtype is None else _cast(to_box(input), dtype)
    return _sum(input, axis=None if dim is None else normalize_axis(dim, input.ndim),
                keepdims=keepdim)


@numpy_aliases
def amax(input, dim=None, keepdim=False):
    """Largest values over ``dim`` (all dims by default); ties share the gradient evenly."""
    input = to_box(input)
    return _amax(input, axis=normalize_axis(dim, input.ndim), keepdims=keepdim)


@numpy_aliases
def amin(input, dim=None, keepdim=False):
    input = to_box(input)
    return _amin(input, axis=normalize_axis(dim, input.ndim), keepdims=keepdim)


def _extreme(input, dim, keepdim, other, pick, reduce, elementwise_op):
    """``max``/``min``: the overall extreme, ``(values, indices)`` along ``dim``, or with a
    Tensor second argument the element-wise extreme (PyTorch's three forms of one name)."""
    if isinstance(dim, Box) or other is not None:
        return elementwise_op(input, other if other is not None else dim)
    input = to_box(input)
    if dim is None:
        return reduce(input, axis=None, keepdims=False)
    axis = normalize_axis(dim, input.ndim)
    axis = axis[0] if axis else 0
    indices = pick(input, axis=axis, keepdims=True)
    values = gather(input, axis, indices)  # the gradient goes to the index picked, as in torch
    if not keepdim:
        values, indices = squeeze(values, axis), squeeze(indices, axis)
    return ValuesIndices(values, indices)


@numpy_aliases
def max(input, dim=None, keepdim=False, *, other=None):
    """``max(x)``, ``max(x, dim, keepdim=False) -> (values, indices)`` or ``max(x, y)``."""
    return _extreme(input, dim, keepdim, other, _argmax, _amax, maximum)


@numpy_aliases
def min(input, dim=None, keepdim=False, *, other=None):
    return _extreme(input, dim, keepdim, other, _argmin, _amin, minimum)


@numpy_aliases
def logsumexp(input, dim=None, keepdim=False):
    input = to_box(input)
    return _logsumexp(input, axis=normalize_axis(dim, input.ndim), keepdims=keepdim)


def _softmax_dim(op, dim, ndim):
    if dim is None:  # PyTorch's legacy choice, with its warning
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call "
                      "to include dim=X as an argument.", stacklevel=3)
        dim = 0 if ndim in (0, 1, 3) else 1
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    return normalize_axis(dim, ndim)[0] if ndim else 0


@numpy_aliases
def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    input = _cast(to_box(input), dtype)
    return _log_softmax(input, axis=_softmax_dim("log_softmax", dim, input.ndim))


@numpy_aliases
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    input = _cast(to_box(input), dtype)
    return _softmax(input, axis=_softmax_dim("softmax", dim, input.ndim))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return softmax(-_cast(to_box(input), dtype), dim)


@numpy_aliases
def argmax(input, dim=None, keepdim=False):
    """Index of the largest value (over the flattened input when ``dim`` is None)."""
    input = to_box(input)
    axis = None if dim is None else normalize_axis(dim, input.ndim)[0]
    return _argmax(input, axis=axis, keepdims=keepdim and dim is not None)


@numpy_aliases
def argmin(input, dim=None, keepdim=False):
    input = to_box(input)
    axis = None if dim is None else normalize_axis(dim, input.ndim)[0]
    return _argmin(input, axis=axis, keepdims=keepdim and dim is not None)


@numpy_aliases
def all(input, dim=None, keepdim=False):
    input = to_box(input)
    return _all(input, axis=normalize_axis(dim, input.ndim), keepdims=keepdim)


@numpy_aliases
def any(input, dim=None, keepdim=False):
    input = to_box(input)
    return _any(input, axis=normalize_axis(dim, input.ndim), keepdims=keepdim)


@numpy_aliases
def cumsum(input, dim, *, dtype=None):
    input = _cast(to_box(input), dtype)
    if input.dtype.kind in "bi" and dtype is None:  # torch accumulates integers in int64
        input = astype(input, xp.int64)
    return _cumsum(input, axis=normalize_axis(dim, input.ndim)[0] if input.ndim else 0)


def _count(x, axis):
    axes = range(x.ndim) if axis is None else axis
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def _floating_input(op, input, dtype):
    input = _cast(to_box(input), dtype)
    if not is_floating(input.dtype):
        kind = {"i": "Long", "u": "Byte", "b": "Bool"}.get(input.dtype.kind, str(input.dtype))
        raise RuntimeError(f"{op}(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {kind}")
    return input


@numpy_aliases
def mean(input, dim=None, keepdim=False, *, dtype=None):
    input = _floating_input("mean", input, dtype)
    axis = normalize_axis(dim, input.ndim)
    return div(_sum(input, axis=axis, keepdims=keepdim), _count(input, axis))


def _correction(dim, unbiased, correction):
    """PyTorch's var/std forms: ``var(x, unbiased)``, ``var(x, dim, unbiased)``, ``correction=``."""
    if isinstance(dim, bool):  # var(x, False): the second positional argument was ``unbiased``
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


@numpy_aliases
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance with Bessel's ``correction`` (1 = unbiased, PyTorch's default; 0 = biased)."""
    dim, correction = _correction(dim, unbiased, correction)
    input = _floating_input("var", input, None)
    axis = normalize_axis(dim, input.ndim)
    centered = sub(input, div(_sum(input, axis=axis, keepdims=True), _count(input, axis)))
    squares = _sum(mul(centered, centered), axis=axis, keepdims=keepdim)
    return div(squares, builtins.max(_count(input, axis) - correction, 0))


def _std_slope(ans):
    """1/(2·std), taken as 0 where the std is 0 (PyTorch's convention: no NaN for constant data)."""
    positive = greater(ans, 0)
    return where(positive, div(0.5, where(positive, ans, 1.0)), 0.0)


_std_from_var = elementwise("std", xp.sqrt, lambda ans, v: _std_slope(ans))


@numpy_aliases
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _std_from_var(var(input, dim, unbiased, keepdim, correction=correction))


@numpy_aliases
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The ``p``-norm over ``dim`` (all elements by default): 2/'fro', 1, inf, -inf or any p."""
    input = _cast(to_box(input), dtype)
    if p is None or p == 2 or p == "fro":
        return sqrt(sum(mul(input, input), dim, keepdim))
    if p == 1:
        return sum(absolute(input), dim, keepdim)
    if p in (float("inf"), "inf"):
        return amax(absolute(input), dim, keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(absolute(input), dim, keepdim)
    if p == 0:
        return sum(astype(greater(absolute(input), 0), input.dtype), dim, keepdim)
    return power(sum(power(absolute(input), p), dim, keepdim), 1.0 / p)
