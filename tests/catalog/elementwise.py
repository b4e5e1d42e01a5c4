"""Element-wise primitives (torchsorflow/ops/elementwise.py)."""
import numpy as np

import torchsorflow as tsf

from . import binary, constant, row, unary

unary("neg", lambda x: -x, lambda t, x: -x)
unary("exp", tsf.exp, lambda t, x: t.exp(x))
unary("log", tsf.log, lambda t, x: t.log(x), domain="positive")
unary("log1p", tsf.log1p, lambda t, x: t.log1p(x), domain="above_minus_one")
unary("expm1", tsf.expm1, lambda t, x: t.expm1(x))
unary("sqrt", tsf.sqrt, lambda t, x: t.sqrt(x), domain="positive")
unary("sin", tsf.sin, lambda t, x: t.sin(x))
unary("cos", tsf.cos, lambda t, x: t.cos(x))
unary("tanh", tsf.tanh, lambda t, x: t.tanh(x))
unary("sigmoid", tsf.sigmoid, lambda t, x: t.sigmoid(x))
unary("softplus", tsf.softplus, lambda t, x: t.nn.functional.softplus(x))
unary("abs", tsf.abs, lambda t, x: t.abs(x), domain="away")
unary("relu", tsf.relu, lambda t, x: t.relu(x), domain="away")
unary("clip", lambda x: tsf.clamp(x, -0.4, 0.6), lambda t, x: t.clamp(x, -0.4, 0.6),
      make=lambda rng: [rng.choice([-1.0, 0.1, 1.0], (2, 3)) + rng.uniform(-0.05, 0.05, (2, 3))])

binary("add", tsf.add, lambda t, x, y: t.add(x, y))
binary("add", lambda x, y: tsf.add(x, y, alpha=2.5), lambda t, x, y: t.add(x, y, alpha=2.5))
binary("sub", tsf.sub, lambda t, x, y: t.sub(x, y))
binary("sub", lambda x, y: x.sub(y, alpha=-3), lambda t, x, y: x.sub(y, alpha=-3))
binary("mul", tsf.mul, lambda t, x, y: t.mul(x, y))
binary("div", tsf.div, lambda t, x, y: t.div(x, y), domains=("normal", "away"))
binary("pow", tsf.pow, lambda t, x, y: t.pow(x, y), domains=("positive", "normal"))
unary("pow", lambda x: x ** 3, lambda t, x: x ** 3)
unary("pow", lambda x: x ** 1.5, lambda t, x: x ** 1.5, domain="positive")
binary("maximum", tsf.maximum, lambda t, x, y: t.maximum(x, y))
binary("minimum", tsf.minimum, lambda t, x, y: t.minimum(x, y))
binary("where", lambda x, y: tsf.where(x > 0, x, y), lambda t, x, y: t.where(x > 0, x, y),
       domains=("away", "normal"))

constant("eq", lambda x, y: x == y, lambda t, x, y: x == y, domains=("normal", "normal"),
         make=lambda rng: [np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])])
constant("ne", lambda x, y: x != y, lambda t, x, y: x != y, domains=("normal", "normal"))
constant("lt", lambda x, y: x < y, lambda t, x, y: x < y, domains=("normal", "normal"))
constant("le", lambda x, y: x <= y, lambda t, x, y: x <= y, domains=("normal", "normal"))
constant("gt", lambda x, y: x > y, lambda t, x, y: x > y, domains=("normal", "normal"))
constant("ge", lambda x, y: x >= y, lambda t, x, y: x >= y, domains=("normal", "normal"))
constant("logical_not", lambda x: tsf.logical_not(x > 0), lambda t, x: t.logical_not(x > 0))
constant("logical_and", lambda x, y: tsf.logical_and(x > 0, y > 0),
         lambda t, x, y: t.logical_and(x > 0, y > 0), domains=("normal", "normal"))
constant("logical_or", lambda x, y: tsf.logical_or(x > 0, y > 0),
         lambda t, x, y: t.logical_or(x > 0, y > 0), domains=("normal", "normal"))
constant("isnan", lambda x: tsf.isnan(tsf.log(x)), lambda t, x: t.isnan(t.log(x)))
constant("isfinite", lambda x: tsf.isfinite(1 / x), lambda t, x: t.isfinite(1 / x),
         make=lambda rng: [np.array([0.0, 1.0, -2.0])])
constant("floor_divide", lambda x, y: tsf.div(x, y, rounding_mode="floor"),
         lambda t, x, y: t.div(x, y, rounding_mode="floor"), domains=("normal", "away"))
constant("trunc_divide", lambda x, y: tsf.div(x, y, rounding_mode="trunc"),
         lambda t, x, y: t.div(x, y, rounding_mode="trunc"), domains=("normal", "away"))
row("std", lambda x: tsf.std(x, 0), lambda t, x: t.std(x, 0), shapes=[((4, 3),)])
