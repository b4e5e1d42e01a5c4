"""Products and scans: ``prod``, ``cumprod``, ``logcumsumexp``, ``cummax``/``cummin`` and ``diff``.

*Zeros.* The textbook gradient of a product divides by each factor, which fails where a factor
is zero. Here the derivative of a product with respect to one factor is the product of the
*others*, formed from exclusive prefix and suffix products (two ``cumprod`` scans), so a zero
factor gives the exact gradient: the others' product for the zero entry, zero for the rest.
``cumprod``'s own rules handle zeros as well: a plain ``backward()`` takes a NumPy shortcut that
divides only before the first zero of each slice and treats that zero separately; under
``create_graph=True`` or a nested transformation, the rules are written with primitives as a
triangular matrix C[i, j] = ∏_{k ≤ j, k ≠ i} x_k (the cumulative products of x with x_i replaced
by 1), which costs n² per slice but can be differentiated to any order.

``logcumsumexp`` works the same way: its NumPy shortcut stays in log space, splitting the
cotangent by sign, so no exponential overflows; its differentiable form is the triangular
matrix of weights exp(x_i − ans_j), i ≤ j (each at most 1).
"""
from __future__ import annotations

import builtins

from ..autodiff.tracer import Box, Primitive, is_constant, to_box, wrap
from ..backend import xp
from .arguments import ValuesIndices, numpy_aliases
from .elementwise import exp, mul, not_equal, sub, where
from .reductions import _cast, expand_reduced
from .reductions import sum as reduce_sum
from .shape import (_dim, astype, cat, flip, gather, movedim, narrow, pad, reshape,
                    unsqueeze, zeros_like_tensor)

__all__ = ["prod", "cumprod", "logcumsumexp", "cummax", "cummin", "diff"]


def _to_last(array, axis):
    return xp.moveaxis(array, axis, -1)


def _triangle(n, dtype=bool):
    """The constant upper-triangular mask [i ≤ j] of an n×n matrix."""
    return wrap(xp.triu(xp.ones((n, n), dtype=dtype)))


# --- cumprod -----------------------------------------------------------------------------------
def _first_zero(x):
    """Per slice of the last axis, the position of the first zero (n where there is none)."""
    zero = x == 0
    n = x.shape[-1]
    return xp.where(zero.any(-1), zero.argmax(-1), n)[..., None]


def _prefix_before(y, first):
    """∏_{k < z} x_k for the first zero z: y[z − 1], or 1 when z = 0."""
    taken = xp.take_along_axis(y, xp.maximum(first - 1, 0), -1)
    return xp.where(first == 0, 1, taken)


def _after_zero_products(x, first):
    """R_j = ∏_{z < k ≤ j} x_k (1 at j = z), for j ≥ z."""
    pos = xp.arange(x.shape[-1])
    return xp.cumprod(xp.where(pos <= first, 1, x), -1)


def _zero_layout(x, axis, *arrays):
    """``x`` and ``arrays`` with the scan axis last, the first zero's position per slice, the
    positions, and the mask of positions before the first zero."""
    x, *arrays = (_to_last(a, axis) for a in (x, *arrays))
    first = _first_zero(x)
    pos = xp.arange(x.shape[-1])
    return x, arrays, first, pos, pos < first


def _cumprod_vjp_numpy(g, y, x, axis):
    if x.size == 0:
        return xp.zeros_like(x)
    x, (g, y), first, pos, before = _zero_layout(x, axis, g, y)
    with xp.errstate(divide="ignore", invalid="ignore"):
        tail = xp.flip(xp.cumsum(xp.flip(g * y, -1), -1), -1)         # Σ_{j ≥ i} g_j y_j
        out = xp.where(before, tail / xp.where(before, x, 1), 0)     # i before the first zero
    at_zero = _prefix_before(y, first)[..., 0] * xp.sum(
        xp.where(pos >= first, g * _after_zero_products(x, first), 0), -1)
    out = out + (pos == first) * at_zero[..., None]                  # i at the first zero
    return xp.moveaxis(out.astype(x.dtype, copy=False), -1, axis)


def _cumprod_jvp_numpy(t, y, x, axis):
    if x.size == 0:
        return xp.zeros_like(x)
    x, (t, y), first, pos, before = _zero_layout(x, axis, t, y)
    with xp.errstate(divide="ignore", invalid="ignore"):
        ratio = xp.cumsum(xp.where(before, t / xp.where(before, x, 1), 0), -1)
    t_zero = xp.take_along_axis(t, xp.minimum(first, x.shape[-1] - 1), -1)
    after = (t_zero * _prefix_before(y, first)) * _after_zero_products(x, first)
    out = xp.where(before, y * ratio, xp.where(pos >= first, after, 0))
    return xp.moveaxis(out.astype(x.dtype, copy=False), -1, axis)


