"""Activation functions as element-wise primitives (the maths behind ``nn.functional``'s).

Each is one NumPy forward and one partial derivative (see :func:`.elementwise.elementwise`), so
both derivative rules follow, and a layer costs one graph node instead of the three to six a
composition would record. The forwards are written to be exact where a composition loses
precision: ``logsigmoid`` never forms ``log(sigmoid(x))`` (which is ``log 0`` for x ≲ −88 in
float32), ``mish`` takes ``tanh`` of a stable softplus, and ``elu`` exponentiates only the
negative side, so large inputs never overflow.

Derivatives follow PyTorch's conventions at the kinks (``hardtanh``'s slope is 0 at its bounds,
``hardswish``'s is x/3 + 1/2 at x = 3), so gradients agree with PyTorch everywhere.

*Speed.* NumPy's ``where`` with an unpredictable mask, and its ``expm1``/``log1p``, run several
times slower than its arithmetic, ``exp``, ``log`` and ``tanh``; the forwards avoid them: a
piecewise function is a sum of masked pieces (leaky ReLU is ``max(x, slope·x)``), and in float32
``expm1(m) = 2·tanh(m/2)/(1 − tanh(m/2))`` and ``log1p`` uses Goldberg's correction of ``log``,
both within a few ulp. float64 keeps NumPy's functions.

*Fast slopes.* The smooth gates x·g(x) (SiLU, GELU, Mish) would recompute their transcendental
g(x) in the backward pass; but g(x) = output/x. When nothing differentiates the gradient further
(a plain ``backward()``, see :func:`torchsorflow.autodiff.tracer.is_constant`) their rule
computes the slope in NumPy from the saved output; otherwise it uses the slope written with
primitives, which can be differentiated again. *Fast erf.* GELU's Gaussian CDF needs erf, which
SciPy evaluates element by element; for float32 a vectorised polynomial (:func:`erf_float32`,
within 2 ulp) does the same work in a fraction of the time. float64 keeps SciPy's erf.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special
from numpy.polynomial import chebyshev

from ..autodiff.tracer import Primitive, is_constant, wrap
from .elementwise import (absolute, add, elementwise, exp, greater, greater_equal, less,
                          less_equal, logical_and, mul, neg, reciprocal, sigmoid, softplus,
                          square, sub, tanh, where)
from .nn_ops import erf

__all__ = ["leaky_relu", "elu", "hardtanh", "hardsigmoid", "hardswish", "silu", "gelu", "mish",
           "softsign", "tanhshrink", "threshold", "hardshrink", "softshrink", "logsigmoid",
           "prelu", "erf_float32", "SELU_ALPHA", "SELU_SCALE"]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# --- helpers -------------------------------------------------------------------------------------
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


def _gate(output, x, at_zero):
    """g(x) = output/x for an activation x·g(x), with g(0) = ``at_zero``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        gate = output / x
    zero = x == 0
    if zero.any():
        gate[zero] = at_zero
    return gate


def _expm1(m):
    """exp(m) − 1; in float32 from tanh (fast and within 3 ulp), else NumPy's expm1."""
    if m.dtype != np.float32:
        return np.expm1(m)
    t = np.tanh(m * np.float32(0.5))
    return 2 * t / (1 - t)


def _log1p(e):
    """log(1 + e) for e ≥ 0; in float32 log(u)·e/(u − 1) with u = 1 + e (Goldberg's correction
    of the rounding in u), else NumPy's log1p."""
    if e.dtype != np.float32:
        return np.log1p(e)
    u = 1 + e
    d = u - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(u) * e / d
    tiny = d == 0  # u rounded to 1: log(1 + e) = e to working precision
    if tiny.any():
        out[tiny] = e[tiny]
    return out


