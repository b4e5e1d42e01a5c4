"""Every primitive: forward and reverse mode agree with finite differences (and so with each
other), to second order, over scalars, size-1 (broadcast) dimensions, empty arrays and float64."""
import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow.autodiff import check_grads

rng = np.random.default_rng(1234)


def positive(shape):
    return rng.uniform(0.5, 2.0, shape)


def normal(shape):
    return rng.standard_normal(shape)


def away_from_zero(shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)


UNARY = {
    "neg": (lambda x: -x, normal),
    "exp": (tsf.exp, normal),
    "log": (tsf.log, positive),
    "log1p": (tsf.log1p, positive),
    "expm1": (tsf.expm1, normal),
    "sqrt": (tsf.sqrt, positive),
    "abs": (tsf.abs, away_from_zero),
    "tanh": (tsf.tanh, normal),
    "sigmoid": (tsf.sigmoid, normal),
    "softplus": (tsf.softplus, normal),
    "relu": (tsf.relu, away_from_zero),
    "sin": (tsf.sin, normal),
    "cos": (tsf.cos, normal),
    "pow_scalar": (lambda x: x ** 3, normal),
    "pow_fractional": (lambda x: x ** 1.5, positive),
    "clip": (lambda x: tsf.clip(x, -0.4, 0.6), lambda s: rng.choice([-1.0, 0.1, 1.0], s)),
    "astype64": (lambda x: tsf.astype(x * 2, "float64"), normal),
}

BINARY = {
    "add": (tsf.add, normal, normal),
    "sub": (tsf.sub, normal, normal),
    "mul": (tsf.mul, normal, normal),
    "div": (tsf.div, normal, away_from_zero),
    "pow": (tsf.pow, positive, normal),
    "maximum": (tsf.maximum, normal, normal),
    "minimum": (tsf.minimum, normal, normal),
    "where": (lambda x, y: tsf.where(x > 0, x, y), away_from_zero, normal),
}

UNARY_SHAPES = [(), (3,), (2, 1, 3), (0, 3)]
BINARY_SHAPES = [((), ()), ((3,), (3,)), ((2, 1, 3), (4, 3)), ((1,), (2, 3)), ((0, 3), (1, 3))]


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_primitives(name, shape):
    f, sample = UNARY[name]
    check_grads(f, [sample(shape)], modes=("fwd", "rev"), order=2)


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_primitives_with_broadcasting(name, shapes):
    f, sample_x, sample_y = BINARY[name]
    check_grads(f, [sample_x(shapes[0]), sample_y(shapes[1])], modes=("fwd", "rev"), order=2)


REDUCTIONS = {
    "sum": lambda x: tsf.sum(x),
    "sum_axis": lambda x: tsf.sum(x, axis=1),
    "sum_keepdims": lambda x: tsf.sum(x, axis=(0, 2), keepdims=True),
    "mean": lambda x: tsf.mean(x, axis=-1),
    "amax": lambda x: tsf.amax(x, axis=1),
    "amin_all": lambda x: tsf.amin(x),
    "var_unbiased": lambda x: tsf.var(x, axis=0),
    "var_biased": lambda x: tsf.var(x, axis=(1, 2), correction=0),
    "std": lambda x: tsf.std(x, axis=2, keepdims=True),
    "logsumexp": lambda x: tsf.logsumexp(x, axis=1),
    "logsumexp_all": lambda x: tsf.logsumexp(x),
    "softmax": lambda x: tsf.softmax(x, axis=1),
    "log_softmax": lambda x: tsf.log_softmax(x, axis=-1),
    "norm": lambda x: tsf.norm(x, axis=0),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name):
    check_grads(REDUCTIONS[name], [normal((3, 4, 2))], order=2)


