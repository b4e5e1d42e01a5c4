"""Adaptive average pooling: any input size to a fixed output size, as two small matrix products.

PyTorch's cell ``i`` of ``out`` along an axis of length ``n`` averages positions
``floor(i*n/out) <= t < ceil((i+1)*n/out)``. Along one axis that is a linear map, an
``(out, n)`` matrix ``P`` whose row ``i`` holds ``1/len`` over the cell; along both axes

    y[b, c] = P_h @ x[b, c] @ P_wᵀ        and its adjoint        gx[b, c] = P_hᵀ @ gy[b, c] @ P_w.

Adaptive *max* pooling (:func:`adaptive_max_pool2d`) takes the maximum of the same cells.

Each product is done as *one* GEMM over all (batch, channel) planes at once (the planes are
stacked into the rows of a 2-D matrix), not one tiny product per plane. When the input divides
evenly (the usual ``7×7 → 1×1`` or ``8×8 → 4×4``), cells are equal non-overlapping blocks and a
reshaped ``mean`` is cheaper still.

>>> x = np.arange(10.0).reshape(1, 1, 2, 5)
>>> adaptive_avg_pool2d(x, (1, 3))
array([[[[3. , 4.5, 6. ]]]])
"""
from __future__ import annotations

import numpy as np

from . import reference, runtime
from .geometry import as_pair_of_ints

__all__ = ["adaptive_avg_pool2d", "adaptive_avg_pool2d_backward", "adaptive_matrix",
           "adaptive_max_pool2d"]


