"""More element-wise functions with torch's names: trigonometric and hyperbolic functions and their
inverses, logarithms and exponentials in other bases, rounding, remainders, interpolation,
``addcmul``/``addcdiv``, NaN handling, closeness tests and bitwise operations.

Each differentiable one is a primitive declared by
:func:`torchsorflow.ops.elementwise.elementwise` from one partial derivative per argument, written
with primitives so that it can be differentiated again. Rounding (``floor``, ``ceil``, ``round``,
``trunc``) has a zero derivative, as in PyTorch: the result takes part in autograd and passes
zeros back. Predicates (``isinf``, ``isclose``, ``signbit`` ...) and bitwise operations have none.

Functions of floating-point values turn integer input into the default float dtype first, as
PyTorch does (``torch.tan(torch.tensor([1]))`` is float32).
"""
from __future__ import annotations

import builtins
import math

import numpy as np
import scipy.special

from .. import backend
from ..autodiff.tracer import Box, to_box
from ..backend import xp
from .elementwise import (_promoted, add, clamp, cos, div, elementwise, exp, greater_equal,
                          isfinite, isnan, log, logical_not, logical_or, mul, neg, power,
                          reciprocal, sign, sqrt, sub, where)
from .elementwise import _constant, equal as eq
from .elementwise import floor as _floor
from .shape import astype, ones_like_tensor

__all__ = ["tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan", "atan2", "arctan2",
           "sinh", "cosh", "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "log2",
           "log10", "exp2", "erfc", "logit", "floor", "ceil", "round", "trunc", "fix", "frac",
           "fmod", "remainder", "lerp", "addcmul", "addcdiv", "hypot", "logaddexp", "logaddexp2",
           "xlogy", "nan_to_num", "isinf", "isposinf", "isneginf", "isreal", "isclose",
           "allclose", "equal", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
           "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "fmax", "fmin", "sgn",
           "sign", "heaviside", "copysign", "float_power", "deg2rad", "rad2deg", "signbit",
           "positive", "sinc"]
# the functions that also have an in-place Tensor method (``x.tan_()``), as in PyTorch
INPLACE = ["tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan", "atan2", "arctan2",
           "sinh", "cosh", "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "log2",
           "log10", "exp2", "erfc", "logit", "ceil", "round", "trunc", "fix", "frac", "fmod",
           "remainder", "lerp", "addcmul", "addcdiv", "hypot", "xlogy", "nan_to_num",
           "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
           "bitwise_left_shift", "bitwise_right_shift", "sgn", "heaviside", "copysign", "deg2rad",
           "rad2deg", "sinc"]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _floating(x):
    """``x`` as a Tensor of a floating dtype: integers and bools become the default float."""
    x = to_box(x)
    if x.dtype.kind in "biu":
        x = astype(x, backend.default_float)
    return x


def _unary(prim, doc):
    """The public function for a unary primitive of floating-point values."""
    def function(input):
        return prim(_floating(input))
    function.__name__ = function.__qualname__ = prim.name
    function.__doc__ = doc
    return function


def _float_impl(ufunc):
    """A NumPy ufunc that keeps the input's float dtype (SciPy may hand back float64)."""
    def impl(x):
        return xp.asarray(ufunc(x)).astype(x.dtype, copy=False)
    impl.__name__ = getattr(ufunc, "__name__", "impl")
    return impl


def _one_minus_square(x):
    return sub(1, mul(x, x))


# --- trigonometric and hyperbolic functions and their inverses ---------------------------------
_tan = elementwise("tan", xp.tan, lambda ans, x: add(1, mul(ans, ans)))
_asin = elementwise("asin", xp.arcsin, lambda ans, x: div(1, sqrt(_one_minus_square(x))))
_acos = elementwise("acos", xp.arccos, lambda ans, x: div(-1, sqrt(_one_minus_square(x))))
_atan = elementwise("atan", xp.arctan, lambda ans, x: div(1, add(1, mul(x, x))))
_sinh = elementwise("sinh", xp.sinh, lambda ans, x: _cosh(x))
_cosh = elementwise("cosh", xp.cosh, lambda ans, x: _sinh(x))
_asinh = elementwise("asinh", xp.arcsinh, lambda ans, x: div(1, sqrt(add(mul(x, x), 1))))
_acosh = elementwise("acosh", xp.arccosh, lambda ans, x: div(1, sqrt(sub(mul(x, x), 1))))
_atanh = elementwise("atanh", xp.arctanh, lambda ans, x: div(1, _one_minus_square(x)))


