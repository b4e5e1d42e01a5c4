"""Tensor.register_hook and Tensor.register_post_accumulate_grad_hook, against PyTorch."""
import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn


def test_post_accumulate_hook_sees_the_final_gradient_once_per_backward():
    tsf.manual_seed(0)
    w = tsf.randn(3, 3, dtype=tsf.float64, requires_grad=True)
    x = tsf.randn(4, 3, dtype=tsf.float64)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    loss = ((x @ w) @ w).sum() + (w * w).sum()   # w used three times: one LeafNode per use
    loss.backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], w.grad.numpy())
    xn, wn = x.numpy(), w.numpy()
    expected = xn.T @ np.ones((4, 3)) @ wn.T + (xn @ wn).T @ np.ones((4, 3)) + 2 * wn
    np.testing.assert_allclose(seen[0], expected, rtol=1e-12)
    loss = (w * 2).sum()
    loss.backward()   # accumulates: the hook sees the sum of both backward passes
    np.testing.assert_allclose(seen[1], expected + 2, rtol=1e-12)


def test_post_accumulate_hook_fires_before_backward_reaches_earlier_layers():
    """The last layer's gradient is final while earlier layers are still being swept: the
    property data-parallel training overlaps its all-reduce with."""
    tsf.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    events = []
    for name, p in model.named_parameters():
        p.register_post_accumulate_grad_hook(
            lambda t, name=name: events.append((name, model[0].weight.grad is None)))
    model(tsf.randn(5, 3)).sum().backward()
    assert sorted(n for n, _ in events) == sorted(n for n, _ in model.named_parameters())
    first_layer_pending = dict(events)
    assert first_layer_pending["2.weight"] and first_layer_pending["2.bias"]
    assert not first_layer_pending["0.weight"]


def test_hooks_match_torch():
    torch = pytest.importorskip("torch")
    values = np.array([1.0, 2.0])
    calls, torch_calls = [], []
    for lib, log in ((tsf, calls), (torch, torch_calls)):
        x = lib.tensor(values, requires_grad=True)
        x.register_hook(lambda g, log=log: log.append(("hook", g.numpy().copy())) or g * 3)
        x.register_post_accumulate_grad_hook(
            lambda t, log=log: log.append(("post", t.grad.numpy().copy())))
        y = (x * x).sum()
        grad, = (tsf.autograd.grad if lib is tsf else torch.autograd.grad)(y, x)
        log.append(("autograd.grad", grad.numpy().copy()))   # no post-accumulate hook here
        (x * x + x).sum().backward()
        log.append(("grad", x.grad.numpy().copy()))
        z = x * 2
        z.register_hook(lambda g: g * 10)   # a non-leaf hook changes what flows upstream
        z.retain_grad()
        x.grad = None
        z.sum().backward()
        log.append(("retained", z.grad.numpy().copy()))
        log.append(("leaf", x.grad.numpy().copy()))
    assert [k for k, _ in calls] == [k for k, _ in torch_calls]
    for (_, ours), (_, theirs) in zip(calls, torch_calls):
        np.testing.assert_allclose(ours, theirs)


def test_hook_handles_remove_and_errors_match_torch():
    x = tsf.tensor([1.0, 2.0], requires_grad=True)
    count = []
    handle = x.register_post_accumulate_grad_hook(lambda t: count.append(1))
    (x * 2).sum().backward()
    handle.remove()
    (x * 2).sum().backward()
    assert count == [1]
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                           "require gradient"):
        tsf.tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on "
                                           "non-leaf tensors"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match=r"must return None or a Tensor of the gradient's shape "
                                           r"\(2,\)"):
        (x * 2).sum().backward()


def test_hooks_are_not_copied_and_die_with_their_tensor():
    import copy
    import gc

    from torchsorflow.autodiff import reverse
    model = nn.Linear(2, 2)
    fired = []
    model.weight.register_post_accumulate_grad_hook(lambda t: fired.append(1))
    twin = copy.deepcopy(model)
    twin(tsf.ones(1, 2)).sum().backward()
    assert fired == []
    before = len(reverse._hooks)
    del model
    gc.collect()
    assert len(reverse._hooks) == before - 1
