"""More element-wise functions (torchsorflow/ops/pointwise.py); ``sign`` and ``floor`` of
ops/elementwise.py with their zero derivative."""
import numpy as np

import torchsorflow as tsf

from . import BINARY_SHAPES, binary, constant, row, unary

unary("tan", tsf.tan, lambda t, x: t.tan(x), domain="open_unit")
unary("asin", tsf.asin, lambda t, x: t.asin(x), domain="open_unit")
unary("acos", tsf.acos, lambda t, x: t.acos(x), domain="open_unit")
unary("atan", tsf.atan, lambda t, x: t.atan(x))
unary("sinh", tsf.sinh, lambda t, x: t.sinh(x))
unary("cosh", tsf.cosh, lambda t, x: t.cosh(x))
unary("asinh", tsf.asinh, lambda t, x: t.asinh(x))
unary("acosh", tsf.acosh, lambda t, x: t.acosh(x), domain="above_one")
unary("atanh", tsf.atanh, lambda t, x: t.atanh(x), domain="open_unit")
unary("log2", tsf.log2, lambda t, x: t.log2(x), domain="positive")
unary("log10", tsf.log10, lambda t, x: t.log10(x), domain="positive")
unary("exp2", tsf.exp2, lambda t, x: t.exp2(x))
unary("erfc", tsf.erfc, lambda t, x: t.erfc(x))
unary("sinc", tsf.sinc, lambda t, x: t.sinc(x))
unary("logit", tsf.logit, lambda t, x: t.logit(x), domain="probability")
unary("logit", lambda x: tsf.logit(x, eps=0.2), lambda t, x: t.logit(x, eps=0.2),
      make=lambda rng: [np.array([0.05, 0.3, 0.5, 0.7, 0.95])])
unary("nan_to_num", lambda x: tsf.nan_to_num(tsf.log(x), posinf=3.0),
      lambda t, x: t.nan_to_num(t.log(x), posinf=3.0),
      make=lambda rng: [np.array([-1.0, 0.5, 2.0, 3.0])], order=1,
      reason="log(x) is infinite at 0 and NaN below; the finite entries are checked to order 1 "
             "(nan_to_num is the identity there, so higher orders are log's)")
unary("nan_to_num", tsf.nan_to_num, lambda t, x: t.nan_to_num(x))
# rounding passes a zero gradient back, as in torch
unary("floor", tsf.floor, lambda t, x: t.floor(x))
unary("ceil", tsf.ceil, lambda t, x: t.ceil(x))
unary("round", tsf.round, lambda t, x: t.round(x))
unary("round", lambda x: tsf.round(x * 10, decimals=1), lambda t, x: t.round(x * 10, decimals=1))
unary("trunc", tsf.trunc, lambda t, x: t.trunc(x))
unary("trunc", tsf.frac, lambda t, x: t.frac(x))
unary("sign", tsf.sign, lambda t, x: t.sign(x))
unary("sign", tsf.sgn, lambda t, x: t.sgn(x))

binary("atan2", tsf.atan2, lambda t, y, x: t.atan2(y, x), domains=("normal", "away"))
binary("fmod", tsf.fmod, lambda t, x, y: t.fmod(x, y), domains=("normal", "away"))
binary("remainder", tsf.remainder, lambda t, x, y: t.remainder(x, y), domains=("normal", "away"))
binary("hypot", tsf.hypot, lambda t, x, y: t.hypot(x, y), domains=("away", "away"))
binary("logaddexp", tsf.logaddexp, lambda t, x, y: t.logaddexp(x, y))
binary("logaddexp2", tsf.logaddexp2, lambda t, x, y: t.logaddexp2(x, y))
binary("xlogy", tsf.xlogy, lambda t, x, y: t.xlogy(x, y), domains=("normal", "positive"))
binary("fmax", tsf.fmax, lambda t, x, y: t.fmax(x, y))
binary("fmin", tsf.fmin, lambda t, x, y: t.fmin(x, y))
binary("copysign", tsf.copysign, lambda t, x, y: t.copysign(x, y), domains=("away", "away"))
row("fmax", lambda x: tsf.fmax(x, tsf.tensor([np.nan, 0.5, np.nan], dtype=x.dtype)),
    lambda t, x: t.fmax(x, t.tensor([np.nan, 0.5, np.nan], dtype=x.dtype)), shapes=[((3,),)])