def _atan2_impl(y, x):
    return xp.arctan2(*_promoted(y, x))


def _squared_radius(y, x):
    return add(mul(x, x), mul(y, y))


_atan2 = elementwise("atan2", _atan2_impl, lambda ans, y, x: div(x, _squared_radius(y, x)),
                     lambda ans, y, x: neg(div(y, _squared_radius(y, x))))

tan = _unary(_tan, "tan(x), element-wise.")
asin = arcsin = _unary(_asin, "The inverse sine, element-wise (NaN outside [-1, 1]).")
acos = arccos = _unary(_acos, "The inverse cosine, element-wise (NaN outside [-1, 1]).")
atan = arctan = _unary(_atan, "The inverse tangent, element-wise.")
sinh = _unary(_sinh, "The hyperbolic sine, element-wise.")
cosh = _unary(_cosh, "The hyperbolic cosine, element-wise.")
asinh = arcsinh = _unary(_asinh, "The inverse hyperbolic sine, element-wise.")
acosh = arccosh = _unary(_acosh, "The inverse hyperbolic cosine, element-wise (NaN below 1).")
atanh = arctanh = _unary(_atanh, "The inverse hyperbolic tangent, element-wise.")


def atan2(input, other):
    """The angle of the point (other, input): ``atan(input / other)`` in the right quadrant."""
    return _atan2(_floating(input), _floating(other) if isinstance(other, Box) else other)


arctan2 = atan2

# --- logarithms and exponentials in other bases; erfc; logit --------------------------------------
_log2 = elementwise("log2", xp.log2, lambda ans, x: div(1 / _LN2, x))
_log10 = elementwise("log10", xp.log10, lambda ans, x: div(1 / _LN10, x))
_exp2 = elementwise("exp2", xp.exp2, lambda ans, x: mul(ans, _LN2))
_erfc = elementwise("erfc", _float_impl(scipy.special.erfc),
                    lambda ans, x: mul(-_TWO_OVER_SQRT_PI, exp(neg(mul(x, x)))))
_logit = elementwise("logit", lambda x: xp.log(x / (1 - x)),
                     lambda ans, x: reciprocal(mul(x, sub(1, x))))

log2 = _unary(_log2, "The base-2 logarithm, element-wise.")
log10 = _unary(_log10, "The base-10 logarithm, element-wise.")
exp2 = _unary(_exp2, "2 to the power x, element-wise.")
erfc = _unary(_erfc, "The complementary error function 1 - erf(x), element-wise.")


def _sinc_slope(ans, x):
    """(cos(πx) − sinc(x)) / x, and 0 at x = 0 where that quotient is 0/0."""
    at_zero = eq(x, 0)
    safe = where(at_zero, 1.0, x)
    return where(at_zero, 0.0, div(sub(cos(mul(math.pi, safe)), ans), safe))


sinc = _unary(elementwise("sinc", xp.sinc, _sinc_slope), "sin(πx) / (πx), and 1 at 0.")


def logit(input, eps=None):
    """log(p / (1 − p)), the inverse of the sigmoid; with ``eps``, p is first clamped to
    [eps, 1 − eps] (and the gradient is zero outside, as in torch)."""
    input = _floating(input)
    if eps is not None:
        input = clamp(input, eps, 1 - eps)
    return _logit(input)


# --- rounding: zero derivative ---------------------------------------------------------------
def _zero_slope(ans, *args, **params):
    return 0


