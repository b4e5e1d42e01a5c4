"""Activation functions as element-wise primitives (the maths behind ``nn.functional``'s).

Each is one NumPy forward and one partial derivative (see :func:`.elementwise.elementwise`), so
both derivative rules follow, and a layer costs one graph node instead of the three to six a
composition would record. The forwards are written to be exact where a composition loses
precision: ``logsigmoid`` never forms ``log(sigmoid(x))`` (which is ``log 0`` for x ≲ −88 in
float32), ``mish`` takes ``tanh`` of a stable softplus, and ``elu`` exponentiates only the
negative side, so large inputs never overflow.

Derivatives follow PyTorch's conventions at the kinks (``hardtanh``'s slope is 0 at its bounds,
``hardswish``'s is x/3 + 1/2 at x = 3), so gradients agree with PyTorch everywhere.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special

from .elementwise import (absolute, add, elementwise, exp, greater, less, less_equal, logical_and,
                          mul, neg, reciprocal, sigmoid, softplus, square, sub, tanh, where)
from .nn_ops import erf

__all__ = ["leaky_relu", "elu", "hardtanh", "hardsigmoid", "hardswish", "silu", "gelu", "mish",
           "softsign", "tanhshrink", "threshold", "hardshrink", "softshrink", "logsigmoid",
           "prelu", "SELU_ALPHA", "SELU_SCALE"]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _like(value, x):
    """``value`` as a 0-d array of ``x``'s floating dtype, so a piecewise-constant slope built
    from Python numbers stays in float32 for float32 activations."""
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    return np.asarray(value, dtype=dtype)


def _inside(x, low, high):
    """low < x < high, the open interval where clipping functions pass the gradient."""
    return logical_and(greater(x, low), less(x, high))


def _same(x, out):
    return out.astype(x.dtype, copy=False) if np.issubdtype(x.dtype, np.floating) else out


# --- piecewise linear ----------------------------------------------------------------------------
leaky_relu = elementwise(
    "leaky_relu", lambda x, negative_slope: np.where(x > 0, x, x * negative_slope),
    lambda ans, x, negative_slope: where(greater(x, 0), _like(1, x), _like(negative_slope, x)))

hardtanh = elementwise(
    "hardtanh", lambda x, min_val, max_val: np.clip(x, min_val, max_val),
    lambda ans, x, min_val, max_val: _inside(x, min_val, max_val))

hardsigmoid = elementwise(
    "hardsigmoid", lambda x: _same(x, np.clip(x / 6 + 0.5, 0, 1)),
    lambda ans, x: mul(_inside(x, -3, 3), _like(1 / 6, x)))


def _hardswish_slope(ans, x):
    # PyTorch's: 0 below −3, x/3 + 1/2 on [−3, 3] (closed at 3), 1 above.
    return where(less(x, -3), 0.0, where(less_equal(x, 3), add(mul(x, 1 / 3), 0.5), 1.0))


hardswish = elementwise("hardswish", lambda x: _same(x, x * np.clip(x + 3, 0, 6) / 6),
                        _hardswish_slope)

threshold = elementwise(
    "threshold", lambda x, threshold, value: _same(x, np.where(x > threshold, x, value)),
    lambda ans, x, threshold, value: greater(x, threshold))

hardshrink = elementwise(
    "hardshrink", lambda x, lambd: _same(x, np.where(np.abs(x) > lambd, x, 0)),
    lambda ans, x, lambd: greater(absolute(x), lambd))

softshrink = elementwise(
    "softshrink", lambda x, lambd: _same(x, np.where(x > lambd, x - lambd,
                                                     np.where(x < -lambd, x + lambd, 0))),
    lambda ans, x, lambd: greater(absolute(x), lambd))

# PReLU: a learned slope per channel, broadcast against x by the caller.
prelu = elementwise(
    "prelu", lambda x, weight: np.where(x > 0, x, weight * x),
    lambda ans, x, weight: where(greater(x, 0), _like(1, x), weight),
    lambda ans, x, weight: where(greater(x, 0), _like(0, x), x))


# --- exponential family --------------------------------------------------------------------------
def _elu(x, alpha, scale, input_scale):
    negative = alpha * scale * np.expm1(np.minimum(x, 0) * input_scale)
    return _same(x, np.where(x > 0, x * scale, negative))


def _elu_slope(ans, x, alpha, scale, input_scale):
    # d/dx of scale·α·(exp(x·s_in) − 1) is s_in·(ans + α·scale), written from the output.
    return where(greater(x, 0), _like(scale, x), mul(add(ans, alpha * scale), input_scale))


# ELU, CELU (input_scale = 1/α) and SELU (PyTorch's constants as α and scale) in one primitive.
elu = elementwise("elu", _elu, _elu_slope)


def _softplus_np(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _logsigmoid(x):
    # log σ(x) = −softplus(−x) = min(x, 0) − log1p(exp(−|x|)): exact for every x.
    return _same(x, np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))))


logsigmoid = elementwise("logsigmoid", _logsigmoid, lambda ans, x: sigmoid(neg(x)))


def _silu(x):
    return _same(x, x * scipy.special.expit(x))


def _silu_slope(ans, x):
    s = sigmoid(x)
    return mul(s, add(mul(x, sub(1, s)), 1))     # σ(x)·(1 + x·(1 − σ(x)))


silu = elementwise("silu", _silu, _silu_slope)


def _mish(x):
    return _same(x, x * np.tanh(_softplus_np(x)))


def _mish_slope(ans, x):
    t = tanh(softplus(x))
    return add(t, mul(mul(x, sigmoid(x)), sub(1, square(t))))


mish = elementwise("mish", _mish, _mish_slope)


# --- GELU ----------------------------------------------------------------------------------------
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_KAPPA = 0.044715


def _gelu(x, approximate):
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + _KAPPA * x * x * x)
        return _same(x, 0.5 * x * (1 + np.tanh(inner)))
    return _same(x, 0.5 * x * (1 + scipy.special.erf(x * _SQRT_HALF)))


def _gelu_slope(ans, x, approximate):
    if approximate == "tanh":
        t = tanh(mul(_SQRT_2_OVER_PI, add(x, mul(_KAPPA, mul(x, square(x))))))
        inner_slope = mul(_SQRT_2_OVER_PI, add(mul(3 * _KAPPA, square(x)), 1))
        return add(mul(0.5, add(t, 1)), mul(mul(mul(x, 0.5), sub(1, square(t))), inner_slope))
    cdf = mul(add(erf(mul(x, _SQRT_HALF)), 1), 0.5)
    density = mul(exp(mul(square(x), -0.5)), _INV_SQRT_2PI)
    return add(cdf, mul(x, density))                 # Φ(x) + x·φ(x)


gelu = elementwise("gelu", _gelu, _gelu_slope)


# --- rational and shrinking ----------------------------------------------------------------------
softsign = elementwise("softsign", lambda x: _same(x, x / (1 + np.abs(x))),
                       lambda ans, x: reciprocal(square(add(absolute(x), 1))))

tanhshrink = elementwise("tanhshrink", lambda x: _same(x, x - np.tanh(x)),
                         lambda ans, x: square(tanh(x)))
