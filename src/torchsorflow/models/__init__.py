"""Ready-made models. ``digits``: small MLP/CNN classifiers for the 8x8 digits data set."""
from . import digits  # noqa: F401
from .digits import DigitsCNN, DigitsCNNBN, DigitsMLP  # noqa: F401
from .resnet import ResNet, resnet18, resnet34, resnet50  # noqa: F401,E402
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn  # noqa: F401,E402,E501
