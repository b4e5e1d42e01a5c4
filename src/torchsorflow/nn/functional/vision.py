"""Vision functions: padding."""
from __future__ import annotations

from ... import ops
from ._common import as_tensor as _as_tensor

__all__ = ["pad"]


def pad(input, pad, mode="constant", value=0.0):
    """PyTorch's ``F.pad``: ``pad`` lists (before, after) pairs starting from the LAST dimension."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is implemented, got {mode!r}")
    input = _as_tensor(input)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding length {len(pad)} must be even and at most "
                         f"2 × {input.ndim} dimensions")
    pairs = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        pairs[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return ops.pad(input, tuple(pairs), value)
