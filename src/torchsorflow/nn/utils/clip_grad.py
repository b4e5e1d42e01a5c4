"""Gradient clipping, as ``torch.nn.utils``: :func:`clip_grad_norm_` (= :func:`get_total_norm`
then :func:`clip_grads_with_norm_`) and :func:`clip_grad_value_`. Gradients are scaled or clamped
in place, as PyTorch does, so references to ``p.grad`` see the change.

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
import types
import warnings

import numpy as np

from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _listed(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    generator = isinstance(parameters, types.GeneratorType)
    parameters = list(parameters)
    if generator and not parameters:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                      stacklevel=3)
    return parameters


def _vector_norm(array, norm_type):
    """‖array‖ of order ``norm_type`` over all entries (inf, −inf and 0 included)."""
    magnitudes = np.abs(array.astype(np.float64, copy=False)).ravel()
    if norm_type == math.inf:
        return float(magnitudes.max(initial=0.0))
    if norm_type == -math.inf:
        return float(magnitudes.min(initial=math.inf))
    if norm_type == 0:
        return float(np.count_nonzero(magnitudes))
    return float(np.sum(magnitudes ** norm_type) ** (1.0 / norm_type))


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of ``tensors`` (all of them taken together as one vector)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._wrap(np.array(0.0, dtype=np.float32))
    norms = np.array([_vector_norm(t._array, norm_type) for t in tensors])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    dtype = np.result_type(*(t.dtype for t in tensors))
    return Tensor._wrap(np.array(total, dtype=dtype if dtype.kind == "f" else np.float32))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = [p.grad for p in _listed(parameters) if p.grad is not None]
    if not grads:
        return
    total = total_norm._array if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    coefficient = np.minimum(total.dtype.type(max_norm) / (total + total.dtype.type(1e-6)), 1.0)
    for g in grads:
        np.multiply(g._array, coefficient.astype(g.dtype), out=g._array)
        g._version += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Rescale all gradients together so that their joint norm is at most ``max_norm``.

    Returns the norm before clipping (useful to log exploding gradients).
    """
    parameters = _listed(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of :func:`clip_grad_norm_`, with PyTorch's warning."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient entry into [−clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for p in _listed(parameters):
        if p.grad is not None:
            np.clip(p.grad._array, -clip_value, clip_value, out=p.grad._array)
            p.grad._version += 1
