"""Batch normalisation in training mode as one primitive.

Forward, for each channel over its ``M`` values (batch × spatial positions)::

    μ_B = Σ a_i / M,   σ²_B = Σ (a_i − μ_B)² / M,   â_i = (a_i − μ_B) / √(σ²_B + ε),   y_i = γ â_i + β

The backward rule is the hand-derived formula of the exercise sheet (∂L/∂â, ∂L/∂σ², ∂L/∂μ,
∂L/∂a, ∂L/∂γ, ∂L/∂β), in two forms:

* :func:`_differentiable_vjp`, term by term with framework primitives, so that the rule itself can be
  differentiated (``create_graph=True``, Hessians, forward-over-reverse);
* :func:`_fused_vjp`, the same algebra collapsed into three per-channel coefficients and run in
  NumPy, used when nothing will differentiate the rule (a plain ``loss.backward()``), because
  a dozen separate passes over the activations cost several times PyTorch's single kernel.
  A test proves the two equal.

Per-channel arithmetic is laid out for NumPy's speed: an (N, C, H, W) array is viewed as N rows of
C·H·W numbers and a per-channel vector is repeated H·W times (:func:`_spread`), so every broadcast
runs along long contiguous rows (NumPy is twice as slow broadcasting a (1, C, 1, 1) array over
8×8 planes); per-channel sums are matrix-vector products with a vector of ones, then a sum over
the batch.
"""
from __future__ import annotations

import math

import numpy as np

from ..autodiff.tracer import Primitive, is_constant, wrap
from .elementwise import add, div, mul, neg, sqrt, sub
from .kernels.reduce import sum_axes
from .reductions import mean as reduce_mean, sum as reduce_sum
from .shape import reshape

__all__ = ["batch_norm_train", "batch_norm_stats"]


def _layout(x):
    """``(N, C, L)``: batch, channels and values per channel per example (L = H·W, or 1)."""
    n, c = x.shape[0], x.shape[1]
    return n, c, math.prod(x.shape[2:])


def _spread(v, length):
    """A per-channel vector repeated to match one row of the (N, C·L) view."""
    return v if length == 1 else np.repeat(v, length)


def _channel_sums(a, n, c, length):
    """Σ over batch and positions for each channel of an (N, C, ...) array."""
    return sum_axes(a.reshape(n, c, length), (0, 2))


def _channel_dots(a, b, n, c, length):
    """Σ a·b over batch and positions for each channel (no full-size temporary)."""
    return np.einsum("ncl,ncl->nc", a.reshape(n, c, length), b.reshape(n, c, length)).sum(axis=0)


def batch_norm_stats(x, axes):
    """Per-channel batch mean and *biased* variance of an array (what training normalises with),
    shaped to broadcast against ``x`` (like ``keepdims=True``). Two passes (mean, then the mean
    square deviation), which stays accurate when the mean is large compared to the spread."""
    _check_axes(x, axes)
    n, c, length = _layout(x)
    count = n * length
    mu = _channel_sums(x, n, c, length) / count
    centered = x.reshape(n, -1) - _spread(mu, length)
    var = _channel_dots(centered, centered, n, c, length) / count
    keep = (1, c) + (1,) * (x.ndim - 2)
    return mu.reshape(keep), var.reshape(keep)


def _check_axes(x, axes):
    if tuple(axes) != (0,) + tuple(range(2, x.ndim)):
        raise ValueError(f"batch_norm: axes {tuple(axes)} do not leave exactly the channel axis 1 "
                         f"of a {x.ndim}-D input")


def _bn_impl(x, gamma, beta, axes, eps, mu, var):
    n, c, length = _layout(x)
    scale = gamma / np.sqrt(var.reshape(-1) + eps)
    shift = beta - mu.reshape(-1) * scale
    y = x.reshape(n, -1) * _spread(scale, length)
    y += _spread(shift, length)
    return y.reshape(x.shape)


def _bn_pieces(x, axes, eps, mu, var):
    """μ_B and 1/√(σ²_B+ε) as Tensors: recomputed with framework ops when ``x`` is being
    differentiated (so that second derivatives see their dependence on x), otherwise the constants
    the forward pass already computed."""
    if is_constant(x):
        return wrap(mu), wrap(1 / np.sqrt(var + eps))
    mu_t = reduce_mean(x, axes, keepdims=True)
    centered = sub(x, mu_t)
    var_t = reduce_mean(mul(centered, centered), axes, keepdims=True)
    return mu_t, div(1.0, sqrt(add(var_t, eps)))


def _differentiable_vjp(g, x, gamma, axes, eps, mu, var):
    """The hand-derived backward pass, term by term with primitives (M values per channel).

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


def _fused_vjp(g, x, gamma, eps, mu, var):
    """:func:`_differentiable_vjp` with its terms collected per channel, on NumPy arrays.

    Substituting ∂L/∂σ²_B and ∂L/∂μ_B into ∂L/∂a_i gives, with s = 1/√(σ²_B+ε),
    ``∂L/∂a_i = k₁·∂L/∂y_i + k₂·(a_i − μ_B) + k₃`` where ``k₁ = γs``,
    ``k₂ = −γs³·Σ∂L/∂y(a−μ_B)/M`` and ``k₃ = −γs·Σ∂L/∂y/M``: two per-channel sums and three
    passes over the activations.
    """
    n, c, length = _layout(x)
    count = n * length
    inv_std = 1 / np.sqrt(var.reshape(-1) + eps)
    centered = x.reshape(n, -1) - _spread(mu.reshape(-1), length)   # a_i − μ_B
    sum_g = _channel_sums(g, n, c, length)                            # Σ ∂L/∂y_i
    sum_g_centered = _channel_dots(g, centered, n, c, length)         # Σ ∂L/∂y_i (a_i − μ_B)
    k1 = gamma * inv_std
    k2 = -k1 * inv_std * inv_std * sum_g_centered / count
    k3 = -k1 * sum_g / count
    centered *= _spread(k2, length)
    dx = g.reshape(n, -1) * _spread(k1, length)
    dx += centered
    dx += _spread(k3, length)
    return dx.reshape(x.shape), sum_g_centered * inv_std, sum_g


def _bn_vjp(g, ans, x, gamma, beta, axes, eps, mu, var):
    if is_constant(g, x, gamma):
        dx, dgamma, dbeta = _fused_vjp(g._array, x._array, gamma._array, eps, mu, var)
        return wrap(dx), wrap(dgamma), wrap(dbeta)
    return _differentiable_vjp(g, x, gamma, axes, eps, mu, var)


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
