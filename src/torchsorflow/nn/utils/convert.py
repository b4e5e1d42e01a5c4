"""Flatten parameters into one vector and back (for second-order methods and influence functions).

>>> from torchsorflow import nn
>>> from torchsorflow.nn.utils import parameters_to_vector
>>> parameters_to_vector(nn.Linear(3, 2).parameters()).shape
(8,)
"""
from __future__ import annotations

import numpy as np

from ... import ops
from ...tensor import Tensor


def parameters_to_vector(parameters):
    """Concatenate the flattened parameters (differentiably) in iteration order."""
    return ops.concatenate([ops.reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into the parameters, in place."""
    array = vec._array if isinstance(vec, Tensor) else np.asarray(vec)
    if array.ndim != 1:
        raise TypeError(f"expected a 1-D vector, got shape {array.shape}")
    start = 0
    for p in parameters:
        n = p.numel()
        if start + n > array.size:
            raise ValueError(f"vector of length {array.size} is too short for the parameters")
        np.copyto(p._array, array[start:start + n].reshape(p.shape), casting="unsafe")
        start += n
    if start != array.size:
        raise ValueError(f"vector of length {array.size} is longer than the {start} parameter "
                         "entries")
