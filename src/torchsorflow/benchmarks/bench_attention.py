"""Attention benchmarks: ``scaled_dot_product_attention`` forward+backward at (batch 16, 4 heads,
256 positions, head size 32), and one training step (forward, cross-entropy, backward, AdamW) of
the GPT of :mod:`torchsorflow.models.gpt` (4 layers, width 128, 4 heads, context 64, batch 16,
65 characters), each beside PyTorch CPU at the same thread count. Target: at most 1.5× PyTorch's
time.

The PyTorch GPT (:func:`torch_gpt`) is the same model written in ``torch.nn`` with the same module
names, so the two load each other's weights (tests/test_models_gpt.py checks that they compute the
same loss and gradients).

Run alone: ``python -m torchsorflow.benchmarks.bench_attention [--quick] [--json out.json]``; or
with every other benchmark in one table: ``tsf bench attention``.
"""
from __future__ import annotations

import sys

import numpy as np

from .harness import rows_beside_torch, script_main

TARGET = 1.5
ATTENTION_SHAPE = (16, 4, 256, 32)
GPT = dict(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
GPT_BATCH = 16


def torch_gpt(torch, vocab_size, block_size, n_layer, n_head, n_embd):
    """:class:`torchsorflow.models.gpt.GPT` in torch.nn (nanoGPT's layout and names)."""
    tnn, F = torch.nn, torch.nn.functional

    class Attention(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = tnn.Linear(n_embd, 3 * n_embd)
            self.c_proj = tnn.Linear(n_embd, n_embd)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2)
                       for t in self.c_attn(x).split(n_embd, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).reshape(B, T, C))

    class MLP(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc, self.gelu = tnn.Linear(n_embd, 4 * n_embd), tnn.GELU()
            self.c_proj = tnn.Linear(4 * n_embd, n_embd)

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = tnn.LayerNorm(n_embd), Attention()
            self.ln_2, self.mlp = tnn.LayerNorm(n_embd), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class TorchGPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = tnn.ModuleDict(dict(
                wte=tnn.Embedding(vocab_size, n_embd), wpe=tnn.Embedding(block_size, n_embd),
                drop=tnn.Dropout(0.0), h=tnn.ModuleList([Block() for _ in range(n_layer)]),
                ln_f=tnn.LayerNorm(n_embd)))
            self.lm_head = tnn.Linear(n_embd, vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight

        def forward(self, idx, targets):
            pos = torch.arange(idx.shape[1])
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            return logits, F.cross_entropy(logits.view(-1, vocab_size), targets.view(-1))

    return TorchGPT()


def _is_torch(lib):
    return lib.__name__ == "torch"


def attention_step(lib, shape=ATTENTION_SHAPE):
    """Forward and backward of causal scaled dot-product attention, all three inputs needing
    gradients."""
    rng = np.random.default_rng(0)
    q, k, v = (lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
               for _ in range(3))
    g = lib.tensor(rng.standard_normal(shape).astype(np.float32))

    def step():
        for t in (q, k, v):
            t.grad = None
        lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).backward(g)
    return step


def gpt_step(lib, batch=GPT_BATCH, config=GPT):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.integers(0, config["vocab_size"], (batch, config["block_size"])))
    y = lib.tensor(rng.integers(0, config["vocab_size"], (batch, config["block_size"])))
    if _is_torch(lib):
        model = torch_gpt(lib, **config)
    else:
        from ..models.gpt import GPT, GPTConfig
        model = GPT(GPTConfig(**config))
    optimizer = lib.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        model(x, y)[1].backward()
        optimizer.step()
    return step


def run(quick=False):
    """Rows for ``tsf bench``."""
    b, h, n, e = ATTENTION_SHAPE
    workloads = [(f"scaled_dot_product_attention causal fwd+bwd, ({b}, {h}, {n}, {e})",
                  attention_step),
                 (f"GPT train step ({GPT['n_layer']} layers, width {GPT['n_embd']}, "
                  f"{GPT['n_head']} heads, context {GPT['block_size']}, batch {GPT_BATCH}), AdamW",
                  gpt_step)]
    return rows_beside_torch(workloads, quick, TARGET)


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.split("\n")[0]))