def _sigmoid_np(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _softplus_np(x):
    return np.maximum(x, 0) + _log1p(np.exp(-np.abs(x)))


def _with_fast_slope(name, impl, slope, fast_slope):
    """An element-wise primitive like :func:`elementwise`'s, whose rule computes
    ``v·fast_slope(output, x)`` in NumPy when nothing will differentiate it (see the module
    docstring) and ``v·slope(ans, x)`` with primitives otherwise."""
    def rule(v, ans, x, **params):
        if is_constant(v, ans, x):
            product = v._array * fast_slope(ans._array, x._array, **params)
            return wrap(product.astype(v.dtype, copy=False))
        return mul(v, slope(ans, x, **params))
    return Primitive(name, impl, vjp=(rule,), symmetric=True)


# --- piecewise linear ----------------------------------------------------------------------------
def _leaky_relu(x, negative_slope):
    # x for x > 0 and slope·x below is the larger of the two when slope ≤ 1, the smaller above.
    pick = np.maximum if negative_slope <= 1 else np.minimum
    return pick(x, x * negative_slope)


leaky_relu = elementwise(
    "leaky_relu", _leaky_relu,
    lambda ans, x, negative_slope: add(mul(greater(x, 0), _like(1 - negative_slope, x)),
                                       _like(negative_slope, x)))

hardtanh = elementwise(
    "hardtanh", lambda x, min_val, max_val: np.clip(x, min_val, max_val),
    lambda ans, x, min_val, max_val: _inside(x, min_val, max_val))

hardsigmoid = elementwise(
    "hardsigmoid", lambda x: _same(x, np.clip(x / 6 + 0.5, 0, 1)),
    lambda ans, x: mul(_inside(x, -3, 3), _like(1 / 6, x)))


def _hardswish_slope(ans, x):
    # PyTorch's: 0 below −3, x/3 + 1/2 on [−3, 3] (closed at 3), 1 above.
    middle = mul(mul(add(mul(x, 1 / 3), 0.5), greater_equal(x, -3)), less_equal(x, 3))
    return add(middle, greater(x, 3))


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

# PReLU: a learned slope per channel, broadcast against x by the caller; max(x, 0) + w·min(x, 0).
prelu = elementwise(
    "prelu", lambda x, weight: np.maximum(x, 0) + weight * np.minimum(x, 0),
    lambda ans, x, weight: add(greater(x, 0), mul(weight, less_equal(x, 0))),
    lambda ans, x, weight: mul(x, less_equal(x, 0)))


# --- exponential family --------------------------------------------------------------------------
def _elu(x, alpha, scale, input_scale):
    # scale·(max(x, 0) + α·expm1(min(x, 0)·s_in)): the second term is 0 for x > 0.
    negative = _expm1(np.minimum(x, 0) * x.dtype.type(input_scale))
    negative *= x.dtype.type(alpha * scale)
    out = np.maximum(x, 0)
    if scale != 1:
        out *= x.dtype.type(scale)
    out += negative
    return out


def _elu_slope(ans, x, alpha, scale, input_scale):
    # d/dx of scale·α·(exp(x·s_in) − 1) is s_in·(ans + α·scale), written from the output.
    return where(greater(x, 0), _like(scale, x), mul(add(ans, alpha * scale), input_scale))


def _elu_fast_slope(out, x, alpha, scale, input_scale):
    negative = np.minimum(out, 0)   # the output where x ≤ 0 (and 0 where it is positive)
    negative += out.dtype.type(alpha * scale)
    negative *= out.dtype.type(input_scale)
    negative *= x <= 0
    negative += (x > 0) * out.dtype.type(scale)
    return negative


# ELU, CELU (input_scale = 1/α) and SELU (PyTorch's constants as α and scale) in one primitive.
elu = _with_fast_slope("elu", _elu, _elu_slope, _elu_fast_slope)


def _logsigmoid(x):
    # log σ(x) = −softplus(−x) = min(x, 0) − log1p(exp(−|x|)): exact for every x.
    return _same(x, np.minimum(x, 0) - _log1p(np.exp(-np.abs(x))))


def _logsigmoid_fast_slope(out, x):
    # σ(−x) = e/(1 + e) for x ≥ 0 and 1/(1 + e) below, with e = exp(−|x|) ≤ 1.
    e = np.exp(-np.abs(x))
    return (e * (x >= 0) + (x < 0)) / (1 + e)


logsigmoid = _with_fast_slope("logsigmoid", _logsigmoid, lambda ans, x: sigmoid(neg(x)),
                              _logsigmoid_fast_slope)


def _silu(x):
    return _same(x, x * _sigmoid_np(x))


def _silu_slope(ans, x):
    s = sigmoid(x)
    return mul(s, add(mul(x, sub(1, s)), 1))     # σ(x)·(1 + x·(1 − σ(x)))


def _silu_fast_slope(out, x):
    s = _gate(out, x, 0.5)   # σ(x)
    return s + out * (1 - s)  # σ + x·σ·(1 − σ)


silu = _with_fast_slope("silu", _silu, _silu_slope, _silu_fast_slope)


def _mish(x):
    return _same(x, x * np.tanh(_softplus_np(x)))


def _mish_slope(ans, x):
    t = tanh(softplus(x))
    return add(t, mul(mul(x, sigmoid(x)), sub(1, square(t))))


_TANH_LOG_2 = math.tanh(math.log(2.0))  # mish's gate at 0: tanh(softplus(0))


def _mish_fast_slope(out, x):
    t = _gate(out, x, _TANH_LOG_2)   # tanh(softplus(x))
    return t + x * _sigmoid_np(x) * (1 - t * t)


mish = _with_fast_slope("mish", _mish, _mish_slope, _mish_fast_slope)


# --- GELU ----------------------------------------------------------------------------------------
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_KAPPA = 0.044715


def _chebyshev_monomials(f, low, high, degree):
    """Coefficients, lowest first, of the polynomial in s ∈ [−1, 1] (s = the affine image of
    [low, high]) interpolating ``f`` at Chebyshev points: close to the best uniform fit."""
    half, middle = (high - low) / 2, (high + low) / 2
    fit = chebyshev.chebinterpolate(lambda s: f(middle + half * s), degree)
    return [np.float32(c) for c in chebyshev.cheb2poly(fit)]


def _horner(coefficients, s):
    out = np.full_like(s, coefficients[-1])
    for c in coefficients[-2::-1]:
        out *= s
        out += c
    return out


def _erf_over_z(s):
    """erf(z)/z at z = 1.25·√((s + 1)/2), the variable of the near branch below."""
    z = np.sqrt((s + 1) / 2) * _ERF_SPLIT
    return scipy.special.erf(z) / z


# erf(z) = z·P(z²) for |z| < 1.25 (P in s = 2z²/1.25² − 1), and 1 − exp(−z²)·R(|z|) for
# 1.25 ≤ |z| ≤ 4 (R approximating the scaled complement erfcx on that interval); float32 reads
# erf(z) = ±1 beyond 4. The degrees are the smallest giving 2 ulp.
_ERF_SPLIT, _ERF_END = 1.25, 4.0
_ERF_NEAR = _chebyshev_monomials(_erf_over_z, -1.0, 1.0, 6)
_ERF_FAR = _chebyshev_monomials(scipy.special.erfcx, _ERF_SPLIT, _ERF_END, 9)


def erf_float32(z):
    """erf of a float32 array in float32 arithmetic, within 2 ulp of the exact value."""
    s = z * z
    s *= np.float32(2 / _ERF_SPLIT ** 2)
    s -= np.float32(1)
    out = _horner(_ERF_NEAR, s)
    out *= z
    far = np.flatnonzero(np.abs(z.ravel()) >= _ERF_SPLIT)
    if far.size:
        zf = z.ravel()[far]
        a = np.minimum(np.abs(zf), np.float32(_ERF_END))
        s = (a - np.float32((_ERF_SPLIT + _ERF_END) / 2)) * np.float32(2 / (_ERF_END - _ERF_SPLIT))
        tail = np.exp(-(a * a)) * _horner(_ERF_FAR, s)
        out.ravel()[far] = np.copysign(1 - tail, zf)
    return out


def _erf(z):
    if z.dtype == np.float32:
        return erf_float32(z)
    return _same(z, scipy.special.erf(z))


def _gelu(x, approximate):
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + _KAPPA * x * x * x)
        return _same(x, 0.5 * x * (1 + np.tanh(inner)))
    out = _erf(x * x.dtype.type(_SQRT_HALF))
    out += 1
    out *= x
    out *= x.dtype.type(0.5)
    return out


