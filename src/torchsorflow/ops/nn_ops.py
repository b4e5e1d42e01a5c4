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
from . import blas
from ..tensor import Tensor
from .elementwise import add, div, exp, mul, neg, sqrt, sub
from .reductions import mean as reduce_mean, sum as reduce_sum
from .linalg import matmul
from .shape import reshape, swapaxes

__all__ = ["linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm_train",
           "batch_norm_stats", "erf", "pair"]


def _kernels():
    from .kernels import conv, pool  # imported late: the kernels are their own module
    return conv, pool


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
    y = blas.matmul(x, w.T)
    if bias:
        y += bias[0]
    return y


def _rows(t, width):
    return reshape(t, (-1, width))


_linear = Primitive(
    "linear", _linear_impl,
    vjp=(lambda g, ans, x, w, *b: matmul(g, w),
         lambda g, ans, x, w, *b: matmul(swapaxes(_rows(g, w.shape[0]), 0, 1), _rows(x, w.shape[1])),
         lambda g, ans, x, w, *b: reduce_sum(_rows(g, w.shape[0]), 0)),
    jvp=(lambda t, ans, x, w, *b: matmul(t, swapaxes(w, 0, 1)),
         lambda t, ans, x, w, *b: matmul(x, swapaxes(t, 0, 1)),
         lambda t, ans, x, w, *b: t))


def linear(x, w, b=None):
    """``x @ w.T + b`` for ``w`` of shape (out_features, in_features)."""
    return _linear(x, w) if b is None else _linear(x, w, b)


# --- convolution ---------------------------------------------------------------------------------
def _conv_impl(x, w, stride, padding, dilation, groups):
    return _kernels()[0].conv2d(x, w, stride, padding, dilation, groups)


def _conv_input_grad_impl(gy, w, input_hw, stride, padding, dilation, groups):
    return _kernels()[0].conv2d_grad_input(gy, w, input_hw, stride, padding, dilation, groups)


def _conv_weight_grad_impl(gy, x, kernel_hw, stride, padding, dilation, groups):
    return _kernels()[0].conv2d_grad_weight(gy, x, kernel_hw, stride, padding, dilation, groups)


def _bilinear_jvp(prim_name):
    """Forward rules of a map linear in each of its two arguments: d(a∘b) = ȧ∘b + a∘ḃ (the tracer
    adds the two terms). The primitive is looked up by name when a rule runs, because the three
    convolution primitives are defined in terms of each other."""
    return (lambda t, ans, a, b, **p: globals()[prim_name](t, b, **p),
            lambda t, ans, a, b, **p: globals()[prim_name](a, t, **p))


# One rule per argument, so the backward pass computes only the cotangents it needs (the first
# layer's input needs no gradient, and that product is as expensive as the weight's).
_conv = Primitive(
    "conv2d", _conv_impl,
    vjp=(lambda g, ans, x, w, **p: _conv_input_grad(g, w, input_hw=x.shape[2:], **p),
         lambda g, ans, x, w, **p: _conv_weight_grad(g, x, kernel_hw=w.shape[2:], **p)),
    jvp=_bilinear_jvp("_conv"))

# <G, Aᵀ_w gy> = <conv(G, w), gy>: linear in gy through conv, in w through the weight grad.
_conv_input_grad = Primitive(
    "conv2d_input_grad", _conv_input_grad_impl,
    vjp=(lambda G, ans, gy, w, input_hw, **p: _conv(G, w, **p),
         lambda G, ans, gy, w, input_hw, **p: _conv_weight_grad(gy, G, kernel_hw=w.shape[2:],
                                                                **p)),
    jvp=_bilinear_jvp("_conv_input_grad"))

# <G, weight_grad(gy, x)> = <gy, conv(x, G)>.
_conv_weight_grad = Primitive(
    "conv2d_weight_grad", _conv_weight_grad_impl,
    vjp=(lambda G, ans, gy, x, kernel_hw, **p: _conv(x, G, **p),
         lambda G, ans, gy, x, kernel_hw, **p: _conv_input_grad(gy, G, input_hw=x.shape[2:],
                                                                **p)),
    jvp=_bilinear_jvp("_conv_weight_grad"))


def conv2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """2-D cross-correlation of ``x`` (N, C, H, W) with ``w`` (O, C/groups, kh, kw), no bias.

    ``padding`` is a symmetric ``(ph, pw)`` pair; :func:`torchsorflow.nn.functional.conv2d`
    handles ``'same'``/``'valid'``, asymmetric padding and the bias.
    """
    return _conv(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)


