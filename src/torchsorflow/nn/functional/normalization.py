"""Normalisation: batch norm (training statistics, running averages)."""
from __future__ import annotations

import numpy as np

from ... import ops
from ...ops import nn_ops
from ...tensor import Tensor
from ..module import size_str
from ._common import as_tensor as _as_tensor

__all__ = ["batch_norm"]


def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) with batch statistics (training) or running ones (eval).

    In training the running statistics, when given, are updated in place:
    ``running ← (1 − momentum)·running + momentum·batch``, with the *unbiased* batch variance.
    """
    input = _as_tensor(input)
    channels = input.shape[1] if input.ndim > 1 else 0
    axes = (0,) + tuple(range(2, input.ndim))
    if training:
        count = input.numel() // max(channels, 1)
        if count <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {size_str(input.shape)}")
        mu, var = nn_ops.batch_norm_stats(input._array, axes)
        if running_mean is not None:
            keep = 1.0 - momentum
            running_mean._array *= keep
            running_mean._array += momentum * mu.reshape(-1)
        if running_var is not None:
            running_var._array *= 1.0 - momentum
            running_var._array += (momentum * count / (count - 1)) * var.reshape(-1)
        gamma = weight if weight is not None else Tensor._wrap(np.ones(channels, input.dtype))
        beta = bias if bias is not None else Tensor._wrap(np.zeros(channels, input.dtype))
        return nn_ops.batch_norm_train(input, gamma, beta, axes, eps, mu, var)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed in eval mode")
    shape = _channel_shape(input)
    scale = ops.rsqrt(ops.add(ops.reshape(running_var, shape), eps))
    if weight is not None:
        scale = ops.mul(scale, ops.reshape(weight, shape))
    shift = ops.neg(ops.mul(ops.reshape(running_mean, shape), scale))
    if bias is not None:
        shift = ops.add(shift, ops.reshape(bias, shape))
    return ops.add(ops.mul(input, scale), shift)
