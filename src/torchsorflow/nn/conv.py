"""Convolution layers with PyTorch's arguments, defaults, initialisation and ``state_dict`` keys:
``Conv1d``, ``Conv2d`` (seed 002, exercise 2), ``Conv3d`` and ``ConvTranspose1d/2d/3d``.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> conv = nn.Conv2d(3, 8, kernel_size=3, padding="same", bias=False)
>>> conv
Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=same, bias=False)
>>> conv(tsf.ones(2, 3, 5, 5)).shape
(2, 8, 5, 5)
>>> up = nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1)
>>> up(tsf.ones(2, 8, 5, 5)).shape, sorted(up.state_dict())
((2, 3, 10, 10), ['bias', 'weight'])
"""
from __future__ import annotations

from .. import ops
from ..tensor import Tensor
from . import functional as F
from . import init
from .common_types import _dtype_t, _size_2_t
from .functional._common import ntuple
from .functional.convolution import same_padding
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What every convolution layer shares: arguments, parameters and their initialisation.

    The weight is (out_channels, in_channels/groups, *kernel_size), or (in_channels,
    out_channels/groups, *kernel_size) for a transposed convolution. Both start with PyTorch's
    kaiming-uniform (a=√5), the bias uniform in ±1/√fan_in (fan_in from the weight's shape).
    """

    _spatial = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, dtype=None):
        super().__init__()
        n = self._spatial
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        self.kernel_size = ntuple(kernel_size, n, "kernel_size")
        self.stride = ntuple(stride, n, "stride")
        self.dilation = ntuple(dilation, n, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = ntuple(padding, n, "padding")
        if padding_mode not in _PADDING_MODES:
            raise ValueError("padding_mode must be one of {'zeros', 'reflect', 'replicate', "
                             f"'circular'}}, but got padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.transposed = transposed
        self.output_padding = ntuple(output_padding, n, "output_padding")
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's (last dimension first) form of the padding, for the non-zero padding modes
        if self.padding == "valid":
            sides = [(0, 0)] * n
        elif self.padding == "same":
            sides = same_padding(self.kernel_size, self.dilation)
        else:
            sides = [(p, p) for p in self.padding]
        reversed_twice = [v for pair in reversed(sides) for v in pair]
        self._reversed_padding_repeated_twice = (reversed_twice if isinstance(padding, str)
                                                 else tuple(reversed_twice))
        shape = ((in_channels, out_channels // groups) if transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(ops.zeros(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(ops.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_layer_init_(self.weight, self.bias)

    def extra_repr(self) -> str:
        n = self._spatial
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    """A convolution layer: ``padding`` may be an int, one per dimension, ``'valid'`` or
    ``'same'``, filled with zeros or (``padding_mode``) by reflection, replication or wrapping
    around; ``groups`` splits the channels into independent groups (``groups=in_channels`` is a
    depthwise convolution)."""

    _functional = staticmethod(F.conv2d)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_2_t,
                 stride: _size_2_t = 1, padding: _size_2_t | str = 0, dilation: _size_2_t = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype: _dtype_t = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, dtype)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return self._functional(padded, weight, bias, self.stride, 0, self.dilation,
                                    self.groups)
        return self._functional(input, weight, bias, self.stride, self.padding, self.dilation,
                                self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) or (C_in, L)."""

    _spatial = 1
    _functional = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W): slides ``out_channels`` learned
    (in_channels/groups × kh × kw) kernels over the input."""

    _spatial = 2
    _functional = staticmethod(F.conv2d)


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W) or (C_in, D, H, W)."""

    _spatial = 3
    _functional = staticmethod(F.conv3d)


class _ConvTransposeNd(_ConvNd):
    """A transposed convolution: the adjoint (input gradient) of the convolution with the same
    arguments, so it maps that convolution's output size back to its input size.

    Several input sizes give the same convolution output when the stride exceeds 1;
    ``output_padding`` (or ``output_size`` in :meth:`forward`) picks the larger ones, adding cells
    at the end of each dimension.
    """

    _functional = staticmethod(F.conv_transpose2d)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_2_t,
                 stride: _size_2_t = 1, padding: _size_2_t = 0, output_padding: _size_2_t = 0,
                 groups: int = 1, bias: bool = True, dilation: _size_2_t = 1,
                 padding_mode: str = "zeros", device=None, dtype: _dtype_t = None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, dtype)

    def _output_padding(self, input, output_size):
        """``output_padding``, or what gives ``output_size`` (optionally with N and C in front),
        which must lie within a stride of the smallest output."""
        n = self._spatial
        if output_size is None:
            return self.output_padding
        lead = 2 if input.ndim == n + 2 else 1
        if len(output_size) == lead + n:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must have "
                             f"{n} or {lead + n} elements (got {len(output_size)})")
        smallest = [(size - 1) * s - 2 * p + d * (k - 1) + 1 for size, s, p, d, k in zip(
            input.shape[lead:], self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [low + s - 1 for low, s in zip(smallest, self.stride)]
        if any(not low <= size <= high for size, low, high in zip(output_size, smallest,
                                                                  largest)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range "
                             f"from {smallest} to {largest} (for an input of "
                             f"{tuple(input.shape[lead:])})")
        return tuple(size - low for size, low in zip(output_size, smallest))

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        output_padding = self._output_padding(input, output_size)
        return self._functional(input, self.weight, self.bias, self.stride, self.padding,
                                output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution over (N, C_in, L) or (C_in, L)."""

    _spatial = 1
    _functional = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution ("deconvolution", the upsampling layer of DCGAN generators)
    over (N, C_in, H, W) or (C_in, H, W)."""

    _spatial = 2
    _functional = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution over (N, C_in, D, H, W) or (C_in, D, H, W)."""

    _spatial = 3
    _functional = staticmethod(F.conv_transpose3d)
