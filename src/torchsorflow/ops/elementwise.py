"""Element-wise primitives: arithmetic, math functions, comparisons, selection.

Each primitive is its NumPy forward, then its VJP rules ``(g, ans, *args)`` and JVP rules
``(t, ans, *args)``, one per argument. Rules return full-size (broadcast) results; the tracer sums
them back to each argument's shape (:func:`torchsorflow.autodiff.reverse.fit_to`).
"""
from __future__ import annotations

from ..autodiff.tracer import Primitive, is_constant
from ..backend import default_float, xp
from ..tensor import Tensor


def _unary(name, impl, vjp, jvp):
    return Primitive(name, impl, vjp=(vjp,), jvp=(jvp,))


def _kind(dtype):
    return 2 if dtype.kind == "f" else (0 if dtype.kind == "b" else 1)


def _promote(x, y):
    """PyTorch's type promotion for two arrays, where it differs from NumPy's.

    A float Tensor combined with an integer one keeps the float dtype (float32 + int64 → float32,
    NumPy says float64), and within one kind a dimensioned Tensor wins over a 0-d one
    (float32 vector · float64 scalar Tensor → float32). Python scalars already follow PyTorch under
    NumPy 2's rules and never reach this function.
    """
    kx, ky = _kind(x.dtype), _kind(y.dtype)
    if kx != ky:
        return (x, y.astype(x.dtype)) if kx > ky else (x.astype(y.dtype), y)
    if (x.ndim == 0) != (y.ndim == 0):
        dtype = y.dtype if x.ndim == 0 else x.dtype
        return x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    return x, y


def _int_to_float(a):
    return a.astype(default_float) if a.dtype.kind in "biu" else a


def _binary_impl(ufunc):
    def impl(x, y):
        tx, ty = type(x), type(y)
        if tx is xp.ndarray and ty is xp.ndarray:
            if x.dtype != y.dtype:
                x, y = _promote(x, y)
        elif tx is float and ty is xp.ndarray:  # int Tensor · 1.5 → float32 in PyTorch
            y = _int_to_float(y)
        elif ty is float and tx is xp.ndarray:
            x = _int_to_float(x)
        return ufunc(x, y)

    impl.__name__ = ufunc.__name__
    return impl


# --- arithmetic ------------------------------------------------------------------------------
add = Primitive("add", _binary_impl(xp.add),
                vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: g),
                jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: t))

sub = Primitive("sub", _binary_impl(xp.subtract),
                vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: neg(g)),
                jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: neg(t)))

mul = Primitive("mul", _binary_impl(xp.multiply),
                vjp=(lambda g, ans, x, y: mul(g, y), lambda g, ans, x, y: mul(g, x)),
                jvp=(lambda t, ans, x, y: mul(t, y), lambda t, ans, x, y: mul(x, t)))

div = Primitive("div", _binary_impl(xp.true_divide),
                vjp=(lambda g, ans, x, y: div(g, y),
                     lambda g, ans, x, y: neg(div(mul(g, ans), y))),
                jvp=(lambda t, ans, x, y: div(t, y),
                     lambda t, ans, x, y: neg(div(mul(t, ans), y))))

neg = _unary("neg", xp.negative, lambda g, ans, x: neg(g), lambda t, ans, x: neg(t))


def _safe_log_base(x):
    """log(x) where x > 0 and 0 elsewhere: d(x**y)/dy is x**y·log x, taken as 0 where x ≤ 0."""
    return log(where(greater(x, 0), x, 1.0))


def _pow_dx(g, ans, x, y):
    if isinstance(y, (int, float)):  # the common case x**2: keep the exponent a Python number
        return None if y == 0 else mul(g, mul(y, power(x, y - 1)))
    return mul(g, mul(y, power(x, sub(y, 1))))


power = Primitive("pow", _binary_impl(xp.power),
                  vjp=(_pow_dx, lambda g, ans, x, y: mul(g, mul(ans, _safe_log_base(x)))),
                  jvp=(_pow_dx, lambda t, ans, x, y: mul(t, mul(ans, _safe_log_base(x)))))

# --- math functions ----------------------------------------------------------------------------
exp = _unary("exp", xp.exp, lambda g, ans, x: mul(g, ans), lambda t, ans, x: mul(t, ans))
log = _unary("log", xp.log, lambda g, ans, x: div(g, x), lambda t, ans, x: div(t, x))
log1p = _unary("log1p", xp.log1p, lambda g, ans, x: div(g, add(x, 1)),
               lambda t, ans, x: div(t, add(x, 1)))
expm1 = _unary("expm1", xp.expm1, lambda g, ans, x: mul(g, add(ans, 1)),
               lambda t, ans, x: mul(t, add(ans, 1)))
sqrt = _unary("sqrt", xp.sqrt, lambda g, ans, x: div(g, mul(ans, 2)),
              lambda t, ans, x: div(t, mul(ans, 2)))
sin = _unary("sin", xp.sin, lambda g, ans, x: mul(g, cos(x)), lambda t, ans, x: mul(t, cos(x)))
cos = _unary("cos", xp.cos, lambda g, ans, x: neg(mul(g, sin(x))),
             lambda t, ans, x: neg(mul(t, sin(x))))
