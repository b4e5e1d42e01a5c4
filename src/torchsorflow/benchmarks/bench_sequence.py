"""Sequence-model benchmarks: a word-level LSTM language-model training step as in PyTorch's
``word_language_model`` example (vocabulary 10,000, embedding and hidden size 200, two layers,
dropout 0.2, sequence 35, batch 20, an untied decoder as the example's default), beside PyTorch
CPU at the same thread count. Target: at most 2× PyTorch's time.

A step is what the example's ``train()`` does per batch: zero the gradients, embed, run the
LSTM from the carried (detached) state, decode, ``log_softmax`` + ``nll_loss``, backward,
``clip_grad_norm_(0.25)`` and a plain SGD update. Further rows time the LSTM alone
(forward+backward) and a GRU language model, to show where the time goes.

Run alone: ``python -m torchsorflow.benchmarks.bench_sequence [--quick] [--json out.json]``; or
with every other benchmark in one table: ``tsf bench sequence``. On a busy machine the best of 9
rounds still moves a lot; ``--rounds N`` instead times N alternating rounds of the untied step
and prints both sides' minimum and median and the median of the per-round ratios (as
:mod:`.step_rounds` does for the digits CNN).
"""
from __future__ import annotations

import sys

import numpy as np

from .harness import rows_beside_torch, script_main

TARGET = 2.0
VOCAB, EMBED, HIDDEN, LAYERS, STEPS, BATCH = 10_000, 200, 200, 2, 35, 20


def language_model(lib, rnn_type="LSTM", tied=False):
    """The example's RNNModel: Embedding → dropout → LSTM/GRU → dropout → Linear decoder."""
    nn = lib.nn

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.2)
            self.encoder = nn.Embedding(VOCAB, EMBED)
            self.rnn = getattr(nn, rnn_type)(EMBED, HIDDEN, LAYERS, dropout=0.2)
            self.decoder = nn.Linear(HIDDEN, VOCAB)
            if tied:
                self.decoder.weight = self.encoder.weight
            nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            decoded = self.decoder(self.drop(output)).view(-1, VOCAB)
            return nn.functional.log_softmax(decoded, dim=1), hidden

    return RNNModel()


def lm_step(lib, rnn_type="LSTM", tied=False):
    """One training step of the language model on a fixed random batch."""
    rng = np.random.default_rng(0)
    lib.manual_seed(0)
    model = language_model(lib, rnn_type, tied)
    data = lib.tensor(rng.integers(0, VOCAB, (STEPS, BATCH)))
    targets = lib.tensor(rng.integers(0, VOCAB, STEPS * BATCH))
    zeros = lib.zeros(LAYERS, BATCH, HIDDEN)
    state = {"hidden": (zeros, zeros.clone()) if rnn_type == "LSTM" else zeros}

    def step():
        hidden = state["hidden"]
        hidden = tuple(h.detach() for h in hidden) if isinstance(hidden, tuple) else \
            hidden.detach()
        model.zero_grad()
        output, state["hidden"] = model(data, hidden)
        loss = lib.nn.functional.nll_loss(output, targets)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-20.0)
    return step


def lstm_only(lib):
    """The 2-layer LSTM alone: forward + backward from a random embedded batch."""
    rng = np.random.default_rng(0)
    lib.manual_seed(0)
    lstm = lib.nn.LSTM(EMBED, HIDDEN, LAYERS)
    x = lib.tensor(rng.standard_normal((STEPS, BATCH, EMBED)).astype(np.float32),
                   requires_grad=True)

    def step():
        lstm.zero_grad()
        x.grad = None
        output, _ = lstm(x)
        output.sum().backward()
    return step


def run(quick=False):
    """Rows for ``tsf bench``."""
    shape = f"V={VOCAB}, {LAYERS}×{HIDDEN}, seq {STEPS}, batch {BATCH}"
    workloads = [(f"LSTM language model train step (untied), {shape}", lm_step)]
    if not quick:
        workloads += [
            (f"LSTM language model train step (tied), {shape}",
             lambda lib: lm_step(lib, tied=True)),
            (f"GRU language model train step (untied), {shape}",
             lambda lib: lm_step(lib, "GRU")),
            (f"2-layer LSTM fwd+bwd alone, {EMBED}→{HIDDEN}, seq {STEPS}, batch {BATCH}",
             lstm_only)]
    return rows_beside_torch(workloads, quick, TARGET)


def rounds_main(rounds, steps=2) -> int:
    """``--rounds N``: the untied LSTM language-model step over N alternating rounds."""
    import torchsorflow

    from .harness import import_torch, prepare_process
    from .step_rounds import report, timed_rounds

    prepare_process()
    torch = import_torch()
    if torch is None:
        print("PyTorch is not installed: nothing to compare with", file=sys.stderr)
        return 2
    ours, theirs = timed_rounds([lm_step(torchsorflow), lm_step(torch)], rounds, steps)
    report(f"LSTM language model train step (untied), {rounds} rounds of {steps}:", ours, theirs)
    return 0


if __name__ == "__main__":
    if "--rounds" in sys.argv:
        sys.exit(rounds_main(int(sys.argv[sys.argv.index("--rounds") + 1])))
    sys.exit(script_main(run, __doc__.split("\n")[0]))
