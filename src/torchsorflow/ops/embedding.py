"""Embedding lookup as one primitive: a row gather whose adjoint is a scatter-add into the table.

``embedding(weight, indices)`` picks ``weight[indices]``: for indices of shape S it returns
S + (embedding_dim,). The pick is linear in the table, so its forward-mode rule is the same pick
of the tangent; its reverse rule adds each output row's cotangent into the row it came from
(:data:`_embedding_backward`, repeated indices adding up), with PyTorch's two twists:

* ``padding_idx``: that row receives no gradient (it stays what it was, usually zeros);
* ``scale_grad_by_freq``: each row's gradient is divided by how often its index occurs in this
  lookup (a word seen 7 times in a batch gets a seventh of its summed gradient).

The backward map is linear in the cotangent, so it closes under differentiation too: its adjoint
picks the rows back (``G[indices]``), with the padding rows zeroed and the same frequency scale,
so Hessians and forward-over-reverse work through an embedding like through any other layer.

The scatter-add sorts the indices once (``np.unique``) and sums equal rows with
``np.add.reduceat``, a handful of vectorised passes, instead of the element-at-a-time
``np.add.at`` loop.
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tracer import Primitive, wrap
from .elementwise import mul

__all__ = ["embedding", "embedding_backward", "check_indices"]


def check_indices(indices, num_embeddings, what="embedding"):
    """``indices`` as an integer array within ``[0, num_embeddings)``, or PyTorch's error naming
    the bad value and where it sits."""
    if indices.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got {indices.dtype} instead (while checking arguments for {what})")
    if indices.size:
        low, high = indices.min(), indices.max()
        if low < 0 or high >= num_embeddings:
            bad = high if high >= num_embeddings else low
            where = tuple(int(i) for i in np.argwhere(indices == bad)[0])
            raise IndexError(f"index out of range in self: {what} index {int(bad)} at position "
                             f"{where} is outside [0, {num_embeddings})")
    return indices


def _frequency_scale(indices, num_weights, padding_idx, scale_grad_by_freq):
    """Per looked-up row: 0 for the padding row, 1/count with ``scale_grad_by_freq``, else 1;
    ``None`` when every factor is 1."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    flat = indices.reshape(-1)
    scale = np.ones(flat.shape, dtype=np.float64)
    if scale_grad_by_freq:
        scale /= np.bincount(flat, minlength=num_weights)[flat]
    if padding_idx is not None:
        scale[flat == padding_idx] = 0.0
    return scale.reshape(indices.shape + (1,))


def _gather_impl(weight, indices, padding_idx=None, scale_grad_by_freq=False):
    return weight.take(indices, axis=0)


def _scatter_rows(g, indices, num_weights, padding_idx, scale_grad_by_freq):
    """Σ of the rows of ``g`` (…, D) into a (num_weights, D) table at ``indices``."""
    dim = g.shape[-1]
    flat, rows = indices.reshape(-1), g.reshape(-1, dim)
    out = np.zeros((num_weights, dim), dtype=g.dtype)
    if flat.size == 0:
        return out
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    unique = ordered[starts]
    sums = np.add.reduceat(rows[order], starts, axis=0)
    if scale_grad_by_freq:
        counts = np.diff(np.r_[starts, flat.size])
        sums /= counts[:, None].astype(g.dtype)
    out[unique] = sums
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


def _gather_vjp(g, ans, weight, indices, padding_idx=None, scale_grad_by_freq=False):
    return _embedding_backward(g, indices=indices, num_weights=weight.shape[0],
                               padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)


def _scatter_vjp(G, ans, g, indices, num_weights, padding_idx, scale_grad_by_freq):
    """The adjoint of the scatter: pick the rows back, zero the padding ones, apply the scale."""
    picked = _embedding(G, indices=indices)
    scale = _frequency_scale(indices, num_weights, padding_idx, scale_grad_by_freq)
    return picked if scale is None else mul(picked, wrap(scale.astype(G.dtype)))


_embedding = Primitive("embedding", _gather_impl, vjp=(_gather_vjp,), linear=(0,))
_embedding_backward = Primitive(
    "embedding_backward",
    lambda g, indices, num_weights, padding_idx, scale_grad_by_freq: _scatter_rows(
        g, indices, num_weights, padding_idx, scale_grad_by_freq),
    vjp=(_scatter_vjp,), linear=(0,))


def embedding(weight, indices, padding_idx=None, scale_grad_by_freq=False):
    """``weight[indices]`` (a Tensor ``weight`` of shape (num_embeddings, D), an integer array
    ``indices``) with PyTorch's gradient: no gradient into ``padding_idx``'s row (a non-negative
    index or ``None``), and with ``scale_grad_by_freq`` each row's gradient divided by its
    count in ``indices``."""
    return _embedding(weight, indices=indices, padding_idx=padding_idx,
                      scale_grad_by_freq=bool(scale_grad_by_freq))


def embedding_backward(g, indices, num_weights, padding_idx=None, scale_grad_by_freq=False):
    """The gradient of :func:`embedding` with respect to the table, for the cotangent ``g``
    (torch's ``embedding_dense_backward``)."""
    return _embedding_backward(g, indices=indices, num_weights=num_weights,
                               padding_idx=padding_idx,
                               scale_grad_by_freq=bool(scale_grad_by_freq))
