"""Differential fuzzing of the layers and losses against torch.nn: Conv2d over stride / padding /
dilation / groups / bias, pools with ceil_mode and padding, BatchNorm through sequences of
train/eval steps, Dropout in eval, activations and every loss; forward values in float32, gradients
in float64 by reverse and forward mode (see tests/fuzz_support.py)."""
import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import assume, strategies as st  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from fuzz_support import F32, F64, assert_close, compare, fuzz, seeds, values  # noqa: E402
from torchsorflow import nn  # noqa: E402

# Conv2d and the pools run on the im2col kernels (torchsorflow.ops.kernels), landing separately.
needs_kernels = pytest.mark.skipif(
    importlib.util.find_spec("torchsorflow.ops.kernels") is None,
    reason="torchsorflow.ops.kernels (conv/pool kernels) not there yet")
F = nn.functional
TF = torch.nn.functional
pairs = st.tuples


def _pair(draw, low, high):
    a = draw(st.integers(low, high))
    return a if draw(st.booleans()) else (a, draw(st.integers(low, high)))


def _as_pair(v):
    return v if isinstance(v, tuple) else (v, v)


# --- Linear -------------------------------------------------------------------------------------
@fuzz(100, seed=seeds, lead=st.lists(st.integers(1, 3), max_size=2), inp=st.integers(1, 5),
      out=st.integers(1, 5), bias=st.booleans())
def test_linear(seed, lead, inp, out, bias):
    rng = np.random.default_rng(seed)
    arrays = [values("normal", tuple(lead) + (inp,), rng), values("normal", (out, inp), rng)]
    if bias:
        arrays.append(values("normal", (out,), rng))
    compare(F.linear, TF.linear, arrays, rng)


# --- Conv2d -------------------------------------------------------------------------------------
@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = _pair(draw, 1, 2)
    stride = _pair(draw, 1, 3)
    padding = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    if padding == "same":
        stride = 1
    padding = {"int": draw(st.integers(0, 2)), "pair": (draw(st.integers(0, 2)),
                                                        draw(st.integers(0, 2)))}.get(padding,
                                                                                      padding)
    pad = (0, 0) if isinstance(padding, str) else _as_pair(padding)
    span = [_as_pair(dilation)[i] * (kernel[i] - 1) + 1 for i in range(2)]
    hw = tuple(max(draw(st.integers(1, 7)), span[i] - 2 * pad[i]) for i in range(2))
    batch = draw(st.sampled_from([None, 1, 2]))  # None: an unbatched (C, H, W) input
    return dict(groups=groups, cin=cin, cout=cout, kernel=kernel, dilation=dilation,
                stride=stride, padding=padding, hw=hw, batch=batch, bias=draw(st.booleans()))


