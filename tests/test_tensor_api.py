"""The Tensor's PyTorch surface: in-place updates and version counters, memory sharing, the
legacy constructor, devices and dtypes, torch-signature functions shared with methods."""
import numpy as np
import pytest

import torchsorflow as tsf

MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace"


# --- version counters: a graph refuses a value changed after it was recorded -----------------
def test_an_in_place_change_of_a_saved_leaf_is_refused_in_backward():
    w = tsf.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = (w * w).sum()
    with tsf.no_grad():
        w.sub_(1.0)
    with pytest.raises(RuntimeError, match=MODIFIED) as caught:
        z.backward()
    assert "is at version 1; expected version 0" in str(caught.value)


def test_an_optimizer_step_between_two_backward_passes_is_refused():
    w = tsf.nn.Parameter(tsf.tensor([1.0, -2.0]))
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    tsf.optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_changed_output_is_refused_too():
    x = tsf.tensor([0.5, -1.0], requires_grad=True)
    y = tsf.exp(x)  # exp's rule reads its output
    with tsf.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="which is the output of exp"):
        y.sum().backward()


def test_unchanged_values_backpropagate_as_before():
    w = tsf.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = (w * w).sum()
    other = tsf.zeros(3)
    with tsf.no_grad():
        other.add_(1.0)  # a different Tensor: nothing the graph saved
    z.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0, 6.0])


# --- in-place updates inside a graph, as PyTorch rebases history -----------------------------
def _both(program):
    """Run ``program(lib, x)`` with x requiring grad in both libraries; values and gradients."""
    torch = pytest.importorskip("torch")
    data = np.array([[0.5, -1.5, 2.0], [1.0, -0.25, 3.0]])
    ours, theirs = tsf.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out_ours, out_theirs = program(tsf, ours), program(torch, theirs)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name, program", [
    ("add_ then mul_", lambda lib, x: (x * 2).add_(1.0).mul_(x)),
    ("+= and *=", lambda lib, x: _augmented(x * 3, x)),
    ("setitem with a constant", lambda lib, x: _assign(x * 2, (0, slice(1, 3)), 7.0)),
    ("setitem with a graph value", lambda lib, x: _assign(x * 2, (1,), x[0] * x[0])),
    ("relu_ and clamp_", lambda lib, x: (x * 1.5).relu_() + (x - 1).clamp_(max=0.5)),
    ("masked_fill_", lambda lib, x: (x + 1).masked_fill_(x > 1, -1.0)),
    ("copy_ from a graph value", lambda lib, x: (x * 0).copy_(x.exp())),
    ("unsqueeze_ then sum", lambda lib, x: (x * x).unsqueeze_(0) * 3),
])
def test_in_place_updates_in_a_graph_match_pytorch(name, program):
    _both(program)


def _augmented(y, x):
    y += x
    y *= x
    return y


def _assign(y, index, value):
    y[index] = value
    return y


def test_a_leaf_that_requires_grad_refuses_in_place_updates_under_grad_mode():
    w = tsf.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"a leaf Variable that requires grad is being used in "
                                           r"an in-place operation \(mul_\)"):
        w.mul_(2.0)
    with tsf.no_grad():
        w.mul_(2.0)
    assert w.item() == 2.0 and w._version == 1


def test_in_place_updates_outside_autograd_write_into_shared_memory():
    array = np.zeros(3, np.float32)
    x = tsf.from_numpy(array)
    x.add_(1.0)
    x[0] = 5.0
    np.testing.assert_array_equal(array, [5.0, 1.0, 1.0])
    with pytest.raises(RuntimeError, match="result type float64 can't be cast to the desired "
                                           "output type int64"):
        tsf.tensor([1, 2]).mul_(tsf.tensor([0.5, 0.5], dtype=tsf.float64))


# --- memory: tensor() copies, from_numpy/as_tensor share ---------------------------------------
def test_tensor_copies_and_from_numpy_shares():
    array = np.array([1.0, 2.0], np.float32)
    copied, shared, as_t = tsf.tensor(array), tsf.from_numpy(array), tsf.as_tensor(array)
    array[0] = 9.0
    assert copied[0].item() == 1.0 and shared[0].item() == 9.0 and as_t[0].item() == 9.0


def test_an_optimizer_step_leaves_the_callers_array_alone():
    """The issue's complaint: tensor(ndarray) aliased, so a step wrote into the user's data."""
    data = np.array([1.0, 2.0], np.float32)
    w = tsf.nn.Parameter(tsf.tensor(data))
    (w * w).sum().backward()
    tsf.optim.SGD([w], lr=0.1).step()
    np.testing.assert_array_equal(data, [1.0, 2.0])


