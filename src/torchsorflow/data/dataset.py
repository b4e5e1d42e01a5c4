"""Datasets: anything with ``len(ds)`` and ``ds[i]`` (PyTorch's map-style protocol).

A :class:`TensorDataset` wraps tensors that share their first dimension; sample ``i`` is the tuple
of their ``i``-th rows. It also answers a whole batch of indices at once (``__getitems__``, the hook
PyTorch's DataLoader uses too), so a batch is one fancy-indexing call per tensor instead of
``batch_size`` calls plus a stack -- this matters on small images where Python overhead dominates.

>>> import torchsorflow as tsf
>>> ds = TensorDataset(tsf.arange(6).reshape(3, 2), tsf.tensor([0, 1, 0]))
>>> len(ds)
3
>>> ds[1]
(tensor([2, 3]), tensor(1))
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor


class Dataset:
    """Base class of map-style datasets: override ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class TensorDataset(Dataset):
    """Samples are rows of the given tensors (or arrays), which must all have the same length."""

    def __init__(self, *tensors: Tensor | np.ndarray):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if any(size != sizes[0] for size in sizes):
            raise ValueError(f"Size mismatch between tensors: first dimensions are {sizes}")

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        if isinstance(index, (int, np.integer)) and not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} samples")
        return tuple(Tensor(t.numpy()[index]) for t in self.tensors)

    def __getitems__(self, indices: Sequence[int] | np.ndarray) -> tuple[Tensor, ...]:
        """A whole batch: one tuple of stacked tensors (not a list of samples)."""
        indices = np.asarray(indices, dtype=np.int64)
        return tuple(Tensor(t.numpy()[indices]) for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray):
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        chosen = self.indices[np.asarray(indices, dtype=np.int64)]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(chosen)
        return [self.dataset[int(i)] for i in chosen]
