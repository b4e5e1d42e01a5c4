"""Model zoo: VGG and ResNet against torchvision's published parameter totals, the layer formulas
(seed 002, exercise 3), the same architectures written in torch.nn (state_dict keys, shapes and
forward outputs with shared weights) and torchvision's initialisation statistics."""
import contextlib
import math

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.models import (VGG, resnet18, resnet34, resnet50, vgg11, vgg11_bn, vgg13,
                                 vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn)
from torchsorflow.models.resnet import BasicBlock, ResNet
from torchsorflow.benchmarks.torch_models import torch_resnet18, torch_vgg
from torchsorflow.models.vgg import make_layers
from torchsorflow.nn import init

# torchvision.models.vgg*/resnet* totals with 1000 classes (torchvision's model documentation).
TORCHVISION_TOTALS = {
    vgg11: 132_863_336, vgg11_bn: 132_868_840, vgg13: 133_047_848, vgg13_bn: 133_053_736,
    vgg16: 138_357_544, vgg16_bn: 138_365_992, vgg19: 143_667_240, vgg19_bn: 143_678_248,
    resnet18: 11_689_512, resnet34: 21_797_672, resnet50: 25_557_032,
}
# Table 1 of Simonyan & Zisserman, column A (VGG11), written out independently of the package.
VGG11_CHANNELS = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


@contextlib.contextmanager
def skipped_random_draws():
    """Counting parameters does not depend on their values: skip drawing 133 M random numbers
    (the layers keep the zeros they were allocated with)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(init, "uniform_", lambda tensor, *args, **kwargs: tensor)
        patch.setattr(init, "normal_", lambda tensor, *args, **kwargs: tensor)
        yield


@pytest.fixture
def no_random_draws():
    with skipped_random_draws():
        yield


@pytest.fixture(name="torch")
def single_threaded_torch():
    """PyTorch on one thread: on these small inputs its thread pool only adds waiting, a lot of it
    when other processes keep the cores busy."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def count(module):
    return sum(p.numel() for p in module.parameters())


# --- parameter counts ----------------------------------------------------------------------------
@pytest.mark.parametrize("factory", list(TORCHVISION_TOTALS), ids=lambda f: f.__name__)
def test_totals_equal_torchvision(factory, no_random_draws):
    assert count(factory()) == TORCHVISION_TOTALS[factory]


def test_vgg11_layer_counts_follow_the_formulas(no_random_draws):
    """Seed 002, exercise 3: loop over features and classifier, each layer against its formula."""
    model = vgg11()
    counts, c_in, expected_features = [], 3, []
    for v in VGG11_CHANNELS:
        if v == "M":
            expected_features.append(0)
        else:
            expected_features += [v * c_in * 3 * 3 + v, 0]  # conv: C_out·C_in·k² + C_out; ReLU
            c_in = v
    counts = [count(layer) for layer in model.features]
    assert counts == expected_features
    linear = [(512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)]
    expected_classifier = [n_out * n_in + n_out for n_in, n_out in linear]
    assert [count(layer) for layer in model.classifier][::3] == expected_classifier
    assert count(model.avgpool) == 0
    assert sum(counts) + sum(expected_classifier) == 132_863_336


def test_state_dict_keys_and_shapes_equal_torch(torch, no_random_draws):
    with torch.device("meta"):  # shapes only: nothing is allocated or drawn
        references = [(vgg11_bn(num_classes=10), torch_vgg(torch, batch_norm=True, num_classes=10)),
                      (resnet18(), torch_resnet18(torch))]
    for ours, theirs in references:
        ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
        their_shapes = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert list(ours_shapes) == list(their_shapes)
        assert ours_shapes == their_shapes
        assert count(ours) == sum(p.numel() for p in theirs.parameters())


