"""Convolution and pooling (seed 002, exercise 2): the seed's worked examples, agreement with
PyTorch over random geometries, finite differences to second order and Hessians through a CNN."""
import numpy as np
import pytest

import torchsorflow as tsf
import torchsorflow.nn.functional as F
from torchsorflow import nn
from torchsorflow.autodiff import check_grads
from torchsorflow.func import grad, jvp

X_SEED = np.array([[1, 2, -1, 1], [1, 0, 1, 0], [0, 1, 0, 2], [2, 1, 0, -1]], np.float32)
K_SEED = np.array([[1, 0], [2, 1]], np.float32)


@pytest.mark.parametrize("stride,padding,expected", [
    (1, 0, [[3, 3, 1], [2, 2, 3], [5, 3, -1]]),
    (2, 0, [[3, 1], [5, -1]]),
    (2, 1, [[1, 3, 2], [0, 2, 4], [0, 1, -1]]),
])
def test_seed_worked_examples(stride, padding, expected):
    layer = nn.Conv2d(1, 1, 2, stride=stride, padding=padding, bias=False)
    layer.load_state_dict({"weight": K_SEED.reshape(1, 1, 2, 2)})
    out = layer(tsf.tensor(X_SEED.reshape(1, 1, 4, 4)))
    np.testing.assert_array_equal(out.numpy()[0, 0], np.array(expected, np.float32))


