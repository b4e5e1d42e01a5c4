"""Real model code in the style of public examples, run with only its imports changed: the
word-level Transformer language model of pytorch/examples (word_language_model/model.py's
TransformerModel and PositionalEncoding) and a small GPT as minGPT writes it (mingpt/model.py). The
same source text is executed twice, once importing torch and once torchsorflow; outputs, gradients
and an AdamW step must agree."""
import numpy as np
import pytest

import torchsorflow as tsf

TORCH_IMPORTS = """import math
import torch
import torch.nn as nn
import torch.nn.functional as F
"""
OUR_IMPORTS = """import math
import torchsorflow as torch
import torchsorflow.nn as nn
import torchsorflow.nn.functional as F
"""

WORD_LANGUAGE_MODEL = '''
class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super(PositionalEncoding, self).__init__()
        self.dropout = nn.Dropout(p=dropout)

        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer('pe', pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Transformer):
    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
        super(TransformerModel, self).__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                                               num_encoder_layers=nlayers)
        self.model_type = 'Transformer'
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)

        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)

        self.init_weights()

    def _generate_square_subsequent_mask(self, sz):
        return torch.log(torch.tril(torch.ones(sz, sz)))

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, src, has_mask=True):
        if has_mask:
            device = src.device
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                mask = self._generate_square_subsequent_mask(len(src)).to(device)
                self.src_mask = mask
        else:
            self.src_mask = None

        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)
'''

MINGPT = '''
class NewGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                         * (x + 0.044715 * torch.pow(x, 3.0))))


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                     .view(1, 1, config.block_size, config.block_size))
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k ,v  = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:,:,:T,:T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        y = self.resid_dropout(self.c_proj(y))
        return y


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.ModuleDict(dict(
            c_fc    = nn.Linear(config.n_embd, 4 * config.n_embd),
            c_proj  = nn.Linear(4 * config.n_embd, config.n_embd),
            act     = NewGELU(),
            dropout = nn.Dropout(config.resid_pdrop),
        ))
        m = self.mlp
        self.mlpf = lambda x: m.dropout(m.c_proj(m.act(m.c_fc(x))))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlpf(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        self.transformer = nn.ModuleDict(dict(
            wte = nn.Embedding(config.vocab_size, config.n_embd),
            wpe = nn.Embedding(config.block_size, config.n_embd),
            drop = nn.Dropout(config.embd_pdrop),
            h = nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f = nn.LayerNorm(config.n_embd),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
        elif isinstance(module, nn.LayerNorm):
            torch.nn.init.zeros_(module.bias)
            torch.nn.init.ones_(module.weight)

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.block_size, \
            f"Cannot forward sequence of length {t}, block size is only {self.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device).unsqueeze(0)
        tok_emb = self.transformer.wte(idx)
        pos_emb = self.transformer.wpe(pos)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
        return logits, loss
'''


def _load(source, ours):
    namespace = {}
    exec(compile((OUR_IMPORTS if ours else TORCH_IMPORTS) + source, "<model code>", "exec"),
         namespace)
    return namespace


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    tsf.set_default_dtype(tsf.float64)
    yield torch
    torch.set_default_dtype(torch.float32)
    tsf.set_default_dtype(tsf.float32)


def _same_steps(ours, theirs, torch, batches, loss_of, lr=1e-3):
    """Copy theirs' weights into ours, then two AdamW steps on each: losses, every gradient and
    the updated weights must agree."""
    state = theirs.state_dict()
    ours.load_state_dict({k: tsf.tensor(v.numpy()) for k, v in state.items()})
    opt = tsf.optim.AdamW(ours.parameters(), lr=lr)
    ref_opt = torch.optim.AdamW(theirs.parameters(), lr=lr)
    params = dict(theirs.named_parameters())
    for inputs in batches:
        opt.zero_grad()
        ref_opt.zero_grad()
        loss = loss_of(ours, tsf, [tsf.tensor(a) for a in inputs])
        ref = loss_of(theirs, torch, [torch.tensor(a) for a in inputs])
        np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-10)
        loss.backward()
        ref.backward()
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), params[name].grad.numpy(), rtol=1e-7,
                                       atol=1e-10, err_msg=name)
        opt.step()
        ref_opt.step()
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.numpy(), params[name].detach().numpy(), rtol=1e-8,
                                   atol=1e-10, err_msg=name)


def test_word_language_model_transformer(torch):
    ntoken, bptt, batch = 20, 7, 3

    def build(ours):
        ns = _load(WORD_LANGUAGE_MODEL, ours)
        return ns["TransformerModel"](ntoken, 8, 2, 16, 2, dropout=0.0)

    torch.manual_seed(0)
    theirs, ours = build(False), build(True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.eval()   # its nn.Transformer keeps the default dropout 0.1 (random in each library)
    ours.eval()
    rng = np.random.default_rng(0)
    batches = [(rng.integers(0, ntoken, (bptt, batch)), rng.integers(0, ntoken, (bptt * batch,)))
               for _ in range(2)]

    def loss_of(model, lib, inputs):   # main.py's train(): NLLLoss of the flattened output
        data, targets = inputs
        output = model(data).view(-1, ntoken)
        return lib.nn.NLLLoss()(output, targets)

    _same_steps(ours, theirs, torch, batches, loss_of)


def test_mingpt(torch):
    class Config:
        vocab_size, block_size, n_layer, n_head, n_embd = 13, 8, 2, 2, 16
        embd_pdrop = resid_pdrop = attn_pdrop = 0.0

    def build(ours):
        return _load(MINGPT, ours)["GPT"](Config)

    torch.manual_seed(0)
    theirs, ours = build(False), build(True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(1)
    batches = [(rng.integers(0, 13, (4, 8)), rng.integers(0, 13, (4, 8))) for _ in range(2)]
    _same_steps(ours, theirs, torch, batches,
                lambda model, lib, inputs: model(inputs[0], inputs[1])[1], lr=1e-2)
