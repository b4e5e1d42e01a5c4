"""Scaled dot-product attention as one primitive (Vaswani et al., 2017).

For queries Q (..., L, E), keys K (..., S, E) and values V (..., S, Ev)::

    S = scale · Q Kᵀ + B        scores; B an additive float mask (learnable, e.g. ALiBi or T5
                                relative-position biases), entries a bool mask blocks set to −∞
    P = softmax(S)              along the keys; a row with every key blocked gives P = 0 (torch's
                                convention), not NaN
    O = (P ∘ D) V               D the dropout mask, already scaled by 1/(1 − p)

Why one primitive: composed of matmul, add, where, softmax and matmul, autodiff would record five
nodes and keep four (…, L, S) arrays per call; here the forward keeps P alone, and the backward is
the hand-derived rule (with G = ∂L/∂O)::

    ∂L/∂V = (P ∘ D)ᵀ G
    ∂L/∂P = (G Vᵀ) ∘ D
    ∂L/∂S = P ∘ (∂L/∂P − rowsum(∂L/∂P ∘ P))      (softmax's vjp; = ∂L/∂B)
    ∂L/∂Q = scale · ∂L/∂S K,   ∂L/∂K = scale · ∂L/∂Sᵀ Q

Without dropout, rowsum(∂L/∂P ∘ P) = rowsum(G ∘ O) (as in FlashAttention), which saves a pass over
an (L, S) array. In forward mode ``Ṡ = scale (Q̇ Kᵀ + Q K̇ᵀ) + Ḃ``, ``Ṗ = P ∘ (Ṡ − rowsum(P ∘ Ṡ))``
and ``Ȯ = (Ṗ ∘ D) V + (P ∘ D) V̇``.

As for batch norm, the reverse rule exists twice: with primitives (so that it can be
differentiated again, e.g. under ``create_graph=True``), and fused in NumPy for a plain
``backward()``. The NumPy forward and backward work through the (batch × heads) matrices in
chunks, on the runtime's worker lanes (:func:`torchsorflow.ops.kernels.runtime.run_chunks`), so
that each chunk's scores stay in the cache between the product that makes them and the softmax
passes over them, and both cores share the element-wise work (NumPy's exp runs on one thread).
tests/test_nn_attention.py proves both forms equal to autodiff through the composition.
"""
from __future__ import annotations

import math

import numpy as np

from ..autodiff.tracer import Primitive, is_constant, wrap
from .elementwise import add, mul, sub, where
from .kernels import runtime
from .linalg import matmul
from .reductions import softmax, sum as reduce_sum
from .shape import swapaxes

__all__ = ["attention", "attention_forward"]

# --- NumPy: the forward pass and the fused backward, chunk by chunk ------------------------------
def _flat(a, batch):
    """``a`` broadcast to the batch shape and viewed as (B, rows, columns) (a view when the
    broadcasting allows one, as for a mask shared by every head)."""
    return np.broadcast_to(a, batch + a.shape[-2:]).reshape((-1,) + a.shape[-2:])


def _chunks(count, length, keys, itemsize, work):
    most = max(1, runtime.ATTENTION_CHUNK_BYTES // max(1, length * keys * itemsize))
    return runtime.split(count, most, work=work)


def _softmax_rows(s):
    """Softmax along the last axis, in place; rows with no finite score become zeros."""
    top = s.max(axis=-1, keepdims=True)
    top[~np.isfinite(top)] = 0
    s -= top
    np.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    total[total == 0] = 1
    s *= 1 / total
    return s


def attention_forward(q, k, v, bias, scale, blocked, drop):
    """``(P, O)`` for NumPy arrays: P = softmax(scale·Q Kᵀ + B, blocked entries −∞), shaped like
    the broadcast batch dimensions + (L, S), and O = (P ∘ D) V."""
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2],
                                *(a.shape[:-2] for a in (bias, blocked, drop) if a is not None))
    length, keys = q.shape[-2], k.shape[-2]
    qf, kf, vf = _flat(q, batch), _flat(k, batch), _flat(v, batch)
    bf, mf, df = (None if a is None else
                  _flat(np.broadcast_to(a, a.shape[:-2] + (length, keys)), batch)
                  for a in (bias, blocked, drop))
    dtype = np.result_type(q.dtype, k.dtype, v.dtype, bias.dtype if bias is not None else q.dtype)
    probs = np.empty((qf.shape[0], length, keys), dtype)
    out = np.empty((qf.shape[0], length, v.shape[-1]), dtype)
    kt = np.swapaxes(kf, -1, -2)

    def task(_, chunk):
        lo, hi = chunk
        s = probs[lo:hi]
        with runtime.blas_limited(1):   # many small products: the lanes share the cores
            np.matmul(qf[lo:hi] * np.asarray(scale, q.dtype), kt[lo:hi], out=s)
            if bf is not None:
                s += bf[lo:hi]
            if mf is not None:
                np.copyto(s, -np.inf, where=mf[lo:hi])
            _softmax_rows(s)
            np.matmul(s if df is None else s * df[lo:hi], vf[lo:hi], out=out[lo:hi])

    work = qf.shape[0] * length * keys * (q.shape[-1] + v.shape[-1])
    runtime.run_chunks(task, _chunks(qf.shape[0], length, keys, probs.itemsize, work),
                       lambda ws: None, work=work)
    return probs.reshape(batch + (length, keys)), out.reshape(batch + out.shape[-2:])


