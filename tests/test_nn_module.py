"""Module machinery: discovery of parameters, state_dict keys and loading, modes, repr, hooks,
functional_call — checked against PyTorch's own behaviour where it is installed."""
import copy
import re

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.func import grad
from torchsorflow.nn.utils.stateless import functional_call


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.BatchNorm1d(8), lib.nn.ReLU(),
                             lib.nn.Dropout(0.2), lib.nn.Linear(8, 3))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.ModuleList([nn.Flatten(), nn.Linear(4 * 5 * 5, 2)])
        self.register_buffer("scratch", tsf.zeros(3), persistent=False)
        self.not_a_layer = [nn.Linear(1, 1)]  # a plain list hides its modules, as in PyTorch

    def forward(self, x):
        x = self.features(x)
        for layer in self.head:
            x = layer(x)
        return x


def test_parameters_are_discovered_from_attributes_with_pytorch_names():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["features.0.weight", "features.0.bias", "features.1.weight",
                     "features.1.bias", "head.1.weight", "head.1.bias"]
    assert sum(p.numel() for p in net.parameters()) == 4 * 9 + 4 + 4 + 4 + 100 * 2 + 2
    assert list(net.state_dict()) == names[:4] + [
        "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
        "head.1.weight", "head.1.bias"]
    assert [n for n, _ in net.named_buffers()][0] == "scratch"  # a buffer, just not saved
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert len(list(net.modules())) == 1 + 4 + 3


def test_state_dict_keys_and_shapes_match_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = _mlp(tsf).state_dict(), _mlp(torch).state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert ours[key].shape == tuple(theirs[key].shape), key
        assert ours[key].dtype == theirs[key].numpy().dtype, key


def test_pytorch_weights_load_unchanged_and_give_the_same_outputs():
    torch = pytest.importorskip("torch")
    theirs = _mlp(torch)
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    theirs.train()
    theirs[3].p = 0.0
    theirs(torch.from_numpy(x))  # one training step moves the running statistics
    theirs.eval()
    ours = _mlp(tsf)
    result = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert int(ours[1].num_batches_tracked) == 1
    ours.eval()
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(tsf.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
    ours.load_state_dict(theirs.state_dict())  # torch tensors themselves are accepted too


def _strip_torch_size(message):
    return re.sub(r"torch\.Size\((\[[^\]]*\])\)", r"\1", message)


def test_load_state_dict_errors_read_like_pytorch():
    torch = pytest.importorskip("torch")
    state = {k: v.numpy() for k, v in _mlp(torch).state_dict().items()}
    del state["0.bias"]
    state["0.weight"] = np.zeros((8, 5), np.float32)
    state["extra"] = np.zeros(1, np.float32)
    with pytest.raises(RuntimeError) as ours:
        _mlp(tsf).load_state_dict(state)
    with pytest.raises(RuntimeError) as theirs:
        _mlp(torch).load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    assert str(ours.value) == _strip_torch_size(str(theirs.value))
    result = _mlp(tsf).load_state_dict({"0.weight": np.ones((8, 4))}, strict=False)
    assert "0.bias" in result.missing_keys and result.unexpected_keys == []


def test_load_state_dict_copies_into_existing_arrays_and_casts():
    layer = nn.Linear(2, 2)
    weight = layer.weight
    layer.load_state_dict({"weight": np.eye(2), "bias": [1, 2]})  # float64 and ints, cast
    assert layer.weight is weight and weight.dtype == np.float32
    np.testing.assert_array_equal(layer.bias.numpy(), [1.0, 2.0])
    snapshot = layer.state_dict()
    layer.weight.data = tsf.zeros(2, 2)
    assert snapshot["weight"].numpy()[0, 0] == 1.0  # a state_dict holds values, not the attribute


def test_repr_matches_pytorch():
    torch = pytest.importorskip("torch")

    def model(lib):
        n = lib.nn
        return n.Sequential(
            n.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), n.Conv2d(8, 8, (3, 1), groups=2,
                                                                         dilation=2),
            n.Conv2d(8, 8, 3, padding="same"), n.BatchNorm2d(8, momentum=None), n.ReLU(),
            n.LeakyReLU(0.2), n.MaxPool2d(2), n.AvgPool2d(3, stride=1, padding=1),
            n.AdaptiveAvgPool2d((1, 1)), n.Flatten(), n.Dropout(0.25), n.Linear(8, 4, bias=False),
            n.BatchNorm1d(4, affine=False, track_running_stats=False), n.Tanh(), n.Sigmoid(),
            n.GELU(), n.GELU("tanh"), n.Softplus(beta=2.0), n.Identity(),
            n.ModuleList([n.Softmax(dim=1)]), n.CrossEntropyLoss(), n.MSELoss())

    assert repr(model(tsf)) == repr(model(torch))


