"""Max, average and adaptive-average pooling over NCHW arrays, with PyTorch's semantics.

Every pooling kernel here loops over the *taps* of the window (``kh*kw`` of them, a handful) and
does one vectorised NumPy operation per tap over the whole batch, never a Python loop over
positions: tap ``(i, j)`` of every window is the strided view
``x_pad[:, :, i*dh :: sh, j*dw :: sw]`` (cut to the output size).

PyTorch details reproduced exactly:

* Max pooling pads with ``-inf`` (padding never wins), scans each window row by row and keeps the
  *first* maximum; a NaN always takes over (``val > max or isnan(val)``), so NaNs propagate. The
  returned indices are flat positions in each (unpadded) H×W plane, as ``return_indices=True``
  gives them, and a window whose values are all ``-inf`` points at its first in-bounds tap.
* ``ceil_mode`` adds a last partial window only when it starts inside the input or the left
  padding (see :mod:`.shapes`).
* Average pooling divides by the window area including padding (``count_include_pad=True``) but
  never the part of a ``ceil_mode`` window that hangs past the right padding; with
  ``count_include_pad=False`` by the number of input values in the window; or by
  ``divisor_override``.
* Adaptive average pooling: output cell ``i`` averages rows ``floor(i*H/OH)`` to
  ``ceil((i+1)*H/OH)`` (exclusive), so cells may overlap when ``H`` is not a multiple of ``OH``.

The backward maps are the exact adjoints (transposes) of the forward maps, so the autodiff layer
can use each as the other's derivative.

>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> y, idx = max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
>>> y[0, 0], idx[0, 0]
(array([[ 5.,  7.],
       [13., 15.]]), array([[ 5,  7],
       [13, 15]]))
>>> avg_pool2d(x, (2, 2), (2, 2), (0, 0), False, True)[0, 0]
array([[ 2.5,  4.5],
       [10.5, 12.5]])
"""
from __future__ import annotations

import numpy as np

from .adaptive import adaptive_avg_pool2d, adaptive_avg_pool2d_backward
from .geometry import as_pair_of_ints
from .pool_tiled import challenge, tiled_max_pool, tiles
from .shapes import pool_output_hw
from . import reference, runtime

__all__ = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
           "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward"]


def _check_input(op, x):
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {x.shape}")


def _pairs(op, kernel_size, stride, padding, dilation=(1, 1)):
    return tuple(as_pair_of_ints(v, op, name) for v, name in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"),
        (dilation, "dilation")))


def _float(x):
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _covered(out, kernel, stride, padding, dilation):
    """Padded length that the windows reach: (out-1)*stride + dilation*(kernel-1) + 1."""
    return (out - 1) * stride + dilation * (kernel - 1) + 1


def _padded(x, out_hw, kernel, stride, padding, dilation, fill):
    """``x`` padded by ``padding`` on the left/top and as far as the windows reach on the right.

    ``ceil_mode`` windows may reach past the right padding, and with a stride the windows may stop
    short of the input's end: the returned array is exactly as large as the windows need.
    """
    n, c, h, w = x.shape
    need = [_covered(o, k, s, p, d) for o, k, s, p, d in zip(out_hw, kernel, stride, padding,
                                                              dilation)]
    (ph, pw) = padding
    if padding == (0, 0) and need[0] <= h and need[1] <= w:
        return x
    xp = np.full((n, c, need[0], need[1]), fill, x.dtype)
    rows, cols = min(h, need[0] - ph), min(w, need[1] - pw)
    xp[:, :, ph:ph + rows, pw:pw + cols] = x[:, :, :rows, :cols]
    return xp


def _tap(a, i, j, out_hw, stride, dilation):
    (oh, ow), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return a[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]


