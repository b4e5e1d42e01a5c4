"""Linear maps along one axis of an array: interpolation, padding and sliding windows.

Upsampling (nearest, linear, cubic), padding (reflect, replicate, circular), adaptive averaging
and the unfolding of sliding windows (im2col along one axis) all share one shape: each output
position along an axis is a fixed weighted sum of a few input positions along that axis, the same
for every other index. Each is an ``(out, in)`` matrix ``M`` applied along the axis,

    y[..., o, ...] = Σ_i M[o, i] · x[..., i, ...],

and its adjoint (the backward pass) is ``Mᵀ`` along the same axis: upsampling's backward adds each
output's gradient back onto the inputs it was interpolated from, padding's adds the reflected
cells back, unfolding's adds overlapping windows back up (folding). A separable map over several
axes (bilinear, bicubic, trilinear, 2-D padding) is one map per axis.

:class:`AxisMap` holds such a matrix (sparse: 1 to 4 entries per row) and applies it; the builders
below make the matrices with PyTorch's index and weight conventions (``aten/src/ATen/native/
UpSample.h``), down to the float32 arithmetic PyTorch uses for nearest-neighbour indices.

>>> m = pad_map(4, 2, 1, "reflect")
>>> m.apply(np.arange(4.0), 0)
array([2., 1., 0., 1., 2., 3., 2.])
>>> m.T.apply(np.ones(7), 0)  # the adjoint: how often each input was read
array([1., 2., 3., 1.])
"""
from __future__ import annotations

import math
from functools import cached_property, lru_cache

import numpy as np
import scipy.sparse

from .adaptive import adaptive_matrix
from .shapes import span

__all__ = ["AxisMap", "window_map", "pad_map", "nearest_map", "linear_map", "cubic_map",
           "area_map", "antialias_map"]


class AxisMap:
    """A fixed ``(out, in)`` matrix applied along one axis (:meth:`apply`); ``.T`` is its adjoint.

    A map whose rows each pick one input (nearest neighbours, reflect/replicate/circular padding)
    is applied as a gather (``np.take``), exact for any dtype; any other map as one sparse product
    over all the other indices at once.
    """

    def __init__(self, matrix, name="map"):
        self.matrix = scipy.sparse.csr_array(matrix, dtype=np.float64)
        self.matrix.sum_duplicates()
        self.shape = self.matrix.shape
        self.name = name
        self._cast = {}

    def __repr__(self):
        return f"AxisMap({self.name}, {self.shape[1]} -> {self.shape[0]})"

    @cached_property
    def index(self):
        """The input each output picks, when every row is a single 1; else ``None``."""
        m = self.matrix
        if np.all(np.diff(m.indptr) == 1) and np.all(m.data == 1):
            return m.indices.astype(np.intp)
        return None

    @cached_property
    def T(self):  # noqa: N802 - the transpose, as NumPy and SciPy spell it
        transposed = AxisMap(self.matrix.T, f"{self.name}ᵀ")
        transposed.__dict__["T"] = self
        return transposed

    def _matrix_as(self, dtype):
        if dtype not in self._cast:
            self._cast[dtype] = self.matrix.astype(dtype)
        return self._cast[dtype]

    def apply(self, x, axis):
        """``M`` along ``axis`` of ``x``: a new C-contiguous array in ``x``'s dtype."""
        x = np.asarray(x)
        axis = axis % x.ndim
        if x.shape[axis] != self.shape[1]:
            raise ValueError(f"{self.name}: expected {self.shape[1]} entries along axis {axis}, "
                             f"got an array of shape {x.shape}")
        if self.index is not None:
            return np.take(x, self.index, axis=axis)
        floating = np.issubdtype(x.dtype, np.floating)
        dtype = x.dtype if floating else np.dtype(np.float64)
        moved = np.moveaxis(x, axis, 0)
        rows = np.ascontiguousarray(moved, dtype=dtype).reshape(self.shape[1],
                                                                 math.prod(moved.shape[1:]))
        out = self._matrix_as(dtype) @ rows
        out = np.moveaxis(out.reshape((self.shape[0],) + moved.shape[1:]), 0, axis)
        return np.ascontiguousarray(out if floating else out.astype(x.dtype))


def _selection(name, out_index, length, keep=None):
    """The map whose row ``o`` picks input ``out_index[o]`` (rows where ``keep`` is False are 0)."""
    out_index = np.asarray(out_index, dtype=np.int64)
    rows = np.arange(out_index.size)
    if keep is not None:
        rows, out_index = rows[keep], out_index[keep]
    matrix = scipy.sparse.coo_array((np.ones(rows.size), (rows, out_index)),
                                    shape=(keep.size if keep is not None else rows.size, length))
    return AxisMap(matrix, name)


