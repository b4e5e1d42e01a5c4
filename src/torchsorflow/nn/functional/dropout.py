"""Dropout: random zeroing during training."""
from __future__ import annotations

from ... import ops
from ...ops.creation import default_generator
from ...tensor import Tensor
from ._common import as_tensor as _as_tensor

__all__ = ["dropout"]


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each entry with probability ``p`` and scale the rest by 1/(1−p) (inverted dropout)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    input = _as_tensor(input)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return ops.mul(input, 0.0)
    keep = (generator or default_generator).rng.random(input.shape) >= p
    return ops.mul(input, Tensor._wrap((keep * (1.0 / (1.0 - p))).astype(input.dtype)))
