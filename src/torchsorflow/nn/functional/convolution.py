"""Linear layers, convolutions (1-, 2-, 3-D and transposed) and sliding windows (unfold/fold).

The maths lives in :mod:`torchsorflow.ops.convolution` (everything on the 2-D engine) and
:mod:`torchsorflow.ops.resample`; here are PyTorch's signatures, argument forms (an int or one
per dimension, ``'same'``/``'valid'``), unbatched inputs and error messages.

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> F.conv_transpose2d(tsf.ones(1, 1, 2, 2), tsf.ones(1, 1, 3, 3), stride=2, padding=1,
...                    output_padding=1).shape
(1, 1, 4, 4)
>>> F.fold(F.unfold(tsf.ones(1, 1, 3, 3), 2), (3, 3), 2)   # each cell counted once per window
tensor([[[[1., 2., 1.],
          [2., 4., 2.],
          [1., 2., 1.]]]])
"""
from __future__ import annotations

import math

from ... import ops
from ...ops import nn_ops
from ...ops.convolution import conv_nd, conv_transpose_nd, transposed_size
from ...ops.kernels.shapes import span
from ...ops.resample import fold_axis, unfold_axis
from ...ops.shape import ShapeError
from ..state_dict import size_str
from ._common import (as_tensor as _as_tensor, batched as _batched, check_conv_dtypes,
                      check_linear_dtypes, ntuple)

__all__ = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]


