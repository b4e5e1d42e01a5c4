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
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..ops.creation import Generator, default_generator
from ..tensor import Tensor
from .dataset import Dataset


class DataLoader:
    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool = False,
                 drop_last: bool = False, *, seed: int | None = None,
                 generator: Generator | None = None,
                 collate_fn: Callable[[list], Any] | None = None):
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral)
                                       or batch_size < 1):
            raise ValueError(f"batch_size should be a positive integer or None, got {batch_size!r}")
        if seed is not None and generator is not None:
            raise ValueError("give either seed or generator, not both")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator if generator is not None else (
            Generator(seed) if seed is not None else None)
        self.collate_fn = collate_fn or default_collate

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return (self.generator or default_generator).rng.permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        if self.batch_size is None:   # no batching: samples one by one, as in PyTorch
            for i in order:
                yield self.dataset[int(i)]
            return
        batched = hasattr(self.dataset, "__getitems__") and self.collate_fn is default_collate
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            indices = order[start:start + self.batch_size]
            if batched:
                yield self.dataset.__getitems__(indices)
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in indices])


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