def test_train_eval_zero_grad_apply_and_requires_grad():
    net = Net()
    assert net.training and net.features[1].training
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    out = net(tsf.randn(2, 1, 5, 5))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(abs(p.grad).sum()) == 0.0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Conv2d"
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_attribute_rules_and_errors():
    layer = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        layer.weight = tsf.zeros(3, 2)
    layer.weight = nn.Parameter(tsf.zeros(3, 2))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    del layer.bias
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        _ = layer.nope
    with pytest.raises(KeyError, match="contain"):
        layer.register_buffer("a.b", tsf.zeros(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        class Broken(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(tsf.zeros(1))
        Broken()


def test_shared_parameters_are_listed_once_and_survive_deepcopy():
    a = nn.Linear(3, 3)
    model = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    clone = copy.deepcopy(model)
    assert clone[0].weight is clone[2].weight and clone[0].weight is not a.weight
    assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight.requires_grad
    np.testing.assert_array_equal(clone[0].weight.numpy(), a.weight.numpy())


def test_forward_hooks_see_and_replace_values():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    out = layer(tsf.ones(4, 2))
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(layer.bias.numpy(), (4, 2)))
    handle.remove()
    pre.remove()
    layer(tsf.ones(1, 2))
    assert seen == [(4, 2)]


def test_to_double_converts_parameters_and_buffers_in_place():
    net = Net()
    weight = net.features[0].weight
    net.double()
    assert net.features[0].weight is weight and weight.dtype == np.float64
    assert net.features[1].running_mean.dtype == np.float64
    assert net.features[1].num_batches_tracked.dtype == np.int64
    assert net(tsf.tensor(np.ones((1, 1, 5, 5)))).dtype == np.float64


def test_functional_call_substitutes_and_restores():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    original = model[0].weight
    params = {"0.weight": tsf.ones(2, 3), "0.bias": tsf.zeros(2)}
    x = tsf.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    model.eval()
    out = functional_call(model, params, (x,))
    expected = x.numpy().sum(1, keepdims=True) / np.sqrt(1 + 1e-5)
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(expected, (2, 2)), rtol=1e-6)
    assert model[0].weight is original
    with pytest.raises(ValueError):
        functional_call(model, params, (tsf.ones(2, 5),))
    assert model[0].weight is original  # restored even though the call raised
    with pytest.raises(AttributeError, match="no parameter or buffer named '0.nope'"):
        functional_call(model, {"0.nope": tsf.zeros(1)}, (x,))


def test_functional_call_under_grad_matches_eager_backward():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x = tsf.randn(5, 3)
    params = {k: v.detach() for k, v in model.named_parameters()}
    grads = grad(lambda p: functional_call(model, p, x).sum())(params)
    model(x).sum().backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(grads[name].numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_functional_call_ties_shared_weights_like_torch_func():
    torch = pytest.importorskip("torch")
    from torch.func import functional_call as torch_call

    def tied(lib):
        a = lib.nn.Linear(2, 2, bias=False)
        return lib.nn.Sequential(a, a)

    ours, theirs = tied(tsf), tied(torch)
    w = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    x = np.array([[1.0, -1.0]], np.float32)
    expected = torch_call(theirs, {"0.weight": torch.from_numpy(w)}, (torch.from_numpy(x),))
    got = functional_call(ours, {"0.weight": tsf.tensor(w)}, (tsf.tensor(x),))
    np.testing.assert_allclose(got.numpy(), expected.numpy())
