"""Element-wise primitives: arithmetic, math functions, comparisons, selection.

Each is declared by :func:`elementwise` from its NumPy forward and one partial derivative per
argument, ``∂f/∂xᵢ(ans, *args)``; both derivative rules follow from it (the Jacobian of an
element-wise map is diagonal, so ``g·∂f/∂x`` serves reverse and ``ṫ·∂f/∂x`` forward mode).
Partials are written with primitives, so they can be differentiated again; a partial may be a
Python number (``∂(x+y)/∂x = 1``) or ``None`` where the argument has no derivative. Results come
out full-size (broadcast); the tracer sums cotangents back to each argument's shape
(:func:`torchsorflow.autodiff.reverse.fit_to`).
"""
from __future__ import annotations

from ..autodiff.tracer import Box, Primitive
from .. import backend
from ..backend import xp
from .kernels import runtime

__all__ = ["add", "sub", "mul", "true_divide", "neg", "div", "reciprocal", "power",
           "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh", "sigmoid", "softplus",
           "absolute", "relu", "maximum", "minimum", "clip", "clamp", "clamp_min", "clamp_max",
           "where", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
           "logical_not", "logical_and", "logical_or", "sign", "floor", "isnan", "isfinite",
           "floor_divide", "square", "rsqrt"]


def _times(v, partial):
    """``v · partial``, skipping the product when the partial is the number 1 or -1."""
    if partial is None:
        return None
    if isinstance(partial, (int, float)) and not isinstance(partial, bool):
        if partial == 1:
            return v
        if partial == -1:
            return neg(v)
    return mul(v, partial)


def elementwise(name, impl, *partials):
    """An element-wise primitive from its partial derivatives (see the module docstring)."""
    def rule(partial):
        if partial is None:
            return None
        return lambda v, ans, *args, **params: _times(v, partial(ans, *args, **params))
    return Primitive(name, impl, vjp=tuple(rule(p) for p in partials), symmetric=True)


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
    if kx == 0 or ky == 0:  # NumPy already promotes bool to the other operand's dtype
        return x, y
    if kx != ky:
        return (x, y.astype(x.dtype)) if kx > ky else (x.astype(y.dtype), y)
    if (x.ndim == 0) != (y.ndim == 0):
        dtype = y.dtype if x.ndim == 0 else x.dtype
        return x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    return x, y


def _int_to_float(a):
    return a.astype(backend.default_float) if a.dtype.kind in "biu" else a


def _promoted(x, y):
    """The two operands of a binary NumPy operation, promoted as PyTorch would."""
    tx, ty = type(x), type(y)
    if tx is xp.ndarray and ty is xp.ndarray:
        if x.dtype != y.dtype:
            x, y = _promote(x, y)
    elif tx is float and ty is xp.ndarray:  # int Tensor · 1.5 → float32 in PyTorch
        y = _int_to_float(y)
    elif ty is float and tx is xp.ndarray:
        x = _int_to_float(x)
    return x, y


def _binary_impl(ufunc):
    def impl(x, y):
        return ufunc(*_promoted(x, y))

    impl.__name__ = ufunc.__name__
    return impl


def _scaled(y, alpha):
    return y if alpha == 1 else y * alpha


def _true_divide(x, y):
    """x / y; integers divide into the default float dtype (PyTorch), not float64 (NumPy)."""
    x, y = _promoted(x, y)
    out = xp.true_divide(x, y)
    if out.dtype != backend.default_float and out.dtype.kind == "f" and not any(
            type(a) is xp.ndarray and a.dtype.kind == "f" for a in (x, y)):
        out = out.astype(backend.default_float)
    return out


# --- arithmetic ------------------------------------------------------------------------------
add = elementwise("add", lambda x, y, alpha=1: xp.add(*_promoted(x, _scaled(y, alpha))),
                  lambda ans, x, y, alpha=1: 1, lambda ans, x, y, alpha=1: alpha)
sub = elementwise("sub", lambda x, y, alpha=1: xp.subtract(*_promoted(x, _scaled(y, alpha))),
                  lambda ans, x, y, alpha=1: 1, lambda ans, x, y, alpha=1: -alpha)
mul = elementwise("mul", _binary_impl(xp.multiply), lambda ans, x, y: y, lambda ans, x, y: x)
true_divide = elementwise("div", _true_divide, lambda ans, x, y: reciprocal(y),
                          lambda ans, x, y: neg(true_divide(ans, y)))
neg = elementwise("neg", xp.negative, lambda ans, x: -1)


def div(input, other, *, rounding_mode=None):
    """``input / other``; ``rounding_mode`` ``'trunc'`` or ``'floor'`` rounds the quotient
    (no gradient flows through rounding)."""
    if rounding_mode is None:
        return true_divide(input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        return _trunc_divide(input, other)
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                     f"found {rounding_mode!r}")


def reciprocal(y):
    """1/y, for Tensors and Python numbers alike (1/0 is inf, as for arrays)."""
    if isinstance(y, (int, float)):
        return 1 / y if y else float("inf")
    return true_divide(1.0, y)


