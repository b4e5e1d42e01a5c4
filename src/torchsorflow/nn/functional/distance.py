"""Distance functions: cosine similarity, pairwise and condensed pairwise distances.

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> F.pairwise_distance(tsf.tensor([[0.0, 0.0]]), tsf.tensor([[3.0, 4.0]]), eps=0.0)
tensor([5.])
>>> F.pdist(tsf.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]]))
tensor([5.       , 1.       , 4.2426405])
"""
from __future__ import annotations

import math

import numpy as np

from ... import ops
from ...tensor import Tensor
from ._common import as_tensor as _as_tensor

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def clamped_min(x, floor):
    """``max(x, floor)`` in value, with the gradient of ``x`` itself (PyTorch clamps these
    denominators under ``no_grad``, so the clamp never cuts a gradient)."""
    lift = np.maximum(x._array, floor) - x._array
    return ops.add(x, Tensor._wrap(lift.astype(x.dtype, copy=False)))


def vector_norm(x, p, dim, keepdim=False):
    """The p-norm along ``dim`` whose gradient is 0 (not NaN) where the vector is 0."""
    absolute = ops.abs(x)
    if p == math.inf:
        return ops.amax(absolute, dim, keepdim)
    if p == -math.inf:
        return ops.amin(absolute, dim, keepdim)
    if p == 0:
        return ops.sum(ops.astype(ops.greater(absolute, 0), x.dtype), dim, keepdim)
    if p == 1:
        return ops.sum(absolute, dim, keepdim)
    total = ops.sum(ops.square(x) if p == 2 else ops.pow(absolute, p), dim, keepdim)
    positive = ops.greater(total, 0)
    root = ops.sqrt if p == 2 else (lambda t: ops.pow(t, 1.0 / p))
    return ops.where(positive, root(ops.where(positive, total, 1.0)), 0.0)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Σ x1·x2 / (max(‖x1‖, eps)·max(‖x2‖, eps)) along ``dim``, after broadcasting.

    Each input is divided by its own norm before the product (PyTorch's order), which keeps the
    result within [−1, 1].
    """
    x1, x2 = ops.broadcast_tensors(_as_tensor(x1), _as_tensor(x2))
    if x1.dtype.kind != "f":
        x1, x2 = ops.astype(x1, np.float32), ops.astype(x2, np.float32)
    n1 = clamped_min(vector_norm(x1, 2, dim, keepdim=True), eps)
    n2 = clamped_min(vector_norm(x2, 2, dim, keepdim=True), eps)
    return ops.sum(ops.mul(ops.div(x1, n1), ops.div(x2, n2)), dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """‖x1 − x2 + eps‖_p along the last dimension (a scalar for two scalars)."""
    x1, x2 = _as_tensor(x1), _as_tensor(x2)
    ndim = max(x1.ndim, x2.ndim)
    diff = ops.add(ops.sub(x1, x2), eps)
    if ndim == 0:
        return ops.abs(diff)
    return vector_norm(diff, p, ndim - 1, keepdim)


def pdist(input, p=2):
    """The p-norm distances between every pair of rows i < j of an (N, M) input, in the order of
    the upper triangle (N·(N − 1)/2 values)."""
    input = _as_tensor(input)
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    first, second = np.triu_indices(input.shape[0], 1)
    diff = ops.sub(ops.getitem(input, first), ops.getitem(input, second))
    return vector_norm(diff, p, 1)
