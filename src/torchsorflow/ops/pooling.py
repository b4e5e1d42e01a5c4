"""Adaptive max pooling and max unpooling, on max pooling's gather and scatter primitives.

Max pooling in :mod:`.nn_ops` is two linear maps: a *gather* of the arg-max entries (primitive
``max_pool2d``) and its adjoint, a *scatter* that adds values back at those positions (primitive
``max_pool2d_backward``). Whatever finds the positions, the same pair differentiates the result:

* adaptive max pooling finds the maxima of adaptive cells (:func:`.kernels.adaptive.
  adaptive_max_pool2d`) and gathers them;
* max unpooling *is* the scatter: each value goes to the position its index names in a zero
  plane, and its gradient is the gather of the output gradient at the same positions.

>>> import torchsorflow as tsf
>>> y, index = adaptive_max_pool2d(tsf.tensor([[[[1., 5., 2.], [4., 3., 9.]]]]), (1, 2))
>>> y, index.tolist()
(tensor([[[[5., 9.]]]]), [[[[1, 5]]]])
>>> max_unpool2d(y, index, (1, 1, 2, 3))
tensor([[[[0., 5., 0.],
          [0., 0., 9.]]]])
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tracer import to_box, wrap
from . import nn_ops
from .elementwise import mul
from .kernels import adaptive

__all__ = ["adaptive_max_pool2d", "max_unpool2d"]


def adaptive_max_pool2d(x, output_size):
    """``(output, indices array)`` of adaptive max pooling of ``x`` (N, C, H, W) onto
    ``output_size`` (OH, OW)."""
    x = to_box(x)
    maxima, index = adaptive.adaptive_max_pool2d(x._array, output_size)
    return nn_ops._pool_gather(x, index=index, picked=maxima), index


def _written(index, plane_size):
    """True where a flat index is its value's last occurrence in its (n, c) plane."""
    planes = index.shape[0] * index.shape[1]
    where = (index.reshape(planes, -1) + np.arange(planes)[:, None] * plane_size).ravel()
    _, first_from_end = np.unique(where[::-1], return_index=True)
    keep = np.zeros(where.size, bool)
    keep[where.size - 1 - first_from_end] = True
    return keep.reshape(index.shape)


def max_unpool2d(x, index, output_shape):
    """Zeros of ``output_shape`` (N, C, OH, OW) with ``x[n, c, i]`` written at flat position
    ``index[n, c, i]`` of plane ``(n, c)``; ``index`` has ``x``'s shape and valid positions.

    An index that repeats (overlapping pooling windows picked the same cell) is written once, by
    its last occurrence, as PyTorch's CPU loop leaves it; the others then do not reach the output,
    and get a zero gradient.
    """
    x = to_box(x)
    index = np.asarray(index, np.int64)
    keep = _written(index, output_shape[2] * output_shape[3])
    if not keep.all():
        x = mul(x, wrap(keep.astype(x.dtype)))
    return nn_ops._pool_scatter(x, index=index, input_shape=tuple(output_shape))