def _attention_impl(q, k, v, *bias, scale, blocked, fixed, drop, probs=None, picked=None):
    """O, or ``picked``: the O that :func:`attention_forward` computed along with ``probs``
    (the derivative rules never pass it on)."""
    if picked is not None:
        return picked
    return attention_forward(q, k, v, bias[0] if bias else fixed, scale, blocked, drop)[1]


def _fused_vjp(g, ans, q, k, v, scale, drop, probs, with_bias):
    """The backward rule on NumPy arrays, chunk by chunk; returns cotangents shaped like the
    broadcast batch (the tracer sums them back to each argument's shape)."""
    batch = probs.shape[:-2]
    length, keys = probs.shape[-2:]
    pf, gf, vf = _flat(probs, batch), _flat(g, batch), _flat(v, batch)
    qf, kf = _flat(q, batch), _flat(k, batch)
    df = None if drop is None else _flat(np.broadcast_to(drop, drop.shape[:-2] + (length, keys)),
                                         batch)
    of = _flat(ans, batch)
    count = pf.shape[0]
    out = {"q": np.empty(qf.shape, g.dtype), "k": np.empty(kf.shape, g.dtype),
           "v": np.empty((count, keys, v.shape[-1]), g.dtype),
           "bias": np.empty(pf.shape, g.dtype) if with_bias else None}
    scale = np.asarray(scale, g.dtype)

    def task(_, chunk):
        with runtime.blas_limited(1):
            _backward_chunk(*chunk)

    def _backward_chunk(lo, hi):
        p, gc = pf[lo:hi], gf[lo:hi]
        weights = p if df is None else p * df[lo:hi]
        np.matmul(np.swapaxes(weights, -1, -2), gc, out=out["v"][lo:hi])
        ds = np.matmul(gc, np.swapaxes(vf[lo:hi], -1, -2))          # ∂L/∂(P∘D)
        if df is None:
            rows = np.einsum("bij,bij->bi", gc, of[lo:hi])[..., None]  # rowsum(G ∘ O)
        else:
            ds *= df[lo:hi]                                           # ∂L/∂P
            rows = np.einsum("bij,bij->bi", ds, p)[..., None]
        ds -= rows
        ds *= p                                                       # ∂L/∂S
        if out["bias"] is not None:
            out["bias"][lo:hi] = ds
        ds *= scale
        np.matmul(ds, kf[lo:hi], out=out["q"][lo:hi])
        np.matmul(np.swapaxes(ds, -1, -2), qf[lo:hi], out=out["k"][lo:hi])

    work = count * length * keys * (q.shape[-1] + v.shape[-1])
    runtime.run_chunks(task, _chunks(count, length, keys, probs.itemsize, work),
                       lambda ws: None, work=work)
    return tuple(None if out[name] is None else out[name].reshape(batch + out[name].shape[-2:])
                 for name in ("q", "k", "v", "bias"))


