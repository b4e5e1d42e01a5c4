"""Neural-network building blocks with PyTorch's ``torch.nn`` interface.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> isinstance(nn.Parameter(tsf.zeros(1)), tsf.Tensor)
True
"""
from .module import Module  # noqa: F401
from .parameter import Parameter  # noqa: F401