_ceil = elementwise("ceil", xp.ceil, _zero_slope)
_round = elementwise("round", lambda x, decimals=0: xp.round(x, decimals), _zero_slope)
_trunc = elementwise("trunc", xp.trunc, _zero_slope)


def _rounding(prim, doc):
    def function(input, **params):
        input = to_box(input)
        if input.dtype.kind in "biu":  # integers are already whole: a copy, in their dtype
            return astype(input, input.dtype, copy=True)
        return prim(input, **params)
    function.__name__ = function.__qualname__ = prim.name
    function.__doc__ = doc
    return function


floor = _rounding(_floor, "The largest whole number ≤ x, element-wise (zero gradient).")
ceil = _rounding(_ceil, "The smallest whole number ≥ x, element-wise (zero gradient).")
trunc = fix = _rounding(_trunc, "x rounded toward zero, element-wise (zero gradient).")
_round_function = _rounding(_round, "")


def round(input, *, decimals=0):  # noqa: A001 - torch.round
    """x rounded half to even (``decimals`` places), element-wise (zero gradient)."""
    if isinstance(decimals, bool) or not isinstance(decimals, int):
        raise TypeError(f"round(): argument 'decimals' must be int, not "
                        f"{type(decimals).__name__}")
    return _round_function(input, decimals=decimals) if decimals else _round_function(input)


def frac(input):
    """The fractional part x − trunc(x) (gradient 1, as in torch)."""
    input = to_box(input)
    if not backend.is_floating(input.dtype):
        raise RuntimeError(f"frac: expected a floating-point Tensor, got {input.dtype}")
    return sub(input, _trunc(input))


def sgn(input):
    """The sign of x (−1, 0 or 1); for real Tensors the same as :func:`sign`."""
    return sign(input)


def positive(input):
    return to_box(input)


# --- remainders, interpolation, fused multiply-adds ------------------------------------------
def _remainder_impl(ufunc):
    def impl(x, y):
        return ufunc(*_promoted(x, y))
    return impl


def _rounded_quotient(round_fn):
    def slope(ans, x, y):
        return neg(round_fn(div(x, y)))
    return slope


_fmod = elementwise("fmod", _remainder_impl(xp.fmod), lambda ans, x, y: 1,
                    _rounded_quotient(lambda q: _trunc(q)))
_remainder = elementwise("remainder", _remainder_impl(xp.remainder), lambda ans, x, y: 1,
                         _rounded_quotient(lambda q: _floor(q)))


def fmod(input, other):
    """C's remainder: x − trunc(x / y)·y (the sign of x)."""
    return _fmod(input, other)


def remainder(input, other):
    """Python's remainder: x − floor(x / y)·y (the sign of y)."""
    return _remainder(input, other)


_lerp = elementwise("lerp", lambda x, end, w: x + w * (end - x),
                    lambda ans, x, end, w: sub(1, w), lambda ans, x, end, w: w,
                    lambda ans, x, end, w: sub(end, x))


def lerp(input, end, weight):
    """input + weight·(end − input); ``weight`` a number or a Tensor."""
    return _lerp(input, end, weight)


_addcmul = elementwise(
    "addcmul", lambda x, a, b, value=1: xp.add(*_promoted(x, value * xp.multiply(a, b))),
    lambda ans, x, a, b, value=1: 1, lambda ans, x, a, b, value=1: mul(b, value),
    lambda ans, x, a, b, value=1: mul(a, value))
_addcdiv = elementwise(
    "addcdiv", lambda x, a, b, value=1: xp.add(*_promoted(x, value * xp.true_divide(a, b))),
    lambda ans, x, a, b, value=1: 1, lambda ans, x, a, b, value=1: div(value, b),
    lambda ans, x, a, b, value=1: neg(div(mul(a, value), mul(b, b))))


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value·tensor1·tensor2."""
    return _addcmul(input, tensor1, tensor2, value=value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value·tensor1/tensor2."""
    t1, t2 = to_box(tensor1), to_box(tensor2)
    if t1.dtype.kind in "biu" and t2.dtype.kind in "biu":
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a "
                           "future release addcdiv will perform a true division of tensor1 and "
                           "tensor2. Use torch.addcdiv with floating-point tensors.")
    return _addcdiv(input, t1, t2, value=value)


