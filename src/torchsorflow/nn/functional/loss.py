"""Loss functions with PyTorch's arguments, defaults and reductions (re-exported by
``nn.functional``).

Every function takes PyTorch's positional order, including the deprecated ``size_average`` and
``reduce`` arguments (which, when given, override ``reduction`` with PyTorch's warning).

Cross-entropy is computed from *logits* through ``log_softmax``, whose log-sum-exp is shifted by the
maximum, so huge logits neither overflow nor lose the gradient:

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> F.cross_entropy(tsf.tensor([[1000.0, 0.0]]), tsf.tensor([1]))
tensor(1000.)
>>> F.huber_loss(tsf.tensor([0.0, 0.0]), tsf.tensor([0.5, 3.0]), reduction="none")
tensor([0.125, 2.5  ])
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ... import ops
from ...ops import activations as act, losses as fused
from ...tensor import Tensor
from ._common import as_tensor as _as_tensor, dtype_title
from .distance import clamped_min, pairwise_distance

__all__ = ["nll_loss", "cross_entropy", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "smooth_l1_loss", "huber_loss", "kl_div",
           "poisson_nll_loss", "gaussian_nll_loss", "cosine_embedding_loss",
           "margin_ranking_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "hinge_embedding_loss", "multilabel_soft_margin_loss", "soft_margin_loss",
           "multi_margin_loss", "multilabel_margin_loss", "ctc_loss"]

_REDUCTIONS = ("none", "mean", "sum")


# --- reductions ----------------------------------------------------------------------------------
def _reduce(loss, reduction):
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def _check_reduction(reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def legacy_reduction(size_average, reduce, reduction, allowed=_REDUCTIONS):
    """``reduction``, checked to be one of ``allowed``, or the one the deprecated
    ``size_average``/``reduce`` pair stands for when either is given (both default to True),
    with PyTorch's deprecation warning."""
    if size_average is None and reduce is None:
        _check_reduction(reduction, allowed)
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "mean" if size_average and reduce else ("sum" if reduce else "none")
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{result}' instead.", stacklevel=3)
    return result


def _weighted_reduce(loss, weight, reduction):
    """Reduce ``loss`` (already broadcast) optionally weighted element-wise: the 'mean' of a
    weighted loss divides by the total weight (PyTorch's mse_loss/l1_loss)."""
    if weight is None:
        return _reduce(loss, reduction)
    weight = _as_tensor(weight)
    if weight.shape != loss.shape:
        raise ValueError("Weights and input must have the same size.")
    weighted = ops.mul(loss, weight)
    if reduction == "mean":
        return ops.div(ops.sum(weighted), ops.sum(weight))
    return _reduce(weighted, reduction)


# --- argument checks -----------------------------------------------------------------------------
def _check_same_shape(name, input, target):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{name}: target size {tuple(target.shape)} must be the same as input "
                         f"size {tuple(input.shape)}")


def _check_weight_dtype(input, weight):
    if isinstance(weight, Tensor) and weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {dtype_title(input.dtype)} but found "
                           f"{dtype_title(weight.dtype)}")


def _labels(target, name):
    labels = np.asarray(target._array if isinstance(target, Tensor) else target)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{name}: target must hold integer class indices, got dtype "
                        f"{labels.dtype}")
    return labels


def _classes_last(input):
    """(N, C, d1, ...) → (N·d1·..., C) so that class scores are rows; (C,) → (1, C)."""
    if input.ndim == 1:
        return ops.reshape(input, (1, -1))
    if input.ndim > 2:
        input = ops.permute(input, (0,) + tuple(range(2, input.ndim)) + (1,))
    return ops.reshape(input, (-1, input.shape[-1]))