# --- pooling -------------------------------------------------------------------------------------
def _linear_pair(name, forward, adjoint, forward_params, adjoint_params):
    """Two primitives for a linear map and its adjoint, each the other's derivative rule."""
    def fwd_vjp(g, ans, x, **p):
        return backward_prim(g, input_shape=x.shape, **{k: p[k] for k in forward_params})

    def bwd_vjp(g, ans, gy, **p):
        return forward_prim(g, **{k: p[k] for k in adjoint_params if k != "input_shape"})

    forward_prim = Primitive(name, forward, vjp=(fwd_vjp,),
                             jvp=(lambda t, ans, x, **p: forward_prim(t, **p),))
    backward_prim = Primitive(name + "_backward", adjoint, vjp=(bwd_vjp,),
                              jvp=(lambda t, ans, gy, **p: backward_prim(t, **p),))
    return forward_prim, backward_prim


def _pool_gather_impl(x, index):
    """Pick ``x`` at flat per-plane positions ``index`` (one per window).

    Offsetting the per-plane indices to whole-array ones lets one flat ``take`` do the work, which
    is several times faster than ``take_along_axis``'s broadcast fancy indexing.
    """
    n, c = x.shape[:2]
    plane = math.prod(x.shape[2:])
    offsets = (np.arange(n * c, dtype=np.int64) * plane).reshape((n, c) + (1,) * (index.ndim - 2))
    return np.ravel(x).take(index + offsets)


def _pool_scatter_impl(g, index, input_shape):
    """Add ``g`` into the positions ``index`` (repeated positions add up): the gather's adjoint."""
    return _kernels()[1].max_pool2d_backward(g, index, input_shape)


_pool_gather, _pool_scatter = _linear_pair("max_pool2d", _pool_gather_impl, _pool_scatter_impl,
                                           ("index",), ("index", "input_shape"))


