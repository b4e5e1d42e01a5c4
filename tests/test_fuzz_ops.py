"""Differential fuzzing of every primitive against PyTorch: random shapes (size-1 dimensions and
broadcasting included), arguments and dtypes; forward values in float32, gradients in float64 by
reverse mode and forward mode (see tests/fuzz_support.py)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import assume, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from fuzz_support import (compare, forward_only, fuzz, nonscalar_shapes, seeds, shapes,  # noqa: E402
                          shapes_with_empty, values)
from torchsorflow.ops.special import digamma, erfinv, gammainc, lgamma, polygamma  # noqa: E402


# name: (ours, PyTorch's, domain of the input)
UNARY = {
    "neg": (lambda x: -x, lambda x: -x, "normal"),
    "exp": (tsf.exp, torch.exp, "normal"),
    "log": (tsf.log, torch.log, "positive"),
    "log1p": (tsf.log1p, torch.log1p, "above_minus_one"),
    "expm1": (tsf.expm1, torch.expm1, "normal"),
    "sqrt": (tsf.sqrt, torch.sqrt, "positive"),
    "rsqrt": (tsf.rsqrt, torch.rsqrt, "positive"),
    "square": (tsf.square, torch.square, "normal"),
    "abs": (tsf.abs, torch.abs, "away"),
    "tanh": (tsf.tanh, torch.tanh, "normal"),
    "sigmoid": (tsf.sigmoid, torch.sigmoid, "normal"),
    "softplus": (tsf.softplus, torch.nn.functional.softplus, "normal"),
    "relu": (tsf.relu, torch.relu, "away"),
    "sin": (tsf.sin, torch.sin, "normal"),
    "cos": (tsf.cos, torch.cos, "normal"),
    "lgamma": (lgamma, torch.lgamma, "positive"),
    "digamma": (digamma, torch.digamma, "positive"),
    "polygamma2": (lambda x: polygamma(2, x), lambda x: torch.polygamma(2, x), "positive"),
    "erfinv": (erfinv, torch.erfinv, "open_unit"),
    "method_chain": (lambda x: x.exp().sqrt().tanh(), lambda x: x.exp().sqrt().tanh(), "normal"),
}


@fuzz(300, name=st.sampled_from(sorted(UNARY)), shape=shapes_with_empty, seed=seeds)
def test_unary(name, shape, seed):
    ours, theirs, domain = UNARY[name]
    rng = np.random.default_rng(seed)
    compare(ours, theirs, [values(domain, shape, rng)], rng)


@fuzz(60, seed=seeds,
      shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_gammainc_in_its_second_argument(shapes, seed):
    """P(a, x) with a held fixed: PyTorch has no derivative in a (nor do we: it raises)."""
    rng = np.random.default_rng(seed)
    a_shape, x_shape = shapes.input_shapes
    a = 2 * values("positive", a_shape, rng)
    compare(lambda x: gammainc(tsf.tensor(a.astype(x.dtype)), x),
            lambda x: torch.special.gammainc(torch.tensor(a, dtype=x.dtype), x),
            [np.asarray(2 * values("positive", x_shape, rng))], rng,
            modes=("rev",))  # PyTorch has no forward mode for it; test_stats_special checks ours


@fuzz(60, shape=shapes, seed=seeds, exponent=st.sampled_from([0, 1, 2, 3, -1, 0.5, 1.5, -2.5]))
def test_pow_with_a_python_exponent(shape, seed, exponent):
    rng = np.random.default_rng(seed)
    domain = "normal" if float(exponent).is_integer() and exponent >= 0 else "positive"
    compare(lambda x: x ** exponent, lambda x: x ** exponent, [values(domain, shape, rng)], rng)


@fuzz(60, shape=shapes, seed=seeds, low=st.none() | st.floats(-1.5, 0.0),
      width=st.none() | st.floats(0.1, 2.0))
def test_clip(shape, seed, low, width):
    assume(low is not None or width is not None)
    high = None if width is None else (low if low is not None else -1.0) + width
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    for bound in (low, high):  # keep the inputs off the kinks
        if bound is not None:
            x = np.where(np.abs(x - bound) < 1e-3, x + 0.01, x)
    compare(lambda t: tsf.clip(t, low, high), lambda t: torch.clamp(t, low, high), [x], rng)


BINARY = {
    "add": (lambda x, y: x + y, lambda x, y: x + y, "normal", "normal"),
    "sub": (lambda x, y: x - y, lambda x, y: x - y, "normal", "normal"),
    "mul": (lambda x, y: x * y, lambda x, y: x * y, "normal", "normal"),
    "div": (lambda x, y: x / y, lambda x, y: x / y, "normal", "away"),
    "pow": (lambda x, y: x ** y, lambda x, y: x ** y, "positive", "normal"),
    "maximum": (tsf.maximum, torch.maximum, "normal", "normal"),
    "minimum": (tsf.minimum, torch.minimum, "normal", "normal"),
    "matmul_free_mix": (lambda x, y: tsf.tanh(x) * y - x / (1 + y * y),
                        lambda x, y: torch.tanh(x) * y - x / (1 + y * y), "normal", "normal"),
}


@fuzz(300, name=st.sampled_from(sorted(BINARY)), seed=seeds,
      shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3))
def test_binary_with_broadcasting(name, shapes, seed):
    ours, theirs, dom_x, dom_y = BINARY[name]
    rng = np.random.default_rng(seed)
    x_shape, y_shape = shapes.input_shapes
    compare(ours, theirs, [values(dom_x, x_shape, rng), values(dom_y, y_shape, rng)], rng)


@fuzz(150, name=st.sampled_from(["add", "sub", "mul", "div", "pow"]), shape=shapes, seed=seeds,
      scalar=st.sampled_from([-2.0, -0.5, 0.75, 3.0, 2]), scalar_first=st.booleans())
def test_binary_with_a_python_scalar(name, shape, seed, scalar, scalar_first):
    ours, theirs, dom_x, dom_y = BINARY[name]
    rng = np.random.default_rng(seed)
    domain = dom_y if scalar_first else dom_x
    if scalar_first and name == "pow":
        scalar = abs(scalar)
    if scalar_first:
        compare(lambda t: ours(scalar, t), lambda t: theirs(scalar, t),
                [values(domain, shape, rng)], rng)
    else:
        compare(lambda t: ours(t, scalar), lambda t: theirs(t, scalar),
                [values(domain, shape, rng)], rng)


@fuzz(100, seed=seeds,
      shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
def test_where_with_three_way_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    c_shape, x_shape, y_shape = shapes.input_shapes
    condition = np.asarray(rng.random(c_shape) < 0.5)
    compare(lambda x, y: tsf.where(tsf.tensor(condition), x, y),
            lambda x, y: torch.where(torch.from_numpy(condition), x, y),
            [values("normal", x_shape, rng), values("normal", y_shape, rng)], rng)


COMPARISONS = ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"]


@fuzz(100, op=st.sampled_from(COMPARISONS), seed=seeds,
      shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_comparisons_are_boolean_and_carry_no_gradient(op, shapes, seed):
    rng = np.random.default_rng(seed)
    # a few distinct values so that ties (==) actually happen
    arrays = [rng.integers(-2, 3, s).astype(np.float64) for s in shapes.input_shapes]
    ours = forward_only(lambda x, y: getattr(x, op)(y), lambda x, y: getattr(x, op)(y), arrays)
    x = tsf.tensor(arrays[0], requires_grad=True)
    assert not getattr(x, op)(tsf.tensor(arrays[1])).requires_grad and ours.dtype == bool


DTYPES = ["bool", "int32", "int64", "float32", "float64"]


@fuzz(150, op=st.sampled_from(["__add__", "__mul__", "maximum"]),
      dtypes=st.tuples(st.sampled_from(DTYPES), st.sampled_from(DTYPES)), seed=seeds)
def test_type_promotion_matches_pytorch_for_tensors_of_two_dtypes(op, dtypes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(0, 3, (2, 3)).astype(d) for d in dtypes)
    ours = getattr(tsf.tensor(a), op)(tsf.tensor(b))
    theirs = getattr(torch.from_numpy(a), op)(torch.from_numpy(b))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), \
        f"{dtypes[0]} {op} {dtypes[1]}: {ours.dtype} vs PyTorch's {theirs.dtype}"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_integer_and_float32_tensors_promote_to_float32_like_pytorch():
    ints, floats = tsf.tensor(np.array([1, 2])), tsf.tensor([0.5, 1.5])
    assert (ints + floats).dtype == np.float32 and (ints * 1.5).dtype == np.float32


def test_std_gradient_where_the_std_is_zero_is_zero_like_pytorch():
    x = tsf.tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    tsf.std(x, axis=1, correction=0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0], [0.0]])


def _axes(draw, ndim, allow_none=True):
    if ndim == 0:
        return None
    choice = draw(st.sampled_from(["none", "int", "tuple"] if allow_none else ["int", "tuple"]))
    if choice == "none":
        return None
    if choice == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(axes)


@st.composite
def reduction_cases(draw):
    shape = draw(shapes)
    name = draw(st.sampled_from(["sum", "mean", "amax", "amin", "var", "std", "logsumexp",
                                 "norm1", "norm2", "norminf"]))
    axis = _axes(draw, len(shape))
    keepdims = draw(st.booleans())
    correction = draw(st.sampled_from([0, 1]))
    return name, shape, axis, keepdims, correction


def _torch_dims(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


@fuzz(400, case=reduction_cases(), seed=seeds)
def test_reductions(case, seed):
    name, shape, axis, keepdims, correction = case
    rng = np.random.default_rng(seed)
    ndim = len(shape)
    reduced = np.prod([shape[a] for a in np.atleast_1d(_torch_dims(axis, ndim))]) if ndim else 1
    if name in ("var", "std"):
        assume(reduced > correction)  # otherwise both give NaN/inf
    dims = _torch_dims(axis, ndim)
    dkw = {"dim": dims}
    ours, theirs = {
        "sum": (lambda x: tsf.sum(x, axis, keepdims),
                lambda x: torch.sum(x, **dkw, keepdim=keepdims)),
        "mean": (lambda x: tsf.mean(x, axis, keepdims),
                 lambda x: torch.mean(x, **dkw, keepdim=keepdims)),
        "amax": (lambda x: tsf.amax(x, axis, keepdims), lambda x: torch.amax(x, dims, keepdims)),
        "amin": (lambda x: tsf.amin(x, axis, keepdims), lambda x: torch.amin(x, dims, keepdims)),
        "var": (lambda x: tsf.var(x, axis, keepdim=keepdims, correction=correction),
                lambda x: torch.var(x, **dkw, keepdim=keepdims, correction=correction)),
        "std": (lambda x: tsf.std(x, axis, keepdim=keepdims, correction=correction),
                lambda x: torch.std(x, **dkw, keepdim=keepdims, correction=correction)),
        "logsumexp": (lambda x: tsf.logsumexp(x, axis, keepdims),
                      lambda x: torch.logsumexp(x, dims, keepdims)),
        "norm1": (lambda x: tsf.norm(x, 1, axis, keepdims),
                  lambda x: torch.linalg.vector_norm(x, 1, dims, keepdims)),
        "norm2": (lambda x: tsf.norm(x, 2, axis, keepdims),
                  lambda x: torch.linalg.vector_norm(x, 2, dims, keepdims)),
        "norminf": (lambda x: tsf.norm(x, float("inf"), axis, keepdims),
                    lambda x: torch.linalg.vector_norm(x, float("inf"), dims, keepdims)),
    }[name]
    x = values("away" if name.startswith("norm") else "normal", shape, rng)
    compare(ours, theirs, [x], rng)


@fuzz(150, shape=nonscalar_shapes, seed=seeds, data=st.data(), log=st.booleans())
def test_softmax_and_log_softmax(shape, seed, data, log):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng) * data.draw(st.sampled_from([1.0, 30.0]))
    if log:
        compare(lambda t: tsf.log_softmax(t, axis), lambda t: torch.log_softmax(t, axis), [x], rng)
    else:
        compare(lambda t: tsf.softmax(t, axis), lambda t: torch.softmax(t, axis), [x], rng)


@fuzz(80, shape=shapes, seed=seeds, data=st.data(), op=st.sampled_from(["argmax", "argmin"]))
def test_argmax_argmin(shape, seed, data, op):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1)) if shape else None
    keepdims = data.draw(st.booleans()) if axis is not None else False
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    forward_only(lambda t: getattr(tsf, op)(t, axis, keepdims),
                 lambda t: getattr(torch, op)(t, axis, keepdims), [x])
