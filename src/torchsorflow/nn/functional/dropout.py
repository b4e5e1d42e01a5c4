"""Dropout: random zeroing during training.

* :func:`dropout` zeroes entries independently; :func:`dropout1d`/:func:`dropout2d`/
  :func:`dropout3d` zero whole channels (one draw per sample and channel, shared over the
  spatial positions), since neighbouring activations of a feature map are strongly correlated.
* :func:`alpha_dropout` (for SELU networks) sets dropped entries to SELU's negative saturation
  value −α·scale and then applies the affine map that restores the input's mean and variance;
  :func:`feature_alpha_dropout` does it per channel.

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> F.dropout2d(tsf.ones(1, 2, 2, 2), p=0.5, training=False).sum()
tensor(8.)
"""
from __future__ import annotations

import math
import warnings

from ... import ops
from ...ops.creation import default_generator
from ...tensor import Tensor
from ._common import as_tensor as _as_tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

# −α·scale of SELU: the value SELU tends to for very negative inputs.
_SELU_SATURATION = 1.7580993408473766


def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p, generator, dtype):
    """1 where an entry (or channel) survives, with probability 1 − p, else 0."""
    keep = (generator or default_generator).rng.random(shape) >= p
    return keep.astype(dtype)


def _noised(input, p, training, inplace, name, feature, alpha, generator=None):
    """Dropout of either kind: ``feature`` draws one mask per (sample, channel), ``alpha`` keeps
    SELU's mean and variance instead of rescaling by 1/(1 − p)."""
    _check_p(p)
    input = _as_tensor(input)
    if not training or p == 0.0:
        return input
    if feature and input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = input.shape[:2] + (1,) * (input.ndim - 2) if feature else input.shape

    def apply(x):
        if p == 1.0:
            return ops.mul(x, 0.0)
        keep = _keep_mask(shape, p, generator, x.dtype)
        if not alpha:
            return ops.mul(x, Tensor._wrap(keep * x.dtype.type(1.0 / (1.0 - p))))
        a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1) * (1 - p))
        shift = (keep - 1) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
        return ops.add(ops.mul(x, Tensor._wrap(keep * x.dtype.type(a))),
                       Tensor._wrap(shift.astype(x.dtype, copy=False)))

    if inplace:
        return input._update(name + "_", apply)
    return apply(input)


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each entry with probability ``p`` and scale the rest by 1/(1−p) (inverted dropout)."""
    return _noised(input, p, training, inplace, "dropout", False, False, generator)


def _channels(input, p, training, inplace, batched_ndim):
    """Channel-wise dropout; an input of ``batched_ndim − 1`` dimensions has no batch axis."""
    input = _as_tensor(input)
    if input.ndim == batched_ndim or not training or p == 0.0:
        return _noised(input, p, training, inplace, "feature_dropout", True, False)

    def apply(x):
        batched = ops.unsqueeze(x, 0)
        return ops.squeeze(_noised(batched, p, training, False, "feature_dropout", True, False), 0)

    return input._update("feature_dropout_", apply) if inplace else apply(input)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p``."""
    _check_p(p)
    ndim = _as_tensor(input).ndim
    if ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    return _channels(input, p, training, inplace, 3)


def _deprecated_rank(name, ndim, spatial):
    warnings.warn(
        f"{name}: Received a {ndim}-D input to {name}, which is deprecated and will result in "
        f"an error in a future release. To retain the behavior and silence this warning, please "
        f"use dropout instead. Note that {name} exists to provide channel-wise dropout on inputs "
        f"with {spatial} spatial dimensions, a channel dimension, and an optional batch "
        f"dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).", stacklevel=3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) inputs with probability ``p``.

    As in PyTorch, a 3-D input is read as (N, C, L) (with a warning), not as an unbatched image.
    """
    _check_p(p)
    input = _as_tensor(input)
    if input.ndim not in (3, 4):
        _deprecated_rank("dropout2d", input.ndim, 2)
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _noised(input, p, training, inplace, "feature_dropout", True, False)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability ``p``."""
    _check_p(p)
    input = _as_tensor(input)
    if input.ndim not in (4, 5):
        _deprecated_rank("dropout3d", input.ndim, 3)
    return _channels(input, p, training, inplace, 5)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for self-normalising (SELU) networks: keeps zero mean and unit variance."""
    return _noised(input, p, training, inplace, "alpha_dropout", False, True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (dimension 1)."""
    return _noised(input, p, training, inplace, "feature_alpha_dropout", True, True)
