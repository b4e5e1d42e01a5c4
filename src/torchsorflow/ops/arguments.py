"""PyTorch's argument conventions, in one place for every public function.

* ``dim``/``keepdim``, with NumPy's ``axis``/``keepdims`` accepted as aliases (torch accepts them
  too): :func:`numpy_aliases`;
* sizes given as varargs or one sequence (``zeros(2, 3)``, ``zeros((2, 3))``): :func:`sizes`;
* results that are a pair of values and indices (``max(x, dim)``, ``sort``, ``topk``):
  :class:`ValuesIndices`, a named tuple like ``torch.return_types``.
"""
from __future__ import annotations

import functools
import numbers
from collections import namedtuple

from ..autodiff.tracer import Box

__all__ = ["ValuesIndices", "numpy_aliases", "sizes", "dims_tuple"]

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def numpy_aliases(function):
    """Let ``function(..., dim=, keepdim=)`` also be called with ``axis=``/``keepdims=``."""
    @functools.wraps(function)
    def call(*args, **kwargs):
        if kwargs:
            if "axis" in kwargs:
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return function(*args, **kwargs)
    return call


def sizes(args, op="size"):
    """``(2, 3)`` from ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``; ``-1`` is kept (reshape, view,
    expand use it); anything but ints is a clear error."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for s in args:
        if isinstance(s, Box) and s.ndim == 0 and s.dtype.kind in "iu":
            s = s.item()
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{op}(): argument 'size' must be a sequence of ints, but found "
                            f"element of type {type(s).__name__} ({s!r}) in {tuple(args)!r}")
        out.append(int(s))
    return tuple(out)


def dims_tuple(dim):
    """``dim`` as a tuple of ints (``None`` stays ``None``)."""
    if dim is None:
        return None
    return (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
