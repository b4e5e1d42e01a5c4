"""VGG (Simonyan & Zisserman, 2015) with torchvision's exact layout, names and initialisation.

Seed 002, exercise 3 loads ``torchvision.models.vgg11`` and counts its parameters layer by layer.
Here the model is built by the framework itself. A VGG network is three stages:

* ``features`` — a stack of 3x3 convolutions (padding 1, so the spatial size is kept) with ReLU,
  and 2x2 max pooling (``"M"`` in the configurations below) that halves height and width;
* ``avgpool`` — ``AdaptiveAvgPool2d((7, 7))``, so any input of at least 32x32 reaches the
  classifier as 512x7x7 = 25,088 numbers;
* ``classifier`` — Linear(25088, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout,
  Linear(4096, num_classes).

Layer ``i`` of ``features`` is registered under the name ``features.i`` (and the classifier's
under ``classifier.i``) exactly as in torchvision, so a torchvision ``state_dict`` exported as
NumPy arrays loads with :meth:`~torchsorflow.nn.Module.load_state_dict` unchanged.

Where do VGG11's 132,863,336 parameters live? A 3x3 convolution from C_in to C_out channels has
C_out·C_in·9 weights and C_out biases, so all eight convolutions together hold 9,220,480
parameters; the first Linear layer alone holds 25088·4096 + 4096 = 102,764,544 (77 %).

>>> features = make_layers(cfgs["A"])  # VGG11's convolutional part
>>> [sum(p.numel() for p in layer.parameters()) for layer in features][:4]
[1792, 0, 0, 73856]
>>> sum(p.numel() for p in features.parameters())
9220480
"""
from __future__ import annotations

from typing import Any

from .. import nn
from ..nn import init
from ..tensor import Tensor

__all__ = ["VGG", "make_layers", "cfgs", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
           "vgg16_bn", "vgg19", "vgg19_bn"]

# Output channels of each 3x3 convolution, "M" for a 2x2 max pooling. The letters are the columns
# of table 1 in the paper: A = VGG11, B = VGG13, D = VGG16, E = VGG19.
cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def make_layers(cfg: list[int | str], batch_norm: bool = False, in_channels: int = 3
                ) -> nn.Sequential:
    """The ``features`` stack for a configuration: conv3x3 [+ BatchNorm2d] + ReLU, or max pooling.

    >>> make_layers([8, "M"], batch_norm=True)
    Sequential(
      (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
      (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (2): ReLU(inplace=True)
      (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    )
    """
    layers = []
    for position, entry in enumerate(cfg):
        if entry == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        if isinstance(entry, bool) or not isinstance(entry, int) or entry <= 0:
            raise ValueError(f"VGG configuration entry {position} is {entry!r}; expected a "
                             "positive channel count or 'M' (max pooling)")
        # torchvision keeps the conv bias even before BatchNorm (which cancels it), so the
        # _bn parameter counts and state_dict keys match torchvision's.
        layers.append(nn.Conv2d(in_channels, entry, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(entry))
        layers.append(nn.ReLU(inplace=True))
        in_channels = entry
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` → ``avgpool`` (7x7) → flatten → ``classifier``, as torchvision's ``VGG``.

    ``init_weights`` applies torchvision's initialisation: He (Kaiming) normal with
    ``mode="fan_out"`` for convolution weights (std = √(2 / (C_out·3·3))), zero biases, BatchNorm
    γ = 1 and β = 0, and N(0, 0.01²) for the Linear weights. It draws from the default generator,
    so :func:`torchsorflow.manual_seed` makes a model reproducible.
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                init.ones_(module.weight)
                init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                init.normal_(module.weight, 0.0, 0.01)
                init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = x.flatten(1)
        return self.classifier(x)


def _vgg(cfg: str, batch_norm: bool, **kwargs: Any) -> VGG:
    return VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)


def vgg11(**kwargs: Any) -> VGG:
    """VGG 11-layer model (configuration "A"): 132,863,336 parameters with 1000 classes."""
    return _vgg("A", False, **kwargs)


def vgg11_bn(**kwargs: Any) -> VGG:
    """VGG11 with batch normalisation after every convolution: 132,868,840 parameters."""
    return _vgg("A", True, **kwargs)


def vgg13(**kwargs: Any) -> VGG:
    """VGG 13-layer model (configuration "B"): 133,047,848 parameters."""
    return _vgg("B", False, **kwargs)


def vgg13_bn(**kwargs: Any) -> VGG:
    """VGG13 with batch normalisation: 133,053,736 parameters."""
    return _vgg("B", True, **kwargs)


def vgg16(**kwargs: Any) -> VGG:
    """VGG 16-layer model (configuration "D"): 138,357,544 parameters."""
    return _vgg("D", False, **kwargs)


def vgg16_bn(**kwargs: Any) -> VGG:
    """VGG16 with batch normalisation: 138,365,992 parameters."""
    return _vgg("D", True, **kwargs)


def vgg19(**kwargs: Any) -> VGG:
    """VGG 19-layer model (configuration "E"): 143,667,240 parameters."""
    return _vgg("E", False, **kwargs)


def vgg19_bn(**kwargs: Any) -> VGG:
    """VGG19 with batch normalisation: 143,678,248 parameters."""
    return _vgg("E", True, **kwargs)
