"""The reference engines: convolution and pooling in their plainest correct form.

Each function computes what its tuned twin in :mod:`.conv` or :mod:`.pool` computes, with
PyTorch's semantics, by the textbook algorithm: one whole-batch im2col matrix and one matrix
product for a convolution, a loop over the window's taps for pooling. No chunks, layouts, worker
threads or workspaces. The tests hold the tuned engines to these, and
``runtime.reference_kernels()`` runs a whole model on them (to tell a kernel bug from a model bug).

>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> conv2d(x, np.ones((1, 1, 2, 2)), (2, 2), (0, 0), (1, 1), 1)[0, 0]
array([[10., 18.],
       [42., 50.]])
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .geometry import compute_dtype, conv_geometry
from .shapes import pool_output_hw

__all__ = ["conv2d", "conv2d_grad_input", "conv2d_grad_weight", "max_pool2d",
           "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "adaptive_avg_pool2d",
           "adaptive_avg_pool2d_backward", "adaptive_max_pool2d", "conv3d", "conv_transpose"]


def _taps(out_hw, kernel, stride, dilation):
    """For each tap (i, j) of the window, the slices of the padded input it reads."""
    (oh, ow), (kh, kw), (sh, sw), (dh, dw) = out_hw, kernel, stride, dilation
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                         slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def _pad(x, padding, extent, fill=0):
    """``x`` padded by ``padding`` before and to at least ``extent`` (H, W) in all."""
    (ph, pw), (h, w) = padding, x.shape[2:]
    out = np.full(x.shape[:2] + (max(extent[0], h + 2 * ph), max(extent[1], w + 2 * pw)), fill,
                  x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


# --- convolution: cols, one product, col2im ----------------------------------------------------
def _cols(x, g):
    """(N, G, C/G·kh·kw, OH·OW): every receptive field of the padded input as one column."""
    xp = _pad(x, g.padding, (0, 0))
    cols = np.empty((g.batch, g.cin) + tuple(g.kernel_hw) + tuple(g.out_hw), x.dtype)
    for i, j, at in _taps(g.out_hw, g.kernel_hw, g.stride, g.dilation):
        cols[:, :, i, j] = xp[:, :, at[0], at[1]]
    return cols.reshape(g.batch, g.groups, g.cin_per_group * g.taps, -1)


def conv2d(x, w, stride, padding, dilation, groups):
    """PyTorch's conv2d (cross-correlation) without bias: ``W @ cols`` per group."""
    g = conv_geometry("conv2d", x.shape, w.shape, stride, padding, dilation, groups)
    dtype = compute_dtype(x, w)
    wmat = w.astype(dtype).reshape(g.groups, g.cout_per_group, -1)
    return (wmat @ _cols(x.astype(dtype), g)).reshape(g.output_shape)


