"""Layer, group and RMS normalisation as fused primitives.

All three normalise *groups* of values that lie next to each other in memory, then apply a learned
per-element (layer/RMS norm) or per-channel (group norm) scale γ and shift β:

* ``layer_norm`` over the trailing ``ndim`` dimensions: groups are the rows of x viewed as
  (R, M) with M = the product of those dimensions;
* ``group_norm`` over each group of C/G consecutive channels of an (N, C, ...) input: the rows of
  x viewed as (N·G, C/G·L), so the same row code serves;
* ``rms_norm``: like layer norm without subtracting the mean (Zhang & Sennrich, 2019).

For one row of M values, with s = 1/√(σ² + ε) and x̂ = (x − μ)·s (RMS norm: μ = 0, σ² = mean x²),
the forward is ``y = γ x̂ + β``. Differentiating x̂ gives the hand-derived backward rule, with
``ĝ = ∂L/∂y · γ``::

    ∂L/∂x = s · (ĝ − mean(ĝ) − x̂ · mean(ĝ x̂))        (RMS norm: without the mean(ĝ) term)
    ∂L/∂γ = Σ ∂L/∂y · x̂,   ∂L/∂β = Σ ∂L/∂y           (sums over the rows / over N and L)

and, in forward mode, ``ẏ = γ · s · (ẋ − mean(ẋ) − x̂ · mean(x̂ ẋ)) + γ̇ x̂ + β̇``.

As for batch norm (:mod:`.batch_norm`), the reverse rule comes in two forms: written with
primitives (so that it can be differentiated again), and fused in NumPy for a plain
``backward()``, where autodiff of the composition would record and replay a dozen full-size
operations per layer. tests/test_nn_normalization.py proves the forms equal to each other and to
autodiff through the composed forward.
"""
from __future__ import annotations

import math

import numpy as np

from ..autodiff.tracer import Primitive, is_constant, wrap
from .elementwise import add, mul, rsqrt, sub
from .kernels.reduce import sum_axes
from .reductions import mean as reduce_mean
from .shape import reshape, sum_to

__all__ = ["layer_norm", "group_norm", "rms_norm"]


# --- layouts: how a primitive's groups and affine parameters sit in x --------------------------
def _layer_layout(shape, ndim):
    """(values per group, shape γ and β broadcast as against x) for layer/RMS norm."""
    return math.prod(shape[len(shape) - ndim:]), tuple(shape[len(shape) - ndim:])


def _group_layout(shape, groups):
    return shape[1] // groups * math.prod(shape[2:]), (shape[1],) + (1,) * (len(shape) - 2)


# --- NumPy: the forward pass and the fused backward rule ----------------------------------------
def _row_means(rows):
    """The mean of each row of a 2-D array, as a column."""
    means = sum_axes(rows, (1,), keepdims=True)
    means /= rows.shape[1]
    return means


def _normalized_rows(rows, eps, center):
    """x̂ and s = 1/√(σ²+ε) of each row of a 2-D array (s as a column)."""
    count = rows.shape[1]
    if center:
        rows = rows - _row_means(rows)
    var = np.einsum("ij,ij->i", rows, rows)[:, None] / count
    inv_std = 1.0 / np.sqrt(var + eps)
    return rows * inv_std, inv_std.astype(rows.dtype, copy=False)


def _impl(layout, center):
    def impl(x, *affine, eps, **p):
        count, affine_shape = layout(x.shape, **p)
        xhat, _ = _normalized_rows(x.reshape(-1, count), eps, center)
        y = xhat.reshape(x.shape)
        if affine:
            y *= affine[0].reshape(affine_shape)
        if len(affine) > 1:
            y += affine[1].reshape(affine_shape)
        return y
    return impl


def _sum_to_affine(a, affine_shape):
    """Σ of ``a`` (shaped like x) over every axis that γ broadcasts along."""
    lead = a.ndim - len(affine_shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(affine_shape) if n == 1)
    return sum_axes(a, axes)


def _fused_vjp(g, x, affine, eps, count, affine_shape, center):
    """The backward rule on NumPy arrays: two row means of ĝ and three passes over x."""
    rows = x.reshape(-1, count)
    xhat, inv_std = _normalized_rows(rows, eps, center)
    g_rows = g.reshape(-1, count)
    ghat = g_rows if not affine else (g * affine[0].reshape(affine_shape)).reshape(-1, count)
    dx = ghat - xhat * (np.einsum("ij,ij->i", ghat, xhat)[:, None] / count)
    if center:
        dx -= _row_means(ghat)
    dx *= inv_std
    grads = [dx.reshape(x.shape)]
    if affine:
        gamma = affine[0]
        grads.append(_sum_to_affine((g_rows * xhat).reshape(x.shape), affine_shape)
                     .reshape(gamma.shape).astype(gamma.dtype, copy=False))
    if len(affine) > 1:
        grads.append(_sum_to_affine(g, affine_shape).reshape(affine[1].shape))
    return tuple(grads)


