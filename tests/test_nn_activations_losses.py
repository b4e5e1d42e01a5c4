"""The activation, loss, dropout and distance layers of issue 18 beyond the differential fuzz
(tests/test_fuzz_activations_losses.py): reprs and state_dicts against torch.nn, in-place
semantics, the dropout family's statistics, deprecated arguments, error messages (compared with
PyTorch's own), dtype checks and CTC's edge cases."""
import math
import re
import warnings

import numpy as np
import pytest

import torchsorflow as tsf
import torchsorflow.nn.functional as F
from torchsorflow import nn

# (class name, positional args, keyword args): built the same way in both libraries.
MODULES = [
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("ReLU6", (), {"inplace": True}),
    ("LeakyReLU", (0.2, True), {}), ("ELU", (0.5,), {}), ("CELU", (), {"alpha": 2.0}),
    ("SELU", (True,), {}), ("GELU", (), {"approximate": "tanh"}), ("SiLU", (), {}),
    ("Mish", (True,), {}), ("Hardswish", (True,), {}), ("Hardsigmoid", (), {}),
    ("Hardtanh", (-2.0, 3.0, True), {}), ("Softsign", (), {}), ("Tanhshrink", (), {}),
    ("Threshold", (0.1, 20.0), {}), ("Threshold", (1, 2, True), {}), ("LogSigmoid", (), {}),
    ("Softmin", (1,), {}), ("Softmax", (), {"dim": -1}), ("Softmax2d", (), {}),
    ("LogSoftmax", (0,), {}), ("Hardshrink", (0.3,), {}), ("Softshrink", (), {}),
    ("RReLU", (0.1, 0.3, True), {}), ("PReLU", (3, 0.1), {}), ("GLU", (1,), {}),
    ("Softplus", (2.0, 10.0), {}), ("Sigmoid", (), {}), ("Tanh", (), {}),
    ("Dropout", (0.2,), {}), ("Dropout1d", (), {}), ("Dropout2d", (0.3, True), {}),
    ("Dropout3d", (), {}), ("AlphaDropout", (0.1,), {}), ("FeatureAlphaDropout", (), {}),
    ("MSELoss", (), {}), ("L1Loss", (), {"reduction": "sum"}), ("SmoothL1Loss", (), {"beta": 0.5}),
    ("HuberLoss", (), {"delta": 2.0}), ("KLDivLoss", (), {"reduction": "batchmean"}),
    ("PoissonNLLLoss", (False, True), {}), ("GaussianNLLLoss", (), {"full": True}),
    ("CosineEmbeddingLoss", (0.2,), {}), ("MarginRankingLoss", (0.5,), {}),
    ("TripletMarginLoss", (), {"p": 1.0, "swap": True}), ("TripletMarginWithDistanceLoss", (), {}),
    ("HingeEmbeddingLoss", (2.0,), {}), ("MultiLabelSoftMarginLoss", (), {}),
    ("SoftMarginLoss", (), {}), ("MultiMarginLoss", (2, 0.5), {}),
    ("MultiLabelMarginLoss", (), {}), ("CTCLoss", (3, "sum", True), {}),
    ("CrossEntropyLoss", (), {"label_smoothing": 0.1}), ("NLLLoss", (), {"ignore_index": 2}),
    ("PairwiseDistance", (1.0,), {}), ("CosineSimilarity", (0,), {}),
]