# --- classification ------------------------------------------------------------------------------
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """−weight[t]·input[t] for log-probabilities ``input`` (N, C, ...) and labels ``target``.

    ``'mean'`` divides by the total weight of the non-ignored targets, as PyTorch does.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    input = _as_tensor(input)
    _check_weight_dtype(input, weight)
    labels = _labels(target, "nll_loss")
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if labels.shape != expected:
        raise ValueError(f"nll_loss: expected target of shape {expected} for input of shape "
                         f"{input.shape}, got {labels.shape}")
    rows = _classes_last(input)
    classes = rows.shape[1]
    flat = labels.reshape(-1)
    kept = flat != ignore_index
    bad = kept & ((flat < 0) | (flat >= classes))
    if bad.any():
        raise IndexError(f"Target {flat[bad][0]} is out of bounds.")
    safe = np.where(kept, flat, 0)
    picked = ops.getitem(rows, (np.arange(flat.size), safe))
    per_item = Tensor._wrap(kept.astype(input.dtype))  # 0 for ignored targets
    if weight is not None:
        per_item = ops.mul(ops.getitem(_as_tensor(weight), safe), per_item)
    loss = ops.neg(ops.mul(picked, per_item))
    if reduction == "none":
        return ops.reshape(loss, labels.shape)
    total = ops.sum(loss)
    return total if reduction == "sum" else ops.div(total, ops.sum(per_item))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C, ...) and class indices or class probabilities.

    Integer ``target`` holds labels (with ``ignore_index`` and class ``weight``); a floating
    ``target`` of the input's shape holds probabilities. ``label_smoothing`` ε mixes the target
    with the uniform distribution: (1−ε)·target + ε/C.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    input = _as_tensor(input)
    _check_weight_dtype(input, weight)
    class_dim = 0 if input.ndim == 1 else 1
    log_probs = ops.log_softmax(input, class_dim)
    classes = input.shape[class_dim]
    target_array = target._array if isinstance(target, Tensor) else np.asarray(target)
    w_shape = (classes,) + (1,) * (input.ndim - class_dim - 1)
    if np.issubdtype(target_array.dtype, np.floating):  # class probabilities
        if target_array.shape != input.shape:
            raise ValueError(f"cross_entropy: probability target of shape {target_array.shape} "
                             f"must match the input's shape {input.shape}")
        target = _as_tensor(target)
        if label_smoothing > 0:
            target = ops.add(ops.mul(target, 1.0 - label_smoothing), label_smoothing / classes)
        terms = ops.mul(log_probs, target)
        if weight is not None:
            terms = ops.mul(terms, ops.reshape(_as_tensor(weight), w_shape))
        loss = ops.neg(ops.sum(terms, class_dim))
        return _reduce(loss, reduction)
    nll = nll_loss(log_probs, target_array, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0.0:
        return nll
    ignored = Tensor._wrap((target_array == ignore_index).astype(input.dtype))
    weighted = log_probs if weight is None else ops.mul(
        log_probs, ops.reshape(_as_tensor(weight), w_shape))
    smooth = ops.mul(ops.neg(ops.sum(weighted, class_dim)), ops.sub(1.0, ignored))
    if reduction == "mean":
        kept = target_array != ignore_index
        if weight is None:
            denominator = float(kept.sum())
        else:
            denominator = ops.sum(ops.getitem(_as_tensor(weight), target_array[kept]))
        smooth = ops.div(ops.sum(smooth), denominator)
    elif reduction == "sum":
        smooth = ops.sum(smooth)
    return ops.add(ops.mul(nll, 1.0 - label_smoothing), ops.mul(smooth, label_smoothing / classes))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """BCE on probabilities; log is clamped at −100 as in PyTorch so 0 and 1 stay finite."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape("binary_cross_entropy", input, target)
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {dtype_title(target.dtype)} but expected "
                           f"{dtype_title(input.dtype)}")
    if input.numel() and not (0 <= input._array.min() and input._array.max() <= 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    log_p = ops.clamp(ops.log(input), -100.0, None)
    log_not_p = ops.clamp(ops.log(ops.sub(1.0, input)), -100.0, None)
    loss = ops.neg(ops.add(ops.mul(target, log_p), ops.mul(ops.sub(1.0, target), log_not_p)))
    if weight is not None:
        loss = ops.mul(loss, weight)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """BCE on logits x: (1−t)·x + (1 + (pos_weight−1)·t)·softplus(−x), stable for any x."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    softplus_neg = ops.softplus(ops.neg(input))  # −log σ(x), computed without overflow
    if pos_weight is None:
        log_weight = 1.0
    else:
        log_weight = ops.add(ops.mul(ops.sub(_as_tensor(pos_weight), 1.0), target), 1.0)
    loss = ops.add(ops.mul(ops.sub(1.0, target), input), ops.mul(log_weight, softplus_neg))
    if weight is not None:
        loss = ops.mul(loss, weight)
    return _reduce(loss, reduction)


# --- regression ----------------------------------------------------------------------------------
def _of_difference(name, function, input, target, reduction, weight):
    """``function(input − target)``, weighted and reduced (mse_loss, l1_loss)."""
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape(name, input, target)
    return _weighted_reduce(function(ops.sub(input, target)), weight, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(input − target)², optionally weighted per element."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _of_difference("mse_loss", ops.square, input, target, reduction, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|input − target|, optionally weighted per element."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _of_difference("l1_loss", ops.abs, input, target, reduction, weight)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """½d²/β where |d| < β, |d| − ½β beyond (d = input − target); L1 for β = 0."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape("smooth_l1_loss", input, target)
    diff = ops.sub(input, target)
    if beta == 0:
        return _reduce(ops.abs(diff), reduction)
    return _reduce(ops.div(fused.huber(diff, delta=beta), beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """½d² where |d| < δ, δ(|d| − ½δ) beyond; ``weight`` scales each element ('mean' stays the
    plain mean, as in PyTorch)."""
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape("huber_loss", input, target)
    loss = fused.huber(ops.sub(input, target), delta=delta)
    if weight is not None:
        weight = _as_tensor(weight)
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        loss = ops.mul(loss, weight)
    return _reduce(loss, reduction)


def _xlogx(x):
    """x·log x, taken as 0 at x = 0."""
    positive = ops.greater(x, 0)
    return ops.where(positive, ops.mul(x, ops.log(ops.where(positive, x, 1.0))), 0.0)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Σ target·(log target − input) for log-probabilities ``input``; ``log_target``: the target
    is given as log-probabilities too. ``'batchmean'`` divides the sum by the batch size (the
    KL divergence proper); ``'mean'`` divides by the number of elements (with PyTorch's
    warning)."""
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    reduction = legacy_reduction(size_average, reduce, reduction, _REDUCTIONS + ("batchmean",))
    input, target = _as_tensor(input), _as_tensor(target)
    if log_target:
        loss = ops.mul(ops.exp(target), ops.sub(target, input))
    else:
        loss = ops.sub(_xlogx(target), ops.mul(target, input))
    if reduction == "batchmean":
        total = ops.sum(loss)
        return ops.div(total, input.shape[0]) if input.ndim else total
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log-likelihood: exp(input) − target·input for a log-rate ``input``,
    input − target·log(input + eps) for a rate; ``full`` adds Stirling's approximation of
    log(target!) where target > 1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    if log_input:
        loss = ops.sub(ops.exp(input), ops.mul(target, input))
    else:
        loss = ops.sub(input, ops.mul(target, ops.log(ops.add(input, eps))))
    if full:
        large = ops.greater(target, 1)
        safe = ops.where(large, target, 1.0)
        stirling = ops.add(ops.sub(ops.mul(safe, ops.log(safe)), safe),
                           ops.mul(0.5, ops.log(ops.mul(2 * math.pi, safe))))
        loss = ops.add(loss, ops.where(large, stirling, 0.0))
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """½(log var + (input − target)²/var) (+ ½log 2π with ``full``): the negative log-likelihood
    of ``target`` under Gaussians with means ``input`` and variances ``var``.

    ``var`` is one variance per element, or one per sample (the shape of ``input`` without its
    last dimension, or with one dimension of size 1), or a number. It is clamped at ``eps``
    for stability without stopping its gradient, as in PyTorch.
    """
    input, target = _as_tensor(input), _as_tensor(target)
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = ops.full_like(input, float(var))
    else:
        var = _as_tensor(var)
        if bool((var._array < 0).any()):
            raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = ops.unsqueeze(var, -1)
        elif not (input.ndim == var.ndim and sum(
                v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    var = clamped_min(var, eps)
    loss = ops.mul(0.5, ops.add(ops.log(var), ops.div(ops.square(ops.sub(input, target)), var)))
    if full:
        loss = ops.add(loss, 0.5 * math.log(2 * math.pi))
    return _reduce(loss, reduction)


# --- margins and embeddings ----------------------------------------------------------------------
def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 − cos(x1, x2) for target 1, max(0, cos(x1, x2) − margin) for target −1, with the
    cosine taken along dimension 1 (0 for unbatched 1-D inputs)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input1, input2, target = _as_tensor(input1), _as_tensor(input2), _as_tensor(target)
    if target.ndim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    wanted = target.ndim + 1
    if input1.ndim != wanted or input2.ndim != wanted:
        raise RuntimeError(f"{target.ndim}D target tensor expects {wanted}D input tensors, but "
                           f"found inputs with sizes {list(input1.shape)} and "
                           f"{list(input2.shape)}.")
    dim = target.ndim
    tiny = 1e-12  # PyTorch's guard for zero vectors
    dot = ops.sum(ops.mul(input1, input2), dim)
    norms = ops.mul(ops.add(ops.sum(ops.square(input1), dim), tiny),
                    ops.add(ops.sum(ops.square(input2), dim), tiny))
    cos = ops.div(dot, ops.sqrt(norms))
    positive = ops.where(ops.equal(target, 1), ops.sub(1.0, cos), 0.0)
    negative = ops.where(ops.equal(target, -1), ops.clamp_min(ops.sub(cos, margin), 0.0), 0.0)
    return _reduce(ops.add(positive, negative), reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, −target·(input1 − input2) + margin): input1 should rank above input2 where
    target = 1 and below where target = −1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input1, input2, target = _as_tensor(input1), _as_tensor(input2), _as_tensor(target)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {list(input1.shape)}, input2: "
                           f"{list(input2.shape)}, target: {list(target.shape)} ")
    loss = ops.clamp_min(ops.add(ops.mul(ops.neg(target), ops.sub(input1, input2)), margin), 0.0)
    return _reduce(loss, reduction)


def _check_triplet_ranks(anchor, positive, negative):
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {anchor.ndim}D, positive "
                           f"{positive.ndim}D, and negative {negative.ndim}D inputs")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(d(a, p) − d(a, n) + margin, 0) with the p-norm distance d; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance (Balntas et al., 2016)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    anchor, positive, negative = map(_as_tensor, (anchor, positive, negative))
    _check_triplet_ranks(anchor, positive, negative)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = ops.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(ops.clamp_min(ops.add(ops.sub(d_pos, d_neg), margin), 0.0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """The triplet loss with any ``distance_function(x, y)`` (pairwise_distance by default)."""
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    anchor, positive, negative = map(_as_tensor, (anchor, positive, negative))
    _check_triplet_ranks(anchor, positive, negative)
    distance = distance_function if distance_function is not None else pairwise_distance
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = ops.minimum(d_neg, distance(positive, negative))
    return _reduce(ops.clamp_min(ops.add(ops.sub(d_pos, d_neg), margin), 0.0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """input where target = 1, max(0, margin − input) where target = −1 (``input`` is usually a
    distance)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    below = ops.where(ops.not_equal(target, 1), ops.clamp_min(ops.sub(margin, input), 0.0), 0.0)
    itself = ops.where(ops.not_equal(target, -1), input, 0.0)
    return _reduce(ops.add(below, itself), reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(−target·input)) for targets ±1 (a logistic loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    return _reduce(ops.softplus(ops.neg(ops.mul(target, input))), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """One-versus-all logistic loss averaged over the C classes (last dimension) of each
    sample: −(t·log σ(x) + (1 − t)·log σ(−x))."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    loss = ops.neg(ops.add(ops.mul(target, act.logsigmoid(input)),
                           ops.mul(ops.sub(1.0, target), act.logsigmoid(ops.neg(input)))))
    if weight is not None:
        loss = ops.mul(loss, weight)
    class_dim = input.ndim - 1
    loss = ops.div(ops.sum(loss, class_dim), input.shape[class_dim])
    return _reduce(loss, reduction)


def _margin_rows(input):
    """(N, C) rows of scores from a (C,) or (N, C) input."""
    if input.ndim not in (1, 2) or input.numel() == 0:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(input.shape)}")
    return ops.reshape(input, (1, -1)) if input.ndim == 1 else input


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss: Σ_{j≠y} w[y]·max(0, margin − x[y] + x[j])^p / C per sample."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    input = _as_tensor(input)
    rows = _margin_rows(input)
    samples, classes = rows.shape
    labels = _labels(target, "multi_margin_loss")
    if labels.size != samples or (input.ndim == 2 and labels.shape != (samples,)):
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to "
                           f"the number of input samples (batch size). Expected target size "
                           f"[{samples}], but got {list(labels.shape)}. Input has shape "
                           f"{list(input.shape)}.")
    flat = labels.reshape(-1)
    if ((flat < 0) | (flat >= classes)).any():
        raise RuntimeError("target out of range")
    picked = ops.getitem(rows, (np.arange(samples), flat))
    hinge = ops.clamp_min(ops.add(ops.sub(rows, ops.unsqueeze(picked, 1)), margin), 0.0)
    if p == 2:
        hinge = ops.square(hinge)
    others = Tensor._wrap((np.arange(classes)[None, :] != flat[:, None]).astype(input.dtype))
    hinge = ops.mul(hinge, others)
    if weight is not None:
        weight = _as_tensor(weight)
        if weight.ndim != 1 or weight.shape[0] != classes:
            raise RuntimeError(f"inconsistent weight size, expected {classes} but got "
                               f"{list(weight.shape)}")
        hinge = ops.mul(hinge, ops.unsqueeze(ops.getitem(weight, flat), 1))
    loss = ops.div(ops.sum(hinge, 1), classes)
    if input.ndim == 1:
        loss = ops.reshape(loss, labels.shape)
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss: Σ over target labels j and non-target classes k of
    max(0, 1 − (x[j] − x[k])) / C. Each row of ``target`` lists label indices, ended by the
    first −1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input = _as_tensor(input)
    rows = _margin_rows(input)
    samples, classes = rows.shape
    labels = np.asarray(target._array if isinstance(target, Tensor) else target)
    if not np.issubdtype(labels.dtype, np.integer):
        raise RuntimeError(f"expected scalar type Long but found {dtype_title(labels.dtype)}")
    if labels.shape != input.shape:
        raise RuntimeError(f"inconsistent target size: {list(labels.shape)} for input of size: "
                           f"{list(input.shape)}")
    labels = labels.reshape(samples, classes)
    counts = np.zeros((samples, classes), dtype=np.int64)  # how often each class is a target
    for i, row in enumerate(labels):
        ended = np.flatnonzero(row == -1)
        listed = row[:ended[0] if ended.size else classes]
        if ((listed < 0) | (listed >= classes)).any():
            raise RuntimeError("argument #2 'target' is out of range")
        np.add.at(counts[i], listed, 1)
    pairs = counts[:, :, None] * (counts == 0)[:, None, :]   # (target j, non-target k)
    hinge = ops.clamp_min(ops.add(ops.sub(ops.unsqueeze(rows, 1), ops.unsqueeze(rows, 2)), 1.0),
                          0.0)
    hinge = ops.mul(hinge, Tensor._wrap(pairs.astype(input.dtype)))
    loss = ops.div(ops.sum(hinge, (1, 2)), classes)
    if input.ndim == 1:
        loss = ops.reshape(loss, ())
    return _reduce(loss, reduction)


# --- sequences -----------------------------------------------------------------------------------
_CTC_CHECK = " (while checking arguments for ctc_loss_allocate_outputs)"


def _lengths(value, name):
    array = np.asarray(value._array if isinstance(value, Tensor) else value)
    if array.dtype.kind not in "iu":
        raise RuntimeError(f"{name} must be integral")
    return array.astype(np.int64).reshape(-1)


def _ctc_labels(targets, target_lengths, batch):
    """Each sample's label sequence, from padded (N, S) or concatenated targets."""
    if targets.ndim == 1:
        total = int(target_lengths.sum())
        if targets.shape[0] != total:
            raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got "
                               f"size {targets.shape[0]} for argument #2 'targets'{_CTC_CHECK}")
        ends = np.cumsum(target_lengths)
        return [targets[end - length:end] for end, length in zip(ends, target_lengths)]
    if targets.ndim != 2:
        raise RuntimeError(f"ctc_loss: targets must be padded (N, S) or concatenated (sum of "
                           f"target_lengths,), got shape {list(targets.shape)}")
    if targets.shape[0] != batch:
        raise RuntimeError(f"Expected tensor to have size {batch} at dimension 0, but got size "
                           f"{targets.shape[0]} for argument #2 'targets'{_CTC_CHECK}")
    longest = int(target_lengths.max(initial=0))
    if longest > targets.shape[1]:
        raise RuntimeError(f"Expected tensor to have size at least {longest} at dimension 1, "
                           f"but got size {targets.shape[1]} for argument #2 'targets'"
                           f"{_CTC_CHECK}")
    return [row[:length] for row, length in zip(targets, target_lengths)]


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist temporal classification loss (Graves et al., 2006).

    ``log_probs`` (T, N, C) (or unbatched (T, C)) are per-frame log-probabilities, normally a
    ``log_softmax`` over C classes; ``targets`` hold label sequences, padded (N, S) or
    concatenated (sum(target_lengths),); ``input_lengths``/``target_lengths`` give each sample's
    frames and labels (Tensors or sequences of ints). The loss sums over every alignment of the
    target with the frames (see :mod:`torchsorflow.ops.losses`). ``'mean'`` divides each
    sample's loss by its target length before averaging; ``zero_infinity`` turns the infinite
    loss of an impossible alignment (too few frames) into 0 with no gradient.
    """
    _check_reduction(reduction)
    log_probs = _as_tensor(log_probs)
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {log_probs.ndim}-dimensional "
                           f"tensor for argument #1 'log_probs'{_CTC_CHECK}")
    batched = log_probs.ndim == 3
    labels = np.asarray(targets._array if isinstance(targets, Tensor) else targets)
    if labels.dtype.kind == "f":
        labels = labels.astype(np.int64)
    input_lengths = _lengths(input_lengths, "input_lengths")
    target_lengths = _lengths(target_lengths, "target_lengths")
    if not batched:  # one sample; 1-D targets then read as concatenated, as in PyTorch
        log_probs = ops.unsqueeze(log_probs, 1)
    steps, batch, classes = log_probs.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    if input_lengths.shape != (batch,):
        raise RuntimeError("input_lengths must be of size batch_size")
    if target_lengths.shape != (batch,):
        raise RuntimeError("target_lengths must be of size batch_size")
    for name, lengths in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if (lengths < 0).any():
            raise RuntimeError(f"Expected {name} to have value at least 0, but got value "
                               f"{lengths[lengths < 0][0]}{_CTC_CHECK}")
    if (input_lengths > steps).any():
        raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got value "
                           f"{input_lengths.max()}{_CTC_CHECK}")
    sequences = _ctc_labels(labels, target_lengths, batch)
    for n, seq in enumerate(sequences):
        if ((seq < 0) | (seq >= classes)).any():
            raise ValueError(f"ctc_loss: target labels of sample {n} must lie in [0, {classes}), "
                             f"got {seq.tolist()}")
    extended, ext_lengths = fused.ctc_extended_targets(sequences, blank)
    losses = fused.ctc_loss(log_probs, extended=extended, ext_lengths=ext_lengths,
                            input_lengths=input_lengths, zero_infinity=bool(zero_infinity))
    if reduction == "mean":
        per_label = np.maximum(target_lengths, 1).astype(log_probs.dtype)
        return ops.mean(ops.div(losses, Tensor._wrap(per_label)))
    if reduction == "sum":
        return ops.sum(losses)
    return losses if batched else ops.reshape(losses, ())