def _weighted(name, index, weight, length):
    """The map with ``weight[o, t]`` at ``(o, index[o, t])`` (repeated indices add up)."""
    index, weight = np.asarray(index, np.int64), np.asarray(weight, np.float64)
    rows = np.repeat(np.arange(index.shape[0]), index.shape[1])
    matrix = scipy.sparse.coo_array((weight.ravel(), (rows, index.ravel())),
                                    shape=(index.shape[0], length))
    return AxisMap(matrix, name)


# --- sliding windows ------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def window_map(length, kernel, stride=1, padding=0, dilation=1, windows=None):
    """Unfolding (im2col along one axis): row ``k * windows + o`` picks position
    ``o*stride + k*dilation - padding``, or nothing where that falls in the zero padding.

    ``windows`` defaults to what a convolution gives, ``(length + 2p - span) // stride + 1``; a
    transposed convolution asks for its own count. The adjoint (``.T``) folds windows back,
    adding up where they overlap.

    >>> window_map(4, 2, stride=2).apply(np.arange(4.0), 0)   # taps (0, 0), (0, 1), (1, 0), (1, 1)
    array([0., 2., 1., 3.])
    """
    if windows is None:
        windows = (length + 2 * padding - span(kernel, dilation)) // stride + 1
    position = (np.arange(windows)[None, :] * stride + np.arange(kernel)[:, None] * dilation
                - padding).ravel()
    keep = (position >= 0) & (position < length)
    return _selection("window_map", np.clip(position, 0, max(length - 1, 0)), length, keep)


# --- padding -------------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def pad_map(length, before, after, mode):
    """``before`` cells before and ``after`` after (negative: cut), filled by ``mode``:

    * ``'reflect'``: mirrored about the edge cell, which is not repeated (``2 1 | 0 1 2 3 | 2``);
    * ``'replicate'``: the edge cell repeated (``0 0 | 0 1 2 3 | 3``);
    * ``'circular'``: wrapped around (``2 3 | 0 1 2 3 | 0``), around what is left after the cut
      (as PyTorch does: ``(2, -1)`` on ``0 1 2 3`` gives ``1 2 | 0 1 2``).
    """
    position = np.arange(-before, length + after)
    if mode == "reflect":
        position = np.abs(position)
        position = np.where(position >= length, 2 * (length - 1) - position, position)
    elif mode == "replicate":
        position = np.clip(position, 0, length - 1)
    elif mode == "circular":
        start, stop = max(-before, 0), length - max(-after, 0)
        position = start + (np.arange(-max(before, 0), stop - start + max(after, 0))
                            % max(stop - start, 1))
    else:
        raise ValueError(f"pad_map: unknown mode {mode!r}")
    return _selection(f"{mode} padding", position, length)


# --- interpolation -------------------------------------------------------------------------------
def _scale(size_in, size_out, scale, dtype):
    """PyTorch's ``compute_scales_value``: ``1/scale_factor`` when one was given, else in/out."""
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(size_in) / dtype.type(size_out)


def _area_scale(size_in, size_out, align_corners, scale, dtype):
    """PyTorch's ``area_pixel_compute_scale``: the step between sampled input positions."""
    if align_corners:
        return dtype.type(size_in - 1) / dtype.type(size_out - 1) if size_out > 1 else dtype.type(0)
    return _scale(size_in, size_out, scale, dtype)


def _source(size_in, size_out, align_corners, scale, dtype, cubic):
    """Where each output samples the input (``area_pixel_compute_source_index``), in ``dtype``
    as PyTorch computes it (float32 for float32 inputs)."""
    step = _area_scale(size_in, size_out, align_corners, scale, dtype)
    out = np.arange(size_out).astype(dtype)
    if align_corners:
        return step * out
    source = step * (out + dtype.type(0.5)) - dtype.type(0.5)
    return source if cubic else np.maximum(source, dtype.type(0))


@lru_cache(maxsize=256)
def nearest_map(size_in, size_out, scale=None, exact=False, dtype="float32"):
    """``mode='nearest'`` (input ``floor(o·in/out)``, PyTorch's legacy OpenCV rule) or
    ``'nearest-exact'`` (``floor((o + ½)·in/out)``, as Pillow and scipy), in the precision
    PyTorch's CPU kernel uses: the input's (float32 or float64; float32 for integers), with the
    final floor taken in float32 (``floorf``)."""
    dtype = np.dtype(dtype) if np.issubdtype(np.dtype(dtype), np.floating) else np.dtype("f4")
    step = _scale(size_in, size_out, scale, dtype)
    o = np.arange(size_out).astype(dtype)
    if exact:
        source = np.maximum(step * (o + dtype.type(0.5)) - dtype.type(0.5), dtype.type(0))
        source = source + dtype.type(0.5)
    else:
        source = step * o
    index = np.minimum(np.floor(source.astype(np.float32)).astype(np.int64), size_in - 1)
    return _selection("nearest-exact" if exact else "nearest", index, size_in)


