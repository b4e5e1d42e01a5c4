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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..ops.creation import Generator, default_generator
from ..tensor import Tensor
from .dataset import Dataset, IterableDataset
from ..ops.creation import as_tensor


class DataLoader:
    """Batches of ``dataset``. ``sampler`` (an iterable of indices, such as a
    :class:`~torchsorflow.data.DistributedSampler`) replaces the order ``shuffle`` would draw;
    ``batch_sampler`` yields whole batches of indices instead, as in PyTorch."""

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Iterable[int] | None = None,
                 batch_sampler: Iterable[Iterable[int]] | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context=None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True, seed: int | None = None):
        shuffle = bool(shuffle)
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
        self._check_workers(num_workers, timeout, prefetch_factor, persistent_workers,
                            pin_memory_device, multiprocessing_context)
        if isinstance(dataset, IterableDataset):
            for name, value in (("shuffle", shuffle or None), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value is not None:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value!r}")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else batch_size
        self.shuffle = shuffle
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.drop_last = drop_last
        self.generator = generator if generator is not None else (
            Generator(seed) if seed is not None else None)
        self.collate_fn = collate_fn or default_collate
        self.num_workers, self.worker_init_fn = num_workers, worker_init_fn
        self.pin_memory, self.timeout, self.in_order = pin_memory, timeout, in_order
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self._workers_started = False

    @staticmethod
    def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers,
                       pin_memory_device, multiprocessing_context):
        """torch's checks of the worker options. Loading always runs in this process (the
        batches and their order are the same as torch's workers give); ``worker_init_fn`` is
        called once with worker id 0 before the first batch, where torch calls it in each
        worker. ``pin_memory`` is accepted: there is no GPU to pin memory for."""
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or \
                num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if pin_memory_device not in ("", "cpu"):
            raise RuntimeError(f"pin_memory_device {pin_memory_device!r} is not available: "
                               "TorchsorFlow runs on the CPU only")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError("multiprocessing_context can only be used with multi-process "
                             "loading (num_workers > 0), but got num_workers=0")

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # a TypeError when the stream has no length, as in torch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
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
        if self.worker_init_fn is not None and self.num_workers > 0 and not (
                self.persistent_workers and self._workers_started):
            self.worker_init_fn(0)
            self._workers_started = True
        if isinstance(self.dataset, IterableDataset):
            yield from self._stream()
            return
        if self.batch_sampler is None and self.batch_size is None:
            for i in self._order():   # no batching: samples one by one, as in PyTorch
                yield self.dataset[int(i)]
            return
        for indices in self.index_batches():
            yield self.fetch(indices)

    def _stream(self) -> Iterator[Any]:
        """Batches of consecutive samples of an iterable dataset."""
        if self.batch_size is None:
            yield from self.dataset
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

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
    """Stack a list of samples into a batch, keeping the samples' structure, as torch's
    ``default_collate``: Tensors and NumPy arrays are stacked, ints become an int64 Tensor,
    floats a float64 one, NumPy scalars keep their dtype; mappings, named tuples, tuples and
    lists are collated field by field; strings and bytes stay a list."""
    first = samples[0]
    if isinstance(first, Tensor):
        shapes = {s.shape for s in samples}
        if len(shapes) > 1:
            other = next(i for i, s in enumerate(samples) if s.shape != first.shape)
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(first.shape)} at entry 0 and "
                               f"{list(samples[other].shape)} at entry {other}")
        return as_tensor(np.stack([s.numpy() for s in samples]))
    if isinstance(first, (np.ndarray, np.generic)) and not isinstance(first, (np.str_,
                                                                             np.bytes_)):
        if first.dtype.kind in "OSU":
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, "
                            f"numbers, dicts or lists; found {first.dtype}")
        return as_tensor(np.stack([np.asarray(s) for s in samples]))
    if isinstance(first, bool):
        return as_tensor(np.array(samples, dtype=bool))
    if isinstance(first, numbers.Integral):
        return as_tensor(np.array(samples, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return as_tensor(np.array(samples, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, Mapping):
        collated = {key: default_collate([s[key] for s in samples]) for key in first}
        try:
            return type(first)(collated)
        except TypeError:  # a mapping type that cannot be built from a dict
            return collated
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a named tuple
        return type(first)(*(default_collate(list(field)) for field in zip(*samples)))
    if isinstance(first, Sequence):
        if any(len(s) != len(first) for s in samples):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(field)) for field in zip(*samples)]
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(first).__name__}")
