"""Sums over several axes at once, fast for the shapes deep learning makes.

``np.add.reduce(x, axis=(0, 2, 3))`` on an (N, C, H, W) activation (a bias or BatchNorm gradient)
walks the array in short runs of H·W numbers, with NumPy's per-run overhead each time. Seen as an
(N, C·H·W) matrix, the same sum is a vector of ones times that matrix (one BLAS call over the
batch) and then the (C, H·W) result times a vector of ones: two calls with no per-run overhead.

>>> x = np.arange(24.0).reshape(2, 3, 2, 2)
>>> sum_axes(x, (0, 2, 3), keepdims=False)
array([ 60.,  92., 124.])
"""
from __future__ import annotations

import math

import numpy as np

from . import runtime

__all__ = ["sum_axes"]

_BLAS_TYPES = (np.dtype(np.float32), np.dtype(np.float64))


def sum_axes(x, axis, keepdims=False):
    """``np.add.reduce(x, axis=axis, keepdims=keepdims)`` with the same result (up to rounding).

    The shortcut applies when ``x`` is a C-contiguous float array of at least
    ``runtime.SUM_BLAS_MIN_SIZE`` values and the kept axes are one consecutive block ``(lead axes
    summed) (kept block) (trail axes summed)``, either end possibly empty: a bias gradient sums
    the leading axes, a row mean the trailing ones.
    """
    if axis is None or x.ndim < 2:
        return np.add.reduce(x, axis, None, None, keepdims)
    axes = tuple(sorted(a % x.ndim for a in axis))
    kept = [a for a in range(x.ndim) if a not in axes]
    if (not axes or not kept or x.dtype not in _BLAS_TYPES or not x.flags.c_contiguous
            or kept[-1] - kept[0] != len(kept) - 1 or x.size < runtime.SUM_BLAS_MIN_SIZE):
        return np.add.reduce(x, axis=axes, keepdims=keepdims)
    lead = math.prod(x.shape[:kept[0]])
    block = math.prod(x.shape[kept[0]:kept[-1] + 1])
    trail = math.prod(x.shape[kept[-1] + 1:])
    if trail > runtime.SUM_MAX_RUN or (trail == 1 and lead > runtime.SUM_MAX_RUN):
        return np.add.reduce(x, axis=axes, keepdims=keepdims)
    if lead == 1:    # the trailing axes only: one product per kept row
        out = x.reshape(block, trail) @ np.ones(trail, x.dtype)
    elif lead <= runtime.SUM_MAX_RUN:   # over the leading axes at once, then the trailing ones
        out = np.ones(lead, x.dtype) @ x.reshape(lead, block * trail)
        if trail > 1:
            out = out.reshape(block, trail) @ np.ones(trail, x.dtype)
    else:  # a long batch: per row a product, then NumPy's pairwise sum over the rows
        out = np.add.reduce(x.reshape(lead, block, trail) @ np.ones(trail, x.dtype), axis=0)
    shape = [1 if a in axes else n for a, n in enumerate(x.shape)] if keepdims else \
        [x.shape[a] for a in kept]
    return out.reshape(shape)