@needs_kernels
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # PyTorch's
@fuzz(250, case=conv_cases(), seed=seeds)
def test_conv2d(case, seed):
    rng = np.random.default_rng(seed)
    c = case
    x_shape = ((c["batch"],) if c["batch"] else ()) + (c["cin"],) + c["hw"]
    arrays = [values("normal", x_shape, rng),
              values("normal", (c["cout"], c["cin"] // c["groups"]) + c["kernel"], rng)]
    if c["bias"]:
        arrays.append(values("normal", (c["cout"],), rng))
    kw = {k: c[k] for k in ("stride", "padding", "dilation", "groups")}
    compare(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), arrays, rng)


@needs_kernels
@fuzz(40, case=conv_cases(), seed=seeds)
def test_conv2d_module_matches_torch_with_the_same_weights(case, seed):
    c = case
    assume(c["batch"] is not None)
    kw = {k: c[k] for k in ("stride", "padding", "dilation", "groups")}
    ours = nn.Conv2d(c["cin"], c["cout"], c["kernel"], bias=c["bias"], **kw)
    theirs = torch.nn.Conv2d(c["cin"], c["cout"], c["kernel"], bias=c["bias"], **kw)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = values("normal", (c["batch"], c["cin"]) + c["hw"], np.random.default_rng(seed))
    x = x.astype(np.float32)
    out, ref = ours(tsf.tensor(x, requires_grad=True)), theirs(torch.from_numpy(x))
    assert_close(out, ref, "Conv2d module output", **F32)
    out.sum().backward()
    ref.sum().backward()
    assert_close(ours.weight.grad, theirs.weight.grad, "Conv2d weight.grad", rtol=1e-4, atol=1e-5)


# --- pooling ------------------------------------------------------------------------------------
@st.composite
def pool_cases(draw, dilation=True):
    kernel = _pair(draw, 1, 3)
    k = _as_pair(kernel)
    stride = draw(st.none() | st.integers(1, 3) | pairs(st.integers(1, 3), st.integers(1, 3)))
    dil = _pair(draw, 1, 2) if dilation else 1
    d = _as_pair(dil)
    # PyTorch allows at most half the kernel (and half the dilated kernel) as padding
    padding = tuple(draw(st.integers(0, k[i] // 2)) for i in range(2))
    span = [d[i] * (k[i] - 1) + 1 for i in range(2)]
    hw = tuple(max(draw(st.integers(1, 7)), span[i] - 2 * padding[i]) for i in range(2))
    return dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dil,
                ceil_mode=draw(st.booleans()), hw=hw, batch=draw(st.sampled_from([None, 1, 2])),
                channels=draw(st.integers(1, 3)))


def _pool_input(c, rng):
    shape = ((c["batch"],) if c["batch"] else ()) + (c["channels"],) + c["hw"]
    return values("normal", shape, rng)  # continuous values: no ties inside a window


def _a_window_is_all_padding(case):
    """Whether some (dilated) max-pooling window sees padding only."""
    kernels, dilations = _as_pair(case["kernel_size"]), _as_pair(case["dilation"])
    strides = _as_pair(case["stride"]) if case["stride"] is not None else kernels
    for n, k, d, s, p in zip(case["hw"], kernels, dilations, strides, case["padding"]):
        span = n + 2 * p - d * (k - 1) - 1
        out = (-(-span // s) if case["ceil_mode"] else span // s) + 1
        if case["ceil_mode"] and (out - 1) * s >= n + p:
            out -= 1
        if any(not any(0 <= o * s - p + j * d < n for j in range(k)) for o in range(out)):
            return True
    return False


@needs_kernels
@fuzz(200, case=pool_cases(), seed=seeds)
def test_max_pool2d(case, seed):
    rng = np.random.default_rng(seed)
    kw = {k: case[k] for k in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")}
    if _a_window_is_all_padding(case):
        # PyTorch returns -inf there and its backward writes out of bounds; we refuse, clearly
        with pytest.raises(ValueError, match="covers only padding"):
            F.max_pool2d(tsf.tensor(_pool_input(case, rng)), **kw)
        return
    compare(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw),
            [_pool_input(case, rng)], rng)


@needs_kernels
@fuzz(200, case=pool_cases(dilation=False), seed=seeds, include=st.booleans(),
      divisor=st.none() | st.integers(1, 5))
def test_avg_pool2d(case, seed, include, divisor):
    rng = np.random.default_rng(seed)
    kw = {k: case[k] for k in ("kernel_size", "stride", "padding", "ceil_mode")}
    kw.update(count_include_pad=include, divisor_override=divisor)
    compare(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw),
            [_pool_input(case, rng)], rng)


@needs_kernels
@fuzz(80, seed=seeds, hw=pairs(st.integers(1, 9), st.integers(1, 9)), data=st.data())
def test_adaptive_avg_pool2d(seed, hw, data):
    size = (data.draw(st.integers(1, hw[0])), data.draw(st.none() | st.integers(1, hw[1])))
    rng = np.random.default_rng(seed)
    compare(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size),
            [values("normal", (2, 3) + hw, rng)], rng)


# --- BatchNorm ----------------------------------------------------------------------------------
@fuzz(120, seed=seeds, dims=st.sampled_from([2, 3, 4]), n=st.integers(1, 4),
      channels=st.integers(1, 3), affine=st.booleans())
def test_batch_norm_training_forward_and_gradients(seed, dims, n, channels, affine):
    shape = (n, channels) + (2, 3)[:dims - 2]
    assume(np.prod(shape) // channels > 1)
    rng = np.random.default_rng(seed)
    arrays = [values("normal", shape, rng) * 3 + 1]
    if affine:
        arrays += [values("normal", (channels,), rng), values("normal", (channels,), rng)]

    def ours(x, w=None, b=None):
        return F.batch_norm(x, None, None, w, b, training=True)

    def theirs(x, w=None, b=None):
        return TF.batch_norm(x, None, None, w, b, training=True)

    compare(ours, theirs, arrays, rng)


@st.composite
def batch_norm_runs(draw):
    kind = draw(st.sampled_from(["1d-2", "1d-3", "2d"]))
    channels = draw(st.integers(1, 3))
    steps = draw(st.lists(st.sampled_from(["train", "eval"]), min_size=1, max_size=5))
    momentum = draw(st.sampled_from([0.1, 0.5, None]))
    return dict(kind=kind, channels=channels, steps=steps, momentum=momentum,
                affine=draw(st.booleans()), track=draw(st.booleans()))


@fuzz(100, run=batch_norm_runs(), seed=seeds)
def test_batch_norm_module_through_train_and_eval_steps(run, seed):
    """Outputs, input/parameter gradients and running statistics after every step."""
    rng = np.random.default_rng(seed)
    c = run["channels"]
    shape = {"1d-2": (4, c), "1d-3": (3, c, 2), "2d": (2, c, 3, 2)}[run["kind"]]
    layer = "BatchNorm2d" if run["kind"] == "2d" else "BatchNorm1d"
    kw = dict(momentum=run["momentum"], affine=run["affine"], track_running_stats=run["track"])
    ours, theirs = getattr(nn, layer)(c, **kw).double(), getattr(torch.nn, layer)(c, **kw).double()
    if run["affine"]:
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(values("normal", (c,), rng)))
            theirs.bias.copy_(torch.from_numpy(values("normal", (c,), rng)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for step in run["steps"]:
        ours.train(step == "train")
        theirs.train(step == "train")
        x = values("normal", shape, rng) * 2 + 0.5
        xt, tt = tsf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = ours(xt), theirs(tt)
        assert_close(out, ref, f"{step} output", **F64)
        g = rng.standard_normal(shape)
        out.backward(tsf.tensor(g))
        ref.backward(torch.from_numpy(g))
        assert_close(xt.grad, tt.grad, f"{step} input gradient", **F64)
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert_close(p.grad, q.grad, f"{step} {name}.grad", **F64)
            p.grad, q.grad = None, None
        ours_state, ref_state = ours.state_dict(), theirs.state_dict()
        assert sorted(ours_state) == sorted(ref_state)
        for key, value in ref_state.items():
            assert_close(np.asarray(ours_state[key], dtype=np.float64), value.double(),
                         f"after {step}: {key}", **F64)


# --- Dropout and activations --------------------------------------------------------------------
@fuzz(40, seed=seeds, p=st.floats(0.0, 1.0), shape=st.sampled_from([(3,), (2, 4), (2, 3, 2)]))
def test_dropout_in_eval_is_the_identity(seed, p, shape):
    rng = np.random.default_rng(seed)
    ours, theirs = nn.Dropout(p).eval(), torch.nn.Dropout(p).eval()
    compare(ours, theirs, [values("normal", shape, rng)], rng)
    compare(lambda x: F.dropout(x, p, training=False), lambda x: TF.dropout(x, p, training=False),
            [values("normal", shape, rng)], rng)


ACTIVATIONS = {
    "leaky_relu": (lambda x, a: F.leaky_relu(x, a), lambda x, a: TF.leaky_relu(x, a), "away"),
    "elu": (lambda x, a: F.elu(x, a + 0.5), lambda x, a: TF.elu(x, a + 0.5), "away"),
    "gelu": (lambda x, a: F.gelu(x), lambda x, a: TF.gelu(x), "normal"),
    "gelu_tanh": (lambda x, a: F.gelu(x, approximate="tanh"),
                  lambda x, a: TF.gelu(x, approximate="tanh"), "normal"),
    "silu": (lambda x, a: F.silu(x), lambda x, a: TF.silu(x), "normal"),
    "softplus_beta": (lambda x, a: F.softplus(x, beta=a * 4 + 0.5, threshold=2.0),
                      lambda x, a: TF.softplus(x, beta=a * 4 + 0.5, threshold=2.0), "normal"),
    "softmax_dim0": (lambda x, a: F.softmax(x, 0), lambda x, a: TF.softmax(x, 0), "normal"),
    "log_softmax": (lambda x, a: F.log_softmax(x, -1), lambda x, a: TF.log_softmax(x, -1),
                    "normal"),
}


@fuzz(200, name=st.sampled_from(sorted(ACTIVATIONS)), seed=seeds, a=st.floats(0.0, 1.0),
      shape=st.sampled_from([(4,), (2, 3), (2, 3, 2)]))
def test_activations(name, seed, a, shape):
    ours, theirs, domain = ACTIVATIONS[name]
    rng = np.random.default_rng(seed)
    x = values(domain, shape, rng) * 2
    if name == "softplus_beta":  # off the threshold's switch point, where both are discontinuous
        x = np.where(np.abs(x * (a * 4 + 0.5) - 2.0) < 1e-3, x + 0.01, x)
    compare(lambda t: ours(t, a), lambda t: theirs(t, a), [x], rng)


# --- losses -------------------------------------------------------------------------------------
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


@st.composite
def classification_cases(draw):
    classes = draw(st.integers(1, 4))
    layout = draw(st.sampled_from(["N", "N,d", "N,d1,d2", "unbatched"]))
    n = draw(st.integers(1, 4))
    spatial = {"N": (), "N,d": (3,), "N,d1,d2": (2, 2), "unbatched": ()}[layout]
    input_shape = (classes,) if layout == "unbatched" else (n, classes) + spatial
    target_shape = () if layout == "unbatched" else (n,) + spatial
    return dict(classes=classes, input_shape=input_shape, target_shape=target_shape,
                reduction=draw(REDUCTIONS), weighted=draw(st.booleans()),
                ignore=draw(st.booleans()), smoothing=draw(st.sampled_from([0.0, 0.0, 0.2])),
                probabilities=draw(st.booleans()))


@fuzz(250, case=classification_cases(), seed=seeds, loss=st.sampled_from(["cross_entropy",
                                                                           "nll_loss"]))
def test_cross_entropy_and_nll(case, seed, loss):
    c = case
    rng = np.random.default_rng(seed)
    logits = values("normal", c["input_shape"], rng) * 2
    arrays = [logits]
    weight = values("positive", (c["classes"],), rng) if c["weighted"] else None
    kw = dict(reduction=c["reduction"])
    probabilities = loss == "cross_entropy" and c["probabilities"]
    if probabilities:
        class_dim = 0 if len(c["input_shape"]) == 1 else 1
        target = np.moveaxis(rng.dirichlet(np.ones(c["classes"]), c["target_shape"]), -1,
                             class_dim)
    else:
        target = np.asarray(rng.integers(0, c["classes"], c["target_shape"]))
        if c["ignore"] and target.size > 1:
            target.flat[0] = -100  # the default ignore_index
    if loss == "cross_entropy":
        kw["label_smoothing"] = c["smoothing"]
    else:  # nll_loss takes log-probabilities
        arrays[0] = logits - np.log(np.exp(logits).sum(
            axis=0 if len(c["input_shape"]) == 1 else 1, keepdims=True))

    def constants(x, lib):
        """Target and weight as constants in the dtype of ``x``."""
        as_tensor = tsf.tensor if lib == "tsf" else torch.from_numpy
        dtype = np.float32 if x.dtype in (np.float32, torch.float32) else np.float64
        t = as_tensor(target.astype(dtype) if probabilities else target)
        return t, None if weight is None else as_tensor(weight.astype(dtype))

    compare(lambda x: getattr(F, loss)(x, *constants(x, "tsf"), **kw),
            lambda x: getattr(TF, loss)(x, *constants(x, "torch"), **kw), arrays, rng)


@fuzz(200, seed=seeds, loss=st.sampled_from(["mse_loss", "l1_loss", "binary_cross_entropy",
                                              "binary_cross_entropy_with_logits"]),
      shape=st.sampled_from([(), (3,), (2, 3), (2, 1, 3)]), reduction=REDUCTIONS,
      weighted=st.booleans(), pos_weighted=st.booleans())
def test_regression_and_binary_losses(seed, loss, shape, reduction, weighted, pos_weighted):
    rng = np.random.default_rng(seed)
    if loss == "binary_cross_entropy":
        x = rng.uniform(0.05, 0.95, shape)
    else:
        x = values("away", shape, rng)
    target = rng.uniform(0, 1, shape) if "binary" in loss else values("normal", shape, rng)
    if loss == "l1_loss":  # off the kink at x == target
        target = np.where(np.abs(x - target) < 1e-2, target + 0.05, target)
    arrays = [x, np.asarray(target)]
    kw = dict(reduction=reduction)
    named = {}
    if weighted and "binary" in loss:
        named["weight"] = values("positive", shape[-1:], rng)
    if pos_weighted and loss == "binary_cross_entropy_with_logits":
        named["pos_weight"] = values("positive", shape[-1:], rng)

    def constants(x, lib):
        as_tensor = tsf.tensor if lib == "tsf" else torch.from_numpy
        dtype = np.float32 if x.dtype in (np.float32, torch.float32) else np.float64
        return {k: as_tensor(v.astype(dtype)) for k, v in named.items()}

    compare(lambda x, t: getattr(F, loss)(x, t, **kw, **constants(x, "tsf")),
            lambda x, t: getattr(TF, loss)(x, t, **kw, **constants(x, "torch")), arrays, rng)


MODULES = {  # name: (constructor arguments drawn from a in [0, 1], input domain)
    "ReLU": (lambda a: {}, "away"), "LeakyReLU": (lambda a: {"negative_slope": a}, "away"),
    "ELU": (lambda a: {"alpha": a + 0.5}, "away"), "Tanh": (lambda a: {}, "normal"),
    "Sigmoid": (lambda a: {}, "normal"), "SiLU": (lambda a: {}, "normal"),
    "GELU": (lambda a: {"approximate": "tanh" if a > 0.5 else "none"}, "normal"),
    "Softplus": (lambda a: {"beta": a + 0.5, "threshold": 30.0}, "normal"),
    "Softmax": (lambda a: {"dim": 1 if a > 0.5 else -1}, "normal"),
    "LogSoftmax": (lambda a: {"dim": 1 if a > 0.5 else 0}, "normal"),
    "Flatten": (lambda a: {"start_dim": 1 if a > 0.5 else 0}, "normal"),
    "Identity": (lambda a: {}, "normal"),
}


@fuzz(120, name=st.sampled_from(sorted(MODULES)), a=st.floats(0.0, 1.0), seed=seeds,
      shape=st.sampled_from([(2, 3), (2, 3, 2), (1, 4, 1)]))
def test_activation_and_shape_modules(name, a, seed, shape):
    """Every parameter-free module, built with the same arguments as its torch.nn twin."""
    make_kwargs, domain = MODULES[name]
    kwargs = make_kwargs(a)
    rng = np.random.default_rng(seed)
    compare(getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs),
            [values(domain, shape, rng)], rng)


@fuzz(60, seed=seeds, depth=st.integers(1, 3), width=st.integers(1, 4), train=st.booleans())
def test_sequential_mlp_with_the_same_weights(seed, depth, width, train):
    """Linear/Tanh/BatchNorm1d/Dropout(eval) stacks in Sequential: outputs and every gradient."""
    rng = np.random.default_rng(seed)
    layers, theirs = [], []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.BatchNorm1d(width), nn.Tanh(), nn.Dropout(0.3)]
        theirs += [torch.nn.Linear(width, width), torch.nn.BatchNorm1d(width), torch.nn.Tanh(),
                   torch.nn.Dropout(0.3)]
    ours, ref = nn.Sequential(*layers).double(), torch.nn.Sequential(*theirs).double()
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    ours.train(train)
    ref.train(train)
    for m in list(ours.modules()) + list(ref.modules()):  # dropout stays off: eval semantics
        if type(m).__name__ == "Dropout":
            m.train(False)
    x = values("normal", (5, width), rng)
    xt, tt = tsf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xt), ref(tt)
    assert_close(out, expected, "Sequential output", **F64)
    g = rng.standard_normal(out.shape)
    out.backward(tsf.tensor(g))
    expected.backward(torch.from_numpy(g))
    assert_close(xt.grad, tt.grad, "input gradient", **F64)
    for (name, p), (_, q) in zip(ours.named_parameters(), ref.named_parameters()):
        assert_close(p.grad, q.grad, f"{name}.grad", **F64)
