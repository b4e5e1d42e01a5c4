"""Padding layers over the last 1, 2 or 3 dimensions: zeros, a constant, reflection,
replication and circular (wrap-around), as ``F.pad`` does them.

``padding`` is an int (every side) or one (before, after) pair per dimension, last dimension
first: ``(left, right)``, ``(left, right, top, bottom)``, ``(left, right, top, bottom, front,
back)``.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> nn.ReflectionPad2d((1, 1, 0, 0))(tsf.arange(6.0).reshape(1, 2, 3))
tensor([[[1., 0., 1., 2., 1.],
         [4., 3., 4., 5., 4.]]])
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .functional._common import ntuple
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]


class _PadNd(Module):
    _spatial = 1
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = ntuple(padding, 2 * self._spatial, "padding")

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dimension with ``value``."""

    _spatial = 1


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dimensions with ``value``."""

    _spatial = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dimensions with ``value``."""

    _spatial = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pads the last dimension with zeros."""

    _spatial = 1


class ZeroPad2d(_ZeroPadNd):
    """Pads the last two dimensions with zeros."""

    _spatial = 2


class ZeroPad3d(_ZeroPadNd):
    """Pads the last three dimensions with zeros."""

    _spatial = 3


class ReflectionPad1d(_PadNd):
    """Mirrors the last dimension about its edge cells (``2 1 | 0 1 2 3 | 2``)."""

    _spatial, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Mirrors the last two dimensions about their edge cells."""

    _spatial, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Mirrors the last three dimensions about their edge cells."""

    _spatial, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Repeats the edge cells of the last dimension (``0 0 | 0 1 2 3 | 3``)."""

    _spatial, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Repeats the edge cells of the last two dimensions."""

    _spatial, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Repeats the edge cells of the last three dimensions."""

    _spatial, _mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """Wraps the last dimension around (``2 3 | 0 1 2 3 | 0``)."""

    _spatial, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Wraps the last two dimensions around."""

    _spatial, _mode = 2, "circular"


class CircularPad3d(_PadNd):
    """Wraps the last three dimensions around."""

    _spatial, _mode = 3, "circular"