tanh = _unary("tanh", xp.tanh, lambda g, ans, x: mul(g, sub(1, mul(ans, ans))),
              lambda t, ans, x: mul(t, sub(1, mul(ans, ans))))


def _sigmoid(x):
    # exp(-|x|) never overflows; the two branches are the same function written stably.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


sigmoid = _unary("sigmoid", _sigmoid, lambda g, ans, x: mul(g, mul(ans, sub(1, ans))),
                 lambda t, ans, x: mul(t, mul(ans, sub(1, ans))))


def _softplus(x):
    return (xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype, copy=False)


softplus = _unary("softplus", _softplus, lambda g, ans, x: mul(g, sigmoid(x)),
                  lambda t, ans, x: mul(t, sigmoid(x)))

absolute = _unary("abs", xp.abs, lambda g, ans, x: mul(g, sign(x)),
                  lambda t, ans, x: mul(t, sign(x)))


_ZERO_ROWS = {}  # dtype -> read-only zeros, grown to the longest row seen (≤ _ZERO_ROW_MAX)
_ZERO_ROW_MAX = 1 << 16


def _zero_row(length, dtype):
    zeros = _ZERO_ROWS.get(dtype)
    if zeros is None or zeros.size < length:
        zeros = _ZERO_ROWS[dtype] = xp.zeros(length, dtype)
        zeros.flags.writeable = False
    return zeros[:length]


def _relu(x):
    """max(x, 0). NumPy's maximum against a broadcast scalar runs a slow loop (52 µs for a
    64×32×8×8 float32 batch); against a row of zeros repeated over the batch it runs its
    vectorised two-array loop (20 µs)."""
    row = x.size // x.shape[0] if x.ndim > 1 and x.shape[0] else 0
    if x.dtype.kind == "f" and 0 < row <= _ZERO_ROW_MAX and x.flags.c_contiguous:
        return xp.maximum(x.reshape(x.shape[0], row), _zero_row(row, x.dtype)).reshape(x.shape)
    return xp.maximum(x, 0).astype(x.dtype, copy=False)


def _relu_vjp(g, ans, x):
    if is_constant(g, x):  # a plain backward(): one NumPy expression instead of two primitives
        return Tensor._wrap(g._array * (x._array > 0))
    return mul(g, greater(x, 0))


relu = _unary("relu", _relu, _relu_vjp, lambda t, ans, x: mul(t, greater(x, 0)))


def _tie_share(x, y):
    """1 where x wins, 1/2 on ties (PyTorch splits the gradient of max/min evenly on ties)."""
    return add(greater(x, y), mul(equal(x, y), 0.5))


maximum = Primitive("maximum", _binary_impl(xp.maximum),
                    vjp=(lambda g, ans, x, y: mul(g, _tie_share(x, y)),
                         lambda g, ans, x, y: mul(g, _tie_share(y, x))),
                    jvp=(lambda t, ans, x, y: mul(t, _tie_share(x, y)),
                         lambda t, ans, x, y: mul(t, _tie_share(y, x))))
minimum = Primitive("minimum", _binary_impl(xp.minimum),
                    vjp=(lambda g, ans, x, y: mul(g, _tie_share(y, x)),
                         lambda g, ans, x, y: mul(g, _tie_share(x, y))),
                    jvp=(lambda t, ans, x, y: mul(t, _tie_share(y, x)),
                         lambda t, ans, x, y: mul(t, _tie_share(x, y))))


def _clip_pass(x, low, high):
    """Where clip lets the gradient through: low ≤ x ≤ high, as in torch.clamp."""
    inside = 1.0
    if low is not None:
        inside = mul(greater_equal(x, low), inside)
    if high is not None:
        inside = mul(less_equal(x, high), inside)
    return inside


clip = Primitive("clip", lambda x, low, high: xp.clip(x, low, high),
                 vjp=(lambda g, ans, x, low, high: mul(g, _clip_pass(x, low, high)), None, None),
                 jvp=(lambda t, ans, x, low, high: mul(t, _clip_pass(x, low, high)), None, None))

where = Primitive("where", xp.where,
                  vjp=(None, lambda g, ans, c, x, y: where(c, g, 0.0),
                       lambda g, ans, c, x, y: where(c, 0.0, g)),
                  jvp=(None, lambda t, ans, c, x, y: where(c, t, 0.0),
                       lambda t, ans, c, x, y: where(c, 0.0, t)))


# --- comparisons and other piecewise-constant functions (no derivative) -----------------------
def _constant(name, impl):
    return Primitive(name, impl, differentiable=False)


equal = _constant("eq", xp.equal)
not_equal = _constant("ne", xp.not_equal)
less = _constant("lt", xp.less)
less_equal = _constant("le", xp.less_equal)
greater = _constant("gt", xp.greater)
greater_equal = _constant("ge", xp.greater_equal)
logical_not = _constant("logical_not", xp.logical_not)
logical_and = _constant("logical_and", xp.logical_and)
logical_or = _constant("logical_or", xp.logical_or)
sign = _constant("sign", xp.sign)
floor = _constant("floor", xp.floor)
isnan = _constant("isnan", xp.isnan)
isfinite = _constant("isfinite", xp.isfinite)


def square(x):
    return mul(x, x)


def rsqrt(x):
    return div(1.0, sqrt(x))
