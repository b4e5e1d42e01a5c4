"""nn.utils.parametrize and parametrizations (weight and spectral normalisation), the older
weight_norm/spectral_norm hooks, and gradient clipping: state_dict keys, values and gradients
against PyTorch with the same weights and power-iteration vectors."""
import warnings

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.autodiff import check_grads
from torchsorflow.nn.utils import parametrizations as P, parametrize


def _torch():
    return pytest.importorskip("torch")


def _copy_from(ours, ref):
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})


def _step_both(ours, ref, x, rng):
    """One forward/backward with the same input and cotangent; outputs and parameter gradients
    must agree."""
    torch = _torch()
    out, expected = ours(tsf.tensor(x)), ref(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(tsf.tensor(g))
    expected.backward(torch.tensor(g))
    theirs = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs[name].grad.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=name)


@pytest.mark.parametrize("dim", [0, 1, None, -2])
@pytest.mark.parametrize("layer", ["linear", "conv"])
def test_weight_norm_matches_pytorch(dim, layer):
    torch = _torch()
    rng = np.random.default_rng(0)
    if layer == "linear":
        ours, ref = nn.Linear(4, 3), torch.nn.Linear(4, 3)
        x = rng.standard_normal((5, 4))
    else:
        ours, ref = nn.Conv2d(2, 3, 3), torch.nn.Conv2d(2, 3, 3)
        x = rng.standard_normal((2, 2, 5, 5))
    ours = P.weight_norm(ours.double(), dim=dim)
    ref = torch.nn.utils.parametrizations.weight_norm(ref.double(), dim=dim)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in ref.state_dict().values()]
    assert repr(ours) == repr(ref)
    _copy_from(ours, ref)
    _step_both(ours, ref, x, rng)


def test_weight_norm_starts_equal_to_the_weight_and_assignment_goes_through_right_inverse():
    layer = nn.Linear(3, 2)
    before = layer.weight.detach().numpy().copy()
    P.weight_norm(layer)
    np.testing.assert_allclose(layer.weight.detach().numpy(), before, rtol=1e-6)
    target = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    layer.weight = tsf.tensor(target)
    np.testing.assert_allclose(layer.weight.detach().numpy(), target, rtol=1e-6)
    np.testing.assert_allclose(layer.parametrizations.weight.original0.numpy()[:, 0],
                               np.linalg.norm(target, axis=1), rtol=1e-6)


@pytest.mark.parametrize("layer", ["linear", "conv", "vector"])
def test_spectral_norm_matches_pytorch_through_training_and_eval(layer):
    torch = _torch()
    rng = np.random.default_rng(1)
    if layer == "linear":
        ours, ref, x = nn.Linear(5, 4), torch.nn.Linear(5, 4), rng.standard_normal((3, 5))
    elif layer == "conv":
        ours, ref = nn.Conv2d(2, 3, 3), torch.nn.Conv2d(2, 3, 3)
        x = rng.standard_normal((2, 2, 5, 5))
    else:  # a 1-D weight is just normalised
        ours, ref, x = nn.PReLU(4), torch.nn.PReLU(4), rng.standard_normal((3, 4))
    ours = P.spectral_norm(ours.double(), n_power_iterations=2)
    ref = torch.nn.utils.parametrizations.spectral_norm(ref.double(), n_power_iterations=2)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert repr(ours) == repr(ref)
    _copy_from(ours, ref)
    for _ in range(3):  # each training step refines u and v in place, identically
        _step_both(ours, ref, x, rng)
        for name, value in ours.named_buffers():
            np.testing.assert_allclose(value.numpy(), dict(ref.named_buffers())[name].numpy(),
                                       rtol=1e-9, atol=1e-12)
    ours.eval()
    ref.eval()
    _step_both(ours, ref, x, rng)


def test_spectral_norm_divides_by_the_largest_singular_value():
    layer = P.spectral_norm(nn.Linear(6, 4).double())
    for _ in range(30):  # power iteration converges in training mode
        layer(tsf.ones(1, 6, dtype=tsf.float64))
    layer.eval()
    assert np.linalg.svd(layer.weight.detach().numpy(), compute_uv=False)[0] == \
        pytest.approx(1.0, rel=1e-6)


