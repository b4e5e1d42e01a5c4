"""Vision functions: padding, pixel shuffling and resizing (``interpolate``).

Every one is linear in its input: padding modes and interpolation are one fixed sparse map per
axis (the primitive ``resample_axis``, :mod:`torchsorflow.ops.resample`), built with PyTorch's
index and weight conventions (:mod:`torchsorflow.ops.kernels.axis_maps`); pixel shuffling is a
reshape and a permutation.

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> F.pad(tsf.arange(4.0).reshape(1, 1, 4), (2, 1), mode="reflect")
tensor([[[2., 1., 0., 1., 2., 3., 2.]]])
>>> F.interpolate(tsf.tensor([[[0.0, 1.0]]]), scale_factor=2, mode="linear")
tensor([[[0.  , 0.25, 0.75, 1.  ]]])
>>> F.pixel_shuffle(tsf.arange(4.0).reshape(1, 4, 1, 1), 2)
tensor([[[[0., 1.],
          [2., 3.]]]])
"""
from __future__ import annotations

import math

import numpy as np

from ... import ops
from ...ops.kernels import axis_maps
from ...ops.resample import resample
from ...ops.shape import ShapeError
from ..state_dict import size_str
from ._common import as_tensor as _as_tensor

__all__ = ["pad", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "interpolate",
           "upsample", "upsample_nearest", "upsample_bilinear"]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")
_AXIS_LETTERS = "DHW"


# --- padding ---------------------------------------------------------------------------------
def _constant_pad(input, pairs, value):
    """Constant padding; a negative amount cuts cells off instead (as PyTorch allows)."""
    cut = tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(input.shape, pairs))
    if any(s.stop < s.start for s in cut):
        raise ShapeError("narrow(): length must be non-negative.")
    if any(a < 0 or b < 0 for a, b in pairs):
        input = ops.getitem(input, cut)
    grow = tuple((max(a, 0), max(b, 0)) for a, b in pairs)
    return ops.pad(input, grow, value) if any(a or b for a, b in grow) else input


def _check_pad_mode(input, axis, length, before, after, mode):
    """PyTorch's limits on reflect / replicate / circular padding of one axis."""
    letter = _AXIS_LETTERS[axis - input.ndim]
    if mode == "reflect" and (before >= length or after >= length):
        argument = {"W": 4, "H": 6, "D": 8}[letter]
        raise ShapeError(f"Argument #{argument}: Padding size should be less than the "
                         f"corresponding input dimension, but got: padding ({before}, {after}) "
                         f"at dimension {axis} of input {size_str(input.shape)}")
    if mode == "circular":
        kept = length - max(-before, 0) - max(-after, 0)  # what wraps around, after any cut
        if before > kept or after > kept:
            raise ShapeError("Padding value causes wrapping around more than once.")
        if length + before + after < 0:
            raise ShapeError("Negative padding value is resulting in an empty dimension.")
    elif length + before + after < 1:
        raise ShapeError(f"input ({letter}: {length}) is too small. Calculated output "
                         f"{letter}: {length + before + after}")


def pad(input, pad, mode="constant", value=None):
    """PyTorch's ``F.pad``: ``pad`` lists (before, after) amounts starting from the LAST dimension,
    e.g. ``(left, right, top, bottom)``; negative amounts cut.

    ``mode``: ``'constant'`` (``value``, default 0, any number of dimensions), or ``'reflect'``
    (mirrored, the edge not repeated), ``'replicate'`` (the edge repeated) and ``'circular'``
    (wrapped), which pad the last 1, 2 or 3 dimensions of a batched or unbatched input.
    """
    input = _as_tensor(input)
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise ShapeError("Padding length must be divisible by 2")
    if len(pad) > 2 * input.ndim:
        raise ShapeError(f"Padding length should be less than or equal to two times the input "
                         f"dimension but got padding length {len(pad)} and input of dimension "
                         f"{input.ndim}")
    padded = len(pad) // 2
    pairs = [(0, 0)] * (input.ndim - padded) + [
        (pad[2 * i], pad[2 * i + 1]) for i in reversed(range(padded))]
    if mode == "constant":
        return _constant_pad(input, pairs, 0.0 if value is None else value)
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if padded not in (1, 2, 3) or input.ndim not in (padded + 1, padded + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {input.ndim}D "
                                  "input tensor.")
    out = input
    for axis in range(input.ndim - padded, input.ndim):
        before, after = pairs[axis]
        length = input.shape[axis]
        _check_pad_mode(input, axis, length, before, after, mode)
        if before or after:
            out = resample(out, axis_maps.pad_map(length, before, after, mode), axis)
    return out


