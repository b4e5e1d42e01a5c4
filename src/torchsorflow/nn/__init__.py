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
from . import functional, init, utils  # noqa: F401
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh  # noqa: F401,E501
from .container import ModuleDict, ModuleList, Sequential  # noqa: F401
from .conv import Conv2d  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .linear import Flatten, Identity, Linear  # noqa: F401
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss,  # noqa: F401
                   NLLLoss)
from .module import Module  # noqa: F401
from .normalization import BatchNorm1d, BatchNorm2d  # noqa: F401
from .sync_batchnorm import SyncBatchNorm  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: F401
from . import parallel  # noqa: F401,E402
