"""Gradient clipping, as ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``.

>>> import torchsorflow as tsf
>>> from torchsorflow.nn import Parameter
>>> from torchsorflow.nn.utils import clip_grad_norm_
>>> p = Parameter(tsf.zeros(2)); p.grad = tsf.tensor([3.0, 4.0])
>>> clip_grad_norm_([p], max_norm=1.0)
tensor(5.)
>>> round(float(p.grad.norm()), 4)
1.0
"""
from __future__ import annotations

import math

import numpy as np

from ...tensor import Tensor


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Rescale all gradients together so that their joint norm is at most ``max_norm``.

    Returns the norm before clipping (useful to log exploding gradients).
    """
    params = _with_grads(parameters)
    if not params:
        return Tensor(np.array(0.0, dtype=np.float32))
    norm_type = float(norm_type)
    grads = [p.grad._array for p in params]
    if math.isinf(norm_type):
        total = max(float(np.abs(g).max()) for g in grads)
    else:
        total = float(sum(np.sum(np.abs(g.astype(np.float64)) ** norm_type) for g in grads)
                      ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    coefficient = min(max_norm / (total + 1e-6), 1.0)
    for p in params:
        p.grad = Tensor._wrap((p.grad._array * coefficient).astype(p.grad.dtype, copy=False))
    return Tensor(np.array(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient entry into [−clip_value, clip_value]."""
    for p in _with_grads(parameters):
        p.grad = Tensor._wrap(np.clip(p.grad._array, -clip_value, clip_value))