@pytest.mark.parametrize("name, args, kwargs", MODULES, ids=lambda v: str(v))
def test_module_repr_attributes_and_state_dict_match_pytorch(name, args, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    for attribute, value in vars(theirs).items():
        if not attribute.startswith("_") and attribute != "training" and not callable(value):
            assert getattr(ours, attribute) == value, attribute


def test_weighted_loss_modules_keep_their_weights_as_buffers():
    torch = pytest.importorskip("torch")
    w = np.array([0.5, 2.0, 1.0])
    for name, kwargs in [("CrossEntropyLoss", {"weight": w}), ("NLLLoss", {"weight": w}),
                         ("BCELoss", {"weight": w}), ("MultiMarginLoss", {"weight": w}),
                         ("MultiLabelSoftMarginLoss", {"weight": w}),
                         ("BCEWithLogitsLoss", {"weight": w, "pos_weight": w})]:
        ours = getattr(nn, name)(**{k: tsf.tensor(v) for k, v in kwargs.items()})
        theirs = getattr(torch.nn, name)(**{k: torch.tensor(v) for k, v in kwargs.items()})
        assert list(ours.state_dict()) == list(theirs.state_dict())


def test_prelu_parameters_and_initialisation():
    layer = nn.PReLU(3, init=0.1)
    assert [(n, p.shape) for n, p in layer.named_parameters()] == [("weight", (3,))]
    np.testing.assert_allclose(layer.weight.detach().numpy(), 0.1)
    x = tsf.tensor([[-1.0, -2.0, 3.0]])
    np.testing.assert_allclose(layer(x).detach().numpy(), [[-0.1, -0.2, 3.0]], rtol=1e-6)


# --- in-place -----------------------------------------------------------------------------------
@pytest.mark.parametrize("call, reference", [
    (lambda x: F.relu(x, inplace=True), F.relu), (F.relu_, F.relu),
    (lambda x: F.elu(x, 0.5, True), lambda x: F.elu(x, 0.5)),
    (lambda x: F.leaky_relu_(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    (lambda x: F.hardtanh(x, -0.5, 0.5, True), lambda x: F.hardtanh(x, -0.5, 0.5)),
    (lambda x: F.relu6(x, True), F.relu6), (F.selu_, F.selu),
    (lambda x: F.celu(x, 2.0, True), lambda x: F.celu(x, 2.0)),
    (lambda x: F.threshold_(x, 0.1, -1.0), lambda x: F.threshold(x, 0.1, -1.0)),
    (lambda x: F.hardswish(x, True), F.hardswish), (lambda x: F.silu(x, inplace=True), F.silu),
    (lambda x: F.mish(x, inplace=True), F.mish), (nn.ReLU(inplace=True), F.relu),
    (nn.Hardsigmoid(True), F.hardsigmoid),
])
def test_inplace_writes_into_the_input_and_keeps_gradients_right(call, reference):
    """The result is the input itself, changed; inside autograd the gradient is the same as for
    the out-of-place function (the input's old value stays available to the graph)."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 4)) * 3
    leaf = tsf.tensor(data, requires_grad=True)
    middle = leaf * 1.0
    out = call(middle)
    assert out is middle
    expected_leaf = tsf.tensor(data, requires_grad=True)
    expected = reference(expected_leaf * 1.0)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy())
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), expected_leaf.grad.numpy())
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        call(tsf.tensor(data, requires_grad=True))
    plain = tsf.tensor(data)
    with tsf.no_grad():
        assert call(plain) is plain
    np.testing.assert_allclose(plain.numpy(), expected.detach().numpy())


# --- dropout family -----------------------------------------------------------------------------
@pytest.mark.parametrize("function, shape, per", [
    (F.dropout1d, (40, 30, 7), (0, 1)), (F.dropout1d, (30, 7), (0,)),
    (F.dropout2d, (40, 30, 3, 4), (0, 1)), (F.dropout3d, (40, 30, 2, 3, 2), (0, 1)),
    (F.dropout3d, (30, 2, 3, 2), (0,)), (F.feature_alpha_dropout, (40, 30, 5), (0, 1)),
])
def test_channel_dropout_drops_whole_channels_with_probability_p(function, shape, per):
    tsf.manual_seed(0)
    p = 0.3
    x = tsf.ones(*shape)
    out = function(x, p, training=True).numpy()
    spatial = tuple(range(len(per), len(shape)))
    lo, hi = out.min(axis=spatial), out.max(axis=spatial)
    np.testing.assert_array_equal(lo, hi)  # one value per (sample, channel)
    dropped = lo != (lo.max())
    assert abs(dropped.mean() - p) < 0.05
    if function is not F.feature_alpha_dropout:
        np.testing.assert_allclose(np.unique(lo), [0.0, 1 / (1 - p)], rtol=1e-6)
    np.testing.assert_array_equal(function(x, p, training=False).numpy(), x.numpy())


def test_dropout2d_reads_3d_input_as_batched_channels_with_pytorchs_warning():
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d and assuming that "
                                         "channel-wise 1D dropout behavior is desired"):
        out = F.dropout2d(tsf.ones(20, 30, 5), 0.5).numpy()
    np.testing.assert_array_equal(out.min(-1), out.max(-1))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a "
                                           "4D input"):
        F.dropout1d(tsf.ones(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
        F.feature_alpha_dropout(tsf.ones(4), training=True)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but "
                                         "got 1.5"):
        nn.AlphaDropout(1.5)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_alpha_dropout_keeps_selu_activations_normalised(p):
    """The point of alpha dropout: SELU's fixed point (mean 0, variance 1) survives it."""
    tsf.manual_seed(1)
    x = F.selu(tsf.randn(200_000, dtype=tsf.float64))
    out = F.alpha_dropout(x, p, training=True).numpy()
    assert abs(out.mean() - x.numpy().mean()) < 0.01
    assert abs(out.var() - x.numpy().var()) < 0.02
    dropped = np.isclose(out, out.min())
    assert abs(dropped.mean() - p) < 0.01
    assert F.alpha_dropout(x, p).numpy() is not None  # training=False by default: identity
    np.testing.assert_array_equal(F.alpha_dropout(x, p).numpy(), x.numpy())


def test_dropout_gradient_is_the_mask():
    tsf.manual_seed(2)
    x = tsf.randn(50, 8, 3, requires_grad=True)
    out = F.dropout1d(x, 0.5)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), out.detach().numpy() / x.detach().numpy(),
                               rtol=1e-5)


def test_rrelu_draws_slopes_in_range_while_training():
    tsf.manual_seed(3)
    x = -tsf.ones(10_000)
    slopes = -F.rrelu(x, 0.1, 0.3, training=True).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.005
    np.testing.assert_allclose(F.rrelu(x, 0.1, 0.3).numpy(), 0.2 * x.numpy(), rtol=1e-6)
    x = tsf.full((5,), -1.0, requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -y.detach().numpy(), rtol=1e-6)


# --- softmax's implicit dimension, deprecated loss arguments, positional order ------------------
@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_without_dim_picks_pytorchs_dimension_with_its_warning(ndim):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)[:ndim])
    for ours, theirs in [(F.softmax, torch.nn.functional.softmax),
                         (F.softmin, torch.nn.functional.softmin),
                         (F.log_softmax, torch.nn.functional.log_softmax)]:
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            got = ours(tsf.tensor(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = theirs(torch.tensor(x))
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("size_average, reduce", [(None, False), (False, None), (True, True),
                                                  (False, True), (True, False)])
def test_deprecated_size_average_and_reduce_override_reduction(size_average, reduce):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    labels = np.array([0, 2, 1, 1])
    for ours, theirs, target in [(F.mse_loss, torch.nn.functional.mse_loss, y),
                                 (F.smooth_l1_loss, torch.nn.functional.smooth_l1_loss, y),
                                 (F.cross_entropy, torch.nn.functional.cross_entropy, labels),
                                 (F.soft_margin_loss, torch.nn.functional.soft_margin_loss,
                                  np.sign(y))]:
        kwargs = dict(size_average=size_average, reduce=reduce, reduction="sum")
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            got = ours(tsf.tensor(x), tsf.tensor(target), **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = theirs(torch.tensor(x), torch.tensor(target), **kwargs)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning):
        module = nn.NLLLoss(size_average=False)
    assert module.reduction == "sum"


def test_loss_functions_take_pytorchs_positional_order():
    """F.cross_entropy(input, target, weight, size_average, ignore_index, reduce, reduction,
    label_smoothing): code that passes these positionally gets the same result."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, labels, w = rng.standard_normal((5, 3)), np.array([0, 1, 2, 1, 0]), rng.uniform(0.5, 2, 3)
    got = F.cross_entropy(tsf.tensor(x), tsf.tensor(labels), tsf.tensor(w), None, 1, None, "sum",
                          0.1)
    expected = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(labels),
                                                 torch.tensor(w), None, 1, None, "sum", 0.1)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)
    got = F.poisson_nll_loss(tsf.tensor(x), tsf.tensor(np.abs(x)), False, True, None, 0.5)
    expected = torch.nn.functional.poisson_nll_loss(torch.tensor(x), torch.tensor(np.abs(x)),
                                                    False, True, None, 0.5)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_weights_of_mse_l1_and_huber(loss, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, y, w = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.uniform(0, 2, (4, 3))
    for name in (loss, "huber_loss"):
        xo = tsf.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        got = getattr(F, name)(xo, tsf.tensor(y), reduction=reduction, weight=tsf.tensor(w))
        expected = getattr(torch.nn.functional, name)(xt, torch.tensor(y), reduction=reduction,
                                                      weight=torch.tensor(w))
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
        got.sum().backward()
        expected.sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        F.mse_loss(tsf.tensor(x), tsf.tensor(y), weight=tsf.ones(3))


def test_kl_div_mean_warns_like_pytorch_and_batchmean_is_the_divergence():
    p = np.array([[0.2, 0.8], [0.5, 0.5]])
    q = np.array([[0.4, 0.6], [0.1, 0.9]])
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss by both"):
        F.kl_div(tsf.tensor(np.log(q)), tsf.tensor(p))
    exact = (p * np.log(p / q)).sum() / 2
    assert float(F.kl_div(tsf.tensor(np.log(q)), tsf.tensor(p), reduction="batchmean")) == \
        pytest.approx(exact, rel=1e-6)
    assert float(F.kl_div(tsf.tensor(np.log(q)), tsf.tensor(np.log(p)), reduction="batchmean",
                          log_target=True)) == pytest.approx(exact, rel=1e-6)


# --- errors, compared with PyTorch's own messages -----------------------------------------------
def _both(torch, call):
    """The exception type and message of ``call`` in both libraries."""
    outcomes = []
    for lib in (tsf, torch):
        try:
            call(lib)
        except Exception as error:  # noqa: BLE001 - the type is part of what is compared
            outcomes.append((type(error), str(error)))
        else:
            outcomes.append(None)
    return outcomes


ERRORS = {
    "linear_input_dtype": lambda t: t.nn.functional.linear(t.ones(2, 4, dtype=t.float64),
                                                           t.ones(3, 4)),
    "linear_bias_case": lambda t: t.nn.functional.linear(t.ones(2, 4, dtype=t.float64),
                                                         t.ones(3, 4), t.ones(3)),
    "linear_long_input": lambda t: t.nn.functional.linear(t.ones(5, 2, 4, dtype=t.int64),
                                                          t.ones(3, 4), t.ones(3)),
    "linear_bias_dtype": lambda t: t.nn.functional.linear(t.ones(2, 4), t.ones(3, 4),
                                                          t.ones(3, dtype=t.float64)),
    "Linear_module": lambda t: t.nn.Linear(4, 3)(t.ones(2, 4, dtype=t.float64)),
    "conv_weight_dtype": lambda t: t.nn.functional.conv2d(t.ones(1, 3, 5, 5, dtype=t.float64),
                                                          t.ones(2, 3, 3, 3)),
    "conv_bias_dtype": lambda t: t.nn.functional.conv2d(t.ones(1, 3, 5, 5, dtype=t.float64),
                                                        t.ones(2, 3, 3, 3), t.ones(2)),
    "conv_long_input": lambda t: t.nn.functional.conv2d(t.ones(1, 3, 5, 5, dtype=t.int64),
                                                        t.ones(2, 3, 3, 3)),
    "Conv2d_module": lambda t: t.nn.Conv2d(3, 2, 3)(t.ones(1, 3, 5, 5, dtype=t.float64)),
    "nll_weight_dtype": lambda t: t.nn.functional.nll_loss(
        t.ones(2, 3, dtype=t.float64), t.tensor([0, 1]), t.ones(3)),
    "bce_target_dtype": lambda t: t.nn.functional.binary_cross_entropy(
        t.full((2,), 0.5), t.ones(2, dtype=t.float64)),
    "bce_input_range": lambda t: t.nn.functional.binary_cross_entropy(
        t.tensor([0.5, 1.5]), t.tensor([1.0, 0.0])),
    "hardtanh_bounds": lambda t: t.nn.functional.hardtanh(t.ones(2), 2.0, 1.0),
    "glu_odd": lambda t: t.nn.functional.glu(t.ones(2, 3), 1),
    "glu_scalar": lambda t: t.nn.functional.glu(t.tensor(1.0)),
    "prelu_channels": lambda t: t.nn.functional.prelu(t.ones(2, 3, 4), t.ones(2)),
    "prelu_weight_2d": lambda t: t.nn.functional.prelu(t.ones(2, 3, 4), t.ones(3, 1)),
    "softmax2d_rank": lambda t: t.nn.Softmax2d()(t.ones(2, 3)),
    "rrelu_bounds": lambda t: t.nn.functional.rrelu(t.ones(3), 0.5, 0.2, training=True),
    "celu_zero": lambda t: t.nn.functional.celu(t.ones(3), 0.0),
    "smooth_l1_beta": lambda t: t.nn.functional.smooth_l1_loss(t.ones(2), t.ones(2), beta=-1.0),
    "huber_delta": lambda t: t.nn.functional.huber_loss(t.ones(2), t.ones(2), delta=0.0),
    "kl_reduction": lambda t: t.nn.functional.kl_div(t.ones(2), t.ones(2), reduction="avg"),
    "gaussian_negative_var": lambda t: t.nn.functional.gaussian_nll_loss(
        t.ones(2, 3), t.ones(2, 3), -t.ones(2, 3)),
    "gaussian_var_size": lambda t: t.nn.functional.gaussian_nll_loss(
        t.ones(4, 3), t.ones(4, 3), t.ones(4, 2)),
    "gaussian_reduction": lambda t: t.nn.functional.gaussian_nll_loss(
        t.ones(4, 3), t.ones(4, 3), t.ones(4, 3), reduction="avg"),
    "cosine_target_2d": lambda t: t.nn.functional.cosine_embedding_loss(
        t.ones(4, 3), t.ones(4, 3), t.ones(4, 1)),
    "cosine_input_rank": lambda t: t.nn.functional.cosine_embedding_loss(
        t.ones(1, 4, 3), t.ones(1, 4, 3), t.ones(4)),
    "margin_ranking_ranks": lambda t: t.nn.functional.margin_ranking_loss(
        t.ones(4, 3), t.ones(3), t.ones(4, 3)),
    "triplet_ranks": lambda t: t.nn.functional.triplet_margin_loss(
        t.ones(4, 3), t.ones(4, 3), t.ones(3)),
    "triplet_distance_margin": lambda t: t.nn.functional.triplet_margin_with_distance_loss(
        t.ones(4, 3), t.ones(4, 3), t.ones(4, 3), margin=0),
    "TripletMarginLoss_margin": lambda t: t.nn.TripletMarginLoss(margin=0),
    "multi_margin_p": lambda t: t.nn.functional.multi_margin_loss(t.ones(4, 3),
                                                                  t.tensor([0, 1, 2, 0]), p=3),
    "multi_margin_rank": lambda t: t.nn.functional.multi_margin_loss(t.ones(1, 4, 3),
                                                                     t.tensor([0, 1, 2, 0])),
    "multi_margin_target": lambda t: t.nn.functional.multi_margin_loss(t.ones(4, 3),
                                                                       t.tensor([0, 1, 2])),
    "multi_margin_range": lambda t: t.nn.functional.multi_margin_loss(t.ones(4, 3),
                                                                      t.tensor([0, 1, 2, 3])),
    "multi_margin_weight": lambda t: t.nn.functional.multi_margin_loss(
        t.ones(4, 3), t.tensor([0, 1, 2, 0]), weight=t.ones(2)),
    "MultiMarginLoss_weight": lambda t: t.nn.MultiMarginLoss(weight=t.ones(2, 2)),
    "multilabel_margin_size": lambda t: t.nn.functional.multilabel_margin_loss(
        t.ones(4, 3), t.tensor([[0, 1], [2, -1], [1, 2], [-1, 0]])),
    "multilabel_margin_range": lambda t: t.nn.functional.multilabel_margin_loss(
        t.ones(2, 3), t.tensor([[0, 3, -1], [2, -1, 0]])),
    "multilabel_margin_float": lambda t: t.nn.functional.multilabel_margin_loss(
        t.ones(2, 3), t.zeros(2, 3)),
    "pdist_rank": lambda t: t.nn.functional.pdist(t.ones(1, 4, 3)),
    "pdist_p": lambda t: t.nn.functional.pdist(t.ones(4, 3), -1),
    "ctc_input_length": lambda t: t.nn.functional.ctc_loss(
        t.zeros(6, 2, 4), t.tensor([[1, 2, 2], [3, 1, 0]]), t.tensor([7, 5]), t.tensor([3, 2])),
    "ctc_negative_length": lambda t: t.nn.functional.ctc_loss(
        t.zeros(6, 2, 4), t.tensor([[1, 2, 2], [3, 1, 0]]), t.tensor([6, 5]), t.tensor([-1, 2])),
    "ctc_target_width": lambda t: t.nn.functional.ctc_loss(
        t.zeros(6, 2, 4), t.tensor([[1, 2, 2], [3, 1, 0]]), t.tensor([6, 5]), t.tensor([4, 2])),
    "ctc_concatenated_size": lambda t: t.nn.functional.ctc_loss(
        t.zeros(6, 2, 4), t.tensor([1, 2, 2, 3]), t.tensor([6, 5]), t.tensor([3, 2])),
    "ctc_lengths_size": lambda t: t.nn.functional.ctc_loss(
        t.zeros(6, 2, 4), t.tensor([[1, 2, 2], [3, 1, 0]]), t.tensor([6]), t.tensor([3, 2])),
    "ctc_blank": lambda t: t.nn.functional.ctc_loss(
        t.zeros(6, 2, 4), t.tensor([[1, 2, 2], [3, 1, 0]]), t.tensor([6, 5]), t.tensor([3, 2]),
        blank=4),
    "ctc_float_lengths": lambda t: t.nn.functional.ctc_loss(
        t.zeros(6, 2, 4), t.tensor([[1, 2, 2], [3, 1, 0]]), t.tensor([6.0, 5.0]),
        t.tensor([3, 2])),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_pytorchs(name):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = _both(torch, ERRORS[name])
    assert theirs is not None, "PyTorch accepts this call; the case is wrong"
    assert ours is not None, f"no error; PyTorch raises {theirs}"
    # Shapes print as [4, 3] here, as torch.Size([4, 3]) in PyTorch.
    assert ours[1] == re.sub(r"torch\.Size\((\[[\d, ]*\])\)", r"\1", theirs[1])
    assert issubclass(ours[0], theirs[0]) or (theirs[0] is AssertionError)


def test_integer_and_float64_inputs_still_work_after_an_explicit_cast():
    layer = nn.Linear(4, 3)
    x = tsf.ones(2, 4, dtype=tsf.int64)
    assert layer(x.float()).dtype == tsf.float32
    assert layer.double()(tsf.ones(2, 4, dtype=tsf.float64)).dtype == tsf.float64


def test_ctc_second_derivative_raises_as_in_pytorch():
    x = tsf.randn(5, 1, 4, requires_grad=True, dtype=tsf.float64)
    loss = F.ctc_loss(F.log_softmax(x, -1), tsf.tensor([[1, 2]]), [5], [2])
    grad, = tsf.autograd.grad(loss, x, create_graph=True)
    with pytest.raises(RuntimeError, match="derivative for ctc_loss_backward is not implemented"):
        grad.sum().backward()


def test_ctc_loss_of_one_path_is_its_negative_log_probability():
    """T = L frames and no repeats: exactly one alignment, the target itself."""
    rng = np.random.default_rng(5)
    log_probs = np.log(rng.dirichlet(np.ones(4), size=(3, 1)))
    target = [2, 3, 1]
    expected = -sum(log_probs[t, 0, c] for t, c in enumerate(target))
    got = F.ctc_loss(tsf.tensor(log_probs), tsf.tensor([target]), (3,), (3,), reduction="sum")
    assert float(got) == pytest.approx(expected, rel=1e-12)
    # A repeated label needs a blank between its copies: 2 frames cannot read "1 1".
    inf = F.ctc_loss(tsf.tensor(log_probs[:2]), tsf.tensor([[1, 1]]), (2,), (2,),
                     reduction="none")
    assert math.isinf(float(inf[0]))
    zero = F.ctc_loss(tsf.tensor(log_probs[:2]), tsf.tensor([[1, 1]]), (2,), (2,),
                      reduction="none", zero_infinity=True)
    assert float(zero[0]) == 0.0


def test_ctc_loss_module_accepts_lists_int32_and_unbatched_input_like_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    lp = np.log(rng.dirichlet(np.ones(5), size=(7, 2))).astype(np.float32)
    targets = np.array([[1, 2, 2], [3, 4, 0]], dtype=np.int32)
    ours = nn.CTCLoss()(tsf.tensor(lp), tsf.tensor(targets), [7, 6], [3, 2])
    theirs = torch.nn.CTCLoss()(torch.tensor(lp), torch.tensor(targets), [7, 6], [3, 2])
    assert ours.dtype == tsf.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)
    ours = F.ctc_loss(tsf.tensor(lp[:, 0]), tsf.tensor([1, 2, 2]), tsf.tensor(7), tsf.tensor(3),
                      reduction="none")
    theirs = torch.nn.functional.ctc_loss(torch.tensor(lp[:, 0]), torch.tensor([1, 2, 2]),
                                          torch.tensor(7), torch.tensor(3), reduction="none")
    assert ours.shape == ()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)


def test_ctc_loss_stays_exact_for_very_peaked_log_probabilities():
    """Prefix probabilities thousands of nats apart (a confident network): the recursion stays
    in log space, so a path that was very unlikely midway but is the only one to finish still
    counts, as in PyTorch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((30, 2, 5)) * 200
    targets, lengths_in = np.array([[1, 2, 3], [4, 4, 1]]), np.array([30, 25])
    xo, xt = tsf.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    ours = F.ctc_loss(F.log_softmax(xo, -1), tsf.tensor(targets), tsf.tensor(lengths_in),
                      (3, 3), reduction="none")
    theirs = torch.nn.functional.ctc_loss(xt.log_softmax(-1), torch.tensor(targets),
                                          torch.tensor(lengths_in), torch.tensor([3, 3]),
                                          reduction="none")
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), atol=1e-9)
