"""Linear, activations, Dropout, Flatten/Identity and nn.init: PyTorch agreement (forward and
gradients) and finite-difference checks of every functional in both modes."""
import math

import numpy as np
import pytest

import torchsorflow as tsf
import torchsorflow.nn.functional as F
from torchsorflow import nn
from torchsorflow.autodiff import check_grads
from torchsorflow.nn import init

rng = np.random.default_rng(0)
# Values kept away from the kinks at 0 (ReLU, LeakyReLU, ELU), where derivatives jump.
X = rng.choice([-1, 1], (4, 5)) * rng.uniform(0.05, 3.0, (4, 5))

ACTIVATIONS = [
    ("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}), ("Tanh", {}), ("Sigmoid", {}),
    ("GELU", {}), ("GELU", {"approximate": "tanh"}), ("Softplus", {}),
    ("Softplus", {"beta": 2.0, "threshold": 3.0}), ("SiLU", {}), ("ELU", {"alpha": 0.7}),
    ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": 0}),
]


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS)
def test_activation_matches_pytorch_forward_and_backward(name, kwargs):
    torch = pytest.importorskip("torch")
    x_ours, x_theirs = tsf.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    upstream = rng.standard_normal(X.shape)
    y_ours = getattr(nn, name)(**kwargs)(x_ours)
    y_theirs = getattr(torch.nn, name)(**kwargs)(x_theirs)
    np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    (y_ours * tsf.tensor(upstream)).sum().backward()
    (y_theirs * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS)
def test_activation_passes_finite_differences_to_second_order(name, kwargs):
    check_grads(getattr(nn, name)(**kwargs), [X], modes=("fwd", "rev"), order=2)


def test_softplus_and_sigmoid_stay_finite_for_huge_inputs():
    x = tsf.tensor(np.array([-1e4, -50.0, 0.0, 50.0, 1e4]), requires_grad=True)
    y = F.softplus(x) + F.sigmoid(x) + F.gelu(x)
    y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_linear_matches_pytorch_including_batched_inputs():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Linear(5, 3).double()
    ours = nn.Linear(5, 3).double()
    ours.load_state_dict(theirs.state_dict())
    x = rng.standard_normal((2, 4, 5))
    xo, xt = tsf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours(xo).sum().backward()
    theirs(xt).sum().backward()
    np.testing.assert_allclose(ours(xo).numpy(), theirs(xt).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"input of shape \(2, 4\) has 4 features but weight of "
                                         r"shape \(3, 5\) expects 5"):
        ours(tsf.ones(2, 4))


def test_linear_functional_passes_finite_differences():
    args = [rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)]
    check_grads(F.linear, args, order=2)


def test_default_initialisation_follows_pytorch_bounds():
    tsf.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert float(abs(p).max()) <= bound
    # A uniform(−b, b) sample has standard deviation b/√3.
    assert abs(float(layer.weight.std()) - bound / math.sqrt(3)) < 0.02 * bound
    conv = nn.Conv2d(16, 8, 3)
    assert float(abs(conv.weight).max()) <= 1 / math.sqrt(16 * 9)


def test_init_functions_match_pytorch_formulas():
    torch = pytest.importorskip("torch")
    for nonlinearity, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.2),
                                ("linear", None), ("selu", None), ("sigmoid", None)]:
        assert init.calculate_gain(nonlinearity, param) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param))
    for shape in [(7, 3), (8, 4, 3, 5)]:
        assert init._calculate_fan_in_and_fan_out(tsf.zeros(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    w = tsf.zeros(500, 400)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(float(w.std()) - math.sqrt(2 / 500)) < 0.01 * math.sqrt(2 / 500)
    init.xavier_uniform_(w, gain=2.0)
    assert float(abs(w).max()) <= 2.0 * math.sqrt(6 / 900)
    init.trunc_normal_(w, std=1.0, a=-0.5, b=0.5)
    assert -0.5 <= float(w.min()) and float(w.max()) <= 0.5
    q = tsf.zeros(6, 4)
    init.orthogonal_(q)
    np.testing.assert_allclose(q.numpy().T @ q.numpy(), np.eye(4), atol=1e-6)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tsf.zeros(3))


def test_manual_seed_makes_initialisation_reproducible():
    tsf.manual_seed(123)
    a = nn.Linear(3, 3).weight.numpy().copy()
    tsf.manual_seed(123)
    np.testing.assert_array_equal(nn.Linear(3, 3).weight.numpy(), a)


def test_dropout_drops_with_probability_p_scales_survivors_and_masks_the_gradient():
    tsf.manual_seed(0)
    layer = nn.Dropout(0.3)
    x = tsf.ones(200, 100, requires_grad=True)
    y = layer(x)
    dropped = y.numpy() == 0
    assert abs(dropped.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y.numpy()[~dropped], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() == 0, dropped)
    layer.eval()
    assert layer(x) is x
    assert float(F.dropout(x, 1.0).sum()) == 0.0 and F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_dropout_with_fixed_mask_passes_finite_differences():
    def f(x):
        tsf.manual_seed(7)  # the same mask at every evaluation
        return F.dropout(x, 0.5)
    check_grads(f, [X], order=2)


def test_flatten_and_identity():
    x = tsf.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Identity(54, unused="ignored")(x) is x