def test_spectral_norm_gradient_passes_finite_differences_with_fixed_vectors():
    layer = P.spectral_norm(nn.Linear(4, 3).double()).eval()
    sn = layer.parametrizations.weight[0]
    check_grads(sn, [layer.parametrizations.weight.original.detach().numpy()], order=2)


def test_parametrization_registry_and_removal():
    class Scale(nn.Module):
        def forward(self, x):
            return x * 2

        def right_inverse(self, x):
            return x / 2

    layer = nn.Linear(3, 2)
    weight = layer.weight
    parametrize.register_parametrization(layer, "weight", Scale())
    assert parametrize.is_parametrized(layer) and parametrize.is_parametrized(layer, "weight")
    assert not parametrize.is_parametrized(layer, "bias")
    assert parametrize.type_before_parametrizations(layer) is nn.Linear
    assert layer.parametrizations.weight.original is weight  # optimizers keep working
    parametrize.register_parametrization(layer, "weight", Scale())   # chained: ×4
    np.testing.assert_allclose(layer.weight.detach().numpy(), weight.detach().numpy() * 4)
    with parametrize.cached():
        assert layer.weight is layer.weight
    assert layer.weight is not layer.weight
    value = layer.weight.detach().numpy().copy()
    parametrize.remove_parametrizations(layer, "weight")
    assert type(layer) is nn.Linear and list(layer.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(layer.weight.detach().numpy(), value)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a "
                                         "parametrized element with name 'kernel'"):
        parametrize.register_parametrization(layer, "kernel", Scale())


def test_parametrization_may_not_change_the_shape_unless_unsafe():
    class Row(nn.Module):
        def forward(self, x):
            return x[0]

    with pytest.raises(ValueError, match="may not change the shape of the tensor"):
        parametrize.register_parametrization(nn.Linear(3, 2), "weight", Row())
    layer = parametrize.register_parametrization(nn.Linear(3, 2), "weight", Row(), unsafe=True)
    assert layer.weight.shape == (3,)


def test_the_older_hooks_match_pytorch():
    torch = _torch()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pairs = [(nn.utils.weight_norm(nn.Linear(5, 4).double()),
                  torch.nn.utils.weight_norm(torch.nn.Linear(5, 4).double())),
                 (nn.utils.spectral_norm(nn.Linear(5, 4).double()),
                  torch.nn.utils.spectral_norm(torch.nn.Linear(5, 4).double()))]
    for ours, ref in pairs:
        assert list(ours.state_dict()) == list(ref.state_dict())
        _copy_from(ours, ref)
        for _ in range(2):
            _step_both(ours, ref, x, rng)
    nn.utils.remove_weight_norm(pairs[0][0])
    nn.utils.remove_spectral_norm(pairs[1][0])
    assert list(pairs[0][0].state_dict()) == ["bias", "weight"]
    assert list(pairs[1][0].state_dict()) == ["bias", "weight"]
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
        nn.utils.remove_weight_norm(pairs[0][0])


# --- gradient clipping --------------------------------------------------------------------------
def _grads(lib, arrays):
    params = []
    for a in arrays:
        p = lib.nn.Parameter(lib.zeros(a.shape))
        p.grad = lib.tensor(a)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf"), 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm):
    torch = _torch()
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(3, 2), (4,), ()]]
    ours, ref = _grads(tsf, arrays), _grads(torch, arrays)
    held = ours[0].grad  # clipping is in place: references see it
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(ref, max_norm, norm_type)
    assert total.dtype == tsf.float32
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=1e-6)
    for p, q in zip(ours, ref):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)
    assert held is ours[0].grad


def test_clip_grad_value_and_errors():
    torch = _torch()
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((3, 4)).astype(np.float32) * 3]
    ours, ref = _grads(tsf, arrays), _grads(torch, arrays)
    held = ours[0].grad
    nn.utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(ref, 1.5)
    np.testing.assert_array_equal(held.numpy(), ref[0].grad.numpy())
    bad = _grads(tsf, [np.array([np.inf, 1.0], dtype=np.float32)])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                           "`parameters` is non-finite"):
        nn.utils.clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)
    assert float(nn.utils.clip_grad_norm_([], 1.0)) == 0.0
    with pytest.warns(UserWarning, match="`parameters` is an empty generator"):
        nn.utils.clip_grad_norm_((p for p in []), 1.0)