@lru_cache(maxsize=256)
def linear_map(size_in, size_out, align_corners=False, scale=None, dtype="float64"):
    """``mode='linear'`` along one axis (bilinear and trilinear are one per axis): two taps
    ``i0 = floor(src)`` and ``i0 + 1`` (clamped), weights ``1 - λ`` and ``λ = src - i0``."""
    dtype = np.dtype(dtype)
    if size_out == size_in:  # PyTorch copies, whatever the scale says
        return _selection("linear", np.arange(size_out), size_in)
    source = _source(size_in, size_out, align_corners, scale, dtype, cubic=False)
    i0 = np.minimum(source.astype(np.int64), size_in - 1)
    i1 = i0 + (i0 < size_in - 1)
    lam = np.clip(source - i0.astype(dtype), 0, 1).astype(dtype)
    weights = np.stack([dtype.type(1) - lam, lam], axis=1)
    return _weighted("linear", np.stack([i0, i1], axis=1), weights, size_in)


def _cubic_weights(t, dtype):
    """The four cubic-convolution weights (Keys, A = -0.75) of the taps at -1, 0, 1, 2 around a
    point ``t`` past tap 0 (PyTorch's ``get_cubic_upsample_coefficients``)."""
    a = dtype.type(-0.75)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = dtype.type(1)
    return np.stack([far(t + one), near(t), near(one - t), far(one - t + one)], axis=1)


@lru_cache(maxsize=256)
def cubic_map(size_in, size_out, align_corners=False, scale=None, dtype="float64"):
    """``mode='bicubic'`` along one axis: four taps ``floor(src) - 1 ... + 2``, clamped to the
    input (so edge values repeat), with cubic-convolution weights."""
    dtype = np.dtype(dtype)
    source = _source(size_in, size_out, align_corners, scale, dtype, cubic=True)
    base = np.minimum(np.floor(source.astype(np.float32)).astype(np.int64), size_in - 1)
    t = np.clip(source - base.astype(dtype), 0, 1).astype(dtype)
    index = np.clip(base[:, None] + np.arange(-1, 3)[None, :], 0, size_in - 1)
    return _weighted("cubic", index, _cubic_weights(t, dtype).astype(dtype), size_in)


@lru_cache(maxsize=256)
def area_map(size_in, size_out):
    """``mode='area'``: adaptive average pooling's cells,
    ``[floor(o·in/out), ceil((o+1)·in/out))``."""
    return AxisMap(adaptive_matrix(size_in, size_out), "area")


def _aa_filter(mode, x):
    x = np.abs(x)
    if mode == "linear":
        return np.maximum(1 - x, 0)
    a = -0.5  # Pillow's bicubic filter
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0))


@lru_cache(maxsize=256)
def antialias_map(size_in, size_out, mode, align_corners=False, scale=None):
    """``antialias=True`` (bilinear or bicubic), as Pillow resizes: when shrinking, the filter is
    stretched by the scale so each output averages every input it covers; weights are
    normalised to sum to 1 (PyTorch's ``_compute_indices_min_size_weights_aa``). An axis whose
    size does not change is left alone, as PyTorch's separable kernel skips it."""
    if size_out == size_in:
        return _selection(f"antialiased {mode}", np.arange(size_out), size_in)
    step = float(_area_scale(size_in, size_out, align_corners, scale, np.dtype(np.float64)))
    support = (1.0 if mode == "linear" else 2.0) * max(step, 1.0)
    stretch = max(step, 1.0)
    rows, cols, weights = [], [], []
    for o in range(size_out):
        center = step * (o + 0.5)  # align_corners changes only the step
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), size_in)
        taps = np.arange(lo, hi)
        w = _aa_filter(mode, (taps - center + 0.5) / stretch)
        total = w.sum()
        rows += [o] * taps.size
        cols += taps.tolist()
        weights += (w / total if total != 0 else w).tolist()
    matrix = scipy.sparse.coo_array((weights, (rows, cols)), shape=(size_out, size_in))
    return AxisMap(matrix, f"antialiased {mode}")
