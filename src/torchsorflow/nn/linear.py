"""``Linear`` (a learned affine map), ``Identity`` and ``Flatten``."""
from __future__ import annotations

from .. import ops
from ..tensor import Tensor
from . import functional as F
from . import init
from .common_types import _dtype_t
from .module import Module
from .parameter import Parameter


class Identity(Module):
    """Returns its input; a placeholder where a layer is switched off (any arguments ignored)."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x Wᵀ + b`` with ``W`` of shape (out_features, in_features), as in PyTorch.

    Both ``W`` and ``b`` start uniform in ±1/√in_features (PyTorch's default).

    >>> import torchsorflow as tsf
    >>> from torchsorflow import nn
    >>> layer = nn.Linear(3, 2)
    >>> layer
    Linear(in_features=3, out_features=2, bias=True)
    >>> layer(tsf.ones(5, 3)).shape
    (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: _dtype_t = None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(ops.zeros(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(ops.zeros(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """Flattens dimensions ``start_dim..end_dim`` (by default all but the batch dimension)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return ops.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
