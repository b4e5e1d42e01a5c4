"""What the functional modules share."""
from __future__ import annotations

from ...tensor import Tensor


def as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)