def conv2d_grad_weight(gy, x, kernel_hw, stride, padding, dilation, groups):
    """The adjoint of ``w ↦ conv2d(x, w)``: ``Σ_batch gy @ colsᵀ``."""
    g = conv_geometry("conv2d_grad_weight", x.shape,
                      (gy.shape[1], x.shape[1] // groups) + tuple(kernel_hw), stride, padding,
                      dilation, groups)
    dtype = compute_dtype(gy, x)
    gyp = gy.astype(dtype).reshape(g.batch, g.groups, g.cout_per_group, -1)
    cols = _cols(x.astype(dtype), g)
    return (gyp @ cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(g.weight_shape)


def conv2d_grad_input(gy, w, input_hw, stride, padding, dilation, groups):
    """The adjoint of ``x ↦ conv2d(x, w)``: ``Wᵀ @ gy``, then col2im adds every column back
    onto the input positions it was copied from."""
    g = conv_geometry("conv2d_grad_input", (gy.shape[0], w.shape[1] * groups) + tuple(input_hw),
                      w.shape, stride, padding, dilation, groups)
    dtype = compute_dtype(gy, w)
    wmat = w.astype(dtype).reshape(g.groups, g.cout_per_group, -1)
    gyp = gy.astype(dtype).reshape(g.batch, g.groups, g.cout_per_group, -1)
    gcols = (wmat.transpose(0, 2, 1) @ gyp).reshape(
        (g.batch, g.cin) + tuple(g.kernel_hw) + tuple(g.out_hw))
    gxp = _pad(np.zeros(g.input_shape, dtype), g.padding, (0, 0))
    for i, j, at in _taps(g.out_hw, g.kernel_hw, g.stride, g.dilation):
        gxp[:, :, at[0], at[1]] += gcols[:, :, i, j]
    (ph, pw), (h, wd) = g.padding, g.in_hw
    return gxp[:, :, ph:ph + h, pw:pw + wd].copy()


# --- pooling: one pass per tap -----------------------------------------------------------------
def _pool_geometry(op, shape, kernel, stride, padding, dilation, ceil_mode):
    out_hw = pool_output_hw(tuple(shape[2:]), kernel, stride, padding, dilation, ceil_mode, op)
    reach = [(o - 1) * s + d * (k - 1) + 1 for o, s, d, k in zip(out_hw, stride, dilation, kernel)]
    return out_hw, reach


def max_pool2d(x, kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    """Window maxima and their flat positions in each H×W plane. Taps are visited in window
    order and a tap inside the input wins if it is greater or NaN (so the first maximum is kept
    and NaN propagates); before any win a window points at its first tap inside the input."""
    n, c, h, w = x.shape
    out_hw, reach = _pool_geometry("max_pool2d", x.shape, kernel_size, stride, padding, dilation,
                                   ceil_mode)
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = _pad(x, padding, reach, fill)
    rows = np.arange(xp.shape[2])[:, None] - padding[0]  # input position of each padded cell
    cols = np.arange(xp.shape[3])[None, :] - padding[1]
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    position = np.where(inside, rows * w + cols, -1)
    best = np.full((n, c) + out_hw, fill, x.dtype)
    index = np.full((n, c) + out_hw, -1, np.int64)
    for _, _, at in _taps(out_hw, kernel_size, stride, dilation):
        value, where = xp[:, :, at[0], at[1]], position[at[0], at[1]]
        inside = where >= 0
        index = np.where((index < 0) & inside, where, index)  # a window's first tap inside
        take = inside & ((value > best) | np.isnan(value))
        best = np.where(take, value, best)
        index = np.where(take, where, index)
    return best, index


def max_pool2d_backward(gy, indices, x_shape):
    """Add each ``gy`` into the input position its window picked."""
    n, c, h, w = x_shape
    gx = np.zeros((n * c, h * w), gy.dtype)
    for plane in range(n * c):
        np.add.at(gx[plane], indices.reshape(n * c, -1)[plane], gy.reshape(n * c, -1)[plane])
    return gx.reshape(x_shape)


def _window_counts(in_hw, out_hw, reach, kernel, stride, padding, count_include_pad):
    """How many cells each window divides by: padded cells count unless excluded, cells past
    the right padding (ceil_mode) never do."""
    (h, w), (ph, pw) = in_hw, padding
    counted = np.zeros((max(reach[0], h + 2 * ph), max(reach[1], w + 2 * pw)))
    if count_include_pad:
        counted[:h + 2 * ph, :w + 2 * pw] = 1
    else:
        counted[ph:ph + h, pw:pw + w] = 1
    total = np.zeros(out_hw)
    for _, _, at in _taps(out_hw, kernel, stride, (1, 1)):
        total += counted[at[0], at[1]]
    return total


def avg_pool2d(x, kernel_size, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Window sums over the zero-padded input, divided by PyTorch's divisor."""
    out_hw, reach = _pool_geometry("avg_pool2d", x.shape, kernel_size, stride, padding, (1, 1),
                                   ceil_mode)
    xp = _pad(x, padding, reach)
    total = np.zeros(x.shape[:2] + out_hw, x.dtype)
    for _, _, at in _taps(out_hw, kernel_size, stride, (1, 1)):
        total += xp[:, :, at[0], at[1]]
    divisor = divisor_override or _window_counts(x.shape[2:], out_hw, reach, kernel_size, stride,
                                                 padding, count_include_pad)
    return (total / divisor).astype(x.dtype)


def avg_pool2d_backward(gy, x_shape, kernel_size, stride, padding=(0, 0), ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Spread each ``gy / divisor`` over its window (the transpose of :func:`avg_pool2d`)."""
    out_hw, reach = _pool_geometry("avg_pool2d_backward", x_shape, kernel_size, stride, padding,
                                   (1, 1), ceil_mode)
    divisor = divisor_override or _window_counts(x_shape[2:], out_hw, reach, kernel_size, stride,
                                                 padding, count_include_pad)
    gxp = _pad(np.zeros(x_shape, gy.dtype), padding, reach)
    for _, _, at in _taps(out_hw, kernel_size, stride, (1, 1)):
        gxp[:, :, at[0], at[1]] += gy / divisor
    (ph, pw), (h, w) = padding, x_shape[2:]
    return gxp[:, :, ph:ph + h, pw:pw + w].copy()


def _cells(size, out):
    """PyTorch's adaptive cells: [floor(i·size/out), ceil((i+1)·size/out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def adaptive_avg_pool2d(x, output_hw):
    """The mean of each adaptive cell."""
    (oh, ow), (h, w) = output_hw, x.shape[2:]
    y = np.empty(x.shape[:2] + (oh, ow), x.dtype)
    for i, (r0, r1) in enumerate(_cells(h, oh)):
        for j, (c0, c1) in enumerate(_cells(w, ow)):
            y[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return y


def adaptive_avg_pool2d_backward(gy, x_shape, output_hw):
    """Spread each ``gy`` evenly over its cell (cells may overlap)."""
    (oh, ow), (h, w) = output_hw, x_shape[2:]
    gx = np.zeros(x_shape, gy.dtype)
    for i, (r0, r1) in enumerate(_cells(h, oh)):
        for j, (c0, c1) in enumerate(_cells(w, ow)):
            gx[:, :, r0:r1, c0:c1] += gy[:, :, i:i + 1, j:j + 1] / math.prod((r1 - r0, c1 - c0))
    return gx


def adaptive_max_pool2d(x, output_hw):
    """The maximum of each adaptive cell, scanned row by row (a greater value or a NaN wins)."""
    (oh, ow), (h, w) = output_hw, x.shape[2:]
    y = np.empty(x.shape[:2] + (oh, ow), x.dtype)
    index = np.empty(x.shape[:2] + (oh, ow), np.int64)
    for i, (r0, r1) in enumerate(_cells(h, oh)):
        for j, (c0, c1) in enumerate(_cells(w, ow)):
            best = np.full(x.shape[:2], -np.inf)
            where = np.full(x.shape[:2], r0 * w + c0)
            for r, c in itertools.product(range(r0, r1), range(c0, c1)):
                value = x[:, :, r, c]
                wins = (value > best) | np.isnan(value)
                best, where = np.where(wins, value, best), np.where(wins, r * w + c, where)
            y[:, :, i, j], index[:, :, i, j] = best, where
    return y, index


# --- convolutions over any number of spatial dimensions, by their definitions ------------------
def _conv_taps(kernel, stride, padding, dilation, out_size):
    """For each kernel tap, per spatial axis the padded-input slice it meets across all outputs."""
    for tap in itertools.product(*(range(k) for k in kernel)):
        yield tap, tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, d, s, o in
                         zip(tap, dilation, stride, out_size))


def conv3d(x, w, stride, padding, dilation, groups):
    """3-D cross-correlation without bias, as im2col over the three spatial axes and one product
    per group (any number of spatial axes works the same way)."""
    n, c = x.shape[:2]
    kernel = w.shape[2:]
    out_size = tuple((size + 2 * p - d * (k - 1) - 1) // s + 1 for size, k, s, p, d in
                     zip(x.shape[2:], kernel, stride, padding, dilation))
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding))
    cols = np.empty((n, c) + kernel + out_size, np.result_type(x, w))
    for tap, at in _conv_taps(kernel, stride, padding, dilation, out_size):
        cols[(slice(None), slice(None)) + tap] = xp[(slice(None), slice(None)) + at]
    cols = cols.reshape(n, groups, -1, math.prod(out_size))
    wmat = w.reshape(groups, w.shape[0] // groups, -1)
    return (wmat @ cols).reshape((n, w.shape[0]) + out_size)


def conv_transpose(x, w, stride, padding, output_padding, dilation, groups):
    """Transposed convolution without bias, any number of spatial axes, by its definition: input
    position ``i`` adds ``x[i]·w[tap]`` onto output position ``i·stride + tap·dilation -
    padding`` (positions outside the output, in its padding, are dropped)."""
    n, c_in = x.shape[:2]
    kernel = w.shape[2:]
    out_per_group = w.shape[1]
    size = tuple((i - 1) * s - 2 * p + d * (k - 1) + op + 1 for i, k, s, p, d, op in
                 zip(x.shape[2:], kernel, stride, padding, dilation, output_padding))
    full = tuple(o + 2 * p + s for o, p, s in zip(size, padding, stride))  # room past the end
    out = np.zeros((n, out_per_group * groups) + full, np.result_type(x, w))
    xg = x.reshape((n, groups, c_in // groups) + x.shape[2:])
    wg = w.reshape((groups, c_in // groups, out_per_group) + kernel)
    for tap, at in _conv_taps(kernel, stride, padding, dilation, x.shape[2:]):
        # (n, g, c, *spatial) x (g, c, o) -> (n, g, o, *spatial), added at the tap's offset
        contribution = np.einsum("ngc...,gco->ngo...", xg, wg[(slice(None),) * 3 + tap])
        out[(slice(None), slice(None)) + at] += contribution.reshape(
            (n, out_per_group * groups) + x.shape[2:])
    inner = tuple(slice(p, p + o) for p, o in zip(padding, size))
    return out[(slice(None), slice(None)) + inner].copy()
