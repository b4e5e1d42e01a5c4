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


# --- memory: keep freed activations for reuse ------------------------------------------------------
# Glibc's malloc hands every freed block of more than ~1 MiB at the top of the heap back to the
# kernel, and serves large arrays with fresh mmap()s. A training step frees and re-allocates the
# same activation-sized arrays every time, so each step then pays a page fault per 4 KiB touched
# (the digits CNN train step: ~1,100 faults and ~2 ms of its ~8 ms; PyTorch's step: none). Raising
# the two thresholds makes malloc keep and reuse that memory, as PyTorch's caching allocators do.
# Set TORCHSORFLOW_MALLOC_TUNING=0 to leave the C library's defaults alone.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEEP_FREED_BYTES = 256 << 20  # free memory kept at the top of the heap before returning it
HEAP_ARRAY_BYTES = 32 << 20  # largest allocation served from the heap (glibc's own maximum)


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse (see above); ``True`` if it was done."""
    import ctypes
    import os
    import sys

    if os.environ.get("TORCHSORFLOW_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith(
            "linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no tunable thresholds)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_ARRAY_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES))


MALLOC_TUNED = keep_freed_memory()