def max_pool2d(x, kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    """Max pooling as a gather of the arg-max entries; returns ``(output, indices array)``.

    The kernel finds the arg-max (piecewise constant: no derivative); the output is a linear pick
    of ``x`` there, whose adjoint scatters the gradient back, and so on to any order.
    """
    _, index = _kernels()[1].max_pool2d(x._array, kernel_size, stride, padding, dilation,
                                        ceil_mode)
    return _pool_gather(x, index=index), index


_AVG = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
_avg_pool, _avg_pool_backward = _linear_pair(
    "avg_pool2d",
    lambda x, **p: _kernels()[1].avg_pool2d(x, *(p[k] for k in _AVG)),
    lambda gy, input_shape, **p: _kernels()[1].avg_pool2d_backward(gy, input_shape,
                                                                   *(p[k] for k in _AVG)),
    _AVG, _AVG + ("input_shape",))

_adaptive_avg_pool, _adaptive_avg_pool_backward = _linear_pair(
    "adaptive_avg_pool2d",
    lambda x, output_size: _kernels()[1].adaptive_avg_pool2d(x, output_size),
    lambda gy, input_shape, output_size: _kernels()[1].adaptive_avg_pool2d_backward(
        gy, input_shape, output_size),
    ("output_size",), ("output_size", "input_shape"))


def avg_pool2d(x, kernel_size, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_pool(x, kernel_size=kernel_size, stride=stride, padding=padding,
                     ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                     divisor_override=divisor_override)


def adaptive_avg_pool2d(x, output_size):
    return _adaptive_avg_pool(x, output_size=output_size)


# --- batch normalisation (seed 000, exercise 2) --------------------------------------------------
def batch_norm_stats(x, axes):
    """Per-channel batch mean and *biased* variance of an array (what training normalises with)."""
    mu = x.mean(axis=axes, keepdims=True)
    centered = x - mu
    return mu, (centered * centered).mean(axis=axes, keepdims=True)


def _bn_impl(x, gamma, beta, axes, eps, mu, var):
    scale = gamma.reshape(mu.shape) / np.sqrt(var + eps)
    return x * scale + (beta.reshape(mu.shape) - mu * scale)


def _bn_pieces(x, axes, eps, mu, var):
    """μ_B and 1/√(σ²_B+ε) as Tensors: recomputed with framework ops when ``x`` is being
    differentiated (so that second derivatives see their dependence on x), otherwise the constants
    the forward pass already computed."""
    from ..autodiff.tracer import is_grad_enabled
    if x._trace is None and not (x.requires_grad and is_grad_enabled()):
        return Tensor._wrap(mu), Tensor._wrap(1 / np.sqrt(var + eps))
    mu_t = reduce_mean(x, axes, keepdims=True)
    centered = sub(x, mu_t)
    var_t = reduce_mean(mul(centered, centered), axes, keepdims=True)
    return mu_t, div(1.0, sqrt(add(var_t, eps)))


def _bn_vjp(g, ans, x, gamma, beta, axes, eps, mu, var):
    """The seed's hand-derived backward pass, term by term (M values per channel).

    Two per-channel sums of the upstream gradient, Σ ∂L/∂y_i and Σ ∂L/∂y_i·(a_i − μ_B), feed every
    term: since ∂L/∂â_i = ∂L/∂y_i·γ with γ constant per channel, Σ ∂L/∂â_i·(a_i − μ_B) is γ times
    the second one. So the whole rule reads the full-size arrays 9 times instead of 13.
    """
    M = math.prod(x.shape[a] for a in axes)
    mu_B, inv_std = _bn_pieces(x, axes, eps, mu, var)             # μ_B, 1/√(σ²_B+ε)
    gamma_b = reshape(gamma, mu.shape)
    centered = sub(x, mu_B)                                        # a_i − μ_B
    sum_g = reduce_sum(g, axes, keepdims=True)                     # Σ ∂L/∂y_i
    sum_g_centered = reduce_sum(mul(g, centered), axes, keepdims=True)  # Σ ∂L/∂y_i (a_i − μ_B)
    dL_dahat = mul(g, gamma_b)                                     # ∂L/∂â_i = ∂L/∂y_i · γ
    dL_dvar = mul(mul(gamma_b, sum_g_centered),                    # Σ ∂L/∂â_i (a_i − μ_B)
                  mul(-0.5, mul(inv_std, mul(inv_std, inv_std))))  # · (−½)(σ²_B+ε)^(−3/2)
    # ∂L/∂μ_B = Σ ∂L/∂â_i · (−1/√(σ²_B+ε)) + ∂L/∂σ²_B · Σ −2(a_i−μ_B)/M; the second sum is
    # exactly 0 because the a_i−μ_B sum to zero (for every a, so its derivatives vanish too).
    dL_dmu = neg(mul(mul(gamma_b, sum_g), inv_std))
    dL_da = add(add(mul(dL_dahat, inv_std), mul(centered, mul(dL_dvar, 2.0 / M))),
                mul(dL_dmu, 1.0 / M))                              # ∂L/∂a_i
    channels = (gamma.shape[0],)
    dL_dgamma = reshape(mul(sum_g_centered, inv_std), channels)    # Σ ∂L/∂y_i · â_i
    dL_dbeta = reshape(sum_g, channels)                            # Σ ∂L/∂y_i
    return dL_da, dL_dgamma, dL_dbeta


def _bn_jvp(tangents, ans, x, gamma, beta, axes, eps, mu, var):
    """dâ = (ṫ − mean ṫ − â·mean(â ṫ))/√(σ²+ε);  dy = γ dâ + γ̇ â + β̇."""
    tx, tgamma, tbeta = tangents
    mu_B, inv_std = _bn_pieces(x, axes, eps, mu, var)
    ahat = mul(sub(x, mu_B), inv_std)
    out = None
    if tx is not None:
        dahat = mul(sub(sub(tx, reduce_mean(tx, axes, keepdims=True)),
                        mul(ahat, reduce_mean(mul(ahat, tx), axes, keepdims=True))), inv_std)
        out = mul(reshape(gamma, mu.shape), dahat)
    if tgamma is not None:
        term = mul(reshape(tgamma, mu.shape), ahat)
        out = term if out is None else add(out, term)
    if tbeta is not None:
        term = reshape(tbeta, mu.shape)
        out = term if out is None else add(out, term)
    return out


_batch_norm = Primitive("batch_norm", _bn_impl, vjp=_bn_vjp, jvp=_bn_jvp,
                        joint_vjp=True, joint_jvp=True)


def batch_norm_train(x, gamma, beta, axes, eps, mu=None, var=None):
    """Training-mode batch norm, normalising with the batch's own statistics.

    ``gamma``/``beta`` have one entry per channel; ``axes`` are the axes averaged over ((0,) for
    (N, C), (0, 2, 3) for (N, C, H, W)). ``mu``/``var`` may pass statistics already computed with
    :func:`batch_norm_stats` (the layer needs them for its running averages too).
    """
    if mu is None:
        mu, var = batch_norm_stats(x._array, axes)
    return _batch_norm(x, gamma, beta, axes=axes, eps=eps, mu=mu, var=var)


# --- the error function (for the exact GELU) -----------------------------------------------------
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_slope(x):
    return mul(_TWO_OVER_SQRT_PI, exp(neg(mul(x, x))))


erf = Primitive("erf", lambda x: scipy.special.erf(x).astype(x.dtype, copy=False),
                vjp=(lambda g, ans, x: mul(g, _erf_slope(x)),),
                jvp=(lambda t, ans, x: mul(t, _erf_slope(x)),))
