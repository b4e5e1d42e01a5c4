"""Four small classifiers for the 8x8 digits (:func:`torchsorflow.data.datasets.digits`).

They take images of shape ``(N, 1, 8, 8)`` and return logits ``(N, 10)``:

* :class:`DigitsMLP` (``"mlp"``) flattens the 64 pixels and uses two hidden layers;
* :class:`DigitsCNN` (``"cnn"``) uses two 3x3 convolutions, each followed by ReLU and 2x2 max
  pooling (8x8 -> 4x4 -> 2x2), then a linear classifier;
* :class:`DigitsCNNBN` (``"cnn-bn"``) adds batch normalisation after every convolution (seed 000,
  exercise 2), which lets it train with a larger learning rate and reach >= 98 % test accuracy in a
  few epochs;
* :class:`DigitsLSTM` (``"lstm"``) reads each image as a sequence, row by row (8 steps of 8
  pixels), and classifies from the LSTM's last hidden state.

:func:`build` makes a model from its name and keyword hyper-parameters; checkpoints record exactly
these two things, so ``tsf eval`` can rebuild the model before loading the weights.

>>> import torchsorflow as tsf
>>> model = build("cnn-bn", width=8)
>>> model(tsf.zeros(5, 1, 8, 8)).shape
(5, 10)
>>> sum(p.numel() for p in build("mlp").parameters())
17226
"""
from __future__ import annotations

import os

from .. import nn

IMAGE_SHAPE = (1, 8, 8)
NUM_CLASSES = 10


