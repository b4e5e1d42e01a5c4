"""Max, average and adaptive-average pooling."""
from __future__ import annotations

from ... import ops
from ...ops import nn_ops
from ...tensor import Tensor
from ..module import size_str
from ._common import as_tensor as _as_tensor

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


# --- pooling ---------------------------------------------------------------------------------
def _batched(fn, input, *args, **kwargs):
    """Run a (N, C, H, W) function on an unbatched (C, H, W) input too."""
    input = _as_tensor(input)
    if input.ndim == 3:
        out = fn(ops.unsqueeze(input, 0), *args, **kwargs)
        if isinstance(out, tuple):
            return tuple(ops.squeeze(o, 0) for o in out)
        return ops.squeeze(out, 0)
    if input.ndim != 4:
        raise ValueError(f"{fn.__name__.lstrip('_')}: expected a 3-D or 4-D input, got shape "
                         f"{size_str(input.shape)}")
    return fn(input, *args, **kwargs)


def _check_pool_padding(padding, kernel, dilation=(1, 1)):
    """PyTorch's rules (and messages): padding at most half the (effective) kernel size, so that
    no window is made of padding alone."""
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"pad should be at most half of effective kernel size, but got "
                             f"pad={p}, kernel_size={k} and dilation={d}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"pad should be smaller than or equal to half of kernel size, but got "
                         f"padW = {padding[1]}, padH = {padding[0]}, kW = {kernel[1]}, "
                         f"kH = {kernel[0]}")


def _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    kernel = nn_ops.pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == [] else nn_ops.pair(stride, "stride")
    padding, dilation = nn_ops.pair(padding, "padding"), nn_ops.pair(dilation, "dilation")
    _check_pool_padding(padding, kernel, dilation)
    out, index = nn_ops.max_pool2d(input, kernel, stride, padding, dilation, ceil_mode)
    return (out, Tensor._wrap(index)) if return_indices else out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each window; the gradient flows to the arg-max entry (first one on ties)."""
    return _batched(_max_pool2d, input, kernel_size, stride, padding, dilation, ceil_mode,
                    return_indices)


def _avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    kernel = nn_ops.pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == [] else nn_ops.pair(stride, "stride")
    padding = nn_ops.pair(padding, "padding")
    _check_pool_padding(padding, kernel)
    return nn_ops.avg_pool2d(input, kernel, stride, padding, ceil_mode, count_include_pad,
                             divisor_override)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _batched(_avg_pool2d, input, kernel_size, stride, padding, ceil_mode,
                    count_include_pad, divisor_override)


def _adaptive_avg_pool2d(input, output_size):
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    size = tuple(int(input.shape[2 + i]) if s is None else int(s)
                 for i, s in enumerate(output_size))
    return nn_ops.adaptive_avg_pool2d(input, size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling onto a fixed ``output_size`` grid, whatever the input's size."""
    return _batched(_adaptive_avg_pool2d, input, output_size)