def _gelu_slope(ans, x, approximate):
    if approximate == "tanh":
        t = tanh(mul(_SQRT_2_OVER_PI, add(x, mul(_KAPPA, mul(x, square(x))))))
        inner_slope = mul(_SQRT_2_OVER_PI, add(mul(3 * _KAPPA, square(x)), 1))
        return add(mul(0.5, add(t, 1)), mul(mul(mul(x, 0.5), sub(1, square(t))), inner_slope))
    cdf = mul(add(erf(mul(x, _SQRT_HALF)), 1), 0.5)
    density = mul(exp(mul(square(x), -0.5)), _INV_SQRT_2PI)
    return add(cdf, mul(x, density))                 # Φ(x) + x·φ(x)


def _gelu_fast_slope(out, x, approximate):
    cdf = _gate(out, x, 0.5)   # Φ(x), or ½(1 + tanh(inner)) for the approximation
    if approximate == "tanh":
        inner_slope = _SQRT_2_OVER_PI * (1 + 3 * _KAPPA * x * x)
        return cdf + 2 * out * (1 - cdf) * inner_slope   # ½(1+t) + ½x(1−t²)·inner'
    density = np.exp(x * x * x.dtype.type(-0.5))
    density *= x.dtype.type(_INV_SQRT_2PI)
    density *= x
    density += cdf
    return density


gelu = _with_fast_slope("gelu", _gelu, _gelu_slope, _gelu_fast_slope)


# --- rational and shrinking ----------------------------------------------------------------------
softsign = elementwise("softsign", lambda x: _same(x, x / (1 + np.abs(x))),
                       lambda ans, x: reciprocal(square(add(absolute(x), 1))))

tanhshrink = elementwise("tanhshrink", lambda x: _same(x, x - np.tanh(x)),
                         lambda ans, x: square(tanh(x)))