def _others_matrix(x):
    """C[..., i, j] = ∏_{k ≤ j, k ≠ i} x_k for i ≤ j and 0 below the diagonal (x's last axis)."""
    n = x.shape[-1]
    eye = wrap(xp.eye(n, dtype=bool))
    replaced = where(eye, xp.ones((), x.dtype), unsqueeze(x, -2))     # row i: x with x_i = 1
    return where(_triangle(n), _cumprod(replaced, axis=-1), xp.zeros((), x.dtype))


def _cumprod_vjp(g, ans, x, axis):
    if is_constant(g, ans, x):
        return wrap(_cumprod_vjp_numpy(g._array, ans._array, x._array, axis))
    c = _others_matrix(movedim(x, axis, -1))
    return movedim(reduce_sum(mul(c, unsqueeze(movedim(g, axis, -1), -2)), -1), -1, axis)


def _cumprod_jvp(t, ans, x, axis):
    if is_constant(t, ans, x):
        return wrap(_cumprod_jvp_numpy(t._array, ans._array, x._array, axis))
    c = _others_matrix(movedim(x, axis, -1))
    return movedim(reduce_sum(mul(c, unsqueeze(movedim(t, axis, -1), -1)), -2), -1, axis)


_cumprod = Primitive("cumprod", lambda x, axis: xp.cumprod(x, axis=axis), vjp=(_cumprod_vjp,),
                     jvp=(_cumprod_jvp,))


def _integer_accumulator(input, dtype):
    """torch accumulates bools and integers in int64 unless a dtype is given."""
    input = _cast(to_box(input), dtype)
    if input.dtype.kind in "biu" and dtype is None:
        input = astype(input, xp.int64)
    return input


@numpy_aliases
def cumprod(input, dim, *, dtype=None):
    """Cumulative products along ``dim``; gradients are exact where entries are zero."""
    if dtype is not None or not isinstance(input, Box) or input.dtype.kind in "biu":
        input = _integer_accumulator(input, dtype)
    return _cumprod(input, axis=_dim(dim, input.ndim) if input.ndim else 0)


# --- prod --------------------------------------------------------------------------------------
def _exclusive_products(x, axis):
    """∏_{k ≠ i} x_k along ``axis`` for each i, as (prefix product before i)·(suffix after i)."""
    n = x.shape[axis]
    widths = [(0, 0)] * x.ndim
    widths[axis] = (1, 0)
    before = _cumprod(pad(narrow(x, axis, 0, n - 1), widths, 1), axis=axis)
    widths[axis] = (0, 1)
    after = flip(_cumprod(flip(pad(narrow(x, axis, 1, n - 1), widths, 1), axis), axis=axis),
                 axis)
    return mul(before, after)


def _prod_vjp(g, ans, x, axis, keepdims):
    if x.shape[axis] == 0:
        return zeros_like_tensor(x)
    return mul(expand_reduced(g, x, (axis,), keepdims), _exclusive_products(x, axis))


def _prod_jvp(t, ans, x, axis, keepdims):
    if x.shape[axis] == 0:
        return zeros_like_tensor(ans)
    return reduce_sum(mul(t, _exclusive_products(x, axis)), axis, keepdims)


_prod = Primitive("prod",
                  lambda x, axis, keepdims: xp.multiply.reduce(x, axis=axis, keepdims=keepdims),
                  vjp=(_prod_vjp,), jvp=(_prod_jvp,))


@numpy_aliases
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """The product of all elements, or along ``dim`` (one dimension, as in torch)."""
    if dtype is not None or not isinstance(input, Box) or input.dtype.kind in "biu":
        input = _integer_accumulator(input, dtype)
    if dim is None:
        out = _prod(reshape(input, (-1,)), axis=0, keepdims=False)
        return reshape(out, (1,) * input.ndim) if keepdim else out
    if not isinstance(dim, int):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    if input.ndim == 0:
        return input
    return _prod(input, axis=_dim(dim, input.ndim), keepdims=keepdim)


# --- logcumsumexp ------------------------------------------------------------------------------
def _log_parts(v):
    """log v⁺ and log v⁻ (−inf where that part is zero)."""
    with xp.errstate(divide="ignore"):
        return xp.log(xp.maximum(v, 0)), xp.log(xp.maximum(-v, 0))


def _running_lse(v, reverse=False):
    if reverse:
        return xp.flip(xp.logaddexp.accumulate(xp.flip(v, -1), axis=-1), -1)
    return xp.logaddexp.accumulate(v, axis=-1)


