"""torchvision's VGG and ResNet-18 written in torch.nn, for comparisons with the model zoo.

torchvision is not a dependency of anything here, so its layouts are written out: the same module
names, hence the same ``state_dict`` keys as :mod:`torchsorflow.models`, which lets a benchmark or a
test load one model's weights into the other and compare outputs. ``torch`` is passed in (it is
an optional benchmark and test oracle, never imported by the package itself).
"""
from __future__ import annotations

# Table 1 of Simonyan & Zisserman, column A (VGG11), written out independently of the model zoo.
VGG11_CHANNELS = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


def torch_vgg(torch, channels=VGG11_CHANNELS, batch_norm=False, num_classes=1000):
    """torchvision's VGG layout in torch.nn (``features``, ``avgpool``, ``classifier``); VGG11 by
    default, with batch norm after each convolution if ``batch_norm``."""
    tnn = torch.nn
    layers, c_in = [], 3
    for v in channels:
        if v == "M":
            layers.append(tnn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(tnn.Conv2d(c_in, v, kernel_size=3, padding=1))
        layers += [tnn.BatchNorm2d(v), tnn.ReLU(inplace=True)] if batch_norm else [tnn.ReLU(True)]
        c_in = v

    class TorchVGG(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(*layers)
            self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
            self.classifier = tnn.Sequential(
                tnn.Linear(512 * 7 * 7, 4096), tnn.ReLU(True), tnn.Dropout(),
                tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Dropout(),
                tnn.Linear(4096, num_classes))

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return TorchVGG()


def torch_resnet18(torch, num_classes=1000):
    """torchvision's ResNet-18 layout in torch.nn (the same module names and state_dict keys)."""
    tnn = torch.nn

    def bn_conv(c_in, c_out, k, stride):
        return [tnn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=False),
                tnn.BatchNorm2d(c_out)]

    class Block(tnn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1, self.bn1 = bn_conv(c_in, c_out, 3, stride)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2, self.bn2 = bn_conv(c_out, c_out, 3, 1)
            self.downsample = (tnn.Sequential(*bn_conv(c_in, c_out, 1, stride))
                               if stride != 1 or c_in != c_out else None)

        def forward(self, x):
            shortcut = x if self.downsample is None else self.downsample(x)
            y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(y + shortcut)

    class TorchResNet18(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1, self.relu = tnn.BatchNorm2d(64), tnn.ReLU(inplace=True)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            widths = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
            for i, (c_in, c_out, stride) in enumerate(widths, 1):
                setattr(self, f"layer{i}", tnn.Sequential(Block(c_in, c_out, stride),
                                                          Block(c_out, c_out, 1)))
            self.avgpool, self.fc = tnn.AdaptiveAvgPool2d((1, 1)), tnn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return TorchResNet18()