def adaptive_matrix(n: int, out: int, dtype=np.float64):
    """The (out, n) averaging matrix of one axis (PyTorch's cell boundaries).

    >>> adaptive_matrix(5, 3)
    array([[0.5       , 0.5       , 0.        , 0.        , 0.        ],
           [0.        , 0.33333333, 0.33333333, 0.33333333, 0.        ],
           [0.        , 0.        , 0.        , 0.5       , 0.5       ]])
    """
    i = np.arange(out)
    start = (i * n) // out
    end = -((-(i + 1) * n) // out)  # ceil((i+1)*n/out) in integers
    t = np.arange(n)
    inside = (t >= start[:, None]) & (t < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _sizes(op, shape, output_hw):
    if len(shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {tuple(shape)}")
    out = as_pair_of_ints(output_hw, op, "output_hw")
    if min(out) < 1:
        raise ValueError(f"{op}: output size must be positive, got {out[0]}x{out[1]}")
    return out


def _float(x):
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _along_columns(a, p):
    """``a[b, c] @ pᵀ`` for every plane: one GEMM with all rows of all planes stacked."""
    n, c, h, w = a.shape
    return (a.reshape(n * c * h, w) @ p.T).reshape(n, c, h, p.shape[0])


def _along_rows(a, p):
    """``p @ a[b, c]`` for every plane, through a transposed copy (cheap: used on the small
    side)."""
    n, c, h, w = a.shape
    t = a.transpose(0, 1, 3, 2).reshape(n * c * w, h) @ p.T
    return np.ascontiguousarray(t.reshape(n, c, w, p.shape[0]).transpose(0, 1, 3, 2))


def adaptive_avg_pool2d(x, output_hw):
    """Average (N, C, H, W) down (or up) to (N, C, *output_hw) with PyTorch's cell boundaries."""
    x = _float(x)
    out_h, out_w = _sizes("adaptive_avg_pool2d", x.shape, output_hw)
    n, c, h, w = x.shape
    if runtime.using_reference_kernels():
        return reference.adaptive_avg_pool2d(x, (out_h, out_w))
    if h % out_h == 0 and w % out_w == 0:  # equal blocks
        return x.reshape(n, c, out_h, h // out_h, out_w, w // out_w).mean(axis=(3, 5))
    # Shrink along the columns first, so the transposed copy in _along_rows is of the small array.
    return _along_rows(_along_columns(x, adaptive_matrix(w, out_w, x.dtype)),
                       adaptive_matrix(h, out_h, x.dtype))


def adaptive_avg_pool2d_backward(gy, x_shape, output_hw):
    """Adjoint of :func:`adaptive_avg_pool2d`: each input position gets ``Σ gy / cell size`` over
    the cells that contain it.

    >>> adaptive_avg_pool2d_backward(np.ones((1, 1, 1, 2)), (1, 1, 1, 3), (1, 2))
    array([[[[0.5, 1. , 0.5]]]])
    """
    op = "adaptive_avg_pool2d_backward"
    gy = _float(gy)
    x_shape = tuple(int(s) for s in x_shape)
    out_h, out_w = _sizes(op, x_shape, output_hw)
    n, c, h, w = x_shape
    if gy.shape != (n, c, out_h, out_w):
        raise ValueError(f"{op}: gy has shape {gy.shape} but pooling {x_shape} to "
                         f"{out_h}x{out_w} gives {(n, c, out_h, out_w)}")
    if runtime.using_reference_kernels():
        return reference.adaptive_avg_pool2d_backward(gy, x_shape, (out_h, out_w))
    if h % out_h == 0 and w % out_w == 0:
        kh, kw = h // out_h, w // out_w
        spread = np.broadcast_to((gy / (kh * kw))[:, :, :, None, :, None],
                                 (n, c, out_h, kh, out_w, kw))
        return spread.reshape(x_shape)
    # Grow along the rows first (small arrays), then the columns straight into NCHW order.
    return _along_columns(_along_rows(gy, adaptive_matrix(h, out_h, gy.dtype).T),
                          adaptive_matrix(w, out_w, gy.dtype).T)


def _cell_taps(n, out):
    """Per output cell (rows) the input positions of its taps (columns, clamped) and which taps
    exist: cells have ``ceil(n/out)`` or one more positions, fewer at some cells."""
    start = (np.arange(out) * n) // out
    end = -((-(np.arange(out) + 1) * n) // out)
    taps = np.arange(int((end - start).max()))
    position = start[:, None] + taps[None, :]
    return np.minimum(position, n - 1), position < end[:, None]


def adaptive_max_pool2d(x, output_hw):
    """``(y, indices)``: the maximum of each adaptive cell and its flat position in the H×W plane.

    Like PyTorch, each cell is scanned row by row and a value wins if it is greater than the
    maximum so far or NaN (so the first maximum is kept and NaN propagates); one pass per tap
    position of the largest cell, over all cells at once.

    >>> y, idx = adaptive_max_pool2d(np.array([[[[1., 5., 2.], [4., 3., 9.]]]]), (1, 2))
    >>> y.tolist(), idx.tolist()
    ([[[[5.0, 9.0]]]], [[[[1, 5]]]])
    """
    x = np.asarray(x)
    out_h, out_w = _sizes("adaptive_max_pool2d", x.shape, output_hw)
    n, c, h, w = x.shape
    if min(h, w) < 1:
        raise ValueError(f"adaptive_max_pool2d: input {x.shape} has an empty plane")
    if runtime.using_reference_kernels():
        return reference.adaptive_max_pool2d(x, (out_h, out_w))
    rows, row_ok = _cell_taps(h, out_h)
    cols, col_ok = _cell_taps(w, out_w)
    floating = np.issubdtype(x.dtype, np.floating)
    best = np.full((n, c, out_h, out_w), -np.inf if floating else np.iinfo(x.dtype).min, x.dtype)
    index = np.broadcast_to(rows[:, :1] * w + cols[None, :, 0], best.shape).copy()
    for a in range(rows.shape[1]):
        for b in range(cols.shape[1]):
            exists = row_ok[:, a, None] & col_ok[None, :, b]
            value = x[:, :, rows[:, a, None], cols[None, :, b]]
            wins = exists & (value > best)
            if floating:
                wins |= exists & np.isnan(value)
            best = np.where(wins, value, best)
            index = np.where(wins, rows[:, a, None] * w + cols[None, :, b], index)
    return best, index
