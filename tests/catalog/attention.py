"""Scaled dot-product attention (torchsorflow/ops/attention.py): plain, causal, with boolean and
float masks broadcast over batch and heads (the float mask differentiable), rows whose every key is
blocked, a dropout mask, and grouped-query heads."""
import numpy as np

import torchsorflow as tsf
import torchsorflow.nn.functional as F
from torchsorflow.ops import attention

from . import row

SDPA = "scaled_dot_product_attention"
Q, K, V = (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2)
BLOCKED = np.random.default_rng(7).random((4, 6)) > 0.6
BLOCKED[1] = True       # query 1 may attend to nothing: zeros, as in torch
DROP = (np.random.default_rng(8).random((2, 3, 4, 6)) > 0.3) / 0.7


def _sdpa(**kw):
    return (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw),
            lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(q, k, v, **kw))


row(SDPA, *_sdpa(), domains=("normal",) * 3, shapes=[(Q, K, V), ((4, 5), (6, 5), (6, 3))])
row(SDPA, *_sdpa(is_causal=True, scale=0.4), domains=("normal",) * 3,
    shapes=[(Q, K, V), ((3, 6, 2), (3, 6, 2), (1, 6, 4))])
row(SDPA, lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=tsf.tensor(~BLOCKED)),
    lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=t.tensor(~BLOCKED)), domains=("normal",) * 3, shapes=[(Q, K, V)])
row(SDPA, lambda q, k, v, b: F.scaled_dot_product_attention(q, k, v, attn_mask=b),
    lambda t, q, k, v, b: t.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=b),
    domains=("normal",) * 4, shapes=[(Q, K, V, (3, 1, 6)), ((4, 5), (6, 5), (6, 2), (4, 6))])
row(SDPA, *_sdpa(enable_gqa=True), domains=("normal",) * 3,
    shapes=[((2, 4, 3, 5), (2, 2, 6, 5), (2, 2, 6, 3))])
row(SDPA, lambda q, k, v: attention.attention(q, k, v, drop=DROP.astype(q.dtype)),
    lambda t, q, k, v: (q @ k.transpose(-1, -2) / np.sqrt(5)).softmax(-1).mul(
        t.tensor(DROP, dtype=q.dtype)) @ v, domains=("normal",) * 3, shapes=[(Q, K, V)])