# --- primitives: the same rules, differentiable --------------------------------------------------
def composed_probs(q, k, bias, scale, blocked, dead):
    """P as a composition of primitives (differentiable in q, k and the float mask). ``dead``
    marks the rows without any finite score, whose probabilities are zero."""
    s = mul(matmul(q, swapaxes(k, -1, -2)), scale)
    if bias is not None:
        s = add(s, bias)
    if dead is not None:
        s = where(dead, 0.0, s)
    if blocked is not None:
        s = where(blocked & ~dead if dead is not None else blocked, -np.inf, s)
    p = softmax(s, -1)
    return p if dead is None else where(dead, 0.0, p)


def _dead_rows(probs):
    """The rows of P that are all zero (every key blocked), or None if there are none."""
    dead = ~probs.any(axis=-1, keepdims=True)
    return dead if dead.any() else None


def _differentiable_vjp(g, ans, q, k, v, bias, scale, blocked, drop, dead):
    p = composed_probs(q, k, bias, scale, blocked, dead)
    weights = p if drop is None else mul(p, drop)
    dv = matmul(swapaxes(weights, -1, -2), g)
    dp = matmul(g, swapaxes(v, -1, -2))
    if drop is not None:
        dp = mul(dp, drop)
    ds = mul(p, sub(dp, reduce_sum(mul(dp, p), -1, keepdim=True)))
    dq = mul(matmul(ds, k), scale)
    dk = mul(matmul(swapaxes(ds, -1, -2), q), scale)
    return (dq, dk, dv) + ((ds,) if bias is not None else ())


def _bias(bias, fixed):
    """The float mask as a Tensor: the differentiable argument, or the constant one."""
    return bias[0] if bias else (None if fixed is None else wrap(fixed))


def _vjp(g, ans, q, k, v, *bias, scale, blocked, fixed, drop, probs=None, picked=None):
    if is_constant(g, q, k, v, *bias) and probs is not None:
        grads = _fused_vjp(g._array, ans._array, q._array, k._array, v._array, scale, drop,
                           probs, bool(bias))
        return tuple(wrap(a) for a in grads[:3 + len(bias)])
    dead = None if probs is None else _dead_rows(probs)
    grads = _differentiable_vjp(g, ans, q, k, v, _bias(bias, fixed), scale, blocked, drop, dead)
    return grads[:3 + len(bias)]


def _jvp(tangents, ans, q, k, v, *bias, scale, blocked, fixed, drop, probs=None,
         picked=None):
    tq, tk, tv, *tb = tangents
    dead = None if probs is None else _dead_rows(probs)
    p = composed_probs(q, k, _bias(bias, fixed), scale, blocked, dead)
    weights = p if drop is None else mul(p, drop)
    ds = None
    if tq is not None:
        ds = mul(matmul(tq, swapaxes(k, -1, -2)), scale)
    if tk is not None:
        term = mul(matmul(q, swapaxes(tk, -1, -2)), scale)
        ds = term if ds is None else add(ds, term)
    if tb and tb[0] is not None:
        ds = tb[0] if ds is None else add(ds, tb[0])
    out = None
    if ds is not None:
        dp = mul(p, sub(ds, reduce_sum(mul(p, ds), -1, keepdim=True)))
        out = matmul(dp if drop is None else mul(dp, drop), v)
    if tv is not None:
        term = matmul(weights, tv)
        out = term if out is None else add(out, term)
    return out


_attention = Primitive("scaled_dot_product_attention", _attention_impl, vjp=_vjp, jvp=_jvp,
                       joint_vjp=True, joint_jvp=True)


def attention(q, k, v, bias=None, scale=None, blocked=None, drop=None):
    """O = softmax(scale·Q Kᵀ + bias, ``blocked`` entries excluded) ∘ ``drop`` · V.

    ``bias`` is a float Tensor added to the scores (an argument of the primitive when it is
    being differentiated, a constant parameter otherwise); ``blocked`` a boolean array of the
    entries no query may attend to; ``drop`` the dropout mask already divided by the keep
    probability (or None). All broadcast against (..., L, S).
    """
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    probs, out = attention_forward(q._array, k._array, v._array,
                                   None if bias is None else bias._array, scale, blocked, drop)
    fixed = None
    if bias is not None and is_constant(bias):
        bias, fixed = None, bias._array
    args = (q, k, v) if bias is None else (q, k, v, bias)
    return _attention(*args, scale=float(scale), blocked=blocked, fixed=fixed, drop=drop,
                      probs=probs, picked=out)
