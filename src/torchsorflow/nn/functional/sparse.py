"""Sparse functions: one-hot encoding."""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from ...ops.creation import as_tensor

__all__ = ["one_hot"]


def one_hot(tensor, num_classes=-1):
    """Integer class labels to a 0/1 int64 Tensor with one more dimension."""
    labels = np.asarray(tensor._array if isinstance(tensor, Tensor) else tensor)
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got "
                         f"[{labels.min()}, {labels.max()}]")
    return as_tensor((labels[..., None] == np.arange(num_classes)).astype(np.int64))
