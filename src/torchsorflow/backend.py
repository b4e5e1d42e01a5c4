"""The one array namespace every primitive computes with.

All array calls in :mod:`torchsorflow.ops` go through ``xp`` (NumPy today). A GPU backend such as
CuPy implements the same array API, so swapping ``xp`` is all that a port of the *forward* kernels
needs; derivative rules never touch ``xp`` at all, they are written with differentiable
primitives (see :mod:`torchsorflow.autodiff.tracer`).
"""
from __future__ import annotations

import numpy

xp = numpy

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
float16 = numpy.dtype("float16")
int64 = numpy.dtype("int64")
int32 = numpy.dtype("int32")
bool_ = numpy.dtype("bool")

default_float = float32


def is_floating(dtype) -> bool:
    return xp.issubdtype(dtype, xp.floating)


def as_array(data, dtype=None):
    """Turn Python data into an array with PyTorch's dtype defaults.

    Python floats (and lists of them) become float32, as in PyTorch; NumPy arrays keep their dtype,
    so float64 data stays float64 for gradient checks.
    """
    if isinstance(data, xp.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    array = xp.asarray(data)
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype == float64 and not isinstance(data, xp.generic):
        return array.astype(default_float)
    return array
