"""``PairwiseDistance`` and ``CosineSimilarity``: modules around the distance functions of
:mod:`torchsorflow.nn.functional.distance`.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> nn.CosineSimilarity(dim=0)(tsf.tensor([1.0, 0.0]), tsf.tensor([1.0, 1.0]))
tensor(0.70710677)
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class PairwiseDistance(Module):
    """‖x1 − x2 + eps‖_p along the last dimension."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """The cosine of the angle between x1 and x2 along ``dim``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
