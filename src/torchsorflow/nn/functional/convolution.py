"""Linear layers and 2-D convolution."""
from __future__ import annotations

from ... import ops
from ...ops import nn_ops
from ..module import size_str
from ._common import as_tensor as _as_tensor, check_conv_dtypes, check_linear_dtypes

__all__ = ["linear", "conv2d"]


# --- linear and convolution ------------------------------------------------------------------
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


def _same_padding(kernel_hw, dilation):
    """'same' padding per dimension as (before, after); odd totals put the extra after (PyTorch)."""
    totals = [d * (k - 1) for k, d in zip(kernel_hw, dilation)]
    return [(t // 2, t - t // 2) for t in totals]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C, H, W) with (O, C/groups, kh, kw) kernels.

    ``padding`` is an int, a pair, ``'valid'`` (no padding) or ``'same'`` (output as large as the
    input; stride 1 only). An unbatched (C, H, W) input gives an unbatched output.
    """
    input, weight = _as_tensor(input), _as_tensor(weight)
    check_conv_dtypes(input, weight, None if bias is None else _as_tensor(bias))
    if input.ndim == 3:
        out = conv2d(ops.unsqueeze(input, 0), weight, bias, stride, padding, dilation, groups)
        return ops.squeeze(out, 0)
    stride, dilation = nn_ops.pair(stride, "stride"), nn_ops.pair(dilation, "dilation")
    if input.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv2d: expected a 3-D or 4-D input and a 4-D weight, got input of "
                         f"shape {size_str(input.shape)} and weight of shape "
                         f"{size_str(weight.shape)}")
    if groups < 1 or input.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise ValueError(f"Given groups={groups}, weight of size {size_str(weight.shape)}, "
                         f"expected input{size_str(input.shape)} to have "
                         f"{weight.shape[1] * groups} channels, but got {input.shape[1]} "
                         "channels instead")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            sides = _same_padding(weight.shape[2:], dilation)
            if any(a != b for a, b in sides):
                input = ops.pad(input, ((0, 0), (0, 0)) + tuple(sides))
                padding = (0, 0)
            else:
                padding = (sides[0][0], sides[1][0])
        else:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                             "{'valid', 'same'}")
    else:
        padding = nn_ops.pair(padding, "padding")
    for size, pad, k, d in zip(input.shape[2:], padding, weight.shape[2:], dilation):
        if size + 2 * pad < d * (k - 1) + 1:
            padded_h, padded_w = input.shape[2] + 2 * padding[0], input.shape[3] + 2 * padding[1]
            raise ValueError(f"Calculated padded input size per channel: ({padded_h} x {padded_w})"
                             f". Kernel size: ({weight.shape[2]} x {weight.shape[3]}). Kernel size "
                             "can't be greater than actual input size")
    if bias is not None:
        bias = _as_tensor(bias)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"Given weight of size {size_str(weight.shape)}, expected bias to be "
                             f"1-dimensional with {weight.shape[0]} elements, but got bias of size "
                             f"{size_str(bias.shape)} instead")
    return nn_ops.conv2d(input, weight, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, bias=bias)