def _first_inside(out, stride, padding, dilation):
    """Start of each window moved forward by whole dilations until it is inside the input."""
    start = np.arange(out) * stride - padding
    behind = np.maximum(-start, 0)
    return start + -(-behind // dilation) * dilation


def _check_windows_see_input(op, firsts, in_hw, kernel, stride, padding, dilation):
    """Refuse windows whose dilated taps all land in the padding.

    PyTorch returns ``-inf`` with an index outside the input for such windows, and its backward
    then writes out of bounds; there is no sensible value or gradient, so say what is wrong.
    """
    for axis, first, n, k, s, p, d in zip(("row", "column"), firsts, in_hw, kernel, stride,
                                          padding, dilation):
        last_tap = np.arange(first.size) * s - p + d * (k - 1)
        bad = np.flatnonzero((first >= n) | (first > last_tap))
        if bad.size:
            raise ValueError(
                f"{op}: the window at output {axis} {bad[0]} covers only padding: kernel "
                f"{kernel[0]}x{kernel[1]} with dilation {dilation[0]}x{dilation[1]} and padding "
                f"{padding[0]}x{padding[1]} skips every position of the {in_hw[0]}x{in_hw[1]} "
                f"input (PyTorch would return -inf there)")


def _run(task, images, image_bytes, tap_passes):
    """``task(None, (b0, b1))`` over chunks of images, on the runtime's lanes."""
    work = runtime.POOL_TAP_WORK * tap_passes
    chunks = runtime.split(images, runtime.POOL_CHUNK_BYTES // max(1, image_bytes), work)
    runtime.run_chunks(task, chunks, lambda ws: None, work=work)


# --- max pooling --------------------------------------------------------------------------------
def max_pool2d(x, kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    """``(y, indices)``: window maxima and where they sit (flat index into each H×W plane).

    >>> x = np.array([[[[1., 5., 2.], [4., 3., 9.]]]])
    >>> y, idx = max_pool2d(x, (2, 2), (1, 1), (0, 0), (1, 1), False)
    >>> y.tolist(), idx.tolist()
    ([[[[5.0, 9.0]]]], [[[[1, 5]]]])
    """
    op = "max_pool2d"
    x = np.asarray(x)
    _check_input(op, x)
    kernel, stride, padding, dilation = _pairs(op, kernel_size, stride, padding, dilation)
    n, c, h, w = x.shape
    out_hw = pool_output_hw((h, w), kernel, stride, padding, dilation, ceil_mode, op)
    if runtime.using_reference_kernels():
        _check_windows_see_input(op, (_first_inside(out_hw[0], stride[0], padding[0], dilation[0]),
                                      _first_inside(out_hw[1], stride[1], padding[1], dilation[1])),
                                 (h, w), kernel, stride, padding, dilation)
        return reference.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    floating = np.issubdtype(x.dtype, np.floating)
    if floating and tiles(x.shape, kernel, stride, padding, dilation, out_hw):
        pooled = tiled_max_pool(x, kernel, out_hw)
        if pooled is not None:
            return pooled
    fill = -np.inf if floating else np.iinfo(x.dtype).min if np.issubdtype(
        x.dtype, np.integer) else False
    xp = _padded(x, out_hw, kernel, stride, padding, dilation, fill)
    rows = _first_inside(out_hw[0], stride[0], padding[0], dilation[0])
    cols = _first_inside(out_hw[1], stride[1], padding[1], dilation[1])
    _check_windows_see_input(op, (rows, cols), (h, w), kernel, stride, padding, dilation)
    (kh, kw), (dh, dw) = kernel, dilation
    # Window (oh, ow) starts at flat position base[oh, ow] (possibly in the padding); its tap
    # number t = i*kw + j sits at base + offsets[t]. Tracking the winning tap *number* in a small
    # integer array and converting once at the end avoids masked copies (np.copyto(where=...)),
    # which mispredict branches on random data and cost ten times a plain ufunc.
    row_start = np.arange(out_hw[0]) * stride[0] - padding[0]
    col_start = np.arange(out_hw[1]) * stride[1] - padding[1]
    base = row_start[:, None] * w + col_start[None, :]
    offsets = (np.arange(kh)[:, None] * dh * w + np.arange(kw)[None, :] * dw).ravel()
    tap_type = np.int8 if kh * kw < 128 else np.int32
    # Before any tap wins, a window points at its first tap inside the input (PyTorch's choice).
    first_tap = ((rows - row_start) // dh)[:, None] * kw + ((cols - col_start) // dw)[None, :]
    check_nan = floating and bool(np.isnan(x).any())
    best = np.empty((n, c) + out_hw, x.dtype)
    winner = np.empty((n, c) + out_hw, tap_type)

    def task(_, chunk):
        b0, b1 = chunk
        top, number = best[b0:b1], winner[b0:b1]
        top[...] = fill
        number[...] = first_tap
        wins = np.empty(top.shape, bool)
        step = np.empty(top.shape, tap_type)
        for t in range(kh * kw):
            tap = _tap(xp[b0:b1], t // kw, t % kw, out_hw, stride, dilation)
            challenge(top, number, tap, t, wins, step, check_nan)

    _run(task, n, c * h * w * x.itemsize, best.size * kh * kw)
    return best, np.take(offsets, winner) + base


def max_pool2d_backward(gy, indices, x_shape, check_indices=True):
    """Adjoint of "pick ``x`` at ``indices``": add each ``gy`` into the input position it came
    from (positions picked by several overlapping windows receive the sum). ``check_indices=False``
    skips the range check, for indices that :func:`max_pool2d` itself produced.

    >>> max_pool2d_backward(np.array([[[[1., 2.]]]]), np.array([[[[1, 1]]]]), (1, 1, 2, 2))
    array([[[[0., 3.],
             [0., 0.]]]])
    """
    op = "max_pool2d_backward"
    gy, indices = _float(gy), np.asarray(indices)
    if gy.shape != indices.shape:
        raise ValueError(f"{op}: gy has shape {gy.shape} but indices have shape {indices.shape}")
    x_shape = tuple(int(s) for s in x_shape)
    if len(x_shape) != 4 or x_shape[:2] != gy.shape[:2]:
        raise ValueError(f"{op}: x_shape {x_shape} does not match gy {gy.shape} (same N and C)")
    n, c, h, w = x_shape
    plane = h * w
    if check_indices and indices.size and (indices.min() < 0 or indices.max() >= plane):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise ValueError(f"{op}: index {bad} is outside the {h}x{w} input plane")
    if runtime.using_reference_kernels():
        return reference.max_pool2d_backward(gy, indices, x_shape)
    flat = indices.reshape(n * c, -1) + (np.arange(n * c, dtype=np.int64) * plane)[:, None]
    # np.add.at sums repeated indices (overlapping windows); since NumPy 1.25 it is a fast loop,
    # three times faster here than np.bincount, and it accumulates in gy's own dtype like PyTorch.
    gx = np.zeros(n * c * plane, gy.dtype)
    np.add.at(gx, flat.ravel(), gy.ravel())
    return gx.reshape(x_shape)


# --- average pooling ----------------------------------------------------------------------------
def _divisor(out_hw, in_hw, kernel, stride, padding, count_include_pad, divisor_override, dtype):
    """The (OH, OW) array each window sum is divided by, following PyTorch."""
    if divisor_override is not None:
        if int(divisor_override) != divisor_override or divisor_override <= 0:
            raise ValueError(f"avg_pool2d: divisor_override must be a positive int, got "
                             f"{divisor_override!r}")
        return np.asarray(divisor_override, dtype)
    sizes = []
    for o, n, k, s, p in zip(out_hw, in_hw, kernel, stride, padding):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)  # ceil_mode windows stop counting at the right padding
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        sizes.append(end - start)
    return (sizes[0][:, None] * sizes[1][None, :]).astype(dtype)


def _avg_setup(op, shape, kernel_size, stride, padding, ceil_mode):
    kernel, stride, padding, _ = _pairs(op, kernel_size, stride, padding)
    if len(shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {tuple(shape)}")
    out_hw = pool_output_hw(tuple(shape[2:]), kernel, stride, padding, (1, 1), ceil_mode, op)
    return kernel, stride, padding, out_hw


def avg_pool2d(x, kernel_size, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Window means (PyTorch's divisor rules), as ``kh + kw`` strided sums: rows, then columns."""
    x = _float(x)
    kernel, stride, padding, out_hw = _avg_setup("avg_pool2d", x.shape, kernel_size, stride,
                                                 padding, ceil_mode)
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    n, c, h, w = x.shape
    divisor = _divisor(out_hw, (h, w), kernel, stride, padding, count_include_pad,
                       divisor_override, x.dtype)
    if runtime.using_reference_kernels():
        return reference.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad,
                                    divisor_override)
    y = np.empty((n, c) + out_hw, x.dtype)

    def task(_, chunk):  # separable window sum: kw shifted column views, then kh row views
        b0, b1 = chunk
        xp = _padded(x[b0:b1], out_hw, kernel, stride, padding, (1, 1), 0)
        cols = xp[:, :, :, 0:sw * (ow - 1) + 1:sw].copy()
        for j in range(1, kw):
            cols += xp[:, :, :, j:j + sw * (ow - 1) + 1:sw]
        out = y[b0:b1]
        out[...] = cols[:, :, 0:sh * (oh - 1) + 1:sh]
        for i in range(1, kh):
            out += cols[:, :, i:i + sh * (oh - 1) + 1:sh]
        out /= divisor

    _run(task, n, c * h * w * x.itemsize, x.size * (kh + kw))
    return y


def avg_pool2d_backward(gy, x_shape, kernel_size, stride, padding=(0, 0), ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Adjoint of :func:`avg_pool2d`: spread each ``gy / divisor`` evenly over its window.

    >>> avg_pool2d_backward(np.ones((1, 1, 1, 1)), (1, 1, 2, 3), (2, 2), (2, 2))
    array([[[[0.25, 0.25, 0.  ],
             [0.25, 0.25, 0.  ]]]])
    """
    op = "avg_pool2d_backward"
    gy = _float(gy)
    x_shape = tuple(int(s) for s in x_shape)
    kernel, stride, padding, out_hw = _avg_setup(op, x_shape, kernel_size, stride, padding,
                                                 ceil_mode)
    if gy.shape != x_shape[:2] + out_hw:
        raise ValueError(f"{op}: gy has shape {gy.shape} but pooling {x_shape} gives "
                         f"{x_shape[:2] + out_hw}")
    (kh, kw), (sh, sw), (oh, ow), (ph, pw) = kernel, stride, out_hw, padding
    n, c, h, w = x_shape
    need = [_covered(o, k, s, p, 1) for o, k, s, p in zip(out_hw, kernel, stride, padding)]
    divisor = _divisor(out_hw, (h, w), kernel, stride, padding, count_include_pad,
                       divisor_override, gy.dtype)
    if runtime.using_reference_kernels():
        return reference.avg_pool2d_backward(gy, x_shape, kernel, stride, padding, ceil_mode,
                                             count_include_pad, divisor_override)
    gx = np.empty(x_shape, gy.dtype)

    def task(_, chunk):  # transpose of the separable sum: spread over rows, then over columns
        b0, b1 = chunk
        g = gy[b0:b1] / divisor
        rows = np.zeros((b1 - b0, c, need[0], ow), gy.dtype)
        for i in range(kh):
            rows[:, :, i:i + sh * (oh - 1) + 1:sh] += g
        gxp = np.zeros((b1 - b0, c, max(need[0], ph + h), max(need[1], pw + w)), gy.dtype)
        for j in range(kw):
            gxp[:, :, :need[0], j:j + sw * (ow - 1) + 1:sw] += rows
        gx[b0:b1] = gxp[:, :, ph:ph + h, pw:pw + w]

    _run(task, n, c * h * w * gy.itemsize, n * c * h * w * (kh + kw))
    return gx