row("xlogy", lambda y: tsf.xlogy(tsf.tensor([0.0, 2.0], dtype=y.dtype), y),
    lambda t, y: t.xlogy(t.tensor([0.0, 2.0], dtype=y.dtype), y), domains=("positive",),
    shapes=[((2,),)])
THREE = [((3,), (3,), (3,)), ((2, 1, 3), (4, 3), (1, 3)), ((), (2,), ())]
row("lerp", tsf.lerp, lambda t, x, e, w: t.lerp(x, e, w), domains=("normal",) * 3, shapes=THREE)
row("lerp", lambda x, e: tsf.lerp(x, e, 0.3), lambda t, x, e: t.lerp(x, e, 0.3),
    domains=("normal",) * 2, shapes=BINARY_SHAPES)
row("addcmul", lambda x, a, b: tsf.addcmul(x, a, b, value=-0.5),
    lambda t, x, a, b: t.addcmul(x, a, b, value=-0.5), domains=("normal",) * 3, shapes=THREE)
row("addcdiv", lambda x, a, b: tsf.addcdiv(x, a, b, value=2),
    lambda t, x, a, b: t.addcdiv(x, a, b, value=2), domains=("normal", "normal", "away"),
    shapes=THREE)

constant("isinf", lambda x: tsf.isinf(1 / x), lambda t, x: t.isinf(1 / x),
         make=lambda rng: [np.array([0.0, 1.0, -0.0])])
constant("isposinf", lambda x: tsf.isposinf(1 / x), lambda t, x: t.isposinf(1 / x),
         make=lambda rng: [np.array([0.0, 1.0, -0.0])])
constant("isneginf", lambda x: tsf.isneginf(1 / x), lambda t, x: t.isneginf(1 / x),
         make=lambda rng: [np.array([0.0, 1.0, -0.0])])
constant("signbit", tsf.signbit, lambda t, x: t.signbit(x))
constant("logical_xor", lambda x, y: tsf.logical_xor(x > 0, y), lambda t, x, y: t.logical_xor(
    x > 0, y), domains=("normal", "normal"))
constant("heaviside", lambda x, v: tsf.heaviside(tsf.round(x), v),
         lambda t, x, v: t.heaviside(t.round(x), v), domains=("normal", "normal"),
         shapes=[((5,), (5,)), ((2, 3), (3,))])
constant("isclose", lambda x, y: tsf.isclose(x, x + y * 1e-6),
         lambda t, x, y: t.isclose(x, x + y * 1e-6), domains=("normal", "normal"))


def _ints(op):
    return lambda x, y: op((x * 10).long(), (y * 10).long())


for name in ["bitwise_and", "bitwise_or", "bitwise_xor"]:
    constant(name, _ints(getattr(tsf, name)), lambda t, x, y, name=name: _ints(
        getattr(t, name))(x, y), domains=("normal", "normal"))
constant("bitwise_not", lambda x: tsf.bitwise_not((x * 10).long()),
         lambda t, x: t.bitwise_not((x * 10).long()))
constant("bitwise_left_shift", lambda x, y: tsf.bitwise_left_shift((x * 10).long(),
                                                                    (y.abs() * 3).long()),
         lambda t, x, y: t.bitwise_left_shift((x * 10).long(), (y.abs() * 3).long()),
         domains=("normal", "normal"))
constant("bitwise_right_shift", lambda x, y: (x * 100).long() >> (y.abs() * 3).long(),
         lambda t, x, y: (x * 100).long() >> (y.abs() * 3).long(), domains=("normal", "normal"))