def _safe_log_base(x):
    """log(x) where x > 0 and 0 elsewhere: d(x**y)/dy is x**y·log x, taken as 0 where x ≤ 0."""
    return log(where(greater(x, 0), x, 1.0))


def _pow_dx(ans, x, y):
    """y·x^(y-1); a Python exponent stays a number (the common x**2), and y = 0 has none."""
    if isinstance(y, (int, float)):
        return None if y == 0 else mul(y, power(x, y - 1))
    return mul(y, power(x, sub(y, 1)))


power = elementwise("pow", _binary_impl(xp.power), _pow_dx,
                    lambda ans, x, y: mul(ans, _safe_log_base(x)))

# --- math functions ----------------------------------------------------------------------------
exp = elementwise("exp", xp.exp, lambda ans, x: ans)
log = elementwise("log", xp.log, lambda ans, x: reciprocal(x))
log1p = elementwise("log1p", xp.log1p, lambda ans, x: reciprocal(add(x, 1)))
expm1 = elementwise("expm1", xp.expm1, lambda ans, x: add(ans, 1))
sqrt = elementwise("sqrt", xp.sqrt, lambda ans, x: true_divide(0.5, ans))
sin = elementwise("sin", xp.sin, lambda ans, x: cos(x))
cos = elementwise("cos", xp.cos, lambda ans, x: neg(sin(x)))
tanh = elementwise("tanh", xp.tanh, lambda ans, x: sub(1, mul(ans, ans)))


def _sigmoid(x):
    # exp(-|x|) never overflows; the two branches are the same function written stably.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


sigmoid = elementwise("sigmoid", _sigmoid, lambda ans, x: mul(ans, sub(1, ans)))


def _softplus(x):
    return (xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype, copy=False)


softplus = elementwise("softplus", _softplus, lambda ans, x: sigmoid(x))
absolute = elementwise("abs", xp.abs, lambda ans, x: sign(x))


def _relu(x):
    """max(x, 0). NumPy's maximum against a broadcast scalar runs a slow loop; against a row of
    zeros repeated over the batch it runs its vectorised two-array loop."""
    row = x.size // x.shape[0] if x.ndim > 1 and x.shape[0] else 0
    if x.dtype.kind == "f" and 0 < row and x.flags.c_contiguous:
        zeros = runtime.zero_row(row, x.dtype)
        if zeros is not None:
            return xp.maximum(x.reshape(x.shape[0], row), zeros).reshape(x.shape)
    return xp.maximum(x, 0).astype(x.dtype, copy=False)


def _relu_slope(ans, x):
    return greater(x, 0)


relu = elementwise("relu", _relu, _relu_slope)


def _tie_share(x, y):
    """1 where x wins, 1/2 on ties (PyTorch splits the gradient of max/min evenly on ties)."""
    return add(greater(x, y), mul(equal(x, y), 0.5))


maximum = elementwise("maximum", _binary_impl(xp.maximum),
                      lambda ans, x, y: _tie_share(x, y), lambda ans, x, y: _tie_share(y, x))
minimum = elementwise("minimum", _binary_impl(xp.minimum),
                      lambda ans, x, y: _tie_share(y, x), lambda ans, x, y: _tie_share(x, y))


def _clip_pass(ans, x, low, high):
    """Where clip lets the gradient through: low ≤ x ≤ high, as in torch.clamp."""
    inside = 1.0
    if low is not None:
        inside = mul(greater_equal(x, low), inside)
    if high is not None:
        inside = mul(less_equal(x, high), inside)
    return inside


clip = elementwise("clip", lambda x, low, high: xp.clip(x, low, high), _clip_pass, None, None)


def clamp(input, min=None, max=None):
    """Limit ``input`` to [min, max]; bounds may be numbers or Tensors (``clip`` is the same)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Box) or isinstance(max, Box):  # Tensor bounds: element-wise extremes
        out = input if min is None else maximum(input, min)
        return out if max is None else minimum(out, max)
    return clip(input, min, max)


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)

# where(c, x, y) passes the gradient to x where c holds and to y elsewhere; written as a
# selection rather than a product with the mask, so an infinite gradient on the other side
# does not turn into 0·inf = nan.
where = Primitive("where", xp.where,
                  vjp=(None, lambda v, ans, c, x, y: where(c, v, 0.0),
                       lambda v, ans, c, x, y: where(c, 0.0, v)),
                  symmetric=True)


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
# sign and floor are piecewise constant: a zero derivative (the result takes part in autograd
# and passes zeros back, as in torch)
sign = elementwise("sign", xp.sign, lambda ans, x: 0)
floor = elementwise("floor", xp.floor, lambda ans, x: 0)
isnan = _constant("isnan", xp.isnan)
isfinite = _constant("isfinite", xp.isfinite)
floor_divide = _constant("floor_divide", lambda x, y: xp.floor_divide(*_promoted(x, y)))
_trunc_divide = _constant("trunc_divide", lambda x, y: xp.trunc(_true_divide(x, y)).astype(
    xp.result_type(*_promoted(x, y)), copy=False))


def square(input):
    return mul(input, input)


def rsqrt(input):
    return true_divide(1.0, sqrt(input))
