"""Variable-length sequences for recurrent layers, as in ``torch.nn.utils.rnn``.

A batch of sequences of different lengths is *packed* by laying out, time step after time step,
the entries of the sequences still running at that step; sequences are sorted by decreasing
length, so step t holds the first ``batch_sizes[t]`` of them. The recurrent layers
(:class:`~torchsorflow.nn.LSTM` ...) run on that layout directly, never computing on padding.

>>> import torchsorflow as tsf
>>> from torchsorflow.nn.utils.rnn import pack_sequence, pad_packed_sequence
>>> packed = pack_sequence([tsf.tensor([1, 2, 3]), tsf.tensor([4, 5]), tsf.tensor([6])])
>>> packed.data, packed.batch_sizes
(tensor([1, 4, 6, 2, 5, 3]), tensor([3, 2, 1]))
>>> padded, lengths = pad_packed_sequence(packed, batch_first=True)
>>> padded
tensor([[1, 2, 3],
        [4, 5, 0],
        [6, 0, 0]])

Every function is differentiable in the data (one gather or one scatter each), so gradients flow
from a packed layer output back to the padded input.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ... import backend
from ...autodiff.tracer import Box
from ...ops import creation, shape
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedFields):
    """The packed data (N, *) with ``batch_sizes`` (entries per step, int64),
    ``sorted_indices`` (the sorted order of the original batch, or ``None`` if it was already
    sorted) and ``unsorted_indices`` (its inverse). Made by :func:`pack_padded_sequence` and
    :func:`pack_sequence`, not by hand."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """The same sequence with ``data.to(*args, **kwargs)`` (indices stay int64)."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(data, self.batch_sizes,
                                                         self.sorted_indices,
                                                         self.unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self

    def double(self) -> PackedSequence:
        return self.to(dtype=backend.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=backend.float32)

    def long(self) -> PackedSequence:
        return self.to(dtype=backend.int64)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of the permutation ``permutation`` (``None`` stays ``None``)."""
    if permutation is None:
        return None
    order = _ints(permutation)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return creation.as_tensor(inverse)


def _ints(values):
    return np.asarray(values._array if isinstance(values, Box) else values).astype(np.int64)


def _positions(batch_sizes):
    """For the packed rows in order: their (time, slot-in-sorted-batch) positions."""
    times = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    slots = np.concatenate([np.arange(b) for b in batch_sizes]) if len(batch_sizes) else \
        np.zeros(0, np.int64)
    return times, slots


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences of the
    given ``lengths``. ``enforce_sorted=False`` accepts lengths in any order (the batch is
    sorted by decreasing length, ties keeping their order, and ``sorted_indices`` records it)."""
    input = input if isinstance(input, Box) else creation.as_tensor(input)
    lengths = _ints(lengths).reshape(-1)
    batch_dim, time_dim = (0, 1) if batch_first else (1, 0)
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must have a time and a batch dimension, "
                         f"got shape {list(input.shape)}")
    if lengths.size != input.shape[batch_dim]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.size} (batch_size={input.shape[batch_dim]})")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability.")
        order, sorted_indices = np.arange(lengths.size), None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = creation.as_tensor(order.astype(np.int64))
    lengths = lengths[order]
    if lengths.size and lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if lengths.size and lengths[0] > input.shape[time_dim]:
        raise RuntimeError(f"pack_padded_sequence: the longest length {int(lengths[0])} exceeds "
                           f"the {input.shape[time_dim]} time steps of the input")
    steps = int(lengths[0]) if lengths.size else 0
    batch_sizes = (lengths[None, :] > np.arange(steps)[:, None]).sum(axis=1)
    times, slots = _positions(batch_sizes)
    index = (order[slots], times) if batch_first else (times, order[slots])
    data = shape.getitem(input, index)
    return PackedSequence(data, creation.as_tensor(batch_sizes.astype(np.int64)), sorted_indices,
                          None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)``, the batch in its
    original order, padded with ``padding_value`` to the longest length (or ``total_length``)."""
    data, batch_sizes = sequence.data, _ints(sequence.batch_sizes)
    steps = batch_sizes.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
        steps = total_length
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    order = np.arange(batch) if sequence.sorted_indices is None else \
        _ints(sequence.sorted_indices)
    times, slots = _positions(batch_sizes)
    index = (order[slots], times) if batch_first else (times, order[slots])
    size = (batch, steps) if batch_first else (steps, batch)
    base = creation.full(size + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    padded = shape.index_put(base, index, data)
    lengths = np.zeros(batch, np.int64)
    lengths[order] = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    return padded, creation.as_tensor(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences (L_i, *) of different lengths into (T, B, *) (or (B, T, *)), padding with
    ``padding_value`` on the ``padding_side`` ('right' or 'left')."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of "
                           f"type: {type(sequences)}")
    if isinstance(sequences, Box):
        sequences = shape.unbind(sequences, 0)
    sequences = [s if isinstance(s, Box) else creation.as_tensor(s) for s in sequences]
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    trailing = sequences[0].shape[1:]
    for i, s in enumerate(sequences):
        if s.ndim == 0 or s.shape[1:] != trailing:
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {list(s.shape)}, but every "
                               f"sequence must be (length, {', '.join(map(str, trailing))}) like "
                               "sequence 0")
    lengths = np.array([s.shape[0] for s in sequences], np.int64)
    steps = int(lengths.max())
    slots = np.repeat(np.arange(len(sequences)), lengths)
    starts = steps - lengths if padding_side == "left" else np.zeros_like(lengths)
    times = np.concatenate([np.arange(n) + k for n, k in zip(lengths, starts)])
    index = (slots, times) if batch_first else (times, slots)
    size = (len(sequences), steps) if batch_first else (steps, len(sequences))
    base = creation.full(size + tuple(trailing), padding_value, dtype=sequences[0].dtype)
    return shape.index_put(base, index, shape.cat(sequences, 0))


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The list of sequences that :func:`pad_sequence` padded, cut to their ``lengths``."""
    lengths = _ints(lengths)
    if batch_first:
        return [shape.getitem(padded_sequences, (i, slice(0, int(n))))
                for i, n in enumerate(lengths)]
    return [shape.getitem(padded_sequences, (slice(0, int(n)), i)) for i, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *): :func:`pad_sequence` then
    :func:`pack_padded_sequence`."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences that :func:`pack_sequence` packed, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
