"""The input gradient of a stride-1, size-preserving convolution as a product and flat shifts.

For small maps (a CNN's 8×8 and 4×4 stages) the general engine's input gradient spends most of its
time outside BLAS: either in col2im (NumPy adds each tap back with rows only ``C`` numbers long,
four nested loops deep) or, as a transposed convolution, in copying out a ``cols`` matrix twice
the size of the forward one. When the output has the input's size (stride 1, "same" padding:
the 3×3/padding-1 layers of VGG-style networks) there is a cheaper way.

Lay the batch out as one matrix of pixels, ``gy`` as (N·H·W, C_out) rows. One batched product
gives every tap's contribution::

    G[(i, j), r, c] = Σ_k gy[r, k] · w[k, c, i, j]          (kh·kw × N·H·W × C_in)

Output pixel ``r = (b, y, x)`` read input pixel ``(b, y + dy, x + dx)`` through tap ``(i, j)``,
with ``dy = i·dh − ph`` and ``dx = j·dw − pw``. In the flattened pixel order that input pixel is
simply ``r + dy·W + dx``: one constant shift per tap. So col2im becomes one whole-array add per
tap, ``gx[r + s] += G[tap, r]``, of contiguous (N·H·W, C_in) blocks (which is why G is laid out
tap-major: nine products with C_in columns cost a little more than one with 9·C_in, but the adds
then run over contiguous memory, twice as fast as over rows C_in numbers long). Taps that would
have read padding (and, flattened, would wrap into the neighbouring row or image) are zeroed
first: a few strided assignments per kernel row and column, not per pixel.

It applies from ``runtime.SHIFT_MIN_CHANNELS`` input channels on; below that the products have
too few columns and col2im wins.
"""
from __future__ import annotations

import numpy as np

from . import runtime

__all__ = ["eligible", "input_grad"]



def eligible(g):
    """Whether :func:`input_grad` applies: stride 1, one group, output as large as the input."""
    return g.stride == (1, 1) and g.groups == 1 and tuple(g.out_hw) == tuple(g.in_hw)


def _tap_shifts(g):
    """``(dy, dx)`` for each tap ``t = i·kw + j``: where output pixel (y, x) reads its input."""
    (kh, kw), (dh, dw), (ph, pw) = g.kernel_hw, g.dilation, g.padding
    return [(i * dh - ph, j * dw - pw) for i in range(kh) for j in range(kw)]


def _invalid(d, size):
    """Output positions along one axis whose tap, shifted by ``d``, falls outside ``[0, size)``."""
    return slice(0, min(size, -d)) if d < 0 else slice(max(0, size - d), size)


def _zero_padding_taps(taps, shifts, g):
    """Zero ``taps[i, j, b, y, x, :]`` wherever tap (i, j) of output (y, x) reads padding
    (``shifts`` from :func:`_tap_shifts`): one assignment per kernel row with a vertical shift
    and per kernel column with a horizontal one."""
    (kh, kw), (h, w) = g.kernel_hw, g.in_hw
    for i in range(kh):
        dy = shifts[i * kw][0]
        if dy:
            taps[i, :, :, _invalid(dy, h)] = 0
    for j in range(kw):
        dx = shifts[j][1]
        if dx:
            taps[:, j, :, :, _invalid(dx, w)] = 0


def input_grad(gy, w, g, dtype):
    """``conv2d_grad_input`` for an :func:`eligible` geometry ``g`` (NCHW in and out)."""
    n, k, h, wd = gy.shape
    c, taps = g.cin, g.taps
    plane = h * wd
    per_tap = np.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(taps, k, c)  # w[k, c, i, j]
    tap_shifts = _tap_shifts(g)
    shifts = [dy * wd + dx for dy, dx in tap_shifts]  # the same, in flattened pixel order
    gx = np.empty(g.input_shape, dtype)
    images = max(1, min(n, runtime.SHIFT_CHUNK_BYTES // max(1, plane * taps * c * gy.itemsize)))
    images = -(-n // -(-n // images))  # equal chunks: 16 images as 8 + 8, not 14 + 2
    for b0 in range(0, n, images):
        b1 = min(n, b0 + images)
        rows = (b1 - b0) * plane
        gy_rows = np.empty((b1 - b0, plane, k), dtype)
        np.copyto(gy_rows, gy[b0:b1].reshape(b1 - b0, k, plane).transpose(0, 2, 1))
        spread = np.matmul(gy_rows.reshape(rows, k), per_tap)  # G: (taps, pixels, c)
        _zero_padding_taps(spread.reshape(*g.kernel_hw, b1 - b0, h, wd, c), tap_shifts, g)
        acc = np.zeros((rows, c), dtype)
        for t, s in enumerate(shifts):
            if abs(s) >= rows:
                continue
            if s >= 0:
                acc[s:] += spread[t, :rows - s]
            else:
                acc[:rows + s] += spread[t, -s:]
        np.copyto(gx[b0:b1].reshape(b1 - b0, c, plane),
                  acc.reshape(b1 - b0, plane, c).transpose(0, 2, 1))
    return gx