# --- linear ----------------------------------------------------------------------------------
def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` with ``weight`` shaped (out_features, in_features)."""
    if input.ndim == 0 or weight.ndim == 0:   # a scalar has no feature axis to contract
        raise ValueError(f"linear: both arguments to linear need to be at least 1D, but they are "
                         f"{input.ndim}D and {weight.ndim}D")
    if input.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input of shape {tuple(input.shape)} has {input.shape[-1]} "
                         f"features but weight of shape {tuple(weight.shape)} expects "
                         f"{weight.shape[-1]}")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{tuple(weight.shape)}")
    input = _as_tensor(input)
    check_linear_dtypes(input, weight, bias)
    return nn_ops.linear(input, weight, bias)


# --- convolution -----------------------------------------------------------------------------
def same_padding(kernel, dilation):
    """'same' padding per dimension as (before, after); odd totals put the extra after (PyTorch)."""
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return [(t // 2, t - t // 2) for t in totals]


def _sizes(values):
    return " x ".join(str(int(v)) for v in values)


def _check_bias(bias, expected, prefix):
    if bias is None:
        return None
    bias = _as_tensor(bias)
    if tuple(bias.shape) != (expected,):
        raise ShapeError(f"{prefix}, expected bias to be 1-dimensional with {expected} elements, "
                         f"but got bias of size {size_str(bias.shape)} instead")
    return bias


def _convolution(spatial, input, weight, bias, stride, padding, dilation, groups):
    op = f"conv{spatial}d"
    input, weight = _as_tensor(input), _as_tensor(weight)
    check_conv_dtypes(input, weight, None if bias is None else _as_tensor(bias))
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input "
                         f"to {op}, but got input of size: {size_str(input.shape)}")
    if weight.ndim != spatial + 2:
        raise ShapeError(f"{op}: expected a {spatial + 2}-D weight (C_out, C_in/groups, "
                         f"*kernel), got shape {size_str(weight.shape)}")
    if input.ndim == spatial + 1:
        return _batched(lambda x: _convolution(spatial, x, weight, bias, stride, padding,
                                               dilation, groups), input, spatial)
    stride, dilation = ntuple(stride, spatial, "stride"), ntuple(dilation, spatial, "dilation")
    if groups < 1 or input.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise ShapeError(f"Given groups={groups}, weight of size {size_str(weight.shape)}, "
                         f"expected input{size_str(input.shape)} to have "
                         f"{weight.shape[1] * groups} channels, but got {input.shape[1]} "
                         "channels instead")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * spatial
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            sides = same_padding(kernel, dilation)
            if any(a != b for a, b in sides):  # odd total: the extra zero goes after
                input = ops.pad(input, ((0, 0), (0, 0)) + tuple(sides))
                padding = (0,) * spatial
            else:
                padding = tuple(a for a, _ in sides)
        else:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                             "{'valid', 'same'}")
    else:
        padding = ntuple(padding, spatial, "padding")
    padded = [n + 2 * p for n, p in zip(input.shape[2:], padding)]
    if any(n < span(k, d) for n, k, d in zip(padded, kernel, dilation)):
        raise ShapeError(f"Calculated padded input size per channel: ({_sizes(padded)}). Kernel "
                         f"size: ({_sizes(kernel)}). Kernel size can't be greater than actual "
                         "input size")
    bias = _check_bias(bias, weight.shape[0], f"Given weight of size {size_str(weight.shape)}")
    return conv_nd(input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) of (N, C, L) with (O, C/groups, k) kernels; an
    unbatched (C, L) input gives an unbatched output. ``padding``: int, 1-tuple, ``'valid'`` or
    ``'same'`` (stride 1 only)."""
    return _convolution(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C, H, W) with (O, C/groups, kh, kw) kernels.

    ``padding`` is an int, a pair, ``'valid'`` (no padding) or ``'same'`` (output as large as the
    input; stride 1 only). An unbatched (C, H, W) input gives an unbatched output.
    """
    return _convolution(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution of (N, C, D, H, W) with (O, C/groups, kd, kh, kw) kernels (unbatched
    (C, D, H, W) too); arguments as :func:`conv2d`'s, one value per spatial dimension."""
    return _convolution(3, input, weight, bias, stride, padding, dilation, groups)


# --- transposed convolution ------------------------------------------------------------------
_AXES = {1: ("height", "width"), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _as_engine_dims(spatial, values, fill):
    """1-D layers run as 2-D ones with a height of 1, and PyTorch's messages show that height."""
    return ((fill,) if spatial == 1 else ()) + tuple(values)


def _conv_transpose(spatial, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    op = f"conv_transpose{spatial}d"
    input, weight = _as_tensor(input), _as_tensor(weight)
    check_conv_dtypes(input, weight, None if bias is None else _as_tensor(bias))
    if input.ndim == spatial + 1:
        return _batched(lambda x: _conv_transpose(spatial, x, weight, bias, stride, padding,
                                                  output_padding, groups, dilation),
                        input, spatial)
    if input.ndim != spatial + 2:
        raise ShapeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input "
                         f"to {op}, but got input of size: {size_str(input.shape)}")
    if weight.ndim != spatial + 2:
        raise ShapeError(f"{op}: expected a {spatial + 2}-D weight (C_in, C_out/groups, "
                         f"*kernel), got shape {size_str(weight.shape)}")
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    stride, padding = ntuple(stride, spatial, "stride"), ntuple(padding, spatial, "padding")
    output_padding = ntuple(output_padding, spatial, "output_padding")
    dilation = ntuple(dilation, spatial, "dilation")
    if groups < 1 or weight.shape[0] % groups:
        raise ShapeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                         f"dimension 0, but got weight of size [{size_str(weight.shape)}] instead")
    prefix = f"Given transposed=1, weight of size {size_str(weight.shape)}"
    if input.shape[1] != weight.shape[0]:
        raise ShapeError(f"{prefix}, expected input{size_str(input.shape)} to have "
                         f"{weight.shape[0]} channels, but got {input.shape[1]} channels instead")
    if any(op_ >= s and op_ >= d for op_, s, d in zip(output_padding, stride, dilation)):
        axes = _AXES[spatial]
        shown = [_as_engine_dims(spatial, v, fill) for v, fill in
                 ((output_padding, 0), (stride, 1), (dilation, 1))]
        text = " ".join(f"{name}_{axis}: {value}" for name, values in
                        zip(("output_padding", "stride", "dilation"), shown)
                        for axis, value in zip(axes, values))
        raise ShapeError("output padding must be smaller than either stride or dilation, but "
                         f"got {text}")
    kernel = tuple(weight.shape[2:])
    size = [transposed_size(*args) for args in zip(input.shape[2:], kernel, stride, padding,
                                                   dilation, output_padding)]
    if min(size) < 1:
        raise ShapeError(
            f"Given input size per channel: "
            f"({_sizes(_as_engine_dims(spatial, input.shape[2:], 1))}). Calculated output size "
            f"per channel: ({_sizes(_as_engine_dims(spatial, size, 1))}). Output size is too "
            "small")
    bias = _check_bias(bias, weight.shape[1] * groups, prefix)
    return conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                             dilation)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed 1-D convolution of (N, C_in, L) by (C_in, C_out/groups, k) kernels: the
    adjoint of :func:`conv1d` (its input gradient), with ``output_padding`` cells added at the end
    of the output (which ``padding`` would otherwise cut)."""
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed 2-D convolution ("deconvolution") of (N, C_in, H, W) by (C_in,
    C_out/groups, kh, kw) kernels: output size ``(H-1)·stride - 2·padding + dilation·(k-1) +
    output_padding + 1`` per axis. Note PyTorch's argument order: groups before dilation."""
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed 3-D convolution of (N, C_in, D, H, W) by (C_in, C_out/groups, kd, kh, kw)
    kernels."""
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


# --- sliding windows -------------------------------------------------------------------------
def _window_arguments(kernel_size, dilation, padding, stride):
    kernel, dilation = ntuple(kernel_size, 2, "kernel_size"), ntuple(dilation, 2, "dilation")
    padding, stride = ntuple(padding, 2, "padding"), ntuple(stride, 2, "stride")
    for name, values, low in (("kernel size", kernel, 1), ("stride", stride, 1),
                              ("dilation", dilation, 1), ("padding", padding, 0)):
        if min(values) < low:
            short = {"kernel size": "kernel", "padding": "pad"}.get(name, name)
            relation = "greater than zero" if low else "non-negative"
            raise ShapeError(f"{name} should be {relation}, but got {short}_height: "
                             f"{values[0]} {short}_width: {values[1]}")
    return kernel, dilation, padding, stride


def _blocks(size, kernel, dilation, padding, stride):
    return tuple((n + 2 * p - span(k, d)) // s + 1 for n, k, d, p, s in
                 zip(size, kernel, dilation, padding, stride))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: every ``kernel_size`` block of (N, C, H, W) as a column, giving (N, C·kh·kw, L)
    with L blocks in row-major order (unbatched (C, H, W) gives (C·kh·kw, L)). Its adjoint is
    :func:`fold`."""
    input = _as_tensor(input)
    if input.ndim not in (3, 4):
        raise ShapeError(f"Input Error: Only 3D or 4D input Tensors are supported (got "
                         f"{input.ndim}D)")
    kernel, dilation, padding, stride = _window_arguments(kernel_size, dilation, padding, stride)
    blocks = _blocks(input.shape[-2:], kernel, dilation, padding, stride)
    if min(blocks) < 1:
        raise ShapeError(f"Given input with spatial size {tuple(input.shape[-2:])}, kernel_size="
                         f"{kernel}, dilation={dilation}, padding={padding}, calculated shape of "
                         f"the array of sliding blocks as {blocks}, but its components must be "
                         "at least one.")

    def run(x):
        n, c = x.shape[:2]
        rows = unfold_axis(x, 2, kernel[0], stride[0], padding[0], dilation[0])
        cols = unfold_axis(rows, 4, kernel[1], stride[1], padding[1], dilation[1])
        # (N, C, kh, OH, kw, OW) -> (N, C·kh·kw, OH·OW)
        return ops.reshape(ops.permute(cols, (0, 1, 2, 4, 3, 5)), (n, c * math.prod(kernel), -1))
    return _batched(run, input, 2)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, the adjoint of :func:`unfold`: (N, C·kh·kw, L) blocks added back into
    (N, C, *output_size), overlapping blocks summing (unbatched (C·kh·kw, L) gives (C, H, W))."""
    input = _as_tensor(input)
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise ShapeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch "
                         "size and non-zero dimensions for input, but got: "
                         f"{size_str(input.shape)}")
    output_size = ntuple(output_size, 2, "output_size")
    kernel, dilation, padding, stride = _window_arguments(kernel_size, dilation, padding, stride)
    channels, count = input.shape[-2:]
    taps = math.prod(kernel)
    if channels % taps:
        raise ShapeError(f"Expected size of input's dimension 1 to be divisible by the product of "
                         f"kernel_size, but got input.size(1)={channels} and "
                         f"kernel_size={kernel}.")
    blocks = _blocks(output_size, kernel, dilation, padding, stride)
    if min(blocks) < 1 or math.prod(blocks) != count:
        raise ShapeError(f"Given output_size={output_size}, kernel_size={kernel}, dilation="
                         f"{dilation}, padding={padding}, stride={stride}, expected size of "
                         f"input's dimension 2 to match the calculated number of sliding blocks "
                         f"{blocks[0]} * {blocks[1]} = {math.prod(blocks)}, but got "
                         f"input.size(2)={count}.")

    def run(x):
        n = x.shape[0]
        cols = ops.permute(ops.reshape(x, (n, channels // taps) + kernel + blocks),
                           (0, 1, 2, 4, 3, 5))  # (N, C, kh, OH, kw, OW)
        rows = fold_axis(cols, 4, output_size[1], stride[1], padding[1], dilation[1])
        return fold_axis(rows, 2, output_size[0], stride[0], padding[0], dilation[0])
    return _batched(run, input, 1)
