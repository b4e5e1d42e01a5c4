"""Pooling: max, average, power-average (LP), adaptive and unpooling, over 1 or 2 dimensions
(adaptive averaging over 3).

1-D pooling is 2-D pooling over a height of 1; adaptive max pooling and unpooling run on max
pooling's gather / scatter primitives (:mod:`torchsorflow.ops.pooling`).

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> y, index = F.max_pool1d(tsf.tensor([[[1., 3., 2., 0.]]]), 2, return_indices=True)
>>> y, index
(tensor([[[3., 2.]]]), tensor([[[1, 2]]]))
>>> F.max_unpool1d(y, index, 2)
tensor([[[0., 3., 2., 0.]]])
"""
from __future__ import annotations

import math

import numpy as np

from ... import ops
from ...ops import nn_ops, pooling as pool_ops
from ...ops.kernels import axis_maps
from ...ops.resample import resample
from ...ops.shape import ShapeError
from ...tensor import Tensor
from ..module import size_str
from ._common import as_tensor as _as_tensor, batched as _batched_n, ntuple

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "lp_pool1d", "lp_pool2d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "max_unpool1d", "max_unpool2d",
           "max_pool1d_with_indices", "max_pool2d_with_indices",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices"]


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
            raise ShapeError(f"pad should be at most half of effective kernel size, but got "
                             f"pad={p}, kernel_size={k} and dilation={d}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ShapeError(f"pad should be smaller than or equal to half of kernel size, but got "
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


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# --- 1-D pooling: 2-D pooling over a height of 1 -------------------------------------------
def _on_rows(fn, input, *args):
    """Run a 2-D pooling function on (N, C, L) as (N, C, 1, L); outputs lose the height again."""
    out = fn(ops.unsqueeze(input, -2), *args)
    if isinstance(out, tuple):
        return tuple(ops.squeeze(o, -2) for o in out)
    return ops.squeeze(out, -2)


def _check_1d(op, input, message=None):
    if input.ndim not in (2, 3):
        raise ShapeError(message or f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                         f"tensor for argument #1 'self' (while checking arguments for {op})")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each window of (N, C, L) or (C, L); indices are positions along L."""
    input = _as_tensor(input)
    _check_1d("max_pool1d", input, "max_pool1d: Expected 2D or 3D (batch mode) tensor with "
              f"optional 0 dim batch size for input, but got:{size_str(input.shape)}")
    kernel = ntuple(kernel_size, 1, "kernel_size")[0]
    stride = kernel if stride is None or stride == [] else ntuple(stride, 1, "stride")[0]
    padding, dilation = ntuple(padding, 1, "padding")[0], ntuple(dilation, 1, "dilation")[0]
    if padding > kernel // 2:
        raise ShapeError(f"max_pool1d() padding should be at most half of kernel size, but got "
                         f"padding={padding} and kernel_size={kernel}")
    return _on_rows(max_pool2d, input, (1, kernel), (1, stride), (0, padding), (1, dilation),
                    ceil_mode, return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """The mean of each window of (N, C, L) or (C, L)."""
    input = _as_tensor(input)
    _check_1d("avg_pool1d", input)
    kernel = ntuple(kernel_size, 1, "kernel_size")[0]
    stride = kernel if stride is None or stride == [] else ntuple(stride, 1, "stride")[0]
    padding = ntuple(padding, 1, "padding")[0]
    return _on_rows(avg_pool2d, input, (1, kernel), (1, stride), (0, padding), ceil_mode,
                    count_include_pad)


# --- power-average pooling -------------------------------------------------------------------
def _lp_pool(input, norm_type, kernel, stride, ceil_mode, spatial):
    """(Σ xᵖ over the window)^(1/p), PyTorch's way: the window mean of xᵖ times the window size,
    with negative means clamped to 0 (sign · relu(|·|)); p = ±inf is the max of ±|x|."""
    max_pool, avg_pool = (max_pool1d, avg_pool1d) if spatial == 1 else (max_pool2d, avg_pool2d)
    input = _as_tensor(input)
    if norm_type == math.inf:
        return max_pool(ops.abs(input), kernel, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return ops.neg(max_pool(ops.neg(ops.abs(input)), kernel, stride, 0, 1, ceil_mode))
    out = avg_pool(ops.pow(input, norm_type), kernel, stride, 0, ceil_mode)
    size = math.prod(ntuple(kernel, spatial, "kernel_size"))
    out = ops.mul(ops.mul(ops.sign(out), ops.relu(ops.abs(out))), size)
    return ops.pow(out, 1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, L): ``(Σ xᵖ)^(1/p)`` per window."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, H, W): ``(Σ xᵖ)^(1/p)`` per window."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


# --- adaptive pooling ------------------------------------------------------------------------
def _adaptive_size(input, output_size, spatial):
    """Output sizes, one per spatial dimension; ``None`` keeps the input's size."""
    if not isinstance(output_size, (tuple, list)):
        output_size = (output_size,) * spatial
    if len(output_size) != spatial:
        raise ValueError(f"output_size must be an int or {spatial} values, got {output_size!r}")
    return tuple(int(input.shape[input.ndim - spatial + i]) if s is None else int(s)
                 for i, s in enumerate(output_size))


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) or (C, L) onto ``output_size`` cells."""
    input = _as_tensor(input)
    _check_1d("adaptive_avg_pool1d", input)
    size = _adaptive_size(input, output_size, 1)
    return _on_rows(adaptive_avg_pool2d, input, (1,) + size)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) onto ``output_size`` cells, one
    averaging map per axis."""
    input = _as_tensor(input)
    if input.ndim not in (4, 5):
        raise ShapeError(f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got "
                         f"{size_str(input.shape)}")
    out = input
    for axis, size in enumerate(_adaptive_size(input, output_size, 3), start=input.ndim - 3):
        out = resample(out, axis_maps.area_map(input.shape[axis], size), axis)
    return out


