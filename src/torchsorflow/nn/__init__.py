"""Neural-network building blocks with PyTorch's ``torch.nn`` interface.

Layers are :class:`Module`\\ s holding :class:`Parameter`\\ s; the math lives in
:mod:`torchsorflow.nn.functional` and the fused primitives of :mod:`torchsorflow.ops.nn_ops`.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
...                       nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
>>> logits = model(tsf.randn(2, 1, 8, 8))
>>> loss = nn.functional.cross_entropy(logits, tsf.tensor([3, 7]))
>>> loss.backward()
>>> model[0].weight.grad.shape
(4, 1, 3, 3)
"""
from . import functional, init, utils
from .activation import (CELU, ELU, GELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish,
                         Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6,
                         RReLU, Sigmoid, SiLU, Softmax, Softmax2d, Softmin, Softplus, Softshrink,
                         Softsign, Tanh, Tanhshrink, Threshold)
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d
from .distance import CosineSimilarity, PairwiseDistance
from .dropout import (AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d,
                      FeatureAlphaDropout)
from .linear import Flatten, Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, CTCLoss,
                   GaussianNLLLoss, HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss,
                   MarginRankingLoss, MSELoss, MultiLabelMarginLoss, MultiLabelSoftMarginLoss,
                   MultiMarginLoss, NLLLoss, PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss,
                   TripletMarginLoss, TripletMarginWithDistanceLoss)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .sync_batchnorm import SyncBatchNorm
from . import parallel  # after the layers: DistributedDataParallel builds on Module

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict",
    "Linear", "Identity", "Flatten", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "SyncBatchNorm", "Dropout",
    "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus", "Softmax",
    "LogSoftmax",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "functional", "init", "utils", "parallel",
]
__all__ += [
    "ReLU6", "CELU", "SELU", "GLU", "PReLU", "RReLU", "Hardtanh", "Hardswish", "Hardsigmoid",
    "Hardshrink", "Softshrink", "Mish", "Softsign", "Tanhshrink", "Threshold", "LogSigmoid",
    "Softmin", "Softmax2d",
    "SmoothL1Loss", "HuberLoss", "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss",
    "CosineEmbeddingLoss", "MarginRankingLoss", "TripletMarginLoss",
    "TripletMarginWithDistanceLoss", "HingeEmbeddingLoss", "MultiLabelSoftMarginLoss",
    "SoftMarginLoss", "MultiMarginLoss", "MultiLabelMarginLoss", "CTCLoss",
    "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    "PairwiseDistance", "CosineSimilarity",
]
