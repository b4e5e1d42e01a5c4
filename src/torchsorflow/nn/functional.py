"""Stateless layer functions, like ``torch.nn.functional`` (conventionally imported as ``F``).

Layers (:mod:`torchsorflow.nn`) hold parameters and call these; use them directly when the weights
live elsewhere (a dict of parameters under ``torchsorflow.func.grad``, say).

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> x = tsf.tensor([[1., 2., -1., 1.], [1., 0., 1., 0.], [0., 1., 0., 2.], [2., 1., 0., -1.]])
>>> k = tsf.tensor([[1., 0.], [2., 1.]])
>>> F.conv2d(x.reshape(1, 1, 4, 4), k.reshape(1, 1, 2, 2), stride=2).reshape(2, 2)
tensor([[ 3.,  1.],
        [ 5., -1.]])
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..ops import nn_ops
from ..ops.creation import default_generator
from ..tensor import Tensor
from .loss_functions import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                             cross_entropy, l1_loss, mse_loss, nll_loss)
from .module import size_str

__all__ = ["linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm",
           "dropout", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "softplus", "silu", "elu",
           "softmax", "log_softmax", "flatten", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "one_hot", "pad"]


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


# --- linear and convolution ------------------------------------------------------------------
def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` with ``weight`` shaped (out_features, in_features)."""
    if input.ndim == 0 or weight.ndim == 0:   # a scalar has no feature axis to contract
        raise ValueError(f"linear: both arguments to linear need to be at least 1D, but they are "
                         f"{input.ndim}D and {weight.ndim}D")
    if input.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input of shape {tuple(input.shape)} has {input.shape[-1]} "
                         f"features but weight of shape {tuple(weight.shape)} expects "
                         f"{weight.shape[-1]}")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{tuple(weight.shape)}")
    return nn_ops.linear(_as_tensor(input), weight, bias)