def _lcse_vjp_numpy(g, ans, x, axis):
    g, ans, x = (_to_last(a, axis) for a in (g, ans, x))
    out = xp.zeros_like(x)
    with xp.errstate(invalid="ignore"):
        for sign, log_part in zip((1, -1), _log_parts(g)):
            out = out + sign * xp.exp(x + _running_lse(log_part - ans, reverse=True))
    return xp.moveaxis(xp.nan_to_num(out, nan=0.0), -1, axis)


def _lcse_jvp_numpy(t, ans, x, axis):
    t, ans, x = (_to_last(a, axis) for a in (t, ans, x))
    out = xp.zeros_like(x)
    with xp.errstate(invalid="ignore"):
        for sign, log_part in zip((1, -1), _log_parts(t)):
            out = out + sign * xp.exp(_running_lse(x + log_part) - ans)
    return xp.moveaxis(xp.where(xp.isneginf(ans), 0, out), -1, axis)


def _lcse_weights(x, ans):
    """W[..., i, j] = exp(x_i − ans_j) for i ≤ j, else 0 (x and ans with the scan axis last)."""
    n = x.shape[-1]
    gap = sub(unsqueeze(x, -1), unsqueeze(ans, -2))
    return exp(where(_triangle(n), gap, xp.array(-xp.inf, x.dtype)))


def _lcse_vjp(g, ans, x, axis):
    if is_constant(g, ans, x):
        return wrap(_lcse_vjp_numpy(g._array, ans._array, x._array, axis))
    w = _lcse_weights(movedim(x, axis, -1), movedim(ans, axis, -1))
    return movedim(reduce_sum(mul(w, unsqueeze(movedim(g, axis, -1), -2)), -1), -1, axis)


def _lcse_jvp(t, ans, x, axis):
    if is_constant(t, ans, x):
        return wrap(_lcse_jvp_numpy(t._array, ans._array, x._array, axis))
    w = _lcse_weights(movedim(x, axis, -1), movedim(ans, axis, -1))
    return movedim(reduce_sum(mul(w, unsqueeze(movedim(t, axis, -1), -1)), -2), -1, axis)


_logcumsumexp = Primitive("logcumsumexp",
                          lambda x, axis: xp.logaddexp.accumulate(x, axis=axis),
                          vjp=(_lcse_vjp,), jvp=(_lcse_jvp,))


@numpy_aliases
def logcumsumexp(input, dim):
    """log Σ_{k ≤ i} exp(x_k) along ``dim``, computed without overflow."""
    input = to_box(input)
    if input.dtype.kind in "biu":
        raise RuntimeError(f"logcumsumexp: expected a floating-point Tensor, got {input.dtype}")
    return _logcumsumexp(input, axis=_dim(dim, input.ndim) if input.ndim else 0)


# --- cummax / cummin -----------------------------------------------------------------------------
def _running_index(x, axis, accumulate):
    """Where each running extreme was attained: the latest position that reached it (torch's
    choice on ties), and a NaN's own position from the NaN on."""
    x = _to_last(x, axis)
    running = accumulate(x, axis=-1)
    hit = (x == running) | xp.isnan(x)
    pos = xp.where(hit, xp.arange(x.shape[-1]), 0)
    return xp.moveaxis(xp.maximum.accumulate(pos, axis=-1), -1, axis).astype(xp.int64)


def _cumulative_extreme(input, dim, accumulate):
    input = to_box(input)
    if input.ndim == 0:
        return ValuesIndices(input, wrap(xp.zeros((), xp.int64)))
    d = _dim(dim, input.ndim)
    if input.shape[d] == 0:
        return ValuesIndices(input, wrap(xp.zeros(input.shape, xp.int64)))
    indices = _running_index(input._array, d, accumulate)
    return ValuesIndices(gather(input, d, indices), wrap(indices))


@numpy_aliases
def cummax(input, dim):
    """``(values, indices)``: the running maximum along ``dim`` and where it was attained; the
    gradient goes to that position."""
    return _cumulative_extreme(input, dim, xp.maximum.accumulate)


@numpy_aliases
def cummin(input, dim):
    return _cumulative_extreme(input, dim, xp.minimum.accumulate)


# --- diff ----------------------------------------------------------------------------------------
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (``prepend``/``append`` joined first)."""
    input = to_box(input)
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = _dim(dim, input.ndim)
    parts = [p for p in (prepend, input, append) if p is not None]
    if len(parts) > 1:
        parts = [to_box(p) if isinstance(p, Box) or xp.ndim(p) else
                 to_box(xp.full(input.shape[:d] + (1,) + input.shape[d + 1:], p, input.dtype))
                 for p in parts]
        input = cat(parts, d)
    for _ in range(builtins.max(int(n), 0)):
        length = input.shape[d]
        if length == 0:
            break
        later, earlier = narrow(input, d, 1, length - 1), narrow(input, d, 0, length - 1)
        input = not_equal(later, earlier) if input.dtype == bool else sub(later, earlier)
    return input

