"""Layer, group, RMS, instance and local response norm: the fused backward rules equal autodiff
through the composed forward (in every mode, to second order), and the functions and layers match
PyTorch over random arguments, running statistics and error messages included."""
import re

import numpy as np
import pytest
from hypothesis import strategies as st

import torchsorflow as tsf
import torchsorflow.nn.functional as F
from fuzz_support import compare, fuzz, seeds, values
from torchsorflow import nn
from torchsorflow.autodiff import tracer
from torchsorflow.func import jvp, vjp
from torchsorflow.ops import normalization as N

EPS = 1e-5


def composed(x, w, b, *, axes, center, affine_shape):
    """The textbook forward with ordinary ops: μ, σ², x̂ = (x − μ)/√(σ²+ε), y = γx̂ + β."""
    mu = tsf.mean(x, axes, keepdims=True) if center else 0.0
    var = tsf.mean((x - mu) * (x - mu), axes, keepdims=True)
    y = (x - mu) / tsf.sqrt(var + EPS)
    y = y * w.reshape(affine_shape)
    return y if b is None else y + b.reshape(affine_shape)


def grouped(x, w, b, groups):
    n, c = x.shape[:2]
    xg = x.reshape(n, groups, -1)
    y = composed(xg, tsf.ones(()), None, axes=(2,), center=True, affine_shape=())
    return y.reshape(x.shape) * w.reshape(c, 1, 1) + b.reshape(c, 1, 1)


CASES = {  # name: (fused, composed, argument shapes)
    "layer_norm": (lambda x, w, b: N.layer_norm(x, 2, w, b, EPS),
                   lambda x, w, b: composed(x, w, b, axes=(2, 3), center=True,
                                            affine_shape=(3, 2)),
                   [(4, 2, 3, 2), (3, 2), (3, 2)]),
    "rms_norm": (lambda x, w: N.rms_norm(x, 1, w, EPS),
                 lambda x, w: composed(x, w, None, axes=(2,), center=False, affine_shape=(5,)),
                 [(3, 2, 5), (5,)]),
    "group_norm": (lambda x, w, b: N.group_norm(x, 2, w, b, EPS),
                   lambda x, w, b: grouped(x, w, b, 2), [(3, 4, 2, 3), (4,), (4,)]),
}


def _args(name, seed=1):
    rng = np.random.default_rng(seed)
    shapes = CASES[name][2]
    return tuple(tsf.tensor(rng.standard_normal(s) * (2 if i == 0 else 1) + (1 if i == 0 else 0))
                 for i, s in enumerate(shapes))