# --- two-argument functions -------------------------------------------------------------------
_hypot = elementwise("hypot", lambda x, y: xp.hypot(*_promoted(x, y)),
                     lambda ans, x, y: div(x, ans), lambda ans, x, y: div(y, ans))
_logaddexp = elementwise("logaddexp", lambda x, y: xp.logaddexp(*_promoted(x, y)),
                         lambda ans, x, y: exp(sub(x, ans)), lambda ans, x, y: exp(sub(y, ans)))
_logaddexp2 = elementwise("logaddexp2", lambda x, y: xp.logaddexp2(*_promoted(x, y)),
                          lambda ans, x, y: _exp2(sub(x, ans)),
                          lambda ans, x, y: _exp2(sub(y, ans)))


def _xlogy_impl(x, y):
    x, y = _promoted(x, y)
    with xp.errstate(divide="ignore", invalid="ignore"):
        out = xp.where((x == 0) & ~xp.isnan(y), 0, x * xp.log(y))
    return out.astype(xp.result_type(x, y, backend.default_float), copy=False)


def _safe_log(y, keep):
    return where(keep, log(where(keep, y, 1.0)), 0.0)


# d/dx x·log y = log y (0 where x = 0, as torch takes it); d/dy = x / y
_xlogy = elementwise("xlogy", _xlogy_impl,
                     lambda ans, x, y: _safe_log(y, logical_not(eq(x, 0))),
                     lambda ans, x, y: div(x, y))


def _floats(input, other):
    """Both operands, integers turned into the default float (numbers stay numbers)."""
    return tuple(_floating(v) if isinstance(v, Box) else v for v in (input, other))


def hypot(input, other):
    """sqrt(x² + y²) without overflow."""
    return _hypot(*_floats(input, other))


def logaddexp(input, other):
    """log(exp(x) + exp(y)) computed stably."""
    return _logaddexp(*_floats(input, other))


def logaddexp2(input, other):
    """log2(2^x + 2^y) computed stably."""
    return _logaddexp2(*_floats(input, other))


def xlogy(input, other):
    """x·log(y), taken as 0 where x = 0 (unless y is NaN)."""
    if not isinstance(input, Box) and not isinstance(other, Box):
        raise TypeError("xlogy(): at least one of input and other must be a Tensor")
    return _xlogy(*_floats(input, other))


def _fmax_share(x, y):
    """Where fmax takes x: x ≥ y, or y is NaN (torch gives x the whole gradient on ties)."""
    return logical_or(greater_equal(x, y), isnan(y))


_fmax = elementwise("fmax", lambda x, y: xp.fmax(*_promoted(x, y)),
                    lambda ans, x, y: _fmax_share(x, y),
                    lambda ans, x, y: logical_not(_fmax_share(x, y)))
_fmin = elementwise("fmin", lambda x, y: xp.fmin(*_promoted(x, y)),
                    lambda ans, x, y: _fmax_share(y, x),
                    lambda ans, x, y: logical_not(_fmax_share(y, x)))


def fmax(input, other):
    """The element-wise maximum, ignoring NaN (NaN only where both are NaN)."""
    return _fmax(input, other)


def fmin(input, other):
    """The element-wise minimum, ignoring NaN."""
    return _fmin(input, other)


def _copysign_impl(x, y):
    x, y = _promoted(x, y)
    return xp.copysign(x, y).astype(xp.result_type(x, y, backend.default_float), copy=False)


# d/dx copysign(x, y) = ans / x (±1), taken as 0 where x = 0 like torch; nothing flows to y.
_copysign = elementwise("copysign", _copysign_impl,
                        lambda ans, x, y: where(eq(x, 0), 0.0, div(ans, where(eq(x, 0), 1.0, x))),
                        _zero_slope)


