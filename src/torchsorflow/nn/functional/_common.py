"""What the functional modules share."""
from __future__ import annotations

import numpy as np

from ... import ops
from ...tensor import Tensor


def as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def ntuple(value, n, name="argument"):
    """``3 → (3, 3)`` for ``n = 2``; a sequence of ``n`` ints as a tuple; else a clear error
    (PyTorch's ``_single``, ``_pair``, ``_triple``)."""
    if _is_int(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n and all(_is_int(v) for v in value):
        return tuple(int(v) for v in value)
    raise ValueError(f"{name} must be an int or a sequence of {n} ints, got {value!r}")


def batched(fn, input, spatial, *args, **kwargs):
    """Run ``fn`` on ``input`` with a batch axis: an unbatched input (``spatial + 1`` dims) gets
    one for the call, and its outputs (a Tensor or a tuple of them) lose it again."""
    if input.ndim != spatial + 1:
        return fn(input, *args, **kwargs)
    out = fn(ops.unsqueeze(input, 0), *args, **kwargs)
    if isinstance(out, tuple):
        return tuple(ops.squeeze(o, 0) for o in out)
    return ops.squeeze(out, 0)