@pytest.mark.parametrize("name", CASES)
def test_fused_forward_equals_the_composition(name):
    fused, reference, _ = CASES[name]
    args = _args(name)
    np.testing.assert_allclose(fused(*args).numpy(), reference(*args).numpy(), atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_hand_derived_rules_equal_autodiff_of_the_composition(name):
    fused, reference, _ = CASES[name]
    args = _args(name)
    rng = np.random.default_rng(2)
    cotangent = tsf.tensor(rng.standard_normal(args[0].shape))
    for got, want in zip(vjp(fused, *args)[1](cotangent), vjp(reference, *args)[1](cotangent)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    tangents = tuple(tsf.tensor(rng.standard_normal(a.shape)) for a in args)
    np.testing.assert_allclose(jvp(fused, args, tangents)[1].numpy(),
                               jvp(reference, args, tangents)[1].numpy(), rtol=1e-10, atol=1e-12)

    def pulled_back(f):
        return lambda *a: vjp(f, *a)[1](cotangent)

    for got, want in zip(jvp(pulled_back(fused), args, tangents)[1],      # forward-over-reverse
                         jvp(pulled_back(reference), args, tangents)[1]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-8, atol=1e-10)
    for got, want in zip(vjp(pulled_back(fused), *args)[1](tangents),      # reverse-over-reverse
                         vjp(pulled_back(reference), *args)[1](tangents)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", CASES)
def test_numpy_shortcut_equals_the_rule_written_with_primitives(name, monkeypatch):
    """A plain ``backward()`` takes the fused NumPy path; forcing the primitive path (as under
    ``create_graph=True``) must give the same gradients."""
    fused, _, _ = CASES[name]
    args = _args(name, seed=5)
    cotangent = np.random.default_rng(6).standard_normal(args[0].shape)

    def grads():
        xs = [tsf.tensor(a.numpy(), requires_grad=True) for a in args]
        fused(*xs).backward(tsf.tensor(cotangent))
        return [x.grad.numpy() for x in xs]

    shortcut = grads()
    calls = []
    real = N._differentiable_vjp
    monkeypatch.setattr(N, "is_constant", lambda *v: False)
    monkeypatch.setattr(N, "_differentiable_vjp", lambda *a: calls.append(1) or real(*a))
    for got, want in zip(grads(), shortcut):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert calls, "the primitive form of the rule was not exercised"
    assert tracer.is_constant is not N.is_constant


def test_float32_layer_norm_gradients_stay_float32():
    x = tsf.randn(4, 8, requires_grad=True)
    w = nn.Parameter(tsf.ones(8))
    F.layer_norm(x, 8, w).sum().backward()
    assert x.grad.dtype == tsf.float32 and w.grad.dtype == tsf.float32


# --- against PyTorch ------------------------------------------------------------------------
@fuzz(80, seed=seeds, lead=st.lists(st.integers(1, 3), max_size=2),
      normalized=st.lists(st.integers(1, 4), min_size=1, max_size=2),
      affine=st.sampled_from(["none", "weight", "both"]), eps=st.sampled_from([1e-5, 0.1]))
def test_layer_norm_matches_pytorch(seed, lead, normalized, affine, eps):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    shape = tuple(lead) + tuple(normalized)
    arrays = [values("normal", shape, rng) * 2 + 0.5]
    arrays += [values("normal", tuple(normalized), rng) for _ in
               range({"none": 0, "weight": 1, "both": 2}[affine])]
    compare(lambda x, *a: F.layer_norm(x, normalized, *a, eps=eps),
            lambda x, *a: torch.nn.functional.layer_norm(x, normalized, *a, eps=eps),
            arrays, rng)


@fuzz(60, seed=seeds, lead=st.lists(st.integers(1, 3), max_size=2), size=st.integers(1, 5),
      weighted=st.booleans(), eps=st.sampled_from([None, 1e-3]))
def test_rms_norm_matches_pytorch(seed, lead, size, weighted, eps):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    arrays = [values("normal", tuple(lead) + (size,), rng)]
    if weighted:
        arrays.append(values("normal", (size,), rng))
    compare(lambda x, *w: F.rms_norm(x, (size,), *w, eps=eps),
            lambda x, *w: torch.nn.functional.rms_norm(x, (size,), *w, eps=eps), arrays, rng)


@fuzz(60, seed=seeds, n=st.integers(1, 3), groups=st.integers(1, 3), per=st.integers(1, 3),
      spatial=st.lists(st.integers(1, 3), max_size=2), affine=st.booleans())
def test_group_norm_matches_pytorch(seed, n, groups, per, spatial, affine):
    torch = pytest.importorskip("torch")
    c = groups * per
    if per * int(np.prod(spatial)) < 2:
        spatial = list(spatial) + [2]
    rng = np.random.default_rng(seed)
    arrays = [values("normal", (n, c) + tuple(spatial), rng)]
    if affine:
        arrays += [values("normal", (c,), rng), values("normal", (c,), rng)]
    compare(lambda x, *a: F.group_norm(x, groups, *a),
            lambda x, *a: torch.nn.functional.group_norm(x, groups, *a), arrays, rng)


@fuzz(40, seed=seeds, dims=st.sampled_from([3, 4]), size=st.integers(1, 4),
      alpha=st.sampled_from([1e-4, 0.5]), beta=st.sampled_from([0.75, 1.5]),
      k=st.sampled_from([1.0, 2.0]))
def test_local_response_norm_matches_pytorch(seed, dims, size, alpha, beta, k):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    arrays = [values("normal", (2, 5, 3, 2)[:dims], rng)]
    compare(lambda x: F.local_response_norm(x, size, alpha, beta, k),
            lambda x: torch.nn.functional.local_response_norm(x, size, alpha, beta, k),
            arrays, rng)


@fuzz(40, seed=seeds, p=st.sampled_from([1.0, 2.0, 3.0]), dim=st.integers(-2, 1))
def test_normalize_matches_pytorch(seed, p, dim):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    compare(lambda x: F.normalize(x, p, dim), lambda x: torch.nn.functional.normalize(x, p, dim),
            [values("away", (3, 4), rng)], rng)


def _copy_state(ours, theirs):
    ours.load_state_dict({k: tsf.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})


@pytest.mark.parametrize("kind,shape", [("1d", (3, 4, 5)), ("1d", (4, 5)), ("2d", (2, 4, 3, 3)),
                                        ("2d", (4, 2, 3))])
@pytest.mark.parametrize("affine,track", [(False, False), (True, True), (True, False)])
def test_instance_norm_layers_follow_pytorch_through_train_and_eval(kind, shape, affine, track):
    torch = pytest.importorskip("torch")
    name = f"InstanceNorm{kind}"
    rng = np.random.default_rng(3)
    ours = getattr(nn, name)(4, affine=affine, track_running_stats=track, momentum=0.3).double()
    theirs = getattr(torch.nn, name)(4, affine=affine, track_running_stats=track,
                                     momentum=0.3).double()
    if affine:
        with torch.no_grad():
            theirs.weight.normal_()
            theirs.bias.normal_()
    _copy_state(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    for training in (True, True, False):
        ours.train(training)
        theirs.train(training)
        x = rng.standard_normal(shape) * 2 + 1
        xt = torch.tensor(x, requires_grad=True)
        xo = tsf.tensor(x, requires_grad=True)
        y, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
        g = rng.standard_normal(y.shape)
        y.backward(tsf.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-10)
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(),
                                       rtol=1e-10, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("make", [
    lambda nn: nn.LayerNorm((3, 4)), lambda nn: nn.LayerNorm(4, bias=False),
    lambda nn: nn.LayerNorm(4, elementwise_affine=False, eps=1e-3), lambda nn: nn.RMSNorm(4),
    lambda nn: nn.RMSNorm([3, 4], eps=1e-4, elementwise_affine=False),
    lambda nn: nn.GroupNorm(2, 4), lambda nn: nn.GroupNorm(1, 4, affine=False),
    lambda nn: nn.GroupNorm(4, 4, bias=False), lambda nn: nn.LocalResponseNorm(3, 0.1, 0.5, 2.0)])
def test_layers_match_pytorch_with_the_same_weights(make):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    ours, theirs = make(nn).double(), make(torch.nn).double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_()
    _copy_state(ours, theirs)
    x = rng.standard_normal((2, 4, 3, 4))
    xo, xt = tsf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(y.shape)
    y.backward(tsf.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-10)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-10,
                                   err_msg=name)


def test_bad_shapes_are_refused_with_pytorchs_messages():
    x = tsf.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match=re.escape(
            "Given normalized_shape=[5], expected input with shape [*, 5], but got input of "
            "size[2, 3, 4]")):
        F.layer_norm(x, 5)
    with pytest.raises(RuntimeError, match=re.escape(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            "of shape [2, 3, 4] and num_groups=2")):
        F.group_norm(x, 2)
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(2, 3)
    with pytest.raises(ValueError, match=re.escape("expected 2D or 3D input (got 4D input)")):
        nn.InstanceNorm1d(3)(tsf.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match=re.escape(
            "expected input's size at dim=1 to match num_features (4), but got: 3.")):
        nn.InstanceNorm1d(4, affine=True)(x)
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        nn.InstanceNorm1d(3)(tsf.zeros(2, 3, 1))
    with pytest.raises(ValueError, match=re.escape("Expected 3D or higher dimensionality input "
                                                   "(got 2 dimensions)")):
        F.local_response_norm(tsf.zeros(2, 3), 2)
