"""Loss functions with PyTorch's arguments and reductions (re-exported by ``nn.functional``).

Cross-entropy is computed from *logits* through ``log_softmax``, whose log-sum-exp is shifted by the
maximum, so huge logits neither overflow nor lose the gradient:

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> F.cross_entropy(tsf.tensor([[1000.0, 0.0]]), tsf.tensor([1]))
tensor(1000.)
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _reduce(loss, reduction):
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _classes_last(input):
    """(N, C, d1, ...) → (N·d1·..., C) so that class scores are rows; (C,) → (1, C)."""
    if input.ndim == 1:
        return ops.reshape(input, (1, -1))
    if input.ndim > 2:
        input = ops.permute(input, (0,) + tuple(range(2, input.ndim)) + (1,))
    return ops.reshape(input, (-1, input.shape[-1]))


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """−weight[t]·input[t] for log-probabilities ``input`` (N, C, ...) and labels ``target``.

    ``'mean'`` divides by the total weight of the non-ignored targets, as PyTorch does.
    """
    _check_reduction(reduction)
    input = _as_tensor(input)
    labels = np.asarray(target._array if isinstance(target, Tensor) else target)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError("nll_loss: target must hold integer class indices, got dtype "
                        f"{labels.dtype}")
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


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C, ...) and class indices or class probabilities.

    Integer ``target`` holds labels (with ``ignore_index`` and class ``weight``); a floating
    ``target`` of the input's shape holds probabilities. ``label_smoothing`` ε mixes the target
    with the uniform distribution: (1−ε)·target + ε/C.
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    input = _as_tensor(input)
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
    nll = nll_loss(log_probs, target_array, weight, ignore_index, reduction)
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


def _check_same_shape(name, input, target):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{name}: target size {tuple(target.shape)} must be the same as input "
                         f"size {tuple(input.shape)}")


def mse_loss(input, target, reduction="mean"):
    _check_reduction(reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape("mse_loss", input, target)
    diff = ops.sub(input, target)
    return _reduce(ops.mul(diff, diff), reduction)


def l1_loss(input, target, reduction="mean"):
    _check_reduction(reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape("l1_loss", input, target)
    return _reduce(ops.abs(ops.sub(input, target)), reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """BCE on probabilities; log is clamped at −100 as in PyTorch so 0 and 1 stay finite."""
    _check_reduction(reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape("binary_cross_entropy", input, target)
    log_p = ops.clamp(ops.log(input), -100.0, None)
    log_not_p = ops.clamp(ops.log(ops.sub(1.0, input)), -100.0, None)
    loss = ops.neg(ops.add(ops.mul(target, log_p), ops.mul(ops.sub(1.0, target), log_not_p)))
    if weight is not None:
        loss = ops.mul(loss, weight)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE on logits x: (1−t)·x + (1 + (pos_weight−1)·t)·softplus(−x), stable for any x."""
    _check_reduction(reduction)
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