# --- primitives: the same rules, differentiable --------------------------------------------------
def _pieces(x, eps, count, center):
    """x̂ and s as Tensors over the (R, M) row view of ``x``."""
    rows = reshape(x, (-1, count))
    if center:
        rows = sub(rows, reduce_mean(rows, 1, keepdim=True))
    inv_std = rsqrt(add(reduce_mean(mul(rows, rows), 1, keepdim=True), eps))
    return mul(rows, inv_std), inv_std


def _row_terms(v, xhat, inv_std, center):
    """s · (v − mean(v) − x̂·mean(x̂ v)) on rows: the linear map at the heart of both rules (it is
    self-adjoint, which is why one expression serves the vjp and the jvp)."""
    out = sub(v, mul(xhat, reduce_mean(mul(v, xhat), 1, keepdim=True)))
    if center:
        out = sub(out, reduce_mean(v, 1, keepdim=True))
    return mul(out, inv_std)


def _differentiable_vjp(g, x, affine, eps, count, affine_shape, center):
    xhat, inv_std = _pieces(x, eps, count, center)
    gamma = reshape(affine[0], affine_shape) if affine else None
    ghat = reshape(g if gamma is None else mul(g, gamma), (-1, count))
    grads = [reshape(_row_terms(ghat, xhat, inv_std, center), x.shape)]
    if affine:
        full = mul(g, reshape(xhat, x.shape))
        grads.append(reshape(sum_to(full, affine_shape), affine[0].shape))
    if len(affine) > 1:
        grads.append(reshape(sum_to(g, affine_shape), affine[1].shape))
    return tuple(grads)


def _declare(name, layout, center):
    def vjp(g, ans, x, *affine, eps, **p):
        count, affine_shape = layout(x.shape, **p)
        if is_constant(g, x, *affine):
            grads = _fused_vjp(g._array, x._array, [a._array for a in affine], eps, count,
                               affine_shape, center)
            return tuple(wrap(v) for v in grads)
        return _differentiable_vjp(g, x, affine, eps, count, affine_shape, center)

    def jvp(tangents, ans, x, *affine, eps, **p):
        count, affine_shape = layout(x.shape, **p)
        tx, *t_affine = tangents
        xhat, inv_std = _pieces(x, eps, count, center)
        out = None
        if tx is not None:
            out = reshape(_row_terms(reshape(tx, (-1, count)), xhat, inv_std, center), x.shape)
            if affine:
                out = mul(out, reshape(affine[0], affine_shape))
        if t_affine and t_affine[0] is not None:
            term = mul(reshape(xhat, x.shape), reshape(t_affine[0], affine_shape))
            out = term if out is None else add(out, term)
        if len(t_affine) > 1 and t_affine[1] is not None:
            term = reshape(t_affine[1], affine_shape)
            out = term if out is None else add(out, term)
        return out

    return Primitive(name, _impl(layout, center), vjp=vjp, jvp=jvp, joint_vjp=True,
                     joint_jvp=True)


_layer_norm = _declare("layer_norm", _layer_layout, center=True)
_rms_norm = _declare("rms_norm", _layer_layout, center=False)
_group_norm = _declare("group_norm", _group_layout, center=True)


def _affine(x, weight, bias):
    """The primitive's trailing arguments: (), (γ,) or (γ, β); a β without γ gets γ = 1."""
    if weight is None and bias is None:
        return ()
    if weight is None:
        weight = wrap(np.ones(bias.shape, x.dtype))
    return (weight,) if bias is None else (weight, bias)


def layer_norm(x, ndim, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``ndim`` dimensions of ``x``, then ``γ x̂ + β``."""
    return _layer_norm(x, *_affine(x, weight, bias), ndim=ndim, eps=eps)


def rms_norm(x, ndim, weight=None, eps=1e-6):
    """``x / √(mean(x²) + ε) · γ`` over the trailing ``ndim`` dimensions."""
    return _rms_norm(x, *_affine(x, weight, None), ndim=ndim, eps=eps)


def group_norm(x, groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of C/``groups`` channels of an (N, C, ...) ``x``; γ, β per channel."""
    return _group_norm(x, *_affine(x, weight, bias), groups=groups, eps=eps)
