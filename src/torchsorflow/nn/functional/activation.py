"""Activation functions, with ``torch.nn.functional``'s names, arguments and defaults.

The element-wise ones are primitives of :mod:`torchsorflow.ops.activations` (one graph node
each). ``inplace=True`` writes the result into ``input`` and returns ``input``, as in PyTorch: a
leaf that requires grad refuses, and inside autograd the Tensor takes the result's place in the
graph (see :meth:`torchsorflow.Tensor._update`). The ``*_`` variants (``F.relu_``) are the same
with ``inplace=True``.

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> F.hardtanh(tsf.tensor([-2.0, 0.5, 3.0]))
tensor([-1. ,  0.5,  1. ])
>>> F.logsigmoid(tsf.tensor([-200.0]))   # log σ(x) without forming σ(x) = 0
tensor([-200.])
"""
from __future__ import annotations

import numpy as np

from ... import ops
from ...ops import activations as act
from ...ops.creation import default_generator
from ...tensor import Tensor
from ._common import as_tensor as _as_tensor

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "celu", "celu_",
           "selu", "selu_", "gelu", "silu", "mish", "hardtanh", "hardtanh_", "hardswish",
           "hardsigmoid", "softplus", "softsign", "tanhshrink", "threshold", "threshold_",
           "logsigmoid", "hardshrink", "softshrink", "rrelu", "rrelu_", "prelu", "glu", "tanh",
           "sigmoid", "softmax", "softmin", "log_softmax"]


def _apply(input, inplace, name, function):
    """``function(input)``, written into ``input`` when ``inplace`` (PyTorch's ``name_``)."""
    input = _as_tensor(input)
    if inplace:
        return input._update(name + "_", function)
    return function(input)


# --- rectifiers ----------------------------------------------------------------------------------
def relu(input, inplace=False):
    return _apply(input, inplace, "relu", ops.relu)


def relu_(input):
    return relu(input, inplace=True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x for x > 0, ``negative_slope``·x otherwise."""
    return _apply(input, inplace, "leaky_relu",
                  lambda x: act.leaky_relu(x, negative_slope=float(negative_slope)))


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``input`` clipped to [min_val, max_val] (slope 0 at the bounds, as in PyTorch)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _apply(input, inplace, "hardtanh",
                  lambda x: act.hardtanh(x, min_val=min_val, max_val=max_val))


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(x, 0), 6): ``hardtanh(x, 0, 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def threshold(input, threshold, value, inplace=False):
    """x where x > ``threshold``, else ``value``."""
    return _apply(input, inplace, "threshold",
                  lambda x: act.threshold(x, threshold=threshold, value=value))


_threshold = threshold  # the function, under a name its own argument does not shadow


def threshold_(input, threshold, value):
    return _threshold(input, threshold, value, inplace=True)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomised leaky ReLU: while training each negative entry gets its own slope drawn
    uniformly from [lower, upper]; in evaluation the slope is their mean."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    input = _as_tensor(input)
    draws = default_generator.rng.uniform(lower, upper, input.shape)
    slopes = np.where(input._array >= 0, 1.0, draws).astype(input.dtype, copy=False)
    return _apply(input, inplace, "rrelu", lambda x: ops.mul(x, Tensor._wrap(slopes)))


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def prelu(input, weight):
    """x for x > 0, weight·x otherwise, with one learned slope per channel (dimension 1) or
    one for all."""
    input, weight = _as_tensor(input), _as_tensor(weight)
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    count = weight.numel()
    if count != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim >= 2 else 1
        if count != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {count} and channel size = {channels}.")
        weight = ops.reshape(weight, (channels,) + (1,) * (input.ndim - 2))
    elif weight.ndim == 1 and input.ndim == 0:
        weight = ops.reshape(weight, ())
    return act.prelu(input, weight)


# --- exponential units ---------------------------------------------------------------------------
def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, α·(exp(x) − 1) otherwise."""
    return _apply(input, inplace, "elu",
                  lambda x: act.elu(x, alpha=alpha, scale=1.0, input_scale=1.0))


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, α·(exp(x/α) − 1)): ELU made continuously differentiable in α."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _apply(input, inplace, "celu",
                  lambda x: act.elu(x, alpha=alpha, scale=1.0, input_scale=1.0 / alpha))


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """scale·ELU(x, α) with the self-normalising constants of Klambauer et al. (2017)."""
    return _apply(input, inplace, "selu",
                  lambda x: act.elu(x, alpha=act.SELU_ALPHA, scale=act.SELU_SCALE,
                                    input_scale=1.0))


def selu_(input):
    return selu(input, inplace=True)


# --- smooth gates --------------------------------------------------------------------------------
def tanh(input):
    return ops.tanh(input)


def sigmoid(input):
    return ops.sigmoid(input)


def silu(input, inplace=False):
    """x·σ(x), also called swish."""
    return _apply(input, inplace, "silu", act.silu)


def mish(input, inplace=False):
    """x·tanh(softplus(x))."""
    return _apply(input, inplace, "mish", act.mish)


def gelu(input, approximate="none"):
    """x·Φ(x) with the Gaussian CDF Φ exactly (erf), or the tanh approximation if asked."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate argument must be either none or tanh, got "
                         f"{approximate!r}")
    return act.gelu(_as_tensor(input), approximate=approximate)


def hardsigmoid(input, inplace=False):
    """0 below −3, 1 above 3, x/6 + 1/2 between."""
    return _apply(input, inplace, "hardsigmoid", act.hardsigmoid)


def hardswish(input, inplace=False):
    """x·hardsigmoid(x) (MobileNetV3)."""
    return _apply(input, inplace, "hardswish", act.hardswish)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(βx))/β, switching to the identity where βx > threshold (as PyTorch does)."""
    input = _as_tensor(input)
    scaled = input if beta == 1 else ops.mul(input, beta)
    soft = ops.softplus(scaled)
    if beta != 1:
        soft = ops.div(soft, beta)
    return ops.where(ops.greater(scaled, threshold), input, soft)


def logsigmoid(input):
    """log σ(x) = −softplus(−x), exact for any x."""
    return act.logsigmoid(_as_tensor(input))


def softsign(input):
    """x / (1 + |x|)."""
    return act.softsign(_as_tensor(input))


def tanhshrink(input):
    """x − tanh(x)."""
    return act.tanhshrink(_as_tensor(input))


def hardshrink(input, lambd=0.5):
    """x where |x| > λ, else 0."""
    return act.hardshrink(_as_tensor(input), lambd=lambd)


def softshrink(input, lambd=0.5):
    """x − λ above λ, x + λ below −λ, 0 between."""
    return act.softshrink(_as_tensor(input), lambd=lambd)


def glu(input, dim=-1):
    """The gated linear unit a·σ(b), with ``input`` split in halves a, b along ``dim``."""
    input = _as_tensor(input)
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = dim % input.ndim if -input.ndim <= dim < input.ndim else dim
    if not 0 <= axis < input.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-input.ndim}, {input.ndim - 1}], but got {dim})")
    if input.shape[axis] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size "
                           f"{input.shape[axis]}")
    a, b = ops.chunk(input, 2, axis)
    return ops.mul(a, ops.sigmoid(b))


# --- softmax family ------------------------------------------------------------------------------
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x)/Σexp(x) along ``dim`` (PyTorch's implicit choice, with its warning, if None)."""
    return ops.softmax(_as_tensor(input), dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(−x)."""
    return ops.softmin(_as_tensor(input), dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return ops.log_softmax(_as_tensor(input), dim, dtype=dtype)