class DigitsMLP(nn.Sequential):
    """Flatten -> Linear(64, hidden) -> ReLU -> Linear(hidden, hidden // 2) -> ReLU ->
    Linear(hidden // 2, 10)."""

    def __init__(self, hidden: int = 128):
        super().__init__(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden // 2), nn.ReLU(),
                         nn.Linear(hidden // 2, NUM_CLASSES))
        self.hparams = {"hidden": hidden}


def _conv_block(in_channels, out_channels, batch_norm):
    """3x3 'same' convolution (+ BatchNorm) + ReLU; the conv drops its bias when BN follows,
    because BN's mean subtraction would cancel it anyway."""
    layers = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return layers + [nn.ReLU()]


class DigitsCNN(nn.Sequential):
    """conv(1->w) ReLU maxpool -> conv(w->2w) ReLU maxpool -> Flatten -> Linear(2w*2*2, 10)."""

    def __init__(self, width: int = 16):
        super().__init__(*_conv_block(1, width, False), nn.MaxPool2d(2),
                         *_conv_block(width, 2 * width, False), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(2 * width * 2 * 2, NUM_CLASSES))
        self.hparams = {"width": width}


class DigitsCNNBN(nn.Sequential):
    """conv(1->w) BN ReLU -> conv(w->2w) BN ReLU maxpool -> conv(2w->2w) BN ReLU maxpool
    -> Flatten -> Linear(2w*2*2, 10)."""

    def __init__(self, width: int = 32):
        super().__init__(*_conv_block(1, width, True),
                         *_conv_block(width, 2 * width, True), nn.MaxPool2d(2),
                         *_conv_block(2 * width, 2 * width, True), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(2 * width * 2 * 2, NUM_CLASSES))
        self.hparams = {"width": width}


class DigitsLSTM(nn.Module):
    """A sequence classifier: the 8 pixel rows of an image, top to bottom, are the 8 steps of an
    LSTM (8 inputs each, ``layers`` deep, ``hidden`` units), and a linear layer maps the last
    layer's final hidden state to the 10 logits."""

    def __init__(self, hidden: int = 128, layers: int = 1):
        super().__init__()
        self.lstm = nn.LSTM(IMAGE_SHAPE[2], hidden, num_layers=layers, batch_first=True)
        self.classifier = nn.Linear(hidden, NUM_CLASSES)
        self.hparams = {"hidden": hidden, "layers": layers}

    def forward(self, images):
        rows = images.reshape(images.shape[0], IMAGE_SHAPE[1], IMAGE_SHAPE[2])  # (N, 8 steps, 8)
        _, (h_n, _) = self.lstm(rows)
        return self.classifier(h_n[-1])


MODELS = {"mlp": DigitsMLP, "cnn": DigitsCNN, "cnn-bn": DigitsCNNBN, "lstm": DigitsLSTM}
# The hyper-parameters each model accepts, with bounds that keep a model within about 100 MB
# (widths far beyond what 8x8 digits can use), and the stored weight whose shape each one fixes.
HPARAMS = {"mlp": {"hidden": (2, 4096)}, "cnn": {"width": (1, 1024)},
           "cnn-bn": {"width": (1, 1024)}, "lstm": {"hidden": (1, 2048), "layers": (1, 8)}}
_DEFINING_WEIGHT = {"mlp": ("1.weight", lambda h: (h["hidden"], 64)),
                    "cnn": ("0.weight", lambda h: (h["width"], 1, 3, 3)),
                    "cnn-bn": ("0.weight", lambda h: (h["width"], 1, 3, 3)),
                    "lstm": ("lstm.weight_hh_l0", lambda h: (4 * h["hidden"], h["hidden"]))}


def check_hparams(name, hparams, source="hparams"):
    """Raise ``ValueError`` unless ``hparams`` are integers within :data:`HPARAMS`' bounds for
    model ``name``: values read from a file must not make us allocate gigabytes."""
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"{source}: unknown digits model {name!r}; choose one of {sorted(MODELS)}")
    if not isinstance(hparams, dict):
        raise ValueError(f"{source}: hyper-parameters must be a dict, got {hparams!r}")
    allowed = HPARAMS[name]
    for key, value in hparams.items():
        if key not in allowed:
            raise ValueError(f"{source}: {name} has no hyper-parameter {key!r} (it takes "
                             f"{', '.join(allowed)})")
        low, high = allowed[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{source}: {key} = {value!r} is outside the sane range for {name}: "
                             f"an integer from {low} to {high}")


def build(name: str, **hparams: int) -> nn.Module:
    """The digits model called ``name`` ('mlp', 'cnn', 'cnn-bn' or 'lstm') with the given
    hyper-parameters."""
    if name not in MODELS:
        raise ValueError(f"unknown digits model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name](**hparams)


def from_checkpoint(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """Rebuild the model saved by ``tsf train`` at ``path``; returns ``(model, checkpoint)``.

    The checkpoint's ``config`` names the model and its hyper-parameters, so nothing else is needed.
    Before anything is built the hyper-parameters are checked against sane bounds and against the
    shape of the stored weight they determine (a 238 KB file announcing ``width: 20000`` asked for
    26.8 GiB); the weights are then loaded strictly (a missing, unexpected or mis-shaped key is an
    error naming it). The model is returned in eval mode.
    """
    from ..io import load
    from ..tensor import Tensor

    checkpoint = load(path)
    config = checkpoint.get("config") if isinstance(checkpoint, dict) else None
    weights = checkpoint.get("model") if isinstance(checkpoint, dict) else None
    if not isinstance(config, dict) or not isinstance(config.get("model"), str) \
            or not isinstance(weights, dict):
        raise ValueError(f"{path}: not a digits checkpoint (expected a 'config' naming the model "
                         "and a 'model' state dict, as written by `tsf train`)")
    name, hparams = config["model"], config.get("hparams", {})
    check_hparams(name, hparams, f"{path}: config")
    key, shape_of = _DEFINING_WEIGHT[name]
    full = {**_defaults(name), **hparams}
    stored = weights.get(key)
    if not isinstance(stored, Tensor):
        raise ValueError(f"{path}: the model state has no tensor {key!r}, which a {name} has")
    if tuple(stored.shape) != shape_of(full):
        raise ValueError(f"{path}: config says {name} with {full} but the stored {key} has shape "
                         f"{tuple(stored.shape)}, not {shape_of(full)}: the file is inconsistent")
    model = build(name, **hparams)
    model.load_state_dict(weights)
    model.eval()
    return model, checkpoint


def _defaults(name):
    import inspect
    parameters = inspect.signature(MODELS[name]).parameters
    return {k: parameters[k].default for k in HPARAMS[name]}
