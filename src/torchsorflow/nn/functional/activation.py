"""Activation functions."""
from __future__ import annotations

import math

from ... import ops
from ...ops import nn_ops
from ._common import as_tensor as _as_tensor

__all__ = ["relu", "leaky_relu", "elu", "tanh", "sigmoid", "silu", "gelu", "softplus", "softmax",
           "log_softmax"]


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
