"""Fused, differentiable primitives for neural networks: convolution, pooling, batch norm, erf.

Why fused? Writing ``conv2d`` as thousands of slices and multiplications would record thousands of
graph nodes; one primitive calls a fast NumPy kernel (im2col + BLAS, see :mod:`.kernels`) once.

Why do derivatives stay differentiable? Each derivative rule is *another primitive of this file*
(or a composition of framework ops), never raw NumPy. Convolution is bilinear in (input, weight),
so its three maps close under differentiation::

    y  = conv(x, w)                    the layer
    gx = conv_input_grad(gy, w)        = Aᵀgy, the adjoint of x ↦ conv(x, w)
    gw = conv_weight_grad(gy, x)       the adjoint of w ↦ conv(x, w)

and the cotangent of any of them is one of the other two (``<G, Aᵀgy> = <conv(G, w), gy>`` and so
on). Pooling works the same way with a pair of linear maps (pool and its adjoint), and max pooling
is "pick the arg-max entries", a gather whose adjoint is a scatter. So grad-of-grad, jvp-of-grad and
Hessians of whole CNNs work with no special code.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special

from ..autodiff.tracer import Primitive
from .batch_norm import batch_norm_stats, batch_norm_train
from .elementwise import elementwise, exp, mul, neg
from .kernels import conv as conv_kernels, pool as pool_kernels, runtime
from .linalg import matmul
from .reductions import sum as reduce_sum
from .shape import reshape, swapaxes

__all__ = ["linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm_train",
           "batch_norm_stats", "erf", "pair"]


def pair(value, name="argument"):
    """``3 → (3, 3)``, ``(1, 2) → (1, 2)``; anything else is a clear error."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return (int(value[0]), int(value[1]))
    raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")


# --- linear layer --------------------------------------------------------------------------------
# y = x Wᵀ (+ b) as one primitive: one graph node instead of transpose, matmul and add, and the
# backward computes only the cotangents that are needed (the first layer's input needs none).
def _linear_impl(x, w, *bias):
    y = runtime.matmul(x, w.T)
    if bias:
        y += bias[0]
    return y


def _rows(t, width):
    return reshape(t, (-1, width))


# Bilinear in (x, w) plus a bias, so affine: the tangent of x or w goes through the layer
# without its bias, the bias's tangent passes straight through.
_linear = Primitive(
    "linear", _linear_impl,
    vjp=(lambda g, ans, x, w, *b: matmul(g, w),
         lambda g, ans, x, w, *b: matmul(swapaxes(_rows(g, w.shape[0]), 0, 1), _rows(x, w.shape[1])),
         lambda g, ans, x, w, *b: reduce_sum(_rows(g, w.shape[0]), 0)),
    jvp=(lambda t, ans, x, w, *b: _linear(t, w), lambda t, ans, x, w, *b: _linear(x, t),
         lambda t, ans, x, w, *b: t))


def linear(x, w, b=None):
    """``x @ w.T + b`` for ``w`` of shape (out_features, in_features)."""
    return _linear(x, w) if b is None else _linear(x, w, b)


# --- convolution ---------------------------------------------------------------------------------
def _conv_impl(x, w, *bias, stride, padding, dilation, groups):
    y = conv_kernels.conv2d(x, w, stride, padding, dilation, groups)
    if bias:  # added in place, along whole rows: (N, C_out·OH·OW) += b repeated OH·OW times
        rows = y.reshape(y.shape[0], math.prod(y.shape[1:]))
        rows += np.repeat(bias[0].astype(y.dtype, copy=False), y.shape[2] * y.shape[3])
        y = rows.reshape(y.shape)
    return y


def _conv_input_grad_impl(gy, w, input_hw, stride, padding, dilation, groups):
    return conv_kernels.conv2d_grad_input(gy, w, input_hw, stride, padding, dilation, groups)


def _conv_weight_grad_impl(gy, x, kernel_hw, stride, padding, dilation, groups):
    return conv_kernels.conv2d_grad_weight(gy, x, kernel_hw, stride, padding, dilation, groups)


# Each map is bilinear, so its forward rules follow from linearity, and each reverse rule is one
# of the other two maps. One rule per argument, so the backward pass computes only the
# cotangents it needs (the first layer's input needs no gradient, and that product is as
# expensive as the weight's). The bias is an optional third argument of conv2d: adding it inside
# the primitive saves a pass over the output, and its gradient is a per-channel sum; with it the
# layer is affine, so the tangents of x and w go through it without the bias.
_conv = Primitive(
    "conv2d", _conv_impl,
    vjp=(lambda g, ans, x, w, *b, **p: _conv_input_grad(g, w, input_hw=x.shape[2:], **p),
         lambda g, ans, x, w, *b, **p: _conv_weight_grad(g, x, kernel_hw=w.shape[2:], **p),
         lambda g, ans, x, w, *b, **p: reduce_sum(g, (0, 2, 3))),
    jvp=(lambda t, ans, x, w, *b, **p: _conv(t, w, **p),
         lambda t, ans, x, w, *b, **p: _conv(x, t, **p),
         lambda t, ans, x, w, *b, **p: reshape(t, (1, -1, 1, 1))))

# <G, Aᵀ_w gy> = <conv(G, w), gy>: linear in gy through conv, in w through the weight grad.
_conv_input_grad = Primitive(
    "conv2d_input_grad", _conv_input_grad_impl,
    vjp=(lambda G, ans, gy, w, input_hw, **p: _conv(G, w, **p),
         lambda G, ans, gy, w, input_hw, **p: _conv_weight_grad(gy, G, kernel_hw=w.shape[2:],
                                                                **p)),
    linear=(0, 1))