def _random_conv_cases(count, seed=0):
    """Random geometries: stride, padding (int, pair, 'same', 'valid'), dilation, groups, bias."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        groups = int(rng.choice([1, 1, 2, 3]))
        stride = tuple(int(s) for s in rng.integers(1, 3, 2))
        kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
        dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
        padding = [int(rng.integers(0, 3)), tuple(int(p) for p in rng.integers(0, 3, 2)),
                   "valid", "same"][int(rng.integers(0, 4))]
        if padding == "same":
            stride = (1, 1)
        cases.append(dict(in_channels=groups * int(rng.integers(1, 3)),
                          out_channels=groups * int(rng.integers(1, 3)), kernel_size=kernel,
                          stride=stride, padding=padding, dilation=dilation, groups=groups,
                          bias=bool(rng.integers(0, 2))))
    return cases


@pytest.mark.parametrize("case", _random_conv_cases(12))
def test_conv2d_matches_pytorch_forward_and_gradients(case):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Conv2d(**case).double()
    ours = nn.Conv2d(**case).double()
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, case["in_channels"], 7, 6))
    xo, xt = tsf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.standard_normal(yo.shape)
    (yo * tsf.tensor(upstream)).sum().backward()
    (yt * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("case", _random_conv_cases(4, seed=5))
def test_conv2d_passes_finite_differences_to_second_order(case):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, case["in_channels"], 5, 5))
    w = rng.standard_normal((case["out_channels"], case["in_channels"] // case["groups"],
                             *case["kernel_size"]))
    b = rng.standard_normal(case["out_channels"])
    geometry = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    # conv is bilinear, so the square makes second derivatives in x and w both non-trivial.
    check_grads(lambda x, w, b: F.conv2d(x, w, b, **geometry) ** 2, [x, w, b],
                modes=("fwd", "rev"), order=2)


def test_hessian_vector_products_through_a_cnn_match_pytorch():
    torch = pytest.importorskip("torch")
    from torch.func import functional_call as torch_call
    from torchsorflow.nn.utils.stateless import functional_call

    def cnn(lib):
        n = lib.nn
        return n.Sequential(n.Conv2d(1, 3, 3, padding=1), n.Tanh(), n.AvgPool2d(2),
                            n.Conv2d(3, 2, 2, stride=2, groups=1), n.Flatten(), n.Linear(2, 3))

    theirs = cnn(torch).double()
    ours = cnn(tsf).double()
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(3)
    x, labels = rng.standard_normal((4, 1, 4, 4)), np.array([0, 2, 1, 2])
    vector = {k: rng.standard_normal(v.shape) for k, v in theirs.state_dict().items()}

    def loss_ours(p):
        return F.cross_entropy(functional_call(ours, p, tsf.tensor(x)), tsf.tensor(labels))

    def loss_theirs(p):
        return torch.nn.functional.cross_entropy(torch_call(theirs, p, torch.tensor(x)),
                                                 torch.tensor(labels))

    params_ours = {k: v.detach() for k, v in ours.named_parameters()}
    params_theirs = {k: v.detach() for k, v in theirs.named_parameters()}
    _, hvp_ours = jvp(grad(loss_ours), (params_ours,),
                      ({k: tsf.tensor(v) for k, v in vector.items()},))
    _, hvp_theirs = torch.func.jvp(torch.func.grad(loss_theirs), (params_theirs,),
                                   ({k: torch.tensor(v) for k, v in vector.items()},))
    for name in params_ours:
        np.testing.assert_allclose(hvp_ours[name].numpy(), hvp_theirs[name].numpy(),
                                   rtol=1e-8, atol=1e-10, err_msg=name)


POOL_CASES = [
    ("max_pool2d", dict(kernel_size=2)),
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool2d", dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1), ceil_mode=True)),
    ("avg_pool2d", dict(kernel_size=2)),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("avg_pool2d", dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d", dict(kernel_size=2, stride=1, divisor_override=3)),
    ("adaptive_avg_pool2d", dict(output_size=(3, 2))),
    ("adaptive_avg_pool2d", dict(output_size=(4, None))),
    ("adaptive_avg_pool2d", dict(output_size=1)),
]


@pytest.mark.parametrize("name,kwargs", POOL_CASES)
def test_pooling_matches_pytorch_forward_and_gradients(name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 10.0  # distinct values: no ties
    xo, xt = tsf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = getattr(F, name)(xo, **kwargs), getattr(torch.nn.functional, name)(xt, **kwargs)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-12)
    upstream = rng.standard_normal(yo.shape)
    (yo * tsf.tensor(upstream)).sum().backward()
    (yt * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,kwargs", POOL_CASES[1:3] + POOL_CASES[4:6] + POOL_CASES[7:9])
def test_pooling_passes_finite_differences_to_second_order(name, kwargs):
    x = np.random.default_rng(5).permutation(1 * 2 * 7 * 6).reshape(1, 2, 7, 6) / 10.0
    check_grads(lambda x: getattr(F, name)(x, **kwargs) ** 2, [x], modes=("fwd", "rev"), order=2)


def test_max_pool_indices_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal((2, 2, 6, 5))
    out, index = nn.MaxPool2d(3, stride=2, padding=1, return_indices=True)(tsf.tensor(x))
    _, expected = torch.nn.MaxPool2d(3, stride=2, padding=1, return_indices=True)(
        torch.tensor(x))
    np.testing.assert_array_equal(index.numpy(), expected.numpy())


def test_unbatched_inputs_and_clear_errors():
    torch = pytest.importorskip("torch")
    conv = nn.Conv2d(3, 4, 3)
    assert conv(tsf.ones(3, 5, 5)).shape == (4, 3, 3)
    assert F.max_pool2d(tsf.ones(3, 4, 4), 2).shape == (3, 2, 2)
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.Conv2d(3, 8, 3, groups=1)(torch.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError) as ours:
        nn.Conv2d(3, 8, 3, groups=1)(tsf.zeros(2, 4, 5, 5))
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.functional.conv2d(torch.zeros(2, 3, 5, 5), torch.zeros(4, 3, 3, 3), torch.zeros(5))
    with pytest.raises(ValueError) as ours:
        F.conv2d(tsf.zeros(2, 3, 5, 5), tsf.zeros(4, 3, 3, 3), tsf.zeros(5))
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        nn.Conv2d(3, 8, 3, stride=2, padding="same")
    for kwargs in [dict(kernel_size=2, padding=2), dict(kernel_size=3, padding=2, dilation=2)]:
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.max_pool2d(torch.zeros(1, 1, 9, 9), **kwargs)
        with pytest.raises(ValueError) as ours:
            F.max_pool2d(tsf.zeros(1, 1, 9, 9), **kwargs)
        assert str(ours.value) == str(theirs.value)


def test_a_cnn_with_pytorch_weights_gives_pytorchs_outputs_and_gradients():
    torch = pytest.importorskip("torch")

    def cnn(lib):
        n = lib.nn
        return n.Sequential(n.Conv2d(1, 8, 3, padding=1), n.BatchNorm2d(8), n.ReLU(),
                            n.MaxPool2d(2), n.Conv2d(8, 16, 3, padding=1), n.BatchNorm2d(16),
                            n.ReLU(), n.AdaptiveAvgPool2d(1), n.Flatten(), n.Linear(16, 10))

    theirs = cnn(torch)
    ours = cnn(tsf)
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(7)
    x, labels = rng.standard_normal((8, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, 8)
    loss_ours = F.cross_entropy(ours(tsf.tensor(x)), tsf.tensor(labels))
    loss_theirs = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(labels))
    loss_ours.backward()
    loss_theirs.backward()
    assert float(loss_ours) == pytest.approx(loss_theirs.item(), rel=1e-5)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-3, atol=1e-5,
                                   err_msg=name)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name].numpy(), value.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=name)


@pytest.mark.parametrize("shape,kwargs", [
    ((1, 1, 3, 1), dict(kernel_size=(2, 2), padding=(0, 1), dilation=2)),
    ((1, 1, 1, 1), dict(kernel_size=(1, 2), padding=(0, 1), dilation=2)),
])
def test_max_pool_window_of_only_padding_is_refused_with_a_clear_error(shape, kwargs):
    # PyTorch returns −inf there with an index outside the input (and its backward writes out of
    # bounds); the kernels refuse such geometries instead.
    with pytest.raises(ValueError, match="covers only padding"):
        F.max_pool2d(tsf.zeros(*shape), **kwargs)
