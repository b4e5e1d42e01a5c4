"""Sorting and order statistics: ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``,
``median``/``nanmedian``, ``mode``, ``unique``, ``unique_consecutive``, ``searchsorted`` and
``bucketize``.

The positions come from NumPy's stable sort; the values are then *gathered* at those positions
(:func:`torchsorflow.ops.shape.gather`), so the gradient of a sorted value goes back to the entry
it came from, as in PyTorch, with no new derivative rule. Sorting is always stable here (torch's
``stable=False`` leaves the order of ties unspecified, so stable is one valid answer); a
descending stable sort keeps ties in their original order, as torch's does. NaN sorts above
every number, as in torch.

``median`` and ``nanmedian`` over all elements pass the gradient evenly to every entry equal to
the median (torch's rule for the reductions without ``dim``); with a ``dim`` it goes to the
index returned.
"""
from __future__ import annotations

import builtins

from ..autodiff.tracer import Box, Primitive, to_box, wrap
from ..backend import is_floating, xp
from .arguments import ValuesIndices
from .elementwise import mul
from .reductions import sum as reduce_sum
from .shape import _dim, _gather, reshape, squeeze

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode",
           "unique", "unique_consecutive", "searchsorted", "bucketize"]


def stable_argsort(array, axis=-1, descending=False):
    """Positions that sort ``array`` along ``axis``, ties in their original order either way."""
    if not descending:
        return xp.argsort(array, axis=axis, kind="stable")
    if array.dtype.kind == "f" and not xp.isnan(array).any():  # ties keep their order
        return xp.argsort(-array, axis=axis, kind="stable")
    n = array.shape[axis]
    flipped = xp.argsort(xp.flip(array, axis), axis=axis, kind="stable")
    return xp.flip(n - 1 - flipped, axis)


def _take(input, d, positions, keepdim):
    """``(values, indices)`` at ``positions`` (int64, with ``d`` of size 1 unless kept)."""
    values = _gather(input, positions, axis=d)
    indices = wrap(positions)
    if not keepdim:
        values, indices = squeeze(values, d), squeeze(indices, d)
    return ValuesIndices(values, indices)


def _as_vector(input):
    """A 0-d Tensor as a 1-element vector (torch treats a scalar as one entry along dim 0)."""
    return reshape(input, (1,)) if input.ndim == 0 else input


def sort(input, dim=-1, descending=False, stable=False):
    """``(values, indices)`` sorted along ``dim`` (ascending unless ``descending``)."""
    input = to_box(input)
    if input.ndim == 0:
        return ValuesIndices(input, wrap(xp.zeros((), xp.int64)))
    d = _dim(dim, input.ndim)
    positions = stable_argsort(input._array, d, descending)
    return ValuesIndices(_gather(input, positions, axis=d), wrap(positions))


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim``."""
    return sort(input, dim, descending, stable).indices


def msort(input):
    """``input`` sorted along its first dimension."""
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) entries along
    ``dim``, in sorted order."""
    input = to_box(input)
    vector = _as_vector(input)
    d = _dim(dim, vector.ndim)
    n = vector.shape[d]
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k out of range (k={k!r} for a dimension of "
                           f"size {n})")
    positions = stable_argsort(vector._array, d, descending=largest)
    positions = positions[(slice(None),) * d + (slice(0, k),)]
    out = ValuesIndices(_gather(vector, positions, axis=d), wrap(positions))
    if input.ndim == 0:
        return ValuesIndices(reshape(out.values, ()), reshape(out.indices, ()))
    return out


