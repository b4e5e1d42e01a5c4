"""Max pooling whose windows tile the input (stride = kernel, no padding or dilation): the 2×2
pooling of nearly every CNN.

The general kernel (:mod:`.pool`) compares strided views of the taps, and NumPy pays its per-row
overhead on every ``OW``-long row of them: on small maps that is most of the time. Here the taps
are first regrouped into one contiguous ``(kh, kw, windows)`` array, where the comparisons are
long vectorised passes. The regrouping itself is the expensive part, so it is done with the copies
NumPy makes fastest:

1. split the columns: ``x`` seen as ``(pixels/kw, kw)`` is transposed into ``(kw, pixels/kw)``,
   a copy with a one-element stride NumPy runs without per-row overhead;
2. split the rows: in each of those, a window row of ``OW`` numbers is one *element* of a
   ``void`` dtype ``OW * itemsize`` bytes wide, so moving whole window rows into tap order is again
   a flat strided copy instead of a copy of ``OW``-long runs.

On wide maps the rows are long runs anyway and a single 6-D transposing copy is as fast, so the
row trick is used only for rows of at most ``runtime.VOID_ROW_BYTES`` bytes.

For 2×2 windows the maximum and its position come from a comparison tree (two pairs, then the
pair winners) instead of three sequential "challenges": half the passes over the data.
"""
from __future__ import annotations

import numpy as np

from . import runtime

__all__ = ["challenge", "tiled_max_pool", "tiles"]



def tiles(shape, kernel, stride, padding, dilation, out_hw):
    """Whether the windows tile the input: stride = kernel, no padding or dilation, every window
    inside the input (a ragged right or bottom edge that no window reaches is fine)."""
    h, w = shape[2:]
    return (tuple(stride) == tuple(kernel) and tuple(padding) == (0, 0)
            and tuple(dilation) == (1, 1)
            and out_hw[0] * kernel[0] <= h and out_hw[1] * kernel[1] <= w)


def challenge(top, number, tap, t, wins, step, check_nan):
    """One step of the running maximum over a window's taps, in place: where tap number ``t``
    beats ``top`` *strictly* (so the first maximum in scan order stays), it becomes the maximum
    and ``number`` records ``t``; ``wins``/``step`` are scratch arrays shaped like ``top``."""
    np.greater(tap, top, out=wins)
    if check_nan:
        wins |= np.isnan(tap)  # PyTorch: a NaN always takes over
    np.maximum(top, tap, out=top)  # propagates NaN like the rule above
    np.subtract(t, number, out=step, casting="unsafe")  # number += wins * (t - number)
    np.multiply(step, wins, out=step, casting="unsafe")
    number += step


def _taps(x, kernel, out_hw):
    """``(kh, kw, N*C*OH*OW)``: tap ``(i, j)`` of every window, windows in (n, c, oh, ow) order."""
    (kh, kw), (oh, ow) = kernel, out_hw
    n, c, h, w = x.shape
    row_bytes = ow * x.itemsize
    if h == oh * kh and w == ow * kw and row_bytes <= runtime.VOID_ROW_BYTES and x.flags.c_contiguous:
        by_column = np.empty((kw, x.size // kw), x.dtype)
        np.copyto(by_column, x.reshape(-1, kw).T)  # [j, (n, c, h, ow)]
        taps = np.empty((kh, kw, x.size // (kh * kw)), x.dtype)
        row = np.dtype((np.void, row_bytes))  # one window row of one tap
        np.copyto(taps.view(row).reshape(kh, kw, -1),
                  by_column.view(row).reshape(kw, n * c * oh, kh).transpose(2, 0, 1))
        return taps
    windows = x[:, :, :oh * kh, :ow * kw].reshape(n, c, oh, kh, ow, kw)
    taps = np.empty((kh, kw, n, c, oh, ow), x.dtype)
    np.copyto(taps, windows.transpose(3, 5, 0, 1, 2, 4))
    return taps.reshape(kh, kw, -1)


def tiled_max_pool(x, kernel, out_hw):
    """``(maxima, indices)`` like :func:`.pool.max_pool2d` for tiling windows, or ``None`` when
    a window holds a NaN (the caller then runs the general kernel, which gives NaN PyTorch's
    precedence; comparisons alone would not)."""
    (kh, kw), (oh, ow) = kernel, out_hw
    n, c, h, w = x.shape
    taps = _taps(x, kernel, out_hw)
    offsets = (np.arange(kh)[:, None] * w + np.arange(kw)[None, :]).ravel()
    if (kh, kw) == (2, 2):
        (t0, t1), (t2, t3) = taps
        first, second = np.maximum(t0, t1), np.maximum(t2, t3)
        best = np.maximum(first, second)
        # Which of the four taps won, as bits: right in row 0, right in row 1, row 1 over row 0
        # (strict comparisons, so ties keep the first maximum in scan order, as PyTorch does).
        code = np.greater(t3, t2).view(np.uint8) * np.uint8(2)
        code += np.greater(t1, t0).view(np.uint8)
        code += np.greater(second, first).view(np.uint8) * np.uint8(4)
        winner = offsets[[0, 1, 0, 1, 2, 2, 3, 3]]  # code -> offset of the winning tap
    else:
        taps = taps.reshape(kh * kw, -1)
        best, code = taps[0].copy(), np.zeros(taps.shape[1], np.int8 if kh * kw < 128
                                              else np.int32)
        wins, step = np.empty(best.shape, bool), np.empty(best.shape, code.dtype)
        for t in range(1, kh * kw):
            challenge(best, code, taps[t], t, wins, step, check_nan=False)
        winner = offsets
    if np.isnan(best).any():  # np.maximum carried any NaN through to its window's maximum
        return None
    base = (np.arange(oh) * kh * w)[:, None] + (np.arange(ow) * kw)[None, :]
    index = np.take(winner, code).reshape(n * c, oh * ow)
    index += base.reshape(-1)
    return best.reshape(n, c, oh, ow), index.reshape(n, c, oh, ow)
