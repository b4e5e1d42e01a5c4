"""BatchNorm (seed 000, exercise 2): the hand-derived backward equals autodiff through the composed
forward in every mode, and the layers follow PyTorch step by step (running statistics included)."""
import re

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.autodiff import check_grads
from torchsorflow.func import jvp, vjp
from torchsorflow.ops.batch_norm import (_differentiable_vjp, _fused_vjp, batch_norm_stats,
                                         batch_norm_train)

EPS = 1e-5
AXES = (0, 2, 3)


def fused(a, gamma, beta):
    return batch_norm_train(a, gamma, beta, AXES, EPS)


def composed(a, gamma, beta):
    """The seed's forward equations with ordinary ops: μ_B, σ²_B, â, y = γâ + β."""
    mu = tsf.mean(a, AXES, keepdims=True)
    var = tsf.mean((a - mu) * (a - mu), AXES, keepdims=True)
    a_hat = (a - mu) / tsf.sqrt(var + EPS)
    return gamma.reshape(1, -1, 1, 1) * a_hat + beta.reshape(1, -1, 1, 1)


@pytest.fixture
def args():
    rng = np.random.default_rng(1)
    return (tsf.tensor(rng.standard_normal((5, 3, 2, 2)) * 2 + 1),
            tsf.tensor(rng.standard_normal(3)), tsf.tensor(rng.standard_normal(3)))


def test_fused_forward_equals_the_seed_equations(args):
    np.testing.assert_allclose(fused(*args).numpy(), composed(*args).numpy(), atol=1e-12)


def test_seed_backward_formula_equals_reverse_mode_autodiff(args):
    cotangent = tsf.tensor(np.random.default_rng(2).standard_normal(args[0].shape))
    ours = vjp(fused, *args)[1](cotangent)
    reference = vjp(composed, *args)[1](cotangent)
    for got, want in zip(ours, reference):  # ∂L/∂a, ∂L/∂γ, ∂L/∂β
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


def test_fused_forward_mode_equals_forward_mode_autodiff(args):
    rng = np.random.default_rng(3)
    tangents = tuple(tsf.tensor(rng.standard_normal(a.shape)) for a in args)
    np.testing.assert_allclose(jvp(fused, args, tangents)[1].numpy(),
                               jvp(composed, args, tangents)[1].numpy(), rtol=1e-10, atol=1e-12)


def test_second_derivatives_of_the_fused_rule_equal_autodiff(args):
    rng = np.random.default_rng(4)
    cotangent = tsf.tensor(rng.standard_normal(args[0].shape))
    tangents = tuple(tsf.tensor(rng.standard_normal(a.shape)) for a in args)

    def pulled_back(f):  # (a, γ, β) ↦ ∂L/∂(a, γ, β) for a fixed upstream ∂L/∂y
        return lambda *a: vjp(f, *a)[1](cotangent)

    ours = jvp(pulled_back(fused), args, tangents)[1]        # forward-over-reverse
    reference = jvp(pulled_back(composed), args, tangents)[1]
    for got, want in zip(ours, reference):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-8, atol=1e-10)
    ours = vjp(pulled_back(fused), *args)[1](tangents)         # reverse-over-reverse
    reference = vjp(pulled_back(composed), *args)[1](tangents)
    for got, want in zip(ours, reference):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("shape", [(5, 3, 2, 2), (7, 3), (4, 3, 5)])
def test_numpy_shortcut_equals_the_term_by_term_rule(shape):
    """A plain ``backward()`` runs the collapsed NumPy rule; it must equal the seed's terms."""
    rng = np.random.default_rng(8)
    x, g = rng.standard_normal(shape) * 3 + 2, rng.standard_normal(shape)
    gamma = rng.standard_normal(shape[1])
    axes = (0,) + tuple(range(2, len(shape)))
    mu, var = batch_norm_stats(x, axes)
    shortcut = _fused_vjp(g, x, gamma, EPS, mu, var)
    terms = _differentiable_vjp(tsf.tensor(g), tsf.tensor(x), tsf.tensor(gamma), axes, EPS, mu, var)
    for got, want in zip(shortcut, terms):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)
    xt = tsf.tensor(x, requires_grad=True)
    gt = tsf.tensor(gamma, requires_grad=True)
    batch_norm_train(xt, gt, tsf.tensor(np.zeros(shape[1])), axes, EPS).backward(tsf.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), shortcut[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gt.grad.numpy(), shortcut[1], rtol=1e-12, atol=1e-12)


def test_float32_statistics_stay_accurate_when_the_mean_dwarfs_the_spread():
    """Two passes, not E[x²] − E[x]² (which is off by a factor of thousands here)."""
    x = (np.random.default_rng(9).standard_normal((64, 8, 6, 6)) * 0.01 + 1000).astype(np.float32)
    mu, var = batch_norm_stats(x, AXES)
    exact = x.astype(np.float64)
    np.testing.assert_allclose(mu.ravel(), exact.mean(axis=AXES), rtol=1e-6)
    np.testing.assert_allclose(var.ravel(), exact.var(axis=AXES), rtol=2e-3)