def _selected(op, input, dim, keepdim, pick):
    """An order statistic along ``dim``: ``pick(sorted positions, sorted values)`` gives the
    position (in the sorted order, shape (..., 1)) of the entry wanted."""
    input = to_box(input)
    vector = _as_vector(input)
    d = _dim(dim, vector.ndim)
    if vector.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
    order = xp.moveaxis(stable_argsort(vector._array, d), d, -1)
    ranked = xp.take_along_axis(xp.moveaxis(vector._array, d, -1), order, -1)
    chosen = xp.take_along_axis(order, pick(ranked), -1)
    out = _take(vector, d, xp.moveaxis(chosen, -1, d), keepdim or input.ndim == 0)
    if input.ndim == 0:
        return ValuesIndices(reshape(out.values, ()), reshape(out.indices, ()))
    return out


def kthvalue(input, k, dim=-1, keepdim=False):
    """``(values, indices)`` of the ``k``-th smallest entry (counting from 1) along ``dim``."""
    def pick(ranked):
        n = ranked.shape[-1]
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim} "
                               f"(k={k!r}, size {n})")
        return xp.full(ranked.shape[:-1] + (1,), k - 1)
    return _selected("kthvalue", input, dim, keepdim, pick)


def _lower_middle(ranked, ignore_nan):
    """Sorted position of the lower median; with NaN present (and not ignored), a NaN's."""
    nan = xp.isnan(ranked) if ranked.dtype.kind == "f" else xp.zeros(ranked.shape, bool)
    valid = ranked.shape[-1] - nan.sum(-1, keepdims=True)
    if ignore_nan:
        return xp.maximum(valid - 1, 0) // 2
    return xp.where(valid < ranked.shape[-1], valid, (ranked.shape[-1] - 1) // 2)


def _even_share(ans, x):
    """1/count at every entry equal to ``ans`` (NaN counting as equal to NaN), 0 elsewhere."""
    a, value = x._array, ans._array
    hits = xp.isnan(a) if value.dtype.kind == "f" and xp.isnan(value) else a == value
    return wrap((hits / builtins.max(int(hits.sum()), 1)).astype(a.dtype, copy=False))


def _median_all_impl(x, ignore_nan):
    flat = xp.sort(x.reshape(-1))
    if flat.size == 0:
        return xp.array(xp.nan, x.dtype)
    return flat[int(_lower_middle(flat, ignore_nan)[0])]


_median_all = Primitive(
    "median", _median_all_impl,
    vjp=(lambda g, ans, x, ignore_nan: mul(g, _even_share(ans, x)),),
    jvp=(lambda t, ans, x, ignore_nan: reduce_sum(mul(t, _even_share(ans, x))),))


def _median(op, input, dim, keepdim, ignore_nan):
    input = to_box(input)
    if dim is None:
        if not is_floating(input.dtype) and input.dtype.kind not in "biu":
            raise RuntimeError(f"{op}: unsupported dtype {input.dtype}")
        return _median_all(input, ignore_nan=ignore_nan)
    return _selected(op, input, dim, keepdim, lambda ranked: _lower_middle(ranked, ignore_nan))


def median(input, dim=None, keepdim=False):
    """The lower median of all entries, or ``(values, indices)`` along ``dim``; NaN if any entry
    is NaN."""
    return _median("median", input, dim, keepdim, ignore_nan=False)


def nanmedian(input, dim=None, keepdim=False):
    """:func:`median` ignoring NaN entries (NaN only where all are NaN)."""
    return _median("nanmedian", input, dim, keepdim, ignore_nan=True)


def _mode_positions(ranked):
    """Sorted position of the last entry of the longest run of equal values (the smallest
    value among equally long runs), as torch.mode picks."""
    n = ranked.shape[-1]
    pos = xp.arange(n)
    starts = xp.ones(ranked.shape, bool)
    starts[..., 1:] = ranked[..., 1:] != ranked[..., :-1]
    ends = xp.ones(ranked.shape, bool)
    ends[..., :-1] = starts[..., 1:]
    start = xp.maximum.accumulate(xp.where(starts, pos, 0), -1)
    end = xp.flip(xp.minimum.accumulate(xp.flip(xp.where(ends, pos, n), -1), -1), -1)
    best = xp.argmax(end - start, -1)[..., None]
    return xp.take_along_axis(end, best, -1)


def mode(input, dim=-1, keepdim=False):
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest if several are
    as frequent) and the index of its last occurrence."""
    return _selected("mode", input, dim, keepdim, _mode_positions)


# --- unique values -------------------------------------------------------------------------------
def _int64(array):
    return wrap(xp.asarray(array, dtype=xp.int64))


def _results(values, inverse, counts, return_inverse, return_counts):
    out = [wrap(values)]
    if return_inverse:
        out.append(_int64(inverse))
    if return_counts:
        out.append(_int64(counts))
    return out[0] if len(out) == 1 else tuple(out)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted), optionally with each entry's position among them and how
    often each occurs; with ``dim``, the distinct slices along it."""
    input = to_box(input)
    array = input._array
    if dim is None:
        values, inverse, counts = xp.unique(array.reshape(-1), return_inverse=True,
                                            return_counts=True)
        inverse = inverse.reshape(array.shape)
    else:
        d = _dim(dim, input.ndim)
        values, inverse, counts = xp.unique(array, return_inverse=True, return_counts=True,
                                            axis=d)
        inverse = inverse.reshape(-1)
    return _results(values, inverse, counts, return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (or slices along ``dim``) into one."""
    input = to_box(input)
    array = input._array
    if dim is None:
        flat = array.reshape(-1)
        moved, shape = flat[:, None], array.shape
    else:
        d = _dim(dim, input.ndim)
        moved = xp.moveaxis(array, d, 0).reshape(array.shape[d], -1)
        shape = (array.shape[d],)
    n = moved.shape[0]
    starts = xp.ones(n, bool)
    if n > 1:
        starts[1:] = (moved[1:] != moved[:-1]).any(axis=1)
    first = xp.flatnonzero(starts)
    counts = xp.diff(xp.append(first, n))
    inverse = (xp.cumsum(starts) - 1).reshape(shape)
    values = flat[first] if dim is None else xp.take(array, first, axis=d)
    return _results(values, inverse, counts, return_inverse, return_counts)


# --- searching sorted sequences ----------------------------------------------------------------
def _side(right, side):
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side!r}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        return side
    return "right" if right else "left"


def _index_dtype(out_int32):
    return xp.int32 if out_int32 else xp.int64


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Where each value of ``input`` would be inserted into ``sorted_sequence`` (along its last
    dimension; leading dimensions must match ``input``'s) to keep it sorted."""
    sequence = to_box(sorted_sequence)._array
    values = input._array if isinstance(input, Box) else xp.asarray(input)
    order = sorter._array if isinstance(sorter, Box) else sorter
    side = _side(right, side)
    if sequence.ndim <= 1:
        out = xp.searchsorted(sequence, values, side=side, sorter=order)
    else:
        if values.ndim != sequence.ndim or values.shape[:-1] != sequence.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension "
                               f"or the first N-1 dimensions of boundaries tensor and input "
                               f"value tensor must match, but we got boundaries tensor "
                               f"{list(sequence.shape)} and input value tensor "
                               f"{list(values.shape)}")
        count = int(xp.prod(sequence.shape[:-1]))
        rows_s = sequence.reshape(count, sequence.shape[-1])
        rows_v = values.reshape(count, values.shape[-1])
        rows_o = None if order is None else order.reshape(rows_s.shape)
        out = xp.stack([xp.searchsorted(s, v, side=side, sorter=None if rows_o is None
                                        else rows_o[i])
                        for i, (s, v) in enumerate(zip(rows_s, rows_v))]).reshape(values.shape)
    return wrap(xp.asarray(out, dtype=_index_dtype(out_int32)))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value: i with boundaries[i−1] < x ≤ boundaries[i] (``right=True``:
    boundaries[i−1] ≤ x < boundaries[i])."""
    boundaries = to_box(boundaries)
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)