# --- pixel shuffling -------------------------------------------------------------------------
def _shuffle_arguments(op, input, factor, name):
    input, r = _as_tensor(input), int(factor)
    if input.ndim < 3:
        raise ShapeError(f"{op} expects input to have at least 3 dimensions, but got input with "
                         f"{input.ndim} dimension(s)")
    if r <= 0:
        raise ShapeError(f"{op} expects a positive {name}, but got {r}")
    return input, r


def pixel_shuffle(input, upscale_factor):
    """(*, C·r², H, W) → (*, C, H·r, W·r): each group of r² channels becomes an r×r block (the
    sub-pixel convolution of super-resolution nets)."""
    input, r = _shuffle_arguments("pixel_shuffle", input, upscale_factor, "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible "
                         f"by the square of upscale_factor, but input.size(-3)={c} is not "
                         f"divisible by {r * r}")
    k = len(lead)
    x = ops.reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = ops.permute(x, (*range(k), k, k + 3, k + 1, k + 4, k + 2))  # (*, C, H, r, W, r)
    return ops.reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """The inverse of :func:`pixel_shuffle`: (*, C, H·r, W·r) → (*, C·r², H, W)."""
    input, r = _shuffle_arguments("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    *lead, c, h, w = input.shape
    for name, axis, size in (("height", -2, h), ("width", -1, w)):
        if size % r:
            raise ShapeError(f"pixel_unshuffle expects {name} to be divisible by "
                             f"downscale_factor, but input.size({axis})={size} is not divisible "
                             f"by {r}")
    k = len(lead)
    x = ops.reshape(input, (*lead, c, h // r, r, w // r, r))
    x = ops.permute(x, (*range(k), k, k + 2, k + 4, k + 1, k + 3))  # (*, C, r, r, H, W)
    return ops.reshape(x, (*lead, c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    """(N, g·k, *) → channels regrouped as k·g (ShuffleNet): channel ``i·k + j`` moves to
    ``j·g + i``."""
    input = _as_tensor(input)
    c = input.shape[1]
    if c % groups:
        raise ShapeError(f"Number of channels must be divisible by groups. Got {c} channels and "
                         f"{groups} groups.")
    rest = tuple(input.shape[2:])
    x = ops.reshape(input, (input.shape[0], groups, c // groups) + rest)
    return ops.reshape(ops.swapaxes(x, 1, 2), (input.shape[0], c) + rest)


# --- interpolation ---------------------------------------------------------------------------
_MODE_DIMS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_MODES = "nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact"


def _per_dimension(input, value, name, shown, form):
    """``value`` as a list with one entry per spatial dimension (a number is repeated)."""
    dim = input.ndim - 2
    if not isinstance(value, (list, tuple)):
        return [value] * dim
    if len(value) != dim:
        raise ValueError(
            f"Input and {name} must have the same number of spatial dimensions, but got input "
            f"with spatial dimensions of {list(input.shape[2:])} and {shown} {value}. Please "
            f"provide input tensor in (N, C, d1, d2, ...,dK) format and {form} format.")
    return list(value)


def _output_size(input, size, scale_factor, recompute_scale_factor):
    """``(output size, scale factors or None)`` as PyTorch's ``interpolate`` works them out."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return [int(s) for s in _per_dimension(input, size, "output", "output size of",
                                               "output size in (o1, o2, ...,oK)")], None
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = [float(s) for s in _per_dimension(input, scale_factor, "scale_factor",
                                               "scale_factor of shape",
                                               "scale_factor in (s1, s2, ...,sK)")]
    size = [math.floor(n * s) for n, s in zip(input.shape[2:], scales)]
    return size, (None if recompute_scale_factor else scales)


def _check_interpolation(input, mode, antialias):
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes "
                         "and requires a 4-D tensor as input")
    if mode in _MODE_DIMS and input.ndim in (3, 4, 5) and input.ndim != _MODE_DIMS[mode]:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{_MODE_DIMS[mode]}D input")
    if input.ndim not in (3, 4, 5) or mode not in (*_MODE_DIMS, "nearest", "nearest-exact",
                                                   "area"):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.ndim}D) for the modes: {_MODES} (got {mode})")
    if mode not in ("nearest", "nearest-exact") and not np.issubdtype(input.dtype, np.floating):
        raise TypeError(f"interpolate: mode {mode!r} needs a floating-point input, got "
                        f"{input.dtype}")


def _axis_map(mode, size_in, size_out, align_corners, scale, dtype, antialias):
    if mode in ("nearest", "nearest-exact"):
        return axis_maps.nearest_map(size_in, size_out, scale, mode == "nearest-exact",
                                     np.dtype(dtype).name)
    if mode == "area":
        return axis_maps.area_map(size_in, size_out)
    if antialias:
        return axis_maps.antialias_map(size_in, size_out, "linear" if mode == "bilinear"
                                       else "cubic", align_corners, scale)
    build = axis_maps.cubic_map if mode == "bicubic" else axis_maps.linear_map
    return build(size_in, size_out, align_corners, scale, np.dtype(dtype).name)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dimensions of (N, C, L), (N, C, H, W) or (N, C, D, H, W) to ``size`` or
    by ``scale_factor``, with PyTorch's sampling conventions.

    ``mode``: ``'nearest'`` (PyTorch's legacy rule, input ``floor(o·in/out)``),
    ``'nearest-exact'`` (``floor((o + ½)·in/out)``), ``'linear'`` / ``'bilinear'`` /
    ``'trilinear'``, ``'bicubic'`` (A = -0.75, edge values repeated), ``'area'`` (adaptive
    averaging). ``align_corners=True`` maps the corner pixels' centres onto each other;
    ``antialias=True`` (bilinear, bicubic) filters like Pillow when shrinking. With
    ``scale_factor`` the sampling step is ``1/scale_factor`` unless ``recompute_scale_factor``.
    """
    input = _as_tensor(input)
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    _check_interpolation(input, mode, antialias)
    if mode == "area" and size is None:
        recompute_scale_factor = True
    output_size, scales = _output_size(input, size, scale_factor, recompute_scale_factor)
    if min(output_size) <= 0:
        letters = _AXIS_LETTERS[3 - len(output_size):]
        shown_in = ", ".join(f"{a}: {n}" for a, n in zip(letters, input.shape[2:]))
        shown_out = ", ".join(f"{a}: {n}" for a, n in zip(letters, output_size))
        joint = " and output" if len(output_size) == 1 else " output"
        raise ShapeError(f"Input and output sizes should be greater than 0, but got input "
                         f"({shown_in}){joint} ({shown_out})")
    out = input
    for axis, (size_in, size_out) in enumerate(zip(input.shape[2:], output_size), start=2):
        scale = scales[axis - 2] if scales is not None else None
        out = resample(out, _axis_map(mode, size_in, size_out, align_corners, scale,
                                      input.dtype, antialias), axis)
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """The old name of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """:func:`interpolate` with ``mode='nearest'``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """:func:`interpolate` with ``mode='bilinear'`` and ``align_corners=True``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
