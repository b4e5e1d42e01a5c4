"""The convolution family on the 2-D engine: 1-D, 3-D and transposed convolutions.

No new kernels and no new primitives. The three mutually adjoint maps of :mod:`.nn_ops`
(``conv2d``, ``conv2d_input_grad``, ``conv2d_weight_grad``, on the tuned im2col engines) and the
one-axis unfolding of :mod:`.resample` make the whole family, derivatives of every order included:

* **conv1d** is conv2d over a height of 1.
* **conv_transpose2d** *is* ``conv2d_input_grad``: the transposed convolution of ``x`` by ``w`` is
  the adjoint of ``z ↦ conv2d(z, w)`` applied to ``x``, for a ``z`` the size of the output. Its
  gradients are then conv2d (for ``x``) and conv2d_weight_grad (for ``w``), its derivative rules.
  ``output_padding`` only makes that ``z`` larger (see :func:`_conv_transpose2d`).
* **conv3d** unfolds the depth axis (im2col along one axis: ``kd`` shifted copies) and moves it
  into the batch and the channels: one conv2d over height and width, with the ``kd`` depth taps as
  ``kd`` times the input channels, and one image per output depth.
* **conv_transpose3d** is the adjoint of that: conv2d_input_grad per input depth, then the depth
  taps folded back (adding where windows overlap).

Arguments here are normalised: batched inputs ``(N, C, *spatial)``, one int per spatial dimension
for stride, padding (symmetric), output_padding and dilation; :mod:`torchsorflow.nn.functional`
checks and converts what users pass.

>>> import torchsorflow as tsf
>>> x = tsf.ones(1, 1, 2, 2)
>>> conv_transpose_nd(x, tsf.ones(1, 1, 2, 2), None, (2, 2), (0, 0), (0, 0), 1, (1, 1)).shape
(1, 1, 4, 4)
"""
from __future__ import annotations

from . import nn_ops
from .elementwise import add
from .resample import fold_axis, unfold_axis
from .shape import pad, permute, reshape, squeeze, unsqueeze

__all__ = ["conv_nd", "conv_transpose_nd", "transposed_size"]


def transposed_size(size, kernel, stride, padding, dilation, output_padding):
    """Output length of a transposed convolution: ``(n-1)·s - 2p + d·(k-1) + output_padding + 1``
    (the input length of the convolution it is the adjoint of)."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _height_one(value, fill):
    return (fill,) + tuple(value)


def conv_nd(x, w, bias, stride, padding, dilation, groups):
    """Convolution (cross-correlation) of ``x`` (N, C, *spatial), 1 to 3 spatial dimensions, with
    ``w`` (O, C/groups, *kernel), plus ``bias`` (O,) if given."""
    spatial = x.ndim - 2
    if spatial == 1:
        y = nn_ops.conv2d(unsqueeze(x, 2), unsqueeze(w, 2), _height_one(stride, 1),
                          _height_one(padding, 0), _height_one(dilation, 1), groups, bias)
        return squeeze(y, 2)
    if spatial == 2:
        return nn_ops.conv2d(x, w, tuple(stride), tuple(padding), tuple(dilation), groups, bias)
    return _conv3d(x, w, bias, stride, padding, dilation, groups)


def _conv3d(x, w, bias, stride, padding, dilation, groups):
    """Depth taps into channels, output depths into the batch, then one conv2d."""
    n, c = x.shape[:2]
    out_channels, c_per_group, kd = w.shape[:3]
    cols = unfold_axis(x, 2, kd, stride[0], padding[0], dilation[0])  # (N, C, kd, OD, H, W)
    od, h, wd = cols.shape[3:]
    # Channel c·kd + k: groups stay contiguous blocks of (C/groups)·kd channels, matching the
    # weight reshaped from (O, C/groups, kd, kh, kw) to (O, C/groups·kd, kh, kw).
    cols = reshape(permute(cols, (0, 3, 1, 2, 4, 5)), (n * od, c * kd, h, wd))
    kernel = reshape(w, (out_channels, c_per_group * kd) + tuple(w.shape[3:]))
    y = nn_ops.conv2d(cols, kernel, tuple(stride[1:]), tuple(padding[1:]), tuple(dilation[1:]),
                      groups, bias)  # (N·OD, O, OH, OW)
    return permute(reshape(y, (n, od) + tuple(y.shape[1:])), (0, 2, 1, 3, 4))


def _conv_transpose2d(x, w, stride, padding, output_padding, dilation, groups):
    """``conv2d_input_grad(x, w)`` onto the transposed convolution's output size.

    A convolution over that size has ``n + output_padding // stride`` windows per axis: ``n``
    while output_padding < stride; more when stride <= output_padding < dilation, and then ``x``
    gets zero windows appended (the adjoint of a convolution that ignores its last windows).
    """
    out_hw = tuple(transposed_size(n, k, s, p, d, op) for n, k, s, p, d, op in zip(
        x.shape[2:], w.shape[2:], stride, padding, dilation, output_padding))
    extra = [op // s for op, s in zip(output_padding, stride)]
    if any(extra):
        x = pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    return nn_ops._conv_input_grad(x, w, input_hw=out_hw, stride=tuple(stride),
                                   padding=tuple(padding), dilation=tuple(dilation),
                                   groups=groups)


def _conv_transpose3d(x, w, stride, padding, output_padding, dilation, groups):
    """Per input depth a 2-D transposed convolution whose channels carry the depth taps, then the
    taps folded back along the depth axis."""
    n, c_in, depth = x.shape[:3]
    out_per_group, kd = w.shape[1:3]
    planes = reshape(permute(x, (0, 2, 1, 3, 4)), (n * depth, c_in) + tuple(x.shape[3:]))
    kernel = reshape(w, (c_in, out_per_group * kd) + tuple(w.shape[3:]))
    y = _conv_transpose2d(planes, kernel, stride[1:], padding[1:], output_padding[1:],
                          dilation[1:], groups)  # (N·D, C_out·kd, OH, OW)
    c_out = out_per_group * groups
    y = permute(reshape(y, (n, depth, c_out, kd) + tuple(y.shape[2:])), (0, 2, 3, 1, 4, 5))
    length = transposed_size(depth, kd, stride[0], padding[0], dilation[0], output_padding[0])
    return fold_axis(y, 2, length, stride[0], padding[0], dilation[0])


def conv_transpose_nd(x, w, bias, stride, padding, output_padding, groups, dilation):
    """Transposed convolution of ``x`` (N, C_in, *spatial) by ``w`` (C_in, C_out/groups,
    *kernel), plus ``bias`` (C_out,) if given (PyTorch's argument order: groups before
    dilation)."""
    spatial = x.ndim - 2
    if spatial == 1:
        y = squeeze(_conv_transpose2d(unsqueeze(x, 2), unsqueeze(w, 2), _height_one(stride, 1),
                                      _height_one(padding, 0), _height_one(output_padding, 0),
                                      _height_one(dilation, 1), groups), 2)
    elif spatial == 2:
        y = _conv_transpose2d(x, w, stride, padding, output_padding, dilation, groups)
    else:
        y = _conv_transpose3d(x, w, stride, padding, output_padding, dilation, groups)
    if bias is not None:
        y = add(y, reshape(bias, (1, -1) + (1,) * spatial))
    return y
