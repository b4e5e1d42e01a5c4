"""Sparse functions: one-hot encoding, embedding lookup and bags of embeddings.

:func:`embedding` is one primitive (:mod:`torchsorflow.ops.embedding`): a row gather whose
gradient is a scatter-add into the table, with PyTorch's ``padding_idx`` (that row gets no
gradient) and ``scale_grad_by_freq``. :func:`embedding_bag` sums, averages or takes the maximum of
the embeddings of each bag without materialising a padded batch: a gather of all rows, then one
segment sum (or, for ``'max'``, a pick of each bag's largest entries).

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> table = tsf.arange(6.0).reshape(3, 2)
>>> F.embedding(tsf.tensor([[2, 0]]), table)
tensor([[[4., 5.],
         [0., 1.]]])
>>> F.embedding_bag(tsf.tensor([0, 1, 2]), table, tsf.tensor([0, 1]), mode="sum")
tensor([[0., 1.],
        [6., 8.]])
"""
from __future__ import annotations

import numpy as np

from ... import ops
from ...autodiff.tracer import no_grad
from ...ops.embedding import check_indices, embedding as _gather
from ...ops.shape import _getitem, _scatter_add
from ...tensor import Tensor
from ...ops.creation import as_tensor
from ._common import as_tensor as _as_tensor

__all__ = ["one_hot", "embedding", "embedding_bag"]


def one_hot(tensor, num_classes=-1):
    """Integer class labels to a 0/1 int64 Tensor with one more dimension."""
    labels = np.asarray(tensor._array if isinstance(tensor, Tensor) else tensor)
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got "
                         f"[{labels.min()}, {labels.max()}]")
    return as_tensor((labels[..., None] == np.arange(num_classes)).astype(np.int64))


def _index_array(input):
    return np.asarray(input._array if isinstance(input, Tensor) else input)


def _padding_index(padding_idx, num_embeddings):
    """PyTorch's ``padding_idx`` check; a negative index counts from the end."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return int(padding_idx) % num_embeddings


def _check_sparse(sparse, what):
    if sparse:
        raise NotImplementedError(
            f"{what}: sparse=True (sparse gradients) is not supported by TorchsorFlow; use "
            "sparse=False, which gives the same values with a dense gradient")


def embedding_renorm_(weight, indices, max_norm, norm_type=2.0):
    """Rescale, in place and without gradient, each row of ``weight`` named in ``indices`` whose
    ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm`` (PyTorch's ``embedding_renorm_``,
    including its 1e-7 in the denominator)."""
    rows = np.unique(indices)

    def renorm(array):
        picked = array[rows]
        if norm_type == np.inf:
            norms = np.abs(picked).max(axis=1)
        else:
            norms = (np.abs(picked.astype(np.float64)) ** norm_type).sum(axis=1) ** (1 / norm_type)
        too_long = norms > max_norm
        scale = (max_norm / (norms[too_long] + 1e-7)).astype(array.dtype)
        array[rows[too_long]] = picked[too_long] * scale[:, None]

    with no_grad():
        weight._write("embedding_renorm_", renorm)
    return weight


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, D) picked by the integer Tensor ``input``: the result
    has ``input``'s shape plus D.

    ``padding_idx``: that row gets no gradient. ``max_norm``: rows about to be looked up whose
    norm exceeds it are first scaled down to it, in place (PyTorch's renormalisation).
    ``scale_grad_by_freq``: each row's gradient is divided by its count in ``input``.
    """
    _check_sparse(sparse, "embedding")
    weight = _as_tensor(weight)
    if weight.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D, got a {weight.ndim}-D tensor of shape "
                           f"{list(weight.shape)}")
    indices = check_indices(_index_array(input), weight.shape[0])
    padding_idx = _padding_index(padding_idx, weight.shape[0])
    if max_norm is not None:
        embedding_renorm_(weight, indices, max_norm, norm_type)
    return _gather(weight, indices, padding_idx, scale_grad_by_freq)


