"""``Conv2d``: learned 2-D convolution (seed 002, exercise 2), with PyTorch's arguments.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> conv = nn.Conv2d(3, 8, kernel_size=3, padding="same", bias=False)
>>> conv
Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=same, bias=False)
>>> conv(tsf.ones(2, 3, 5, 5)).shape
(2, 8, 5, 5)
"""
from __future__ import annotations

from .. import ops
from ..ops.nn_ops import pair
from ..tensor import Tensor
from . import functional as F
from . import init
from .common_types import _dtype_t, _size_2_t
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    """Slides ``out_channels`` learned (in_channels/groups × kh × kw) kernels over the input.

    ``padding`` may be an int, a pair, ``'valid'`` or ``'same'``; ``groups`` splits the channels
    into independent groups (``groups=in_channels`` is a depthwise convolution). Weights start
    with PyTorch's kaiming-uniform (a=√5) and the bias uniform in ±1/√fan_in.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_2_t,
                 stride: _size_2_t = 1, padding: _size_2_t | str = 0, dilation: _size_2_t = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype: _dtype_t = None):
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode={padding_mode!r} is not implemented; "
                                      "use 'zeros'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = pair(padding, "padding")
        self.dilation = pair(dilation, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(ops.zeros(out_channels, in_channels // groups, *self.kernel_size,
                                          dtype=dtype))
        if bias:
            self.bias = Parameter(ops.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text
