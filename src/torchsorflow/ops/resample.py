"""One linear primitive for interpolation, padding modes and sliding windows: ``resample_axis``.

``resample_axis(x, axis_map=M, axis=a)`` applies a fixed sparse ``(out, in)`` matrix ``M`` along
axis ``a`` (see :mod:`.kernels.axis_maps`). It is linear in ``x``, so its forward-mode rule is
itself applied to the tangent, and its reverse-mode rule is the same primitive with ``Mᵀ``, whose
own reverse rule is ``M`` again: derivatives of every order with no other code.

On it, in this module and in :mod:`torchsorflow.nn.functional`:

* upsampling (``F.interpolate``: nearest, linear, bilinear, bicubic, trilinear, area,
  antialiased): one map per spatial axis;
* ``F.pad`` modes ``'reflect'``, ``'replicate'``, ``'circular'``: one map per padded axis;
* :func:`unfold_axis` / :func:`fold_axis`, im2col along one axis and its adjoint: ``F.unfold``,
  ``F.fold``, and the depth axis of ``conv3d`` / ``conv_transpose3d`` (see :mod:`.convolution`).

>>> import torchsorflow as tsf
>>> from torchsorflow.ops.kernels.axis_maps import pad_map
>>> x = tsf.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = resample(x, pad_map(3, 2, 0, "reflect"), 0)
>>> y
tensor([3., 2., 1., 2., 3.], grad_fn=<resample_axis>)
>>> y.sum().backward()
>>> x.grad
tensor([1., 2., 2.])
"""
from __future__ import annotations

from ..autodiff.tracer import Primitive, to_box
from .kernels.axis_maps import window_map
from .shape import reshape

__all__ = ["resample", "unfold_axis", "fold_axis"]

_resample = Primitive(
    "resample_axis", lambda x, axis_map, axis: axis_map.apply(x, axis),
    vjp=(lambda g, ans, x, axis_map, axis: _resample(g, axis_map=axis_map.T, axis=axis),),
    linear=(0,))


def resample(x, axis_map, axis):
    """``axis_map`` (an :class:`~.kernels.axis_maps.AxisMap`) applied along ``axis`` of ``x``."""
    x = to_box(x)
    return _resample(x, axis_map=axis_map, axis=axis % x.ndim)


def unfold_axis(x, axis, kernel, stride=1, padding=0, dilation=1, windows=None):
    """Sliding windows along ``axis``: that axis of length ``L`` becomes two, ``(kernel,
    windows)``, with ``out[..., k, o, ...] = x[..., o*stride + k*dilation - padding, ...]``
    (zero in the padding)."""
    x = to_box(x)
    axis %= x.ndim
    m = window_map(x.shape[axis], kernel, stride, padding, dilation, windows)
    y = resample(x, m, axis)
    return reshape(y, x.shape[:axis] + (kernel, m.shape[0] // kernel) + x.shape[axis + 1:])


def fold_axis(x, axis, length, stride=1, padding=0, dilation=1):
    """The adjoint of :func:`unfold_axis`: axes ``(axis, axis + 1)`` = ``(kernel, windows)`` are
    added back onto positions ``0 .. length - 1`` (overlapping windows add up)."""
    x = to_box(x)
    axis %= x.ndim
    kernel, windows = x.shape[axis], x.shape[axis + 1]
    m = window_map(length, kernel, stride, padding, dilation, windows)
    merged = reshape(x, x.shape[:axis] + (kernel * windows,) + x.shape[axis + 2:])
    return resample(merged, m.T, axis)

