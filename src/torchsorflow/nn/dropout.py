"""``Dropout``: randomly zero activations while training (Srivastava et al., 2014).

Inverted dropout scales the surviving entries by 1/(1−p) during training, so nothing needs to
change at test time: in ``eval()`` mode the layer is the identity. ``Dropout1d/2d/3d`` drop whole
channels; ``AlphaDropout`` and ``FeatureAlphaDropout`` keep SELU's self-normalisation.

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


class _DropoutNd(Module):
    _function = None

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each entry with probability ``p`` while training (scaling the rest by 1/(1−p))."""

    _function = F.dropout


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs while training."""

    _function = F.dropout1d


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) inputs while training."""

    _function = F.dropout2d


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs while training."""

    _function = F.dropout3d


class AlphaDropout(_DropoutNd):
    """Dropout that keeps the zero mean and unit variance of SELU activations."""

    _function = F.alpha_dropout


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels."""

    _function = F.feature_alpha_dropout