def _bags(indices, offsets, include_last_offset):
    """``(flat indices, bag of each index, number of bags)`` from a 2-D batch or 1-D + offsets."""
    if indices.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is "
                             "a mini-batch of fixed length sequences. However, found offsets of "
                             f"type {type(offsets).__name__}")
        bags, length = indices.shape
        return indices.reshape(-1), np.repeat(np.arange(bags), length), bags
    if indices.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{indices.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    offsets = np.asarray(offsets._array if isinstance(offsets, Tensor) else offsets)
    if offsets.ndim != 1:
        raise ValueError(f"offsets has to be a 1D Tensor, but got Tensor of dimension "
                         f"{offsets.ndim}")
    if offsets.dtype.kind not in "iu":
        raise RuntimeError(f"embedding_bag: offsets must be integers, got {offsets.dtype}")
    if offsets.size and offsets[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {int(offsets[0])}")
    steps = np.flatnonzero(np.diff(offsets) < 0)
    if steps.size:
        k = int(steps[0]) + 1
        raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, but offsets[{k}] = "
                           f"{int(offsets[k])} < offsets[{k - 1}] = {int(offsets[k - 1])}")
    if offsets.size and offsets[-1] > indices.size:
        raise RuntimeError(f"embedding_bag: offsets[{offsets.size - 1}] = {int(offsets[-1])} is "
                           f"beyond the end of input ({indices.size} indices)")
    if include_last_offset:
        if offsets.size == 0 or offsets[-1] != indices.size:
            last = int(offsets[-1]) if offsets.size else None
            raise ValueError(f"embedding_bag: with include_last_offset=True the last offset ends "
                             f"the last bag, so it must be the number of indices "
                             f"({indices.size}), got {last}")
        bags = offsets.size - 1
        ends = offsets[1:]
        starts = offsets[:-1]
    else:
        bags = offsets.size
        starts, ends = offsets, np.r_[offsets[1:], indices.size]
    bag_of = np.repeat(np.arange(bags), (ends - starts).astype(np.int64))
    return indices, bag_of, bags


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """The sum, mean or maximum of the embeddings in each bag, without building the bags.

    ``input`` is either a 2-D (B, N) batch of bags of equal size, or a 1-D concatenation of all
    bags with ``offsets`` marking where each starts (``include_last_offset``: the last offset is
    the end of the last bag). Entries equal to ``padding_idx`` are left out (and not counted by
    the mean); an empty bag gives zeros. ``per_sample_weights`` (``mode='sum'`` only) weighs each
    entry and receives a gradient too.
    """
    _check_sparse(sparse, "embedding_bag")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
    weight = _as_tensor(weight)
    indices = check_indices(_index_array(input), weight.shape[0],
                            "embedding_bag")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                "GitHub.")
        per_sample_weights = _as_tensor(per_sample_weights)
        if per_sample_weights.shape != indices.shape:
            raise ValueError(f"embedding_bag: If per_sample_weights "
                             f"({list(per_sample_weights.shape)}) is not None, then it must have "
                             f"the same shape as the input ({list(indices.shape)})")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    flat, bag_of, bags = _bags(indices, offsets, include_last_offset)
    padding_idx = _padding_index(padding_idx, weight.shape[0])
    if max_norm is not None:
        embedding_renorm_(weight, flat, max_norm, norm_type)
    kept = np.ones(flat.shape, bool) if padding_idx is None else flat != padding_idx
    if mode == "max":
        return _bag_max(weight, flat[kept], bag_of[kept], bags)
    rows = _gather(weight, flat, padding_idx, scale_grad_by_freq)            # (n, D)
    factor = kept.astype(weight.dtype)
    if mode == "mean":
        counts = np.bincount(bag_of[kept], minlength=bags).astype(weight.dtype)
        factor = factor / np.maximum(counts, 1)[bag_of]
    rows = ops.mul(rows, Tensor._wrap(factor[:, None]))
    if per_sample_weights is not None:
        rows = ops.mul(rows, ops.reshape(per_sample_weights, (-1, 1)))
    return _scatter_add(rows, index=(bag_of,), shape=(bags, weight.shape[1]))


def _bag_max(weight, flat, bag_of, bags):
    """Each bag's entry-wise maximum as a pick of single entries of ``weight`` (so the gradient
    goes to the row holding each maximum); empty bags give zeros."""
    dim = weight.shape[1]
    out_shape = (bags, dim)
    if flat.size == 0:
        return ops.mul(_getitem(ops.reshape(weight, (-1,)), index=np.zeros(out_shape, np.int64)),
                       0.0)
    values = weight._array[flat]                                            # (n, D)
    order = np.lexsort((np.arange(flat.size), bag_of))
    starts = np.flatnonzero(np.r_[True, bag_of[order][1:] != bag_of[order][:-1]])
    present = bag_of[order][starts]
    maxima = np.maximum.reduceat(values[order], starts, axis=0)
    # the first row of each bag reaching the maximum, in each column
    is_max = values[order] == np.repeat(maxima, np.diff(np.r_[starts, flat.size]), axis=0)
    position = np.where(is_max, np.arange(flat.size)[:, None], flat.size)
    first = np.minimum.reduceat(position, starts, axis=0)                   # rows into order
    source = flat[order][first] * dim + np.arange(dim)                      # flat table index
    index = np.zeros(out_shape, np.int64)
    index[present] = source
    picked = _getitem(ops.reshape(weight, (-1,)), index=index)
    if present.size == bags:
        return picked
    mask = np.zeros((bags, 1), weight.dtype)
    mask[present] = 1
    return ops.mul(picked, Tensor._wrap(mask))
