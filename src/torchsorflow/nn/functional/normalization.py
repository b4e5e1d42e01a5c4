"""Normalisation: batch norm (training statistics, running averages); layer, group, RMS and
instance norm over the fused primitives of :mod:`torchsorflow.ops.normalization`; local response
norm and ``normalize``."""
from __future__ import annotations

import math

import numpy as np

from ... import ops
from ...ops import nn_ops
from ...tensor import Tensor
from ..module import size_str
from ._common import as_tensor as _as_tensor

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
           "local_response_norm", "normalize"]


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


# --- layer, group, RMS and instance norm (fused primitives in ops/normalization.py) ------------
def _normalized_ndim(op, input, normalized_shape):
    """How many trailing dimensions ``normalized_shape`` covers; torch's error if they differ."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(int(n) for n in normalized_shape)
    if not shape or tuple(input.shape[input.ndim - len(shape):]) != shape or \
            len(shape) > input.ndim:
        raise RuntimeError(f"{op}: Given normalized_shape={list(shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    return len(shape)


def _check_affine(op, what, value, shape):
    if value is not None and tuple(value.shape) != tuple(shape):
        raise RuntimeError(f"{op}: Expected {what} to be of shape {list(shape)}, but got "
                           f"{what} of shape {list(value.shape)}")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``normalized_shape`` dimensions (Ba et al., 2016)."""
    input = _as_tensor(input)
    ndim = _normalized_ndim("layer_norm", input, normalized_shape)
    for what, value in (("weight", weight), ("bias", bias)):
        _check_affine("layer_norm", what, value, input.shape[input.ndim - ndim:])
    return ops.normalization.layer_norm(input, ndim, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / √(mean(x²) + eps) · weight`` over the trailing dimensions; ``eps=None`` is the
    machine epsilon of the input's dtype (torch's default)."""
    input = _as_tensor(input)
    ndim = _normalized_ndim("rms_norm", input, normalized_shape)
    _check_affine("rms_norm", "weight", weight, input.shape[input.ndim - ndim:])
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    return ops.normalization.rms_norm(input, ndim, weight, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of ``C / num_groups`` channels of every example (Wu & He, 2018)."""
    input = _as_tensor(input)
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: Expected at least 2 dimensions for input tensor but "
                           f"received {input.ndim}")
    if num_groups <= 0 or input.shape[1] % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    for what, value in (("weight", weight), ("bias", bias)):
        _check_affine("group_norm", what, value, input.shape[1:2])
    return ops.normalization.group_norm(input, num_groups, weight, bias, eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each example over its spatial positions (Ulyanov et al.).

    With ``use_input_stats`` the statistics are the example's own (a group norm with one group per
    channel), and running statistics, when given, move towards their mean over the batch (the
    variance unbiased), as in torch. Otherwise the running statistics normalise, as batch norm's
    eval mode.
    """
    input = _as_tensor(input)
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an (N, C, ...) input with spatial dimensions, "
                         f"got shape {tuple(input.shape)}")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    count = math.prod(input.shape[2:])
    if count <= 1:
        raise ValueError("Expected more than 1 spatial element when training, got input size "
                         f"{size_str(input.shape)}")
    if running_mean is not None or running_var is not None:
        rows = input._array.reshape(input.shape[0], input.shape[1], count)
        if running_mean is not None:
            running_mean._array *= 1.0 - momentum
            running_mean._array += momentum * rows.mean(axis=(0, 2)).astype(input.dtype)
        if running_var is not None:
            running_var._array *= 1.0 - momentum
            running_var._array += momentum * rows.var(axis=2, ddof=1).mean(axis=0).astype(
                input.dtype)
    return ops.normalization.group_norm(input, input.shape[1], weight, bias, eps)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """``x / (k + α · mean of x² over ``size`` neighbouring channels)^β`` (AlexNet's LRN); the
    window is zero-padded at the edges and always divided by ``size``, as in torch."""
    input = _as_tensor(input)
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    channels = input.shape[1]
    widths = ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (input.ndim - 2)
    padded = ops.pad(ops.mul(input, input), widths)
    window = padded[:, 0:channels]
    for shift in range(1, size):
        window = ops.add(window, padded[:, shift:shift + channels])
    div = ops.power(ops.add(ops.mul(window, alpha / size), k), beta)
    return ops.div(input, div)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(‖input‖_p, eps)`` along ``dim``."""
    if out is not None:
        raise ValueError("normalize: out= is not supported; use the returned Tensor")
    input = _as_tensor(input)
    return ops.div(input, ops.clamp_min(ops.norm(input, p, dim, keepdim=True), eps))