# <G, weight_grad(gy, x)> = <gy, conv(x, G)>.
_conv_weight_grad = Primitive(
    "conv2d_weight_grad", _conv_weight_grad_impl,
    vjp=(lambda G, ans, gy, x, kernel_hw, **p: _conv(x, G, **p),
         lambda G, ans, gy, x, kernel_hw, **p: _conv_input_grad(gy, G, input_hw=x.shape[2:],
                                                                **p)),
    linear=(0, 1))


def conv2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=None):
    """2-D cross-correlation of ``x`` (N, C, H, W) with ``w`` (O, C/groups, kh, kw), plus an
    optional ``bias`` (O,).

    ``padding`` is a symmetric ``(ph, pw)`` pair; :func:`torchsorflow.nn.functional.conv2d`
    handles ``'same'``/``'valid'`` and asymmetric padding.
    """
    args = (x, w) if bias is None else (x, w, bias)
    return _conv(*args, stride=stride, padding=padding, dilation=dilation, groups=groups)


# --- pooling -------------------------------------------------------------------------------------
def _linear_pair(name, forward, adjoint, forward_params, adjoint_params):
    """Two primitives for a linear map and its adjoint, each the other's derivative rule."""
    def fwd_vjp(g, ans, x, **p):
        return backward_prim(g, input_shape=x.shape, **{k: p[k] for k in forward_params})

    def bwd_vjp(g, ans, gy, **p):
        return forward_prim(g, **{k: p[k] for k in adjoint_params if k != "input_shape"})

    forward_prim = Primitive(name, forward, vjp=(fwd_vjp,), linear=(0,))
    backward_prim = Primitive(name + "_backward", adjoint, vjp=(bwd_vjp,), linear=(0,))
    return forward_prim, backward_prim


def _pool_gather_impl(x, index, picked=None):
    """Pick ``x`` at flat per-plane positions ``index`` (one per window).

    ``picked`` is that pick already made (the max-pool kernel finds the maxima along with their
    positions); the derivative rules never pass it on, since they pick from other arrays (which
    is why the forward rule is written out rather than declared ``linear``).
    Offsetting the per-plane indices to whole-array ones lets one flat ``take`` do the work, which
    is several times faster than ``take_along_axis``'s broadcast fancy indexing.
    """
    if picked is not None:
        return picked
    n, c = x.shape[:2]
    plane = math.prod(x.shape[2:])
    offsets = (np.arange(n * c, dtype=np.int64) * plane).reshape((n, c) + (1,) * (index.ndim - 2))
    return np.ravel(x).take(index + offsets)


def _pool_scatter_impl(g, index, input_shape):
    """Add ``g`` into the positions ``index`` (repeated positions add up): the gather's adjoint."""
    return pool_kernels.max_pool2d_backward(g, index, input_shape, check_indices=False)


_pool_gather = Primitive(
    "max_pool2d", _pool_gather_impl,
    vjp=(lambda g, ans, x, index, picked=None: _pool_scatter(g, index=index, input_shape=x.shape),),
    jvp=(lambda t, ans, x, index, picked=None: _pool_gather(t, index=index),))
_pool_scatter = Primitive(
    "max_pool2d_backward", _pool_scatter_impl,
    vjp=(lambda g, ans, gy, index, input_shape: _pool_gather(g, index=index),), linear=(0,))


def max_pool2d(x, kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    """Max pooling as a gather of the arg-max entries; returns ``(output, indices array)``.

    The kernel finds the arg-max (piecewise constant: no derivative); the output is a linear pick
    of ``x`` there, whose adjoint scatters the gradient back, and so on to any order.
    """
    maxima, index = pool_kernels.max_pool2d(x._array, kernel_size, stride, padding, dilation,
                                             ceil_mode)
    return _pool_gather(x, index=index, picked=maxima), index


_AVG = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
_avg_pool, _avg_pool_backward = _linear_pair(
    "avg_pool2d",
    lambda x, **p: pool_kernels.avg_pool2d(x, *(p[k] for k in _AVG)),
    lambda gy, input_shape, **p: pool_kernels.avg_pool2d_backward(gy, input_shape,
                                                                   *(p[k] for k in _AVG)),
    _AVG, _AVG + ("input_shape",))

_adaptive_avg_pool, _adaptive_avg_pool_backward = _linear_pair(
    "adaptive_avg_pool2d",
    lambda x, output_size: pool_kernels.adaptive_avg_pool2d(x, output_size),
    lambda gy, input_shape, output_size: pool_kernels.adaptive_avg_pool2d_backward(
        gy, input_shape, output_size),
    ("output_size",), ("output_size", "input_shape"))


def avg_pool2d(x, kernel_size, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_pool(x, kernel_size=kernel_size, stride=stride, padding=padding,
                     ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                     divisor_override=divisor_override)


def adaptive_avg_pool2d(x, output_size):
    return _adaptive_avg_pool(x, output_size=output_size)


# --- the error function (for the exact GELU) -----------------------------------------------------
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_slope(x):
    return mul(_TWO_OVER_SQRT_PI, exp(neg(mul(x, x))))


erf = elementwise("erf", lambda x: scipy.special.erf(x).astype(x.dtype, copy=False),
                  lambda ans, x: _erf_slope(x))
