"""The :class:`DataLoader`: batches, shuffling with a seed, ``drop_last``.

Each pass over a loader draws a fresh permutation when ``shuffle=True``. The permutations come from
a :class:`torchsorflow.Generator` -- the one given, a new one seeded with ``seed``, or else the
global one (so ``tsf.manual_seed`` makes a whole run reproducible). With the same seed, two loaders
produce the same sequence of epochs.

Collation follows PyTorch: samples that are tuples become a tuple of batched tensors, numbers
become a 1-d tensor, dicts are collated key by key. Datasets that implement ``__getitems__`` (such
as :class:`TensorDataset`) produce a whole batch in one call instead.

>>> import torchsorflow as tsf
>>> from torchsorflow.data import DataLoader, TensorDataset
>>> ds = TensorDataset(tsf.arange(10))
>>> [batch.tolist() for (batch,) in DataLoader(ds, batch_size=4)]
[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
>>> len(DataLoader(ds, batch_size=4, drop_last=True))
2
>>> first = [b.tolist() for (b,) in DataLoader(ds, batch_size=5, shuffle=True, seed=3)]
>>> again = [b.tolist() for (b,) in DataLoader(ds, batch_size=5, shuffle=True, seed=3)]
>>> first == again and sorted(sum(first, [])) == list(range(10))
True
"""
from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ..ops.creation import Generator, default_generator
from ..tensor import Tensor
from .dataset import Dataset


class DataLoader:
    """Batches of ``dataset``. ``sampler`` (an iterable of indices, such as a
    :class:`~torchsorflow.data.DistributedSampler`) replaces the order ``shuffle`` would draw;
    ``batch_sampler`` yields whole batches of indices instead, as in PyTorch."""

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool = False,
                 sampler: Iterable[int] | None = None,
                 batch_sampler: Iterable[Iterable[int]] | None = None, drop_last: bool = False,
                 *, seed: int | None = None, generator: Generator | None = None,
                 collate_fn: Callable[[list], Any] | None = None):
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral)
                                       or batch_size < 1):
            raise ValueError(f"batch_size should be a positive integer or None, got {batch_size!r}")
        if seed is not None and generator is not None:
            raise ValueError("give either seed or generator, not both")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                             "shuffle, sampler, and drop_last")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else batch_size
        self.shuffle = shuffle
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.drop_last = drop_last
        self.generator = generator if generator is not None else (
            Generator(seed) if seed is not None else None)
        self.collate_fn = collate_fn or default_collate

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return (self.generator or default_generator).rng.permutation(n)

    def __iter__(self) -> Iterator[Any]:
        if self.batch_sampler is None and self.batch_size is None:
            for i in self._order():   # no batching: samples one by one, as in PyTorch
                yield self.dataset[int(i)]
            return
        for indices in self.index_batches():
            yield self.fetch(indices)

    def index_batches(self) -> Iterator[np.ndarray]:
        """The dataset indices of each batch of one pass (a fresh order when shuffling)."""
        if self.batch_sampler is not None:
            for indices in self.batch_sampler:
                yield np.asarray(indices, dtype=np.int64)
            return
        order = self._order()
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield order[start:start + self.batch_size]

    def fetch(self, indices) -> Any:
        """The collated batch of the samples at ``indices``."""
        if hasattr(self.dataset, "__getitems__") and self.collate_fn is default_collate:
            return self.dataset.__getitems__(indices)
        return self.collate_fn([self.dataset[int(i)] for i in indices])


def default_collate(samples: list) -> Any:
    """Stack a list of samples into a batch, keeping the samples' structure (tuple, dict, ...)."""
    first = samples[0]
    if isinstance(first, Tensor):
        return Tensor(np.stack([s.numpy() for s in samples]))
    if isinstance(first, np.ndarray):
        return Tensor(np.stack(samples))
    if isinstance(first, bool):
        return Tensor(np.array(samples, dtype=bool))
    if isinstance(first, numbers.Integral):
        return Tensor(np.array(samples, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return Tensor(np.array(samples, dtype=np.float32))
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise RuntimeError("each sample in a batch must have the same number of fields")
        fields = [default_collate(list(field)) for field in zip(*samples)]
        return tuple(fields) if isinstance(first, tuple) else fields
    if isinstance(first, str):
        return list(samples)
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}")
