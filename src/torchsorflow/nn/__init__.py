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
from .activation import (ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus,
                         Tanh)
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding, EmbeddingBag
from .sync_batchnorm import SyncBatchNorm
from . import parallel  # after the layers: DistributedDataParallel builds on Module

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict",
    "Linear", "Identity", "Flatten", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "SyncBatchNorm", "Dropout",
    "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus", "Softmax",
    "LogSoftmax",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "Embedding", "EmbeddingBag",
    "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
    "functional", "init", "utils", "parallel",
]