def test_fused_batch_norm_passes_finite_differences_to_second_order(args):
    check_grads(fused, args, modes=("fwd", "rev"), order=2)


def test_eager_create_graph_gives_second_derivatives():
    x = tsf.tensor(np.random.default_rng(5).standard_normal((6, 2)), requires_grad=True)
    bn = nn.BatchNorm1d(2).double()
    (g,) = tsf.autograd.grad((bn(x) ** 3).sum(), [x], create_graph=True)
    g.sum().backward()
    expected = vjp(lambda x: vjp(lambda x: (batch_norm_train(
        x, bn.weight.detach(), bn.bias.detach(), (0,), EPS) ** 3).sum(), x)[1](
        tsf.tensor(1.0, dtype="float64"))[0].sum(), x.detach())[1](tsf.tensor(1.0, dtype="float64"))
    np.testing.assert_allclose(x.grad.numpy(), expected[0].numpy(), rtol=1e-8, atol=1e-10)


def _pair(kind, features, **kwargs):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, kind)(features, **kwargs)
    theirs = getattr(torch.nn, kind)(features, **kwargs).double()
    ours.double()
    if ours.affine:
        rng = np.random.default_rng(6)
        for name in ("weight", "bias"):
            if getattr(ours, name) is None:
                continue
            value = rng.standard_normal(features)
            getattr(ours, name).data = tsf.tensor(value)
            getattr(theirs, name).data = torch.tensor(value)
    return torch, ours, theirs


@pytest.mark.parametrize("kind,shape,kwargs", [
    ("BatchNorm1d", (8, 3), {}),
    ("BatchNorm1d", (4, 3, 5), {"momentum": 0.3}),
    ("BatchNorm2d", (4, 3, 3, 2), {"momentum": None}),
    ("BatchNorm2d", (2, 3, 2, 2), {"affine": False}),
    ("BatchNorm2d", (3, 3, 2, 2), {"track_running_stats": False}),
    ("BatchNorm1d", (5, 3), {"eps": 1e-3, "bias": False}),
])
def test_layer_matches_pytorch_over_train_and_eval_steps(kind, shape, kwargs):
    torch, ours, theirs = _pair(kind, shape[1], **kwargs)
    rng = np.random.default_rng(7)
    for step, training in enumerate([True, True, False, True, False]):
        ours.train(training)
        theirs.train(training)
        x = rng.standard_normal(shape) * (step + 1) + step
        upstream = rng.standard_normal(shape)
        xo = tsf.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
        (yo * tsf.tensor(upstream)).sum().backward()
        (yt * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
        for name, tensor in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[name].numpy(), tensor.numpy(),
                                       rtol=1e-10, err_msg=f"{name} after step {step}")
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-10,
                                       err_msg=name)


@pytest.mark.parametrize("kind,shape", [("BatchNorm1d", (1, 3)), ("BatchNorm2d", (1, 3, 1, 1))])
def test_one_value_per_channel_in_training_is_refused_with_pytorchs_message(kind, shape):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as theirs:
        getattr(torch.nn, kind)(3)(torch.zeros(shape))
    with pytest.raises(ValueError) as ours:
        getattr(nn, kind)(3)(tsf.zeros(*shape))
    assert str(ours.value) == re.sub(r"torch\.Size\((\[.*\])\)", r"\1", str(theirs.value))
    layer = getattr(nn, kind)(3).eval()  # a single test example is fine with running statistics
    assert layer(tsf.ones(*shape)).shape == shape


def test_wrong_number_of_dimensions_is_refused_like_pytorch():
    torch = pytest.importorskip("torch")
    for kind, shape in [("BatchNorm1d", (2, 3, 4, 5)), ("BatchNorm2d", (2, 3))]:
        with pytest.raises(ValueError) as theirs:
            getattr(torch.nn, kind)(3)(torch.zeros(shape))
        with pytest.raises(ValueError) as ours:
            getattr(nn, kind)(3)(tsf.zeros(*shape))
        assert str(ours.value) == str(theirs.value)


def test_float32_training_step_keeps_float32():
    bn = nn.BatchNorm2d(4)
    out = bn(tsf.randn(8, 4, 3, 3))
    assert out.dtype == np.float32 and bn.running_var.dtype == np.float32
    np.testing.assert_allclose(out.numpy().mean(axis=AXES), 0, atol=1e-5)
    np.testing.assert_allclose(out.numpy().var(axis=AXES), 1, rtol=1e-3)


@pytest.mark.parametrize("training", [True, False])
def test_functional_batch_norm_passes_finite_differences_in_both_modes(training):
    rng = np.random.default_rng(9)
    x, w, b = rng.standard_normal((6, 3, 2)), rng.standard_normal(3), rng.standard_normal(3)
    running_mean, running_var = tsf.tensor(rng.standard_normal(3)), tsf.tensor(rng.uniform(1, 2, 3))
    check_grads(lambda x, w, b: nn.functional.batch_norm(
        x, None if training else running_mean, None if training else running_var, w, b,
        training=training), [x, w, b], modes=("fwd", "rev"), order=2)
