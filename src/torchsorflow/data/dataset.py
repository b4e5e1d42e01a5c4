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

import bisect
import math
import numbers
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from ..ops.creation import as_tensor


class Dataset:
    """Base class of map-style datasets: override ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows of the given tensors (or arrays), which must all have the same length."""

    def __init__(self, *tensors: Tensor | np.ndarray):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(as_tensor(t if isinstance(t, Tensor) else np.asarray(t))
                             for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if any(size != sizes[0] for size in sizes):
            raise ValueError(f"Size mismatch between tensors: first dimensions are {sizes}")

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        if isinstance(index, (int, np.integer)) and not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} samples")
        return tuple(as_tensor(t.numpy()[index]) for t in self.tensors)

    def __getitems__(self, indices: Sequence[int] | np.ndarray) -> tuple[Tensor, ...]:
        """A whole batch: one tuple of stacked tensors (not a list of samples)."""
        indices = np.asarray(indices, dtype=np.int64)
        return tuple(as_tensor(t.numpy()[indices]) for t in self.tensors)


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


class IterableDataset(Dataset):
    """Base class of iterable-style datasets (streams): override ``__iter__``. A DataLoader
    batches what the iterator yields, in order."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it instead of "
                        "indexing it")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class ConcatDataset(Dataset):
    """Several map-style datasets one after the other."""

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        if index >= len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} "
                             "samples")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets one after the other."""

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = list(datasets)

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def _split_lengths(lengths: Sequence[int | float], n: int) -> list[int]:
    """Whole lengths, from fractions as torch 2.x computes them: floor(n·fraction) each, then
    the remainder given one by one to the first splits."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for frac in lengths:
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {lengths.index(frac)} is not between 0 and "
                                 "1")
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty "
                              "dataset.", stacklevel=3)
        lengths = counts
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0
           for v in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions summing "
                         f"to 1, got {list(lengths)}")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    return [int(v) for v in lengths]


def _permutation(n: int, generator) -> list[int]:
    """A random permutation of range(n). A generator freshly seeded (no draws since
    ``manual_seed(s)``) gives the permutation ``torch.randperm(n, generator=g)`` gives for a torch
    generator seeded with s, so a split made with ``Generator().manual_seed(s)`` is the very split
    PyTorch makes; the generator then moves on (it is no longer fresh)."""
    from ..ops.creation import default_generator
    from .distributed import _FISHER_YATES_LIMIT, torch_randperm
    generator = generator if generator is not None else default_generator
    seed = generator.initial_seed()
    fresh = isinstance(seed, numbers.Integral) and n < _FISHER_YATES_LIMIT and (
        generator.rng.bit_generator.state == np.random.default_rng(seed).bit_generator.state)
    if fresh:
        generator.rng.random()  # used now: a second split draws a new order
        return torch_randperm(n, int(seed))
    return generator.rng.permutation(n).tolist()


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator=None) -> list[Subset]:
    """Non-overlapping random subsets of ``dataset`` of the given ``lengths`` (counts, or
    fractions summing to 1)."""
    lengths = _split_lengths(list(lengths), len(dataset))
    order = _permutation(sum(lengths), generator)
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start:start + length]))
        start += length
    return subsets


def get_worker_info():
    """Information about the loading worker: ``None`` in the main process, which is where
    TorchsorFlow's DataLoader always loads."""
    return None
