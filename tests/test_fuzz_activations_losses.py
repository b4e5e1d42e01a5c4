"""Differential fuzzing of the activations, losses and distances added for issue 18 against
torch.nn: forward values in float32, reverse-mode gradients and forward-mode tangents in float64
(see tests/fuzz_support.py), over random shapes, arguments and every reduction."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import strategies as st  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from fuzz_support import compare, fuzz, seeds, values  # noqa: E402
from torchsorflow import nn  # noqa: E402

F = nn.functional
TF = torch.nn.functional
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
SHAPES = st.sampled_from([(4,), (2, 3), (2, 3, 2), (1, 4, 1, 2)])


def _off_kinks(x, kinks, gap=0.05):
    """Move entries within ``gap`` of a kink away from it (the one-sided slopes differ there)."""
    for k in kinks:
        x = np.where(np.abs(x - k) < gap, k + 3 * gap * np.where(x >= k, 1.0, -1.0), x)
    return np.asarray(x)


# --- activations --------------------------------------------------------------------------------
# name: (ours(x, a), theirs(x, a), kinks(a)) for a parameter a drawn from [0, 1].
ACTIVATIONS = {
    "relu6": (lambda x, a: F.relu6(x), lambda x, a: TF.relu6(x), lambda a: (0.0, 6.0)),
    "hardtanh": (lambda x, a: F.hardtanh(x, -a - 0.1, a + 0.2),
                 lambda x, a: TF.hardtanh(x, -a - 0.1, a + 0.2), lambda a: (-a - 0.1, a + 0.2)),
    # CELU's α is a power of 2: PyTorch computes 1/α in float32 (a 1e-7 relative error in its
    # gradients otherwise), ours in float64.
    "celu": (lambda x, a: F.celu(x, 2.0 ** round(4 * a - 2)),
             lambda x, a: TF.celu(x, 2.0 ** round(4 * a - 2)), lambda a: (0.0,)),
    "selu": (lambda x, a: F.selu(x), lambda x, a: TF.selu(x), lambda a: (0.0,)),
    "elu": (lambda x, a: F.elu(x, a + 0.5), lambda x, a: TF.elu(x, a + 0.5), lambda a: (0.0,)),
    "leaky_relu": (lambda x, a: F.leaky_relu(x, a), lambda x, a: TF.leaky_relu(x, a),
                   lambda a: (0.0,)),
    "hardswish": (lambda x, a: F.hardswish(x), lambda x, a: TF.hardswish(x),
                  lambda a: (-3.0, 3.0)),
    "hardsigmoid": (lambda x, a: F.hardsigmoid(x), lambda x, a: TF.hardsigmoid(x),
                    lambda a: (-3.0, 3.0)),
    "mish": (lambda x, a: F.mish(x), lambda x, a: TF.mish(x), lambda a: ()),
    "silu": (lambda x, a: F.silu(x), lambda x, a: TF.silu(x), lambda a: ()),
    "gelu": (lambda x, a: F.gelu(x, approximate="tanh" if a > 0.5 else "none"),
             lambda x, a: TF.gelu(x, approximate="tanh" if a > 0.5 else "none"), lambda a: ()),
    "softsign": (lambda x, a: F.softsign(x), lambda x, a: TF.softsign(x), lambda a: (0.0,)),
    "tanhshrink": (lambda x, a: F.tanhshrink(x), lambda x, a: TF.tanhshrink(x), lambda a: ()),
    "threshold": (lambda x, a: F.threshold(x, a - 0.5, -a), lambda x, a: TF.threshold(x, a - 0.5,
                                                                                        -a),
                  lambda a: (a - 0.5,)),
    "logsigmoid": (lambda x, a: F.logsigmoid(x), lambda x, a: TF.logsigmoid(x), lambda a: ()),
    "hardshrink": (lambda x, a: F.hardshrink(x, a), lambda x, a: TF.hardshrink(x, a),
                   lambda a: (-a, a)),
    "softshrink": (lambda x, a: F.softshrink(x, a), lambda x, a: TF.softshrink(x, a),
                   lambda a: (-a, a)),
    "rrelu_eval": (lambda x, a: F.rrelu(x, a / 2, a, training=False),
                   lambda x, a: TF.rrelu(x, a / 2, a, training=False), lambda a: (0.0,)),
    "glu": (lambda x, a: F.glu(x, 0), lambda x, a: TF.glu(x, 0), lambda a: ()),
    "softmin": (lambda x, a: F.softmin(x, -1), lambda x, a: TF.softmin(x, -1), lambda a: ()),
    "softmax_dtype": (lambda x, a: F.softmax(x, 0, dtype=tsf.float64),
                      lambda x, a: TF.softmax(x, 0, dtype=torch.float64), lambda a: ()),
}


@fuzz(300, name=st.sampled_from(sorted(ACTIVATIONS)), seed=seeds, a=st.floats(0.0, 1.0),
      shape=SHAPES)
def test_activations(name, seed, a, shape):
    ours, theirs, kinks = ACTIVATIONS[name]
    rng = np.random.default_rng(seed)
    if name == "glu":
        shape = (2 * shape[0],) + shape[1:]
    x = _off_kinks(values("normal", shape, rng) * 3, kinks(a))
    compare(lambda t: ours(t, a), lambda t: theirs(t, a), [x], rng,
            float32=name != "softmax_dtype")


def _module_cases():
    return {
        "ReLU6": ({}, (0.0, 6.0)), "CELU": ({"alpha": 0.7}, (0.0,)), "SELU": ({}, (0.0,)),
        "GLU": ({"dim": 1}, ()), "Hardtanh": ({"min_val": -0.5, "max_val": 2.0}, (-0.5, 2.0)),
        "Hardswish": ({}, (-3.0, 3.0)), "Hardsigmoid": ({}, (-3.0, 3.0)), "Mish": ({}, ()),
        "Softsign": ({}, (0.0,)), "Tanhshrink": ({}, ()), "LogSigmoid": ({}, ()),
        "Threshold": ({"threshold": 0.1, "value": 2.0}, (0.1,)),
        "Softmin": ({"dim": 1}, ()), "Softmax2d": ({}, ()),
        "Hardshrink": ({"lambd": 0.3}, (-0.3, 0.3)), "Softshrink": ({"lambd": 0.3}, (-0.3, 0.3)),
        "RReLU": ({"lower": 0.1, "upper": 0.3}, (0.0,)),
    }


@fuzz(120, name=st.sampled_from(sorted(_module_cases())), seed=seeds)
def test_activation_modules_in_eval(name, seed):
    """Each module built with the same arguments as its torch.nn twin (RReLU in eval mode)."""
    kwargs, kinks = _module_cases()[name]
    rng = np.random.default_rng(seed)
    x = _off_kinks(values("normal", (2, 4, 3, 2), rng) * 3, kinks)
    compare(getattr(nn, name)(**kwargs).eval(), getattr(torch.nn, name)(**kwargs).eval(), [x], rng)


@fuzz(60, seed=seeds, channels=st.integers(1, 4), ndim=st.integers(1, 4), shared=st.booleans())
def test_prelu_module_with_the_same_weights(seed, channels, ndim, shared):
    rng = np.random.default_rng(seed)
    count = 1 if shared or ndim == 1 else channels
    shape = (2, channels, 3, 2)[:ndim] if ndim > 1 else (channels,)
    ours, ref = nn.PReLU(count).double(), torch.nn.PReLU(count).double()
    weight = rng.uniform(-0.5, 0.5, count)
    ours.load_state_dict({"weight": weight})
    ref.load_state_dict({"weight": torch.tensor(weight)})
    x = values("away", shape, rng)
    xo, xt = tsf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xo), ref(xt)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(shape)
    out.backward(tsf.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-10)


# --- element-wise and regression losses ---------------------------------------------------------
def _pointwise_case(name, rng, shape, option):
    """Arrays (the differentiable arguments) and the keyword arguments of one loss call."""
    x = values("normal", shape, rng)
    y = values("normal", shape, rng)
    if name == "smooth_l1_loss":
        beta = [0.0, 0.5, 1.0, 2.0][option % 4]
        d = _off_kinks(x - y, (-beta, beta, 0.0))
        return [y + d, y], {"beta": beta}
    if name == "huber_loss":
        delta = [0.5, 1.0, 2.0][option % 3]
        return [y + _off_kinks(x - y, (-delta, delta)), y], {"delta": delta}
    if name == "kl_div":
        log_target = option % 2 == 1
        target = np.log(rng.dirichlet(np.ones(shape[-1]), shape[:-1])) if log_target else \
            rng.dirichlet(np.ones(shape[-1]), shape[:-1])
        return [x, target], {"log_target": log_target}
    if name == "poisson_nll_loss":
        log_input, full = option % 2 == 0, option // 2 % 2 == 0
        counts = rng.integers(0, 5, shape).astype(np.float64)
        return [x if log_input else rng.uniform(0.2, 3.0, shape), counts], {
            "log_input": log_input, "full": full}
    if name == "soft_margin_loss":
        return [x, rng.choice([-1.0, 1.0], shape)], {}
    if name == "hinge_embedding_loss":
        return [_off_kinks(np.abs(x) * 2, (1.0,)), rng.choice([-1.0, 1.0], shape)], {
            "margin": 1.0}
    raise KeyError(name)


POINTWISE = ["smooth_l1_loss", "huber_loss", "kl_div", "poisson_nll_loss", "soft_margin_loss",
             "hinge_embedding_loss"]


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # kl_div's, as PyTorch's
@fuzz(300, name=st.sampled_from(POINTWISE), seed=seeds, shape=SHAPES, option=st.integers(0, 11),
      reduction=st.sampled_from(["mean", "sum", "none", "batchmean"]))
def test_pointwise_losses(name, seed, shape, option, reduction):
    if reduction == "batchmean" and name != "kl_div":
        reduction = "mean"
    rng = np.random.default_rng(seed)
    arrays, kwargs = _pointwise_case(name, rng, shape, option)
    kwargs["reduction"] = reduction
    if name in ("soft_margin_loss", "poisson_nll_loss"):
        # Targets held constant: PyTorch refuses soft_margin_loss's target gradient, and its
        # Poisson target gradient is NaN at 0 counts.
        target = arrays.pop()
        compare(lambda x: getattr(F, name)(x, _constant(target, x, tsf), **kwargs),
                lambda x: getattr(TF, name)(x, _constant(target, x, torch), **kwargs),
                arrays, rng)
        return
    compare(lambda *a: getattr(F, name)(*a, **kwargs), lambda *a: getattr(TF, name)(*a, **kwargs),
            arrays, rng)


def _constant(array, like, lib):
    """``array`` as a constant Tensor of ``lib`` in the floating dtype of ``like``."""
    single = str(like.dtype).endswith("float32")
    return lib.tensor(array.astype(np.float32 if single else np.float64))


@fuzz(150, seed=seeds, shape=st.sampled_from([(4,), (3, 2), (2, 3, 2)]), reduction=REDUCTIONS,
      var_shape=st.sampled_from(["full", "one_less", "singleton", "number"]), full=st.booleans(),
      eps=st.sampled_from([1e-6, 0.3]))
def test_gaussian_nll_loss(seed, shape, reduction, var_shape, full, eps):
    """Heteroscedastic and homoscedastic variances; with eps = 0.3 some are clamped, and the
    clamp lets the gradient through (PyTorch clamps under no_grad)."""
    rng = np.random.default_rng(seed)
    mean, target = values("normal", shape, rng), values("normal", shape, rng)
    kwargs = dict(full=full, eps=eps, reduction=reduction)
    if var_shape == "number":
        compare(lambda m, t: F.gaussian_nll_loss(m, t, 0.7, **kwargs),
                lambda m, t: TF.gaussian_nll_loss(m, t, 0.7, **kwargs), [mean, target], rng)
        return
    vshape = {"full": shape, "one_less": shape[:-1],
              "singleton": shape[:-1] + (1,)}[var_shape]
    var = _off_kinks(rng.uniform(0.05, 2.0, vshape), (eps,), 0.02)
    # PyTorch's forward mode sees its no_grad clamp (tangent 0 where clamped) while its reverse
    # mode does not; ours follows the reverse mode in both, so clamped cases compare reverse only.
    modes = ("fwd", "rev") if (var > eps).all() else ("rev",)
    compare(lambda m, t, v: F.gaussian_nll_loss(m, t, v, **kwargs),
            lambda m, t, v: TF.gaussian_nll_loss(m, t, v, **kwargs), [mean, target, var], rng,
            modes=modes)


@fuzz(150, seed=seeds, n=st.integers(1, 4), classes=st.integers(2, 5), weighted=st.booleans(),
      reduction=REDUCTIONS, unbatched=st.booleans())
def test_multilabel_soft_margin_loss(seed, n, classes, weighted, reduction, unbatched):
    rng = np.random.default_rng(seed)
    shape = (classes,) if unbatched else (n, classes)
    arrays = [values("normal", shape, rng), rng.integers(0, 2, shape).astype(np.float64)]
    if weighted:
        arrays.append(values("positive", (classes,), rng))
    compare(lambda x, t, *w: F.multilabel_soft_margin_loss(x, t, *w, reduction=reduction),
            lambda x, t, *w: TF.multilabel_soft_margin_loss(x, t, *w, reduction=reduction),
            arrays, rng)


# --- margins, embeddings and distances ----------------------------------------------------------
@fuzz(150, seed=seeds, n=st.integers(1, 4), d=st.integers(1, 5), margin=st.floats(-0.5, 0.5),
      reduction=REDUCTIONS, unbatched=st.booleans())
def test_cosine_embedding_loss(seed, n, d, margin, reduction, unbatched):
    rng = np.random.default_rng(seed)
    shape, tshape = ((d,), ()) if unbatched else ((n, d), (n,))
    x1, x2 = values("normal", shape, rng), values("normal", shape, rng)
    target = np.asarray(rng.choice([-1.0, 1.0], tshape))
    cos = (x1 * x2).sum(-1) / np.sqrt((x1 ** 2).sum(-1) * (x2 ** 2).sum(-1))
    x1 = np.where(np.abs(cos - margin)[..., None] < 0.02, -x1, x1)  # off the hinge's kink
    compare(lambda a, b, t: F.cosine_embedding_loss(a, b, t, margin, reduction=reduction),
            lambda a, b, t: TF.cosine_embedding_loss(a, b, t, margin, reduction=reduction),
            [x1, x2, target], rng)


@fuzz(100, seed=seeds, shape=st.sampled_from([(), (4,), (2, 3)]), margin=st.floats(0.0, 1.0),
      reduction=REDUCTIONS)
def test_margin_ranking_loss(seed, shape, margin, reduction):
    rng = np.random.default_rng(seed)
    x1, x2 = values("normal", shape, rng), values("normal", shape, rng)
    target = np.asarray(rng.choice([-1.0, 1.0], shape))
    x1 = np.asarray(x2 + _off_kinks(x1 - x2, (margin, -margin)))
    compare(lambda a, b, t: F.margin_ranking_loss(a, b, t, margin, reduction=reduction),
            lambda a, b, t: TF.margin_ranking_loss(a, b, t, margin, reduction=reduction),
            [x1, x2, target], rng)


@fuzz(200, seed=seeds, shape=st.sampled_from([(5,), (3, 4), (2, 3, 4)]),
      p=st.sampled_from([1.0, 2.0, 3.0]), swap=st.booleans(), margin=st.floats(0.1, 2.0),
      reduction=REDUCTIONS, custom=st.booleans())
def test_triplet_losses(seed, shape, p, swap, margin, reduction, custom):
    rng = np.random.default_rng(seed)
    arrays = [values("normal", shape, rng) for _ in range(3)]
    compare(lambda a, b, c: F.triplet_margin_loss(a, b, c, margin, p, swap=swap,
                                                  reduction=reduction),
            lambda a, b, c: TF.triplet_margin_loss(a, b, c, margin, p, swap=swap,
                                                   reduction=reduction), arrays, rng)
    ours_d = (lambda x, y: 1.0 - F.cosine_similarity(x, y, dim=-1)) if custom else None
    theirs_d = (lambda x, y: 1.0 - TF.cosine_similarity(x, y, dim=-1)) if custom else None
    compare(lambda a, b, c: F.triplet_margin_with_distance_loss(
        a, b, c, distance_function=ours_d, margin=margin, swap=swap, reduction=reduction),
        lambda a, b, c: TF.triplet_margin_with_distance_loss(
            a, b, c, distance_function=theirs_d, margin=margin, swap=swap,
            reduction=reduction), arrays, rng)


@fuzz(150, seed=seeds, n=st.integers(1, 4), classes=st.integers(1, 5), p=st.sampled_from([1, 2]),
      margin=st.floats(0.2, 2.0), weighted=st.booleans(), reduction=REDUCTIONS,
      unbatched=st.booleans())
def test_multi_margin_loss(seed, n, classes, p, margin, weighted, reduction, unbatched):
    rng = np.random.default_rng(seed)
    shape = (classes,) if unbatched else (n, classes)
    labels = np.asarray(rng.integers(0, classes, () if unbatched else (n,)))
    x = values("normal", shape, rng)
    rows = x.reshape(-1, classes)
    picked = rows[np.arange(rows.shape[0]), labels.reshape(-1)][:, None]
    rows[:] = picked + _off_kinks(rows - picked, (-margin,)) * (rows != picked)
    weight = values("positive", (classes,), rng) if weighted else None

    def ours(x):
        w = None if weight is None else _constant(weight, x, tsf)
        return F.multi_margin_loss(x, tsf.tensor(labels), p, margin, w, reduction=reduction)

    def theirs(x):
        w = None if weight is None else _constant(weight, x, torch)
        return TF.multi_margin_loss(x, torch.tensor(labels), p, margin, w, reduction=reduction)
    compare(ours, theirs, [x], rng, modes=("rev",))  # PyTorch has no forward mode for it


@fuzz(150, seed=seeds, n=st.integers(1, 4), classes=st.integers(1, 5), reduction=REDUCTIONS,
      unbatched=st.booleans())
def test_multilabel_margin_loss(seed, n, classes, reduction, unbatched):
    rng = np.random.default_rng(seed)
    shape = (classes,) if unbatched else (n, classes)
    labels = np.full(shape, -1, dtype=np.int64).reshape(-1, classes)
    for row in labels:  # some labels (repeats allowed), then −1, then anything
        count = rng.integers(0, classes + 1)
        row[:count] = rng.integers(0, classes, count)
        row[count + 1:] = rng.integers(-1, classes, max(classes - count - 1, 0))
    labels = labels.reshape(shape)
    x = values("normal", shape, rng)
    pairs = x[..., :, None] - x[..., None, :]
    x = x + 0.37 * (np.abs(np.abs(pairs) - 1.0) < 0.02).any(-1)  # off the kinks (rarely hit)
    compare(lambda a: F.multilabel_margin_loss(a, tsf.tensor(labels), reduction=reduction),
            lambda a: TF.multilabel_margin_loss(a, torch.tensor(labels), reduction=reduction),
            [x], rng, modes=("rev",))  # PyTorch has no forward mode for it


@fuzz(150, seed=seeds, shape=st.sampled_from([(4,), (3, 4), (2, 3, 4)]), dim=st.integers(-1, 0),
      eps=st.sampled_from([1e-8, 1e-3]), broadcast=st.booleans())
def test_cosine_similarity(seed, shape, dim, eps, broadcast):
    rng = np.random.default_rng(seed)
    other = (1,) + shape[1:] if broadcast and len(shape) > 1 else shape
    arrays = [values("normal", shape, rng), values("normal", other, rng)]
    # A norm below eps is clamped under no_grad: PyTorch's forward mode then differs from its
    # reverse mode (as in gaussian_nll_loss); ours follows the reverse mode.
    clamped = any((np.sqrt((a ** 2).sum(axis=dim)) < eps).any() for a in arrays)
    compare(lambda a, b: F.cosine_similarity(a, b, dim, eps),
            lambda a, b: TF.cosine_similarity(a, b, dim, eps), arrays, rng,
            modes=("rev",) if clamped else ("fwd", "rev"))


@fuzz(150, seed=seeds, shape=st.sampled_from([(), (4,), (3, 4), (2, 3, 4)]),
      p=st.sampled_from([1.0, 2.0, 3.0, 0.5]), keepdim=st.booleans(), eps=st.sampled_from(
          [0.0, 1e-6]))
def test_pairwise_distance_and_pdist(seed, shape, p, keepdim, eps):
    rng = np.random.default_rng(seed)
    arrays = [values("normal", shape, rng), values("normal", shape, rng)]
    compare(lambda a, b: F.pairwise_distance(a, b, p, eps, keepdim),
            lambda a, b: TF.pairwise_distance(a, b, p, eps, keepdim), arrays, rng)
    points = values("normal", (4, 3), rng)
    compare(lambda a: F.pdist(a, p), lambda a: TF.pdist(a, p), [points], rng, modes=("rev",))


# --- CTC ----------------------------------------------------------------------------------------
@st.composite
def ctc_cases(draw):
    batch = draw(st.integers(1, 4))
    classes = draw(st.integers(2, 5))
    steps = draw(st.integers(1, 8))
    target_lengths = [draw(st.integers(0, 4)) for _ in range(batch)]
    input_lengths = [draw(st.integers(0, steps)) for _ in range(batch)]
    input_lengths[0] = steps  # the longest input fills the array
    return dict(batch=batch, classes=classes, steps=steps, target_lengths=target_lengths,
                input_lengths=input_lengths, blank=draw(st.integers(0, classes - 1)),
                layout=draw(st.sampled_from(["padded", "concatenated", "unbatched"])),
                reduction=draw(REDUCTIONS), zero_infinity=draw(st.booleans()),
                repeats=draw(st.booleans()))


@fuzz(250, case=ctc_cases(), seed=seeds)
def test_ctc_loss(case, seed):
    """Random lengths (empty targets, impossible alignments included), repeated labels, any blank,
    padded, concatenated and unbatched targets, every reduction, with and without
    zero_infinity. Values in float32; gradients through log_softmax in float64 (PyTorch's CTC
    has no forward mode: ours is checked against finite differences in test_registry)."""
    c = case
    rng = np.random.default_rng(seed)
    batch = 1 if c["layout"] == "unbatched" else c["batch"]
    labels_pool = [k for k in range(c["classes"]) if k != c["blank"]]
    sequences = []
    for length in c["target_lengths"][:batch]:
        seq = rng.choice(labels_pool, length)
        if c["repeats"] and length > 1:
            seq[1] = seq[0]
        sequences.append(seq)
    lengths_out = np.array([len(s) for s in sequences], dtype=np.int64)
    lengths_in = np.array(c["input_lengths"][:batch], dtype=np.int64)
    if c["layout"] == "concatenated":
        targets = np.concatenate(sequences + [np.zeros(0, np.int64)]).astype(np.int64)
    else:
        targets = np.full((batch, max(lengths_out.max(), 1)), c["blank"], dtype=np.int64)
        for n, seq in enumerate(sequences):
            targets[n, :len(seq)] = seq
        if c["layout"] == "unbatched":  # 1-D targets are then the sequence itself
            targets, lengths_in, lengths_out = sequences[0], lengths_in[0], lengths_out[0]
    shape = (c["steps"], c["classes"]) if c["layout"] == "unbatched" else \
        (c["steps"], batch, c["classes"])
    kwargs = dict(blank=c["blank"], reduction=c["reduction"], zero_infinity=c["zero_infinity"])

    def ours(x):
        return F.ctc_loss(F.log_softmax(x, -1), tsf.tensor(targets), tsf.tensor(lengths_in),
                          tsf.tensor(lengths_out), **kwargs)

    def theirs(x):
        return TF.ctc_loss(x.log_softmax(-1), torch.tensor(targets), torch.tensor(lengths_in),
                           torch.tensor(lengths_out), **kwargs)
    compare(ours, theirs, [values("normal", shape, rng)], rng, modes=("rev",))