SHAPE_OPS = {
    "reshape": lambda x: x.reshape(4, -1),
    "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 2),
    "T": lambda x: x.T,
    "broadcast_to": lambda x: tsf.broadcast_to(x[:, :1], (5, 3, 4, 2)),
    "squeeze_unsqueeze": lambda x: tsf.squeeze(tsf.unsqueeze(x, 1), 1) * 2,
    "flatten": lambda x: x.flatten(1),
    "basic_index": lambda x: x[1:, ::2, 0],
    "negative_step": lambda x: x[::-1, 1],
    "advanced_index_repeats": lambda x: x[[0, 2, 0, 0], 1],
    "boolean_mask": lambda x: x[x > 0],
    "tensor_index": lambda x: x[tsf.tensor(np.array([2, 2, 1]))],
    "concatenate": lambda x: tsf.cat([x, x * 2, x[:1]], axis=0),
    "stack": lambda x: tsf.stack([x, tsf.exp(x)], axis=1),
    "pad": lambda x: tsf.pad(x, ((1, 0), (0, 2), (1, 1)), value=0.5),
    "sum_to": lambda x: tsf.sum_to(x, (4, 1)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_primitives(name):
    check_grads(SHAPE_OPS[name], [normal((3, 4, 2))], order=2)


MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((0, 3), (3, 2))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_batched_and_broadcast(shapes):
    check_grads(tsf.matmul, [normal(shapes[0]), normal(shapes[1])], order=2)


def _spd(n):
    a = normal((n, n))
    return a @ a.T + n * np.eye(n)


def test_linear_algebra():
    a, b, v = _spd(3), normal((3, 2)), normal((3,))
    check_grads(tsf.solve, [a, b], order=2)
    check_grads(tsf.solve, [a, v], order=2)
    check_grads(tsf.inv, [a], order=2)
    check_grads(tsf.logdet, [a], order=2)
    check_grads(tsf.logdet, [np.stack([_spd(2), _spd(2)])], order=1)


def test_forward_and_reverse_agree_exactly_on_a_composite():
    x = tsf.tensor(normal((4,)))
    f = lambda x: tsf.log_softmax(tsf.tanh(x[None, :] * x[:, None]), axis=1).sum(axis=0)  # noqa: E731
    np.testing.assert_allclose(tsf.func.jacfwd(f)(x).numpy(), tsf.func.jacrev(f)(x).numpy(),
                               rtol=1e-12, atol=1e-12)


def test_float32_stays_float32_through_gradients():
    x = tsf.tensor([0.5, -1.0], requires_grad=True)
    (tsf.exp(x) * 2.0 + x * np.float64(1.5)).sum().backward()
    assert x.dtype == np.float32 and x.grad.dtype == np.float32


def test_logsumexp_is_stable_for_large_inputs():
    x = tsf.tensor(np.array([1000.0, 1000.0]))
    assert tsf.logsumexp(x).item() == pytest.approx(1000.0 + np.log(2.0))
    extreme = tsf.tensor(np.array([-1e4, 0.0, 1e4]))
    assert np.isfinite(tsf.log_softmax(extreme, axis=0).numpy()).all()


def test_check_grads_detects_a_wrong_rule():
    from torchsorflow.autodiff import Primitive
    wrong_sin = Primitive("wrong_sin", np.sin, vjp=(lambda g, ans, x: g * tsf.sin(x),),
                          jvp=(lambda t, ans, x: t * tsf.cos(x),))
    with pytest.raises(AssertionError, match="reverse mode"):
        check_grads(wrong_sin, [normal((3,))], modes=("rev",), order=1)
    check_grads(wrong_sin, [normal((3,))], modes=("fwd",), order=1)


def test_matmul_gradient_of_a_vector_right_operand_under_a_batched_left_operand():
    """(..., n, k) @ (k,): the vector's cotangent sums aᵀg over the batch dimensions (aᵀ @ g with
    g taken for a matrix would fail, or have the wrong shape, for a batched a)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 2, 4)), rng.standard_normal(4)
    check_grads(tsf.matmul, [a, b], order=2)
    check_grads(tsf.matmul, [rng.standard_normal((1, 2, 1)), rng.standard_normal(1)], order=2)
    ta, tb = tsf.tensor(a, requires_grad=True), tsf.tensor(b, requires_grad=True)
    (ta @ tb).sum().backward()
    np.testing.assert_allclose(tb.grad.numpy(), a.sum(axis=(0, 1)), rtol=1e-12)
