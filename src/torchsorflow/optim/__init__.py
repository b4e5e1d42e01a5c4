"""Optimizers with PyTorch's update rules and learning-rate schedules (``optim.lr_scheduler``).

>>> import torchsorflow as tsf
>>> from torchsorflow import optim
>>> w = tsf.tensor([2.0], requires_grad=True)
>>> opt = optim.SGD([w], lr=0.25)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w
tensor([1.], requires_grad=True)
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax",
           "NAdam", "RAdam", "ASGD", "Rprop", "LBFGS", "lr_scheduler"]
