"""Helpers shared by the distributions (``torch.distributions.utils``): broadcasting parameters,
the probs ↔ logits conversions, lazily computed attributes, and naming a bad entry.

>>> import torchsorflow as tsf
>>> from torchsorflow.distributions.utils import broadcast_all, probs_to_logits
>>> loc, scale = broadcast_all(tsf.tensor([0.0, 1.0]), 2.0)  # numbers take the Tensor's dtype
>>> scale
tensor([2., 2.])
>>> probs_to_logits(tsf.tensor([0.5, 0.5]))  # log-probabilities, normalised
tensor([-0.6931472, -0.6931472])
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, ops
from ..tensor import Tensor

LOG_2PI = math.log(2 * math.pi)


def _float_dtype(values):
    """PyTorch's rule: numbers take the dtype of the first floating Tensor among the arguments.
    Without one we use float64, not PyTorch's float32: statistics wants the precision (standard
    errors come from inverting a Hessian), and NumPy data arrive as float64 anyway."""
    for value in values:
        if isinstance(value, Tensor) and backend.is_floating(value.dtype):
            return value.dtype
    return backend.float64


def as_tensor(value, dtype):
    """``value`` as a floating Tensor; a Tensor already floating is kept (with its graph)."""
    if isinstance(value, Tensor):
        return value if backend.is_floating(value.dtype) else ops.astype(value, dtype)
    return Tensor._wrap(np.asarray(value, dtype=dtype))


def broadcast_all(*values):
    """The arguments as Tensors broadcast to one shape (differentiably), numbers and arrays
    converted to the first floating Tensor's dtype."""
    dtype = _float_dtype(values)
    tensors = [as_tensor(v, dtype) for v in values]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        raise ValueError("shapes " + " and ".join(str(t.shape) for t in tensors)
                         + " of the parameters cannot be broadcast together") from None
    return [ops.broadcast_to(t, shape) for t in tensors]


class lazy_property:  # noqa: N801 - PyTorch's name
    """Computed on first access and then stored in the instance (``probs`` from ``logits`` and
    vice versa), so only the parametrisation the user gave is computed eagerly."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def clamp_probs(probs):
    """Probabilities clamped to [eps, 1 − eps] so their logarithms stay finite."""
    eps = float(np.finfo(probs.dtype).eps)
    return ops.clamp(probs, eps, 1 - eps)


def logits_to_probs(logits, is_binary=False):
    return ops.sigmoid(logits) if is_binary else ops.softmax(logits, -1)


def probs_to_logits(probs, is_binary=False):
    clamped = clamp_probs(probs)
    if is_binary:
        return ops.log(clamped) - ops.log1p(-clamped)
    return ops.log(clamped)


def xlogy(x, y):
    """x·log y, taken as 0 where x = 0 (also where y = 0), with finite gradients there."""
    zero = ops.equal(x, 0)
    return x * ops.log(ops.where(zero, 1.0, y))


def sum_rightmost(value, dim):
    """Sum the rightmost ``dim`` dimensions of ``value``."""
    return value.sum(tuple(range(-dim, 0))) if dim > 0 else value


def _format_index(name, index):
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def first_violation(array, ok, name="data"):
    """``("data[i]", value)`` for the first entry (in C order) where ``ok`` is False, else None."""
    ok = np.asarray(ok, dtype=bool)
    if ok.all():  # the common case, without building an index array of N entries
        return None
    bad = np.argwhere(~np.broadcast_to(ok, array.shape))
    if bad.shape[0] == 0:
        return None
    index = tuple(bad[0])  # () for a 0-d array
    return _format_index(name, index) if array.ndim else name, array[index].item()


def first_bad_block(ok, name):
    """``(where, index)`` of the first False entry of a mask over batch dimensions."""
    index = tuple(np.argwhere(~np.asarray(ok, dtype=bool))[0])
    return (_format_index(name, index) if index else name), index