def test_vgg11_bn_forward_equals_torch_with_the_same_weights(torch, no_random_draws):
    torch.manual_seed(0)
    theirs = torch_vgg(torch, batch_norm=True, num_classes=10)
    with torch.no_grad():  # non-trivial running statistics, so eval-mode BN is really exercised
        for module in theirs.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    ours = vgg11_bn(num_classes=10)
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    theirs.eval()
    ours.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with tsf.no_grad():
        got = ours(tsf.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_resnet18_forward_and_backward_equal_torch(torch):
    torch.manual_seed(0)
    theirs, ours = torch_resnet18(torch, num_classes=5).double(), resnet18(num_classes=5).double()
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32))
    y_theirs = theirs(torch.from_numpy(x))  # training mode: batch statistics, running updates
    y_ours = ours(tsf.tensor(x))
    np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), rtol=1e-9, atol=1e-10)
    y_theirs.square().sum().backward()
    (y_ours * y_ours).sum().backward()
    for name, param in theirs.named_parameters():  # float64 round-off, relative to the scale
        expected = param.grad.numpy()
        np.testing.assert_allclose(ours.get_parameter(name).grad.numpy(), expected, rtol=1e-7,
                                   atol=1e-10 * np.abs(expected).max(), err_msg=name)
    np.testing.assert_allclose(ours.layer1[0].bn1.running_var.numpy(),
                               theirs.layer1[0].bn1.running_var.numpy(), rtol=1e-12)


# --- initialisation -------------------------------------------------------------------------------
def test_vgg_initialisation_follows_torchvision():
    """He-normal (fan_out) convolutions, N(0, 0.01²) linear weights, zero biases, BN γ=1 β=0:
    checked on small layers through VGG.reset_parameters (the scheme does not depend on size)."""
    tsf.manual_seed(0)
    layers = nn.Sequential(nn.Conv2d(64, 128, 3), nn.BatchNorm2d(128), nn.Linear(600, 500))
    VGG.reset_parameters(layers)
    conv, bn, linear = layers
    fan_out = 128 * 3 * 3
    assert conv.weight.numpy().std() == pytest.approx(math.sqrt(2 / fan_out), rel=0.02)
    std = math.sqrt(2 / fan_out)
    assert abs(conv.weight.numpy().mean()) < 3 * std / math.sqrt(conv.weight.numel())
    assert linear.weight.numpy().std() == pytest.approx(0.01, rel=0.01)
    assert not conv.bias.numpy().any() and not linear.bias.numpy().any()
    assert (bn.weight.numpy() == 1).all() and not bn.bias.numpy().any()
    assert conv.weight.dtype == np.float32


def test_resnet_initialisation_is_seeded_and_zero_init_residual_works():
    tsf.manual_seed(3)
    a = resnet18(num_classes=4)
    tsf.manual_seed(3)
    b = resnet18(num_classes=4, zero_init_residual=True)
    assert np.array_equal(a.conv1.weight.numpy(), b.conv1.weight.numpy())
    assert a.conv1.weight.numpy().std() == pytest.approx(math.sqrt(2 / (64 * 7 * 7)), rel=0.02)
    assert (a.layer1[0].bn2.weight.numpy() == 1).all()
    assert not b.layer1[0].bn2.weight.numpy().any() and (b.layer1[0].bn1.weight.numpy() == 1).all()
    x = tsf.randn(1, 64, 8, 8)
    with tsf.no_grad():  # a zero-initialised block starts as relu(identity)
        block = b.layer1[0].eval()
        np.testing.assert_allclose(block(x).numpy(), np.maximum(x.numpy(), 0), atol=1e-6)


# --- arguments and errors ------------------------------------------------------------------------
def test_make_layers_rejects_a_bad_configuration_entry():
    with pytest.raises(ValueError, match=r"entry 2 is 'X'; expected a positive channel count"):
        make_layers([8, "M", "X"])


def test_resnet_needs_four_stages():
    with pytest.raises(ValueError, match=r"ResNet needs 4 stage depths, got 3: \[2, 2, 2\]"):
        ResNet(BasicBlock, [2, 2, 2])


def test_vgg_arguments_reach_the_classifier(no_random_draws):
    model = vgg11(num_classes=7, dropout=0.2, init_weights=False)
    assert model.classifier[6].out_features == 7
    assert model.classifier[2].p == 0.2 and model.classifier[5].p == 0.2
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d) and model.avgpool.output_size == (7, 7)
