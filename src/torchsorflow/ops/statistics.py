"""Statistics over dimensions: ``quantile``/``nanquantile``, ``nansum``/``nanmean``,
``count_nonzero``, ``aminmax`` and ``std_mean``/``var_mean``.

Quantiles sort the values (:func:`torchsorflow.ops.sorting.sort`, whose gradient goes back to
where each value came from) and interpolate between the two order statistics around the rank
q·(n − 1) with ``lerp``, as torch does; so the gradient is torch's, with no new rule.
"""
from __future__ import annotations

from collections import namedtuple

from ..autodiff.tracer import Box, to_box, wrap
from ..backend import is_floating, xp
from .arguments import numpy_aliases
from .elementwise import div, isnan, where
from .pointwise import lerp
from .reductions import amax, amin, mean, normalize_axis, std, var
from .reductions import sum as reduce_sum
from .shape import astype, gather, movedim, reshape, squeeze, unsqueeze
from .sorting import sort

__all__ = ["quantile", "nanquantile", "nansum", "nanmean", "count_nonzero", "aminmax",
           "std_mean", "var_mean"]

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")
MinMax = namedtuple("aminmax", ["min", "max"])


def _quantile_levels(op, q, dtype):
    """The levels as a float64 vector, and whether ``q`` was a scalar."""
    if isinstance(q, Box):
        if q.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor")
        if q.dtype != dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor")
        levels, scalar = q._array.astype(xp.float64).reshape(-1), q.ndim == 0
    else:
        levels, scalar = xp.array([float(q)]), True
    if ((levels < 0) | (levels > 1)).any():
        raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
    return levels, scalar


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan):
    input = to_box(input)
    if not is_floating(input.dtype):
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, midpoint "
                           f"or nearest. Got {interpolation}")
    levels, scalar = _quantile_levels(op, q, input.dtype)
    levels = levels.astype(input.dtype)  # ranks are computed in the input's dtype, as in torch
    if input.numel() == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    if dim is None:
        x, d = reshape(input, (-1,)), None
    else:
        d = normalize_axis(dim, input.ndim)
        d = d[0] if d else 0
        x = movedim(input, d, -1) if input.ndim else reshape(input, (1,))
    ranked = sort(x, -1).values                                     # NaN sorts last
    nan = xp.isnan(x._array)
    n = x.shape[-1]
    valid = n - nan.sum(-1, keepdims=True) if ignore_nan else n
    ranks = levels * (xp.asarray(valid) - 1).astype(input.dtype)  # (..., Q)
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.round(ranks)                                     # half to even, as torch
    if not ignore_nan:  # a slice with NaN reads its last sorted entry, a NaN (torch's choice)
        ranks = xp.where(nan.any(-1, keepdims=True), n - 1, ranks)
    ranks = xp.broadcast_to(ranks, x.shape[:-1] + (len(levels),))
    below, above = xp.floor(ranks), xp.ceil(ranks)
    weight = 0.5 if interpolation == "midpoint" else ranks - below
    lo = gather(ranked, -1, xp.maximum(below, 0).astype(xp.int64))  # an all-NaN slice: its
    hi = gather(ranked, -1, xp.maximum(above, 0).astype(xp.int64))  # first entry, a NaN
    out = lerp(lo, hi, wrap(xp.asarray(weight, dtype=input.dtype)))
    out = movedim(out, -1, 0)                                      # (Q, ...)
    if keepdim:
        if d is None:
            out = reshape(out, out.shape[:1] + (1,) * input.ndim)
        elif input.ndim:
            out = unsqueeze(out, d + 1)
    return squeeze(out, 0) if scalar else out


@numpy_aliases
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-th quantiles (``q`` a number or a 1-D Tensor, prepended as the first dimension)
    over all entries or along ``dim``; NaN where a slice holds a NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


@numpy_aliases
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """:func:`quantile` ignoring NaN entries (NaN where a slice holds nothing else)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


def _zero_nan(input):
    input = to_box(input)
    if input.dtype.kind != "f":
        return input
    return where(isnan(input), xp.zeros((), input.dtype), input)


@numpy_aliases
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """The sum treating NaN as zero (its gradient is zero there)."""
    return reduce_sum(_zero_nan(input), dim, keepdim, dtype=dtype)


@numpy_aliases
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean of the entries that are not NaN."""
    input = to_box(input)
    if not is_floating(input.dtype) and dtype is None:
        raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got "
                           f"{input.dtype}")
    total = nansum(input, dim, keepdim, dtype=dtype)
    counts = reduce_sum(wrap(~xp.isnan(input._array)), dim, keepdim)
    return div(total, astype(counts, total.dtype))


def count_nonzero(input, dim=None):
    """How many entries are non-zero, over all entries or along ``dim`` (an int or a tuple)."""
    input = to_box(input)
    axis = normalize_axis(dim, input.ndim)
    return wrap(xp.count_nonzero(input._array, axis=axis).astype(xp.int64))


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` together."""
    return MinMax(amin(input, dim, keepdim), amax(input, dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``."""
    return (std(input, dim, unbiased, keepdim, correction=correction),
            _mean(input, dim, unbiased, keepdim))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``."""
    return (var(input, dim, unbiased, keepdim, correction=correction),
            _mean(input, dim, unbiased, keepdim))


def _mean(input, dim, unbiased, keepdim):
    if isinstance(dim, bool):  # std_mean(x, False): the flag was ``unbiased``
        dim = None
    return mean(input, dim, keepdim)