def copysign(input, other):
    """|input| with the sign of ``other`` (a float Tensor)."""
    return _copysign(*_floats(input, other))


def float_power(input, exponent):
    """input ** exponent computed in float64 (torch.float_power)."""
    def as64(v):
        return astype(to_box(v), backend.float64) if isinstance(v, Box) else float(v)
    if not isinstance(input, Box) and not isinstance(exponent, Box):
        raise TypeError("float_power(): at least one of input and exponent must be a Tensor")
    return power(as64(input), as64(exponent))


def deg2rad(input):
    return mul(_floating(input), math.pi / 180.0)


def rad2deg(input):
    return mul(_floating(input), 180.0 / math.pi)


def _nan_to_num_impl(x, nan, posinf, neginf):
    if x.dtype.kind != "f":
        return x.copy()
    return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


# The gradient passes where x is finite and stops where it was replaced (torch's rule).
_nan_to_num = elementwise("nan_to_num", _nan_to_num_impl,
                          lambda ans, x, nan, posinf, neginf: isfinite(x))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and −inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default the largest
    and smallest finite values of the dtype)."""
    return _nan_to_num(to_box(input), nan=float(nan), posinf=posinf, neginf=neginf)


# --- predicates and bitwise operations (no derivative) -----------------------------------------
isinf = _constant("isinf", xp.isinf)
isposinf = _constant("isposinf", xp.isposinf)
isneginf = _constant("isneginf", xp.isneginf)
signbit = _constant("signbit", xp.signbit)
logical_xor = _constant("logical_xor", xp.logical_xor)
heaviside = _constant("heaviside", lambda x, values: xp.heaviside(*_promoted(x, values)))


def isreal(input):
    """True everywhere for real Tensors (TorchsorFlow has no complex arithmetic)."""
    input = to_box(input)
    return astype(ones_like_tensor(input), backend.bool_)


_isclose = _constant("isclose", lambda x, y, rtol, atol, equal_nan: xp.isclose(
    x, y, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input − other| ≤ atol + rtol·|other|, element-wise."""
    input, other = to_box(input), to_box(other)
    if input.dtype != other.dtype:
        raise RuntimeError(f"{input.dtype} did not match {other.dtype}")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose: rtol and atol must be non-negative, got rtol={rtol} and "
                           f"atol={atol}")
    return _isclose(input, other, rtol=float(rtol), atol=float(atol), equal_nan=bool(equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether every element is close (:func:`isclose`): a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._array.all())


def equal(input, other) -> bool:
    """Whether the two Tensors have the same shape and the same values: a Python bool
    (``torch.equal``; the element-wise comparison is :func:`eq`)."""
    input, other = to_box(input), to_box(other)
    return input.shape == other.shape and bool((input._array == other._array).all())


def _integral(op, *values):
    for v in values:
        dtype = v.dtype if isinstance(v, Box) else np.asarray(v).dtype
        if dtype.kind not in "biu":
            raise RuntimeError(f"{op}: only integer and bool Tensors are supported, got "
                               f"{dtype}")


def _bitwise(name, ufunc, arity=2):
    prim = _constant(name, lambda *xs: ufunc(*_promoted(*xs)) if len(xs) == 2 else ufunc(*xs))

    def function(input, other=None):
        args = (input,) if arity == 1 else (input, other)
        _integral(name, *args)
        if not builtins.any(isinstance(a, Box) for a in args):
            raise TypeError(f"{name}(): expected a Tensor argument")
        return prim(*args)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``{name}``, element-wise, for integer and bool Tensors."
    return function


bitwise_and = _bitwise("bitwise_and", xp.bitwise_and)
bitwise_or = _bitwise("bitwise_or", xp.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", xp.bitwise_xor)
bitwise_not = _bitwise("bitwise_not", xp.invert, arity=1)
bitwise_left_shift = _bitwise("bitwise_left_shift", xp.left_shift)
bitwise_right_shift = _bitwise("bitwise_right_shift", xp.right_shift)
