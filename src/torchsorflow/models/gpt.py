"""A GPT language model in one readable file, in the spirit of minGPT (Radford et al., 2018/2019).

A stack of ``n_layer`` pre-LN Transformer blocks over token + position embeddings::

    x = wte[idx] + wpe[0..T-1]
    x = x + attn(ln_1(x))        causal multi-head self-attention (one fused primitive)
    x = x + mlp(ln_2(x))         Linear(C, 4C) -> GELU -> Linear(4C, C)
    logits = lm_head(ln_f(x))    lm_head's weight *is* wte's (weight tying, Press & Wolf 2017)

Parameter names and initialisation follow minGPT/nanoGPT (``transformer.h.0.attn.c_attn.weight``,
N(0, 0.02) weights, residual projections scaled by 1/√(2·n_layer)), so their weights load into
this model. The tied weight is one Parameter under two names; :func:`torchsorflow.summary` counts it
once.

>>> import torchsorflow as tsf
>>> model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=2, n_head=2, n_embd=16))
>>> model(tsf.tensor([[1, 2, 3]])).shape
(1, 3, 10)
>>> model.transformer.wte.weight is model.lm_head.weight
True
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

import numpy as np

from .. import nn, ops
from ..autodiff.tracer import no_grad
from ..nn import functional as F
from ..tensor import Tensor
from ..ops.creation import as_tensor

__all__ = ["GPT", "GPTConfig", "HPARAMS", "from_checkpoint"]


@dataclass
class GPTConfig:
    vocab_size: int = 65      # the characters of tiny Shakespeare
    block_size: int = 64      # the longest context
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True


# Bounds on what a checkpoint may ask us to build (a model of about 100 M parameters at most).
HPARAMS = {"vocab_size": (1, 65536), "block_size": (1, 8192), "n_layer": (1, 64),
           "n_head": (1, 64), "n_embd": (1, 4096)}


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"n_embd {config.n_embd} is not divisible by n_head {config.n_head}")
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in (q, k, v))                                   # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training
                                           else 0.0, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)                           # heads side by side
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """``GPT(config)(idx)`` maps token ids (B, T) to next-token logits (B, T, vocab_size);
    ``model(idx, targets)`` returns ``(logits, loss)`` with the mean cross-entropy."""

    input_dtype = np.int64   # what tsf summary feeds it

    def __init__(self, config: GPTConfig | None = None, **overrides):
        super().__init__()
        config = GPTConfig(**{**asdict(config or GPTConfig()), **overrides})
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias)))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight   # tied: one Parameter, two names
        for name, p in self.named_parameters():
            if p.ndim == 2:   # Linear and embedding weights; biases stay 0, LayerNorms (1, 0)
                std = 0.02 / math.sqrt(2 * config.n_layer) if name.endswith("c_proj.weight") \
                    else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias") and "ln_" not in name:
                nn.init.zeros_(p)
        self.hparams = {k: getattr(config, k) for k in HPARAMS}

    def forward(self, idx: Tensor, targets: Tensor | None = None):
        idx = idx if isinstance(idx, Tensor) else as_tensor(idx)
        if idx.dtype.kind not in "iu":
            idx = idx.long()
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"GPT: cannot forward a sequence of length {T}; the context "
                             f"(block_size) is {self.config.block_size}")
        pos = Tensor._wrap(np.arange(T, dtype=np.int64))
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator=None) -> Tensor:
        """Extend ``idx`` (B, T) by ``max_new_tokens`` sampled tokens, each drawn from the softmax
        of the last logits divided by ``temperature``, among the ``top_k`` likeliest if given."""
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        rng = generator.rng if generator is not None else ops.creation.default_generator.rng
        tokens = np.array(idx._array if isinstance(idx, Tensor) else idx, dtype=np.int64)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    context = tokens[:, -self.config.block_size:]
                    logits = self(Tensor._wrap(context))._array[:, -1, :].astype(np.float64)
                    logits = logits / temperature
                    if top_k is not None and top_k < logits.shape[-1]:
                        kth = np.sort(logits, axis=-1)[:, -top_k][:, None]
                        logits = np.where(logits < kth, -np.inf, logits)
                    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
                    probs /= probs.sum(axis=-1, keepdims=True)
                    picks = [rng.choice(probs.shape[-1], p=row) for row in probs]
                    tokens = np.concatenate([tokens, np.array(picks)[:, None]], axis=1)
        finally:
            self.train(was_training)
        return Tensor._wrap(tokens)


def check_hparams(hparams, source="hparams"):
    """``ValueError`` unless ``hparams`` are integers within :data:`HPARAMS`' bounds (values read
    from a file must not make us allocate gigabytes) and the heads divide the width."""
    if not isinstance(hparams, dict) or set(hparams) != set(HPARAMS):
        raise ValueError(f"{source}: expected the GPT hyper-parameters {sorted(HPARAMS)}, got "
                         f"{hparams!r}")
    for key, (low, high) in HPARAMS.items():
        value = hparams[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{source}: {key} = {value!r} is outside the sane range: an integer "
                             f"from {low} to {high}")
    if hparams["n_embd"] % hparams["n_head"]:
        raise ValueError(f"{source}: n_embd {hparams['n_embd']} is not divisible by n_head "
                         f"{hparams['n_head']}")


def from_checkpoint(path: str | os.PathLike) -> tuple[GPT, dict]:
    """The GPT saved by ``tsf train --model gpt`` at ``path`` and its checkpoint (which holds the
    vocabulary under ``config["vocab"]``); hyper-parameters are checked before anything is
    built, and the weights load strictly. The model is returned in eval mode."""
    from ..io import load

    checkpoint = load(path)
    config = checkpoint.get("config") if isinstance(checkpoint, dict) else None
    weights = checkpoint.get("model") if isinstance(checkpoint, dict) else None
    if not isinstance(config, dict) or config.get("model") != "gpt" or \
            not isinstance(weights, dict):
        raise ValueError(f"{path}: not a GPT checkpoint (expected a 'config' naming model 'gpt' "
                         "and a 'model' state dict, as written by `tsf train --model gpt`)")
    hparams = config.get("hparams")
    check_hparams(hparams, f"{path}: config")
    vocab = config.get("vocab")
    if not isinstance(vocab, str) or len(vocab) != hparams["vocab_size"] or \
            len(set(vocab)) != len(vocab):
        raise ValueError(f"{path}: the config's vocabulary does not match vocab_size "
                         f"{hparams['vocab_size']} (expected as many distinct characters)")
    stored = weights.get("lm_head.weight")
    expected = (hparams["vocab_size"], hparams["n_embd"])
    if not isinstance(stored, Tensor) or tuple(stored.shape) != expected:
        raise ValueError(f"{path}: the stored lm_head.weight does not have the shape {expected} "
                         "that the config describes: the file is inconsistent")
    model = GPT(GPTConfig(**hparams))
    model.load_state_dict(weights)
    model.eval()
    return model, checkpoint
