"""Ready-made models, built from :mod:`torchsorflow.nn` layers.

* :mod:`~torchsorflow.models.vgg` -- VGG11/13/16/19, with and without batch norm, and
  :mod:`~torchsorflow.models.resnet` -- ResNet-18/34/50: torchvision's layouts, ``state_dict``
  names, parameter counts and initialisation, so torchvision weights load unchanged;
* :mod:`~torchsorflow.models.digits` -- four small classifiers for the 8x8 digits (an MLP, a CNN,
  a CNN with batch norm and an LSTM sequence classifier reading the rows of each image, the
  models of ``tsf train``), and :func:`~.digits.build` to make one from its name and
  hyper-parameters, as checkpoints record them.

>>> from torchsorflow.models import digits
>>> sum(p.numel() for p in digits.build("cnn-bn").parameters())
58474
"""
from . import digits, gpt
from .digits import DigitsCNN, DigitsCNNBN, DigitsLSTM, DigitsMLP
from .gpt import GPT, GPTConfig
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = ["digits", "gpt", "GPT", "GPTConfig", "DigitsMLP", "DigitsCNN", "DigitsCNNBN",
           "DigitsLSTM", "VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
           "vgg19", "vgg19_bn", "ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34",
           "resnet50"]
