"""Losses: agreement with PyTorch (values and gradients, every reduction and option), numerical
stability on extreme logits, finite-difference checks and error messages."""
import numpy as np
import pytest

import torchsorflow as tsf
import torchsorflow.nn.functional as F
from torchsorflow import nn
from torchsorflow.autodiff import check_grads

rng = np.random.default_rng(0)
LOGITS = rng.standard_normal((6, 4)) * 3
LABELS = np.array([0, 3, 1, 1, 2, 3])
WEIGHT = np.array([0.5, 2.0, 1.0, 0.25])
LOGITS_2D = rng.standard_normal((2, 4, 3, 2))  # (N, C, d1, d2)
LABELS_2D = rng.integers(0, 4, (2, 3, 2))
LABELS_2D[0, 0, 0] = -100
PROBS = rng.dirichlet(np.ones(4), size=6)


def _compare(torch, ours_fn, theirs_fn, input, *rest):
    xo, xt = tsf.tensor(input, requires_grad=True), torch.tensor(input, requires_grad=True)
    lo = ours_fn(xo, *[tsf.tensor(r) for r in rest])
    lt = theirs_fn(xt, *[torch.tensor(r) for r in rest])
    np.testing.assert_allclose(lo.numpy(), lt.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.standard_normal(lo.shape)
    (lo * tsf.tensor(upstream)).sum().backward()
    (lt * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


CE_CASES = [
    {}, {"reduction": "sum"}, {"reduction": "none"}, {"weight": WEIGHT}, {"ignore_index": 1},
    {"weight": WEIGHT, "ignore_index": 3, "label_smoothing": 0.2},
    {"label_smoothing": 0.1, "reduction": "none"}, {"label_smoothing": 0.3, "reduction": "sum"},
]


@pytest.mark.parametrize("kwargs", CE_CASES)
@pytest.mark.parametrize("spatial", [False, True])
def test_cross_entropy_with_class_indices_matches_pytorch(kwargs, spatial):
    torch = pytest.importorskip("torch")
    logits, labels = (LOGITS_2D, LABELS_2D) if spatial else (LOGITS, LABELS)
    if "ignore_index" in kwargs:
        labels = np.where(labels == -100, kwargs["ignore_index"], labels)
    torch_kwargs = {k: torch.tensor(v) if k == "weight" else v for k, v in kwargs.items()}
    _compare(torch, lambda x, t: F.cross_entropy(x, t, **kwargs),
             lambda x, t: torch.nn.functional.cross_entropy(x, t, **torch_kwargs), logits, labels)
    _compare(torch, lambda x, t: F.nll_loss(F.log_softmax(x, 1), t, **{
        k: v for k, v in kwargs.items() if k != "label_smoothing"}),
        lambda x, t: torch.nn.functional.nll_loss(torch.log_softmax(x, 1), t, **{
            k: v for k, v in torch_kwargs.items() if k != "label_smoothing"}), logits, labels)


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.2}, {"weight": WEIGHT},
                                    {"reduction": "none"}])
def test_cross_entropy_with_probability_targets_matches_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    torch_kwargs = {k: torch.tensor(v) if k == "weight" else v for k, v in kwargs.items()}
    _compare(torch, lambda x, t: F.cross_entropy(x, t, **kwargs),
             lambda x, t: torch.nn.functional.cross_entropy(x, t, **torch_kwargs), LOGITS, PROBS)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_and_binary_losses_match_pytorch(reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    bits = rng.integers(0, 2, (5, 3)).astype(np.float64)
    weight, pos_weight = rng.uniform(0.5, 2, 3), rng.uniform(0.5, 3, 3)
    _compare(torch, lambda a, b: F.mse_loss(a, b, reduction=reduction),
             lambda a, b: tf.mse_loss(a, b, reduction=reduction), x, target)
    _compare(torch, lambda a, b: F.l1_loss(a, b, reduction=reduction),
             lambda a, b: tf.l1_loss(a, b, reduction=reduction), x, target)
    _compare(torch, lambda a, b: F.binary_cross_entropy(F.sigmoid(a), b, reduction=reduction),
             lambda a, b: tf.binary_cross_entropy(torch.sigmoid(a), b, reduction=reduction),
             x, bits)
    _compare(torch, lambda a, b, w, p: F.binary_cross_entropy_with_logits(
        a, b, w, reduction=reduction, pos_weight=p),
        lambda a, b, w, p: tf.binary_cross_entropy_with_logits(
            a, b, w, reduction=reduction, pos_weight=p), x * 5, bits, weight, pos_weight)


def test_losses_from_logits_are_stable_for_extreme_values():
    logits = tsf.tensor(np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 5.0]]), requires_grad=True)
    loss = F.cross_entropy(logits, tsf.tensor([1, 0])) + F.binary_cross_entropy_with_logits(
        logits, tsf.tensor(np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])))
    loss.backward()
    assert np.isfinite(loss.numpy()) and np.isfinite(logits.grad.numpy()).all()
    # −log softmax picks the logit gap: (1000 − (−1000)) and (1e4 − (−1e4)), averaged.
    ce = F.cross_entropy(logits.detach(), tsf.tensor([1, 0]))
    assert float(ce) == pytest.approx((2000.0 + 2e4) / 2)


@pytest.mark.parametrize("loss", [
    lambda x: F.cross_entropy(x, tsf.tensor(LABELS), tsf.tensor(WEIGHT), label_smoothing=0.1),
    lambda x: F.cross_entropy(x, tsf.tensor(PROBS)),
    lambda x: F.nll_loss(F.log_softmax(x, 1), tsf.tensor(LABELS), ignore_index=3),
    lambda x: F.mse_loss(x, tsf.tensor(LOGITS[::-1].copy())),
    lambda x: F.binary_cross_entropy_with_logits(x, tsf.tensor((LOGITS > 0) * 1.0),
                                                 pos_weight=tsf.tensor(WEIGHT)),
    lambda x: F.binary_cross_entropy(F.sigmoid(x), tsf.tensor((LOGITS > 1) * 1.0)),
])
def test_loss_passes_finite_differences_to_second_order(loss):
    check_grads(loss, [LOGITS], modes=("fwd", "rev"), order=2)


def test_loss_modules_and_errors():
    torch = pytest.importorskip("torch")
    module = nn.CrossEntropyLoss(weight=tsf.tensor(WEIGHT), label_smoothing=0.05)
    expected = torch.nn.CrossEntropyLoss(weight=torch.tensor(WEIGHT), label_smoothing=0.05)(
        torch.tensor(LOGITS), torch.tensor(LABELS))
    assert float(module(tsf.tensor(LOGITS), tsf.tensor(LABELS))) == pytest.approx(float(expected))
    assert list(module.state_dict()) == list(torch.nn.CrossEntropyLoss(
        weight=torch.tensor(WEIGHT)).state_dict())
    with pytest.raises(IndexError, match="Target 4 is out of bounds."):
        F.cross_entropy(tsf.tensor(LOGITS), tsf.tensor([0, 1, 4, 0, 0, 0]))
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match=r"target size \(2,\) must be the same as input size"):
        F.mse_loss(tsf.ones(3), tsf.ones(2))
