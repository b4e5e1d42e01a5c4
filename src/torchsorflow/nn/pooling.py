"""Pooling layers: max, average, power-average (LP) and adaptive pooling over 1 or 2
dimensions (adaptive averaging over 3), and max unpooling.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> nn.MaxPool2d(2)
MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
>>> nn.AdaptiveAvgPool2d((1, 1))(tsf.ones(2, 3, 7, 5)).shape
(2, 3, 1, 1)
>>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
>>> y, index = pool(tsf.arange(16.0).reshape(1, 1, 4, 4))
>>> unpool(y, index)
tensor([[[[ 0.,  0.,  0.,  0.],
          [ 0.,  5.,  0.,  7.],
          [ 0.,  0.,  0.,  0.],
          [ 0., 13.,  0., 15.]]]])
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .common_types import _size_2_opt_t, _size_2_t
from .functional._common import ntuple
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "LPPool1d", "LPPool2d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "MaxUnpool1d", "MaxUnpool2d"]


class _MaxPoolNd(Module):
    """The maximum of each ``kernel_size`` window; ``stride`` defaults to ``kernel_size``;
    ``return_indices`` also returns where each maximum came from (for ``MaxUnpool``)."""

    _functional = staticmethod(F.max_pool2d)

    def __init__(self, kernel_size: _size_2_t, stride: _size_2_t | None = None,
                 padding: _size_2_t = 0, dilation: _size_2_t = 1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return self._functional(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max pooling over (N, C, L) or (C, L)."""

    _functional = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """Max pooling over (N, C, H, W) or (C, H, W)."""

    _functional = staticmethod(F.max_pool2d)


class AvgPool2d(Module):
    """The mean of each window; ``count_include_pad`` decides whether padded zeros count."""

    def __init__(self, kernel_size: _size_2_t, stride: _size_2_t | None = None,
                 padding: _size_2_t = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling onto a fixed output grid (``None`` keeps that input dimension)."""

    def __init__(self, output_size: _size_2_opt_t):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AvgPool1d(Module):
    """The mean of each window of (N, C, L)."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__()
        self.kernel_size = ntuple(kernel_size, 1, "kernel_size")
        self.stride = ntuple(stride if stride is not None else kernel_size, 1, "stride")
        self.padding = ntuple(padding, 1, "padding")
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _LPPoolNd(Module):
    """Power-average pooling: ``(Σ xᵖ)^(1/p)`` over each window (p = 1: sum pooling, p = ∞: max
    pooling of |x|)."""

    _functional = staticmethod(F.lp_pool2d)

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return self._functional(input, float(self.norm_type), self.kernel_size, self.stride,
                                self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    _functional = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    _functional = staticmethod(F.lp_pool2d)


class _AdaptivePool(Module):
    _functional = staticmethod(F.adaptive_avg_pool2d)

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return self._functional(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average pooling of (N, C, L) onto ``output_size`` cells."""

    _functional = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool3d(_AdaptivePool):
    """Average pooling of (N, C, D, H, W) onto a fixed grid (``None`` keeps that dimension)."""

    _functional = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size, return_indices: bool = False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Tensor:
        return self._functional(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max pooling of (N, C, L) onto ``output_size`` adaptive cells."""

    _functional = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max pooling of (N, C, H, W) onto a fixed grid of adaptive cells (``None`` keeps that
    dimension); ``return_indices`` also returns where each maximum came from."""

    _functional = staticmethod(F.adaptive_max_pool2d)


class _MaxUnpoolNd(Module):
    """The inverse of max pooling: each value back at the position its index names, zeros
    elsewhere (``forward(input, indices, output_size=None)``)."""

    _spatial = 2
    _functional = staticmethod(F.max_unpool2d)

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        n = self._spatial
        self.kernel_size = ntuple(kernel_size, n, "kernel_size")
        self.stride = ntuple(stride if stride is not None else kernel_size, n, "stride")
        self.padding = ntuple(padding, n, "padding")

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return self._functional(input, indices, self.kernel_size, self.stride, self.padding,
                                output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    _spatial = 1
    _functional = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    _spatial = 2
    _functional = staticmethod(F.max_unpool2d)