def _adaptive_max_pool2d(input, output_size, return_indices):
    out, index = pool_ops.adaptive_max_pool2d(input, output_size)
    return (out, Tensor._wrap(index)) if return_indices else out


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of (N, C, H, W) or (C, H, W) onto an ``output_size`` grid of adaptive cells;
    indices are flat positions in each H×W plane (for :func:`max_unpool2d`)."""
    input = _as_tensor(input)
    if input.ndim not in (3, 4):
        raise ShapeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: "
                         f"{size_str(input.shape)}")
    size = _adaptive_size(input, output_size, 2)
    return _batched_n(_adaptive_max_pool2d, input, 2, size, return_indices)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) or (C, L) onto ``output_size`` adaptive cells."""
    input = _as_tensor(input)
    _check_1d("adaptive_max_pool1d", input)
    size = _adaptive_size(input, output_size, 1)
    return _on_rows(adaptive_max_pool2d, input, (1,) + size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


# --- unpooling -------------------------------------------------------------------------------
def _unpool_size(input, kernel, stride, padding, output_size):
    """PyTorch's ``_unpool_output_size``: ``(n-1)·stride + kernel - 2·padding`` by default; a
    given size (optionally with N and C in front) must be within a stride of that."""
    spatial = len(kernel)
    default = [(n - 1) * s + k - 2 * p for n, k, s, p in
               zip(input.shape[-spatial:], kernel, stride, padding)]
    if output_size is None:
        return default
    output_size = [int(v) for v in output_size]
    if len(output_size) == spatial + 2:
        output_size = output_size[2:]
    if len(output_size) != spatial:
        raise ValueError(f"output_size should be a sequence containing {spatial} or "
                         f"{spatial + 2} elements, but it has a length of '{len(output_size)}'")
    for d, (size, base, s) in enumerate(zip(output_size, default, stride)):
        if not base - s < size < base + s:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                             f"between {base - s} and {base + s})")
    return output_size


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, spatial):
    input = _as_tensor(input)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"max_unpool{spatial}d: expected a {spatial + 1}-D or {spatial + 2}-D "
                         f"input, got shape {size_str(input.shape)}")
    kernel = ntuple(kernel_size, spatial, "kernel_size")
    stride = kernel if stride is None else ntuple(stride, spatial, "stride")
    padding = ntuple(padding, spatial, "padding")
    size = _unpool_size(input, kernel, stride, padding, output_size)
    index = np.asarray(indices._array if isinstance(indices, Tensor) else indices, np.int64)
    if index.shape != tuple(input.shape):
        raise ShapeError(f"Expected shape of indices to be same as that of the input tensor "
                         f"({size_str(input.shape)}) but got indices tensor with shape: "
                         f"{size_str(index.shape)}")
    plane = math.prod(size)
    if index.size and (index.min() < 0 or index.max() >= plane):
        bad = index.min() if index.min() < 0 else index.max()
        raise ShapeError(f"Found an invalid max index: {bad} (output volumes are of size "
                         f"{'x'.join(str(v) for v in size)})")
    hw = tuple(size) if spatial == 2 else (1, size[0])
    batched = input.ndim == spatial + 2
    x = input if batched else ops.unsqueeze(input, 0)
    index = index if batched else index[None]
    x, index = (x, index) if spatial == 2 else (ops.unsqueeze(x, -2), index[:, :, None, :])
    out = pool_ops.max_unpool2d(x, index, tuple(x.shape[:2]) + hw)
    if spatial == 1:
        out = ops.squeeze(out, -2)
    return out if batched else ops.squeeze(out, 0)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of :func:`max_pool1d` (``return_indices=True``): each value back at its
    index along L, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of :func:`max_pool2d` (``return_indices=True``): each value back at its flat
    index in the H×W plane, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)