def test_dlpack_round_trips_share_memory():
    x = tsf.arange(6, dtype=tsf.float32).reshape(2, 3)
    through_numpy = np.from_dlpack(x)
    back = tsf.from_dlpack(through_numpy)
    x[0, 0] = 42.0
    assert through_numpy[0, 0] == 42.0 and back[0, 0].item() == 42.0
    torch = pytest.importorskip("torch")
    t = torch.from_dlpack(x)
    t[1, 1] = -1.0
    assert x[1, 1].item() == -1.0
    ours = tsf.from_dlpack(torch.ones(2))
    assert ours.dtype == tsf.float32 and ours.tolist() == [1.0, 1.0]


# --- constructors, devices, dtypes ------------------------------------------------------------
def test_legacy_constructor_and_factories_take_torchs_arguments():
    assert tsf.Tensor(2, 3).shape == (2, 3) and tsf.Tensor(2, 3).dtype == tsf.float32
    assert tsf.Tensor(np.arange(3)).dtype == tsf.float32   # torch.Tensor is a FloatTensor
    assert tsf.Tensor([[1, 2]]).tolist() == [[1.0, 2.0]]
    assert tsf.LongTensor([1.0, 2.0]).dtype == tsf.int64 and tsf.FloatTensor(2).shape == (2,)
    assert tsf.ByteTensor(2, 2).dtype == tsf.uint8 and tsf.LongTensor(3).type() == \
        "torch.LongTensor"
    assert tsf.zeros(2, 3, dtype=tsf.long, device="cpu").dtype == tsf.int64
    assert tsf.ones((2,), requires_grad=True).requires_grad
    assert tsf.full((2,), 3).dtype == tsf.int64 and tsf.full((2,), 3.0).dtype == tsf.float32
    assert tsf.arange(5).dtype == tsf.int64 and tsf.arange(0, 1, 0.25).dtype == tsf.float32
    assert tsf.randint(3, (4,)).dtype == tsf.int64 and tsf.randint(2, 5, (3,)).min() >= 2
    assert tsf.randperm(4, dtype=tsf.int32).dtype == tsf.int32
    assert tsf.eye(3).sum().item() == 3.0 and tsf.empty(2, 2).shape == (2, 2)
    assert (tsf.float, tsf.double, tsf.long, tsf.int, tsf.half) == (
        tsf.float32, tsf.float64, tsf.int64, tsf.int32, tsf.float16)


def test_other_devices_are_an_error_naming_them():
    assert not tsf.cuda.is_available()
    assert tsf.device("cpu") == "cpu" and tsf.ones(1).device == tsf.device("cpu")
    for attempt in (lambda: tsf.device("cuda"), lambda: tsf.zeros(2, device="cuda:1"),
                    lambda: tsf.ones(2).to("cuda"), lambda: tsf.ones(2).cuda()):
        with pytest.raises(RuntimeError, match="is not available: TorchsorFlow runs on the CPU"):
            attempt()
    x = tsf.ones(2)
    assert x.to("cpu") is x and x.to(tsf.device("cpu"), tsf.float64).dtype == tsf.float64


def test_requires_grad_setter_refuses_integer_tensors():
    """The issue's silent case: the attribute bypassed the dtype check of requires_grad_()."""
    x = tsf.tensor([1, 2])
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require "
                                           "gradients"):
        x.requires_grad = True


# --- one implementation for functions and methods ------------------------------------------
def test_methods_are_the_top_level_functions():
    for name in ("sum", "mean", "max", "reshape", "transpose", "gather", "chunk", "matmul"):
        assert getattr(tsf.Tensor, name) is getattr(tsf, name), name


def test_max_with_a_dim_returns_values_and_indices_like_torch():
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]])
    ours, theirs = tsf.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    values, indices = tsf.max(ours, 1)
    ref = torch.max(theirs, 1)
    np.testing.assert_array_equal(indices.numpy(), ref.indices.numpy())
    values.sum().backward()
    ref.values.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert tsf.max(ours).item() == 3.0
    np.testing.assert_array_equal(tsf.max(ours, tsf.zeros(3)).detach().numpy(),
                                  np.maximum(data, 0))


def test_reductions_accept_torchs_and_numpys_argument_names():
    x = tsf.arange(6.0).reshape(2, 3)
    assert x.sum(dim=1, keepdim=True).shape == (2, 1)
    assert tsf.sum(x, axis=1, keepdims=True).shape == (2, 1)
    assert x.var(0, False).tolist() == [2.25, 2.25, 2.25]   # var(x, dim, unbiased)
    assert tsf.std(x, unbiased=False).item() == pytest.approx(np.std(np.arange(6.0)))
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype. Input "
                                           "dtype must be either a floating point"):
        tsf.arange(3).mean()