def _same_padding(kernel_hw, dilation):
    """'same' padding per dimension as (before, after); odd totals put the extra after (PyTorch)."""
    totals = [d * (k - 1) for k, d in zip(kernel_hw, dilation)]
    return [(t // 2, t - t // 2) for t in totals]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C, H, W) with (O, C/groups, kh, kw) kernels.

    ``padding`` is an int, a pair, ``'valid'`` (no padding) or ``'same'`` (output as large as the
    input; stride 1 only). An unbatched (C, H, W) input gives an unbatched output.
    """
    input, weight = _as_tensor(input), _as_tensor(weight)
    if input.ndim == 3:
        out = conv2d(ops.unsqueeze(input, 0), weight, bias, stride, padding, dilation, groups)
        return ops.squeeze(out, 0)
    stride, dilation = nn_ops.pair(stride, "stride"), nn_ops.pair(dilation, "dilation")
    if input.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv2d: expected a 3-D or 4-D input and a 4-D weight, got input of "
                         f"shape {size_str(input.shape)} and weight of shape "
                         f"{size_str(weight.shape)}")
    if groups < 1 or input.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise ValueError(f"Given groups={groups}, weight of size {size_str(weight.shape)}, "
                         f"expected input{size_str(input.shape)} to have "
                         f"{weight.shape[1] * groups} channels, but got {input.shape[1]} "
                         "channels instead")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            sides = _same_padding(weight.shape[2:], dilation)
            if any(a != b for a, b in sides):
                input = ops.pad(input, ((0, 0), (0, 0)) + tuple(sides))
                padding = (0, 0)
            else:
                padding = (sides[0][0], sides[1][0])
        else:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                             "{'valid', 'same'}")
    else:
        padding = nn_ops.pair(padding, "padding")
    for size, pad, k, d in zip(input.shape[2:], padding, weight.shape[2:], dilation):
        if size + 2 * pad < d * (k - 1) + 1:
            padded_h, padded_w = input.shape[2] + 2 * padding[0], input.shape[3] + 2 * padding[1]
            raise ValueError(f"Calculated padded input size per channel: ({padded_h} x {padded_w})"
                             f". Kernel size: ({weight.shape[2]} x {weight.shape[3]}). Kernel size "
                             "can't be greater than actual input size")
    if bias is not None:
        bias = _as_tensor(bias)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"Given weight of size {size_str(weight.shape)}, expected bias to be "
                             f"1-dimensional with {weight.shape[0]} elements, but got bias of size "
                             f"{size_str(bias.shape)} instead")
    return nn_ops.conv2d(input, weight, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, bias=bias)


# --- pooling ---------------------------------------------------------------------------------
def _batched(fn, input, *args, **kwargs):
    """Run a (N, C, H, W) function on an unbatched (C, H, W) input too."""
    input = _as_tensor(input)
    if input.ndim == 3:
        out = fn(ops.unsqueeze(input, 0), *args, **kwargs)
        if isinstance(out, tuple):
            return tuple(ops.squeeze(o, 0) for o in out)
        return ops.squeeze(out, 0)
    if input.ndim != 4:
        raise ValueError(f"{fn.__name__.lstrip('_')}: expected a 3-D or 4-D input, got shape "
                         f"{size_str(input.shape)}")
    return fn(input, *args, **kwargs)


def _check_pool_padding(padding, kernel, dilation=(1, 1)):
    """PyTorch's rules (and messages): padding at most half the (effective) kernel size, so that
    no window is made of padding alone."""
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"pad should be at most half of effective kernel size, but got "
                             f"pad={p}, kernel_size={k} and dilation={d}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"pad should be smaller than or equal to half of kernel size, but got "
                         f"padW = {padding[1]}, padH = {padding[0]}, kW = {kernel[1]}, "
                         f"kH = {kernel[0]}")


def _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    kernel = nn_ops.pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == [] else nn_ops.pair(stride, "stride")
    padding, dilation = nn_ops.pair(padding, "padding"), nn_ops.pair(dilation, "dilation")
    _check_pool_padding(padding, kernel, dilation)
    out, index = nn_ops.max_pool2d(input, kernel, stride, padding, dilation, ceil_mode)
    return (out, Tensor._wrap(index)) if return_indices else out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each window; the gradient flows to the arg-max entry (first one on ties)."""
    return _batched(_max_pool2d, input, kernel_size, stride, padding, dilation, ceil_mode,
                    return_indices)


def _avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    kernel = nn_ops.pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == [] else nn_ops.pair(stride, "stride")
    padding = nn_ops.pair(padding, "padding")
    _check_pool_padding(padding, kernel)
    return nn_ops.avg_pool2d(input, kernel, stride, padding, ceil_mode, count_include_pad,
                             divisor_override)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _batched(_avg_pool2d, input, kernel_size, stride, padding, ceil_mode,
                    count_include_pad, divisor_override)


def _adaptive_avg_pool2d(input, output_size):
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    size = tuple(int(input.shape[2 + i]) if s is None else int(s)
                 for i, s in enumerate(output_size))
    return nn_ops.adaptive_avg_pool2d(input, size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling onto a fixed ``output_size`` grid, whatever the input's size."""
    return _batched(_adaptive_avg_pool2d, input, output_size)


# --- normalisation and regularisation --------------------------------------------------------
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


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each entry with probability ``p`` and scale the rest by 1/(1−p) (inverted dropout)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    input = _as_tensor(input)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return ops.mul(input, 0.0)
    keep = (generator or default_generator).rng.random(input.shape) >= p
    return ops.mul(input, Tensor._wrap((keep * (1.0 / (1.0 - p))).astype(input.dtype)))


# --- activations -----------------------------------------------------------------------------
def relu(input, inplace=False):
    return ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    input = _as_tensor(input)
    return ops.where(ops.greater(input, 0), input, ops.mul(input, negative_slope))


def elu(input, alpha=1.0, inplace=False):
    input = _as_tensor(input)
    return ops.where(ops.greater(input, 0), input,
                     ops.mul(alpha, ops.expm1(ops.minimum(input, 0.0))))


def tanh(input):
    return ops.tanh(input)


def sigmoid(input):
    return ops.sigmoid(input)


def silu(input, inplace=False):
    return ops.mul(input, ops.sigmoid(input))


_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(input, approximate="none"):
    """x·Φ(x) with the Gaussian CDF Φ exactly (erf), or the tanh approximation if asked."""
    input = _as_tensor(input)
    if approximate == "none":
        return ops.mul(ops.mul(input, 0.5), ops.add(nn_ops.erf(ops.mul(input, _SQRT_HALF)), 1.0))
    if approximate == "tanh":
        inner = ops.mul(_SQRT_2_OVER_PI, ops.add(input, ops.mul(0.044715, input * input * input)))
        return ops.mul(ops.mul(input, 0.5), ops.add(ops.tanh(inner), 1.0))
    raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(βx))/β, switching to the identity where βx > threshold (as PyTorch does)."""
    input = _as_tensor(input)
    scaled = input if beta == 1 else ops.mul(input, beta)
    soft = ops.softplus(scaled)
    if beta != 1:
        soft = ops.div(soft, beta)
    return ops.where(ops.greater(scaled, threshold), input, soft)


def softmax(input, dim=None):
    return ops.softmax(input, -1 if dim is None else dim)


def log_softmax(input, dim=None):
    return ops.log_softmax(input, -1 if dim is None else dim)


def flatten(input, start_dim=0, end_dim=-1):
    return ops.flatten(input, start_dim, end_dim)


def one_hot(tensor, num_classes=-1):
    """Integer class labels to a 0/1 int64 Tensor with one more dimension."""
    labels = np.asarray(tensor._array if isinstance(tensor, Tensor) else tensor)
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got "
                         f"[{labels.min()}, {labels.max()}]")
    return Tensor((labels[..., None] == np.arange(num_classes)).astype(np.int64))


def pad(input, pad, mode="constant", value=0.0):
    """PyTorch's ``F.pad``: ``pad`` lists (before, after) pairs starting from the LAST dimension."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is implemented, got {mode!r}")
    input = _as_tensor(input)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding length {len(pad)} must be even and at most "
                         f"2 × {input.ndim} dimensions")
    pairs = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        pairs[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return ops.pad(input, tuple(pairs), value)
