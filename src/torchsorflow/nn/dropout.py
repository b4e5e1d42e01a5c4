"""``Dropout``: randomly zero activations while training (Srivastava et al., 2014).

Inverted dropout scales the surviving entries by 1/(1−p) during training, so nothing needs to
change at test time: in ``eval()`` mode the layer is the identity.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> drop = nn.Dropout(0.5).eval()
>>> drop(tsf.ones(3))
tensor([1., 1., 1.])
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
