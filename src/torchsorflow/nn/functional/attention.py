"""Attention: ``scaled_dot_product_attention`` (one fused primitive, see
:mod:`torchsorflow.ops.attention`) and ``multi_head_attention_forward``, what
:class:`torchsorflow.nn.MultiheadAttention` computes, with torch's arguments and mask rules."""
from __future__ import annotations

import math

import numpy as np

from ... import ops
from ...ops import attention as _ops_attention
from ...ops.creation import default_generator
from ...tensor import Tensor
from ._common import as_tensor as _as_tensor
from .activation import softmax
from .dropout import dropout
from .convolution import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _causal_blocked(length, keys):
    """True above the diagonal (aligned at the top left, as torch's ``is_causal``)."""
    return np.triu(np.ones((length, keys), dtype=bool), 1)


def _repeat_heads(x, repeats):
    """(..., H, S, E) → (..., H·repeats, S, E), each head repeated in place (repeat_interleave)."""
    if repeats == 1:
        return x
    shape = x.shape
    expanded = ops.broadcast_to(ops.unsqueeze(x, -3), shape[:-2] + (repeats,) + shape[-2:])
    return ops.reshape(expanded, shape[:-3] + (shape[-3] * repeats,) + shape[-2:])


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(Q Kᵀ · scale + mask) V`` over the last two dimensions, batch dimensions
    broadcast (torch's function, one fused primitive here).

    ``attn_mask`` is boolean (True: may attend) or float (added to the scores); ``is_causal``
    lets query i see keys 0..i (not together with ``attn_mask``, as in torch); ``scale``
    defaults to 1/√E; ``dropout_p`` drops attention weights (use 0 when evaluating);
    ``enable_gqa`` lets several query heads (dim −3) share each key/value head. A query that may
    attend to no key gets zeros, as in torch.
    """
    query, key, value = _as_tensor(query), _as_tensor(key), _as_tensor(value)
    for name, x in (("query", query), ("key", key), ("value", value)):
        if x.ndim < 2:
            raise RuntimeError(f"scaled_dot_product_attention: {name} must have at least 2 "
                               f"dimensions (..., L, E), got shape {tuple(x.shape)}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query's last dimension "
                           f"{query.shape[-1]} differs from key's {key.shape[-1]} (shapes "
                           f"{tuple(query.shape)} and {tuple(key.shape)})")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key has {key.shape[-2]} positions but "
                           f"value has {value.shape[-2]} (shapes {tuple(key.shape)} and "
                           f"{tuple(value.shape)})")
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), got "
                         f"{dropout_p}")
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if heads % kv_heads or value.shape[-3] != kv_heads:
            raise RuntimeError(f"scaled_dot_product_attention: {heads} query heads cannot be "
                               f"shared among {kv_heads} key heads and {value.shape[-3]} value "
                               "heads (enable_gqa needs a whole number of query heads per key "
                               "head)")
        key, value = _repeat_heads(key, heads // kv_heads), _repeat_heads(value,
                                                                          heads // kv_heads)
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    length, keys = query.shape[-2], key.shape[-2]
    blocked = _causal_blocked(length, keys) if is_causal else None
    bias = None
    if attn_mask is not None:
        attn_mask = _as_tensor(attn_mask)
        if attn_mask.dtype == np.bool_:
            allowed = np.broadcast_to(attn_mask._array, attn_mask.shape[:-2] + (length, keys)) \
                if attn_mask.ndim >= 2 else np.broadcast_to(attn_mask._array, (length, keys))
            blocked = ~allowed
        else:
            bias = attn_mask if attn_mask.dtype == query.dtype else \
                ops.astype(attn_mask, query.dtype)
    drop = None
    if dropout_p > 0.0:
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2])
        keep = default_generator.rng.random(batch + (length, keys)) >= dropout_p
        drop = (keep * (1.0 / (1.0 - dropout_p))).astype(query.dtype)
    return _ops_attention.attention(query, key, value, bias, scale, blocked, drop)


# --- multi-head attention ----------------------------------------------------------------------
def _float_mask(mask, name, dtype):
    """torch's ``_canonical_mask``: a bool mask (True: blocked) becomes 0 / −∞ in ``dtype``; a
    float mask stays; anything else is refused."""
    if mask is None:
        return None
    mask = _as_tensor(mask)
    if mask.dtype == np.bool_:
        return Tensor._wrap(np.where(mask._array, -np.inf, 0.0).astype(dtype))
    if not np.issubdtype(mask.dtype, np.floating):
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _in_projection(query, key, value, heads_weight, bias, separate):
    """Q, K, V = the input projections; one product when it is self-attention."""
    w_q, w_k, w_v = separate if separate is not None else ops.chunk(heads_weight, 3)
    b_q, b_k, b_v = ops.chunk(bias, 3) if bias is not None else (None, None, None)
    if separate is None and query is key and key is value:
        return ops.chunk(linear(query, heads_weight, bias), 3, -1)
    if separate is None and key is value:
        k, v = ops.chunk(linear(key, ops.cat([w_k, w_v]),
                                None if bias is None else ops.cat([b_k, b_v])), 2, -1)
        return linear(query, w_q, b_q), k, v
    return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                                 out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """torch's functional multi-head attention on (L, N, E) inputs (or unbatched (L, E)).

    Returns ``(output, weights)``; the weights (N, L, S), averaged over the heads unless
    ``average_attn_weights=False`` (then (N, H, L, S)), only with ``need_weights``, which computes
    the attention step by step; otherwise the fused scaled dot-product attention runs.
    """
    batched = query.ndim == 3
    if not batched:
        query, key, value = (ops.unsqueeze(x, 1) for x in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = ops.unsqueeze(_as_tensor(key_padding_mask), 0)
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if key.shape[:2] != value.shape[:2]:
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")
    key_padding_mask = _float_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None   # the causal flag alone says it, and lets the fused kernel skip it
    else:
        attn_mask = _float_mask(attn_mask, "attn_mask", query.dtype)
        if key_padding_mask is not None:
            is_causal = False
    separate = (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight \
        else None
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate)
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, key.shape[0]):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, key.shape[0])}.")
            attn_mask = ops.unsqueeze(attn_mask, 0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, key.shape[0]):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(bsz * num_heads, tgt_len, key.shape[0])}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = ops.cat([k, ops.repeat(bias_k, 1, bsz, 1)])
        v = ops.cat([v, ops.repeat(bias_v, 1, bsz, 1)])
        attn_mask = _pad_column(attn_mask)
        key_padding_mask = _pad_column(key_padding_mask)
    # (L, N, E) -> (N·H, L, head_dim)
    q = ops.transpose(ops.reshape(q, (tgt_len, bsz * num_heads, head_dim)), 0, 1)
    k = ops.transpose(ops.reshape(k, (k.shape[0], bsz * num_heads, head_dim)), 0, 1) \
        if static_k is None else static_k
    v = ops.transpose(ops.reshape(v, (v.shape[0], bsz * num_heads, head_dim)), 0, 1) \
        if static_v is None else static_v
    if add_zero_attn:
        zeros = Tensor._wrap(np.zeros((bsz * num_heads, 1, head_dim), k.dtype))
        k, v = ops.cat([k, zeros], 1), ops.cat([v, zeros], 1)
        attn_mask = _pad_column(attn_mask)
        key_padding_mask = _pad_column(key_padding_mask)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but "
                                 f"got {tuple(key_padding_mask.shape)}")
        padding = ops.reshape(ops.broadcast_to(ops.reshape(key_padding_mask, (bsz, 1, 1, src_len)),
                                               (bsz, num_heads, 1, src_len)),
                              (bsz * num_heads, 1, src_len))
        attn_mask = padding if attn_mask is None else ops.add(attn_mask, padding)
    if not training:
        dropout_p = 0.0
    if need_weights:
        scores = ops.matmul(ops.mul(q, math.sqrt(1.0 / head_dim)), ops.transpose(k, -2, -1))
        if attn_mask is not None:
            scores = ops.add(scores, attn_mask)
        weights = softmax(scores, dim=-1)
        dropped = dropout(weights, dropout_p) if dropout_p > 0.0 else weights
        out = ops.matmul(dropped, v)                             # (N·H, L, head_dim)
        weights = ops.reshape(weights, (bsz, num_heads, tgt_len, src_len))
        if average_attn_weights:
            weights = ops.mean(weights, 1)
        if not batched:
            weights = ops.squeeze(weights, 0)
    else:
        if attn_mask is not None:
            attn_mask = ops.unsqueeze(attn_mask, 0) if attn_mask.shape[0] == 1 else \
                ops.reshape(attn_mask, (bsz, num_heads, -1, src_len))
        out = scaled_dot_product_attention(
            ops.reshape(q, (bsz, num_heads, tgt_len, head_dim)),
            ops.reshape(k, (bsz, num_heads, src_len, head_dim)),
            ops.reshape(v, (bsz, num_heads, src_len, head_dim)), attn_mask, dropout_p, is_causal)
        weights = None
    # (N, H, L, head_dim) or (N·H, L, head_dim) -> (L, N, E)
    out = ops.permute(ops.reshape(out, (bsz, num_heads, tgt_len, head_dim)), (2, 0, 1, 3))
    out = linear(ops.reshape(out, (tgt_len * bsz, embed_dim)), out_proj_weight, out_proj_bias)
    out = ops.reshape(out, (tgt_len, bsz, embed_dim))
    return (out if batched else ops.squeeze(out, 1)), weights


def _pad_column(mask):
    """A mask with one more key column, of zeros (the added key may be attended to)."""
    return None if mask is None else ops.pad(mask, ((0, 0),) * (mask.ndim - 1) + ((0, 1),))
