"""Differential fuzzing of the recurrent layers and embeddings against torch.nn.

RNN (tanh/relu), LSTM (with and without projection) and GRU over layers, directions, bias,
batch_first, unbatched inputs, initial states and packed sequences (sorted or not); the three
cells; Embedding and EmbeddingBag over their options. Forward values in float32, gradients in
float64 by reverse mode (every parameter, the input and the initial states) and forward mode
(see tests/fuzz_support.py). PyTorch's forward mode cannot run its packed-sequence kernels nor
embedding_bag, so there our tangents are checked against finite differences instead.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import strategies as st  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from fuzz_support import compare, fuzz, seeds, values  # noqa: E402
from torchsorflow import nn  # noqa: E402
from torchsorflow.autodiff import check_grads  # noqa: E402
from torchsorflow.nn.utils import rnn as rnn_utils  # noqa: E402
from torchsorflow.nn.utils.stateless import functional_call  # noqa: E402

TORCH_RNN = torch.nn.utils.rnn


@st.composite
def rnn_cases(draw):
    mode = draw(st.sampled_from(["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]))
    hidden = draw(st.integers(1, 3))
    batch = draw(st.sampled_from([None, 1, 2, 3]))   # None: one unbatched sequence
    steps = draw(st.integers(1, 4))
    packed = batch is not None and draw(st.booleans())
    lengths = sorted((draw(st.integers(1, steps)) for _ in range(batch)), reverse=True) \
        if packed else None
    enforce_sorted = True
    if packed and draw(st.booleans()):
        lengths = draw(st.permutations(lengths))
        enforce_sorted = False
    if packed:
        lengths[0] = steps if enforce_sorted else lengths[0]
    return dict(mode=mode, input_size=draw(st.integers(1, 3)), hidden=hidden,
                layers=draw(st.integers(1, 2)), bias=draw(st.booleans()),
                batch_first=draw(st.booleans()), bidirectional=draw(st.booleans()),
                proj=draw(st.integers(1, hidden - 1)) if mode == "LSTM" and hidden > 1
                and draw(st.booleans()) else 0,
                batch=batch, steps=steps, packed=packed, lengths=lengths,
                enforce_sorted=enforce_sorted, initial=draw(st.booleans()))


def _module(lib, c):
    kwargs = dict(num_layers=c["layers"], bias=c["bias"], batch_first=c["batch_first"],
                  bidirectional=c["bidirectional"])
    if c["mode"] == "LSTM":
        return lib.nn.LSTM(c["input_size"], c["hidden"], proj_size=c["proj"], **kwargs)
    if c["mode"] == "GRU":
        return lib.nn.GRU(c["input_size"], c["hidden"], **kwargs)
    return lib.nn.RNN(c["input_size"], c["hidden"], nonlinearity=c["mode"][4:].lower(), **kwargs)


def _runner(lib, c, names):
    """A function of (x, initial states..., weights...) returning every output, flattened."""
    module = _module(lib, c)
    utils = TORCH_RNN if lib is torch else rnn_utils
    call = torch.func.functional_call if lib is torch else functional_call
    lstm = c["mode"] == "LSTM"

    def run(x, *rest):
        states, weights = rest[:len(rest) - len(names)], rest[len(rest) - len(names):]
        hx = None
        if states:
            hx = tuple(states) if lstm else states[0]
        inp = x
        if c["packed"]:
            inp = utils.pack_padded_sequence(x, c["lengths"], batch_first=c["batch_first"],
                                             enforce_sorted=c["enforce_sorted"])
        out, final = call(module, dict(zip(names, weights)), (inp, hx))
        if c["packed"]:
            out, _ = utils.pad_packed_sequence(out, batch_first=c["batch_first"],
                                               total_length=c["steps"])
        finals = final if lstm else (final,)
        return lib.cat([out.reshape(-1)] + [f.reshape(-1) for f in finals])
    return run


def _arrays(c, names, shapes, rng):
    directions = 2 if c["bidirectional"] else 1
    batch = c["batch"]
    dims = (c["batch"], c["steps"]) if c["batch_first"] else (c["steps"], c["batch"])
    x_shape = (c["steps"], c["input_size"]) if batch is None else dims + (c["input_size"],)
    arrays = [values("normal", x_shape, rng)]
    if c["initial"]:
        lead = (c["layers"] * directions,) + (() if batch is None else (batch,))
        arrays.append(values("normal", lead + (c["proj"] or c["hidden"],), rng))
        if c["mode"] == "LSTM":
            arrays.append(values("normal", lead + (c["hidden"],), rng))
    return arrays + [values("normal", shapes[n], rng) * 0.7 for n in names]


@fuzz(60, case=rnn_cases(), seed=seeds)
def test_recurrent_layers(case, seed):
    rng = np.random.default_rng(seed)
    reference = _module(torch, case)
    names = [n for n, _ in reference.named_parameters()]
    assert names == [n for n, _ in _module(tsf, case).named_parameters()]
    shapes = {n: tuple(p.shape) for n, p in reference.named_parameters()}
    arrays = _arrays(case, names, shapes, rng)
    ours, theirs = _runner(tsf, case, names), _runner(torch, case, names)
    if case["packed"]:   # torch.func.jvp cannot run PyTorch's packed kernels
        compare(ours, theirs, arrays, rng, modes=("rev",))
        check_grads(ours, [tsf.tensor(a) for a in arrays], modes=("fwd",), order=1)
    else:
        compare(ours, theirs, arrays, rng)


@fuzz(40, seed=seeds, kind=st.sampled_from(["LSTMCell", "GRUCell", "RNNCell", "RNNCell-relu"]),
      batch=st.sampled_from([None, 1, 3]), bias=st.booleans(), initial=st.booleans(),
      input_size=st.integers(1, 3), hidden=st.integers(1, 3))
def test_cells(seed, kind, batch, bias, initial, input_size, hidden):
    rng = np.random.default_rng(seed)
    name, _, act = kind.partition("-")
    extra = {"nonlinearity": act} if act else {}

    def build(lib):
        return getattr(lib.nn, name)(input_size, hidden, bias=bias, **extra)

    names = [n for n, _ in build(torch).named_parameters()]
    shapes = {n: tuple(p.shape) for n, p in build(torch).named_parameters()}
    lead = () if batch is None else (batch,)
    arrays = [values("normal", lead + (input_size,), rng)]
    states = (2 if name == "LSTMCell" else 1) if initial else 0
    arrays += [values("normal", lead + (hidden,), rng) for _ in range(states)]
    arrays += [values("normal", shapes[n], rng) for n in names]

    def runner(lib):
        cell = build(lib)
        call = torch.func.functional_call if lib is torch else functional_call

        def run(x, *rest):
            hx = rest[:states]
            hx = (tuple(hx) if name == "LSTMCell" else hx[0]) if states else None
            out = call(cell, dict(zip(names, rest[states:])), (x, hx))
            outs = out if isinstance(out, tuple) else (out,)
            return lib.cat([o.reshape(-1) for o in outs])
        return run

    compare(runner(tsf), runner(torch), arrays, rng)


# --- embeddings ---------------------------------------------------------------------------------
@fuzz(60, seed=seeds, rows=st.integers(1, 6), dim=st.integers(1, 4),
      index_shape=st.lists(st.integers(0, 3), max_size=2), padding=st.booleans(),
      scale=st.booleans())
def test_embedding(seed, rows, dim, index_shape, padding, scale):
    rng = np.random.default_rng(seed)
    index = rng.integers(0, rows, tuple(index_shape))
    padding_idx = int(rng.integers(-rows, rows)) if padding else None
    table = values("normal", (rows, dim), rng)
    modes = ("rev",) if padding or scale else ("fwd", "rev")  # torch's conventions, not derivatives
    compare(lambda w: nn.functional.embedding(tsf.tensor(index), w, padding_idx,
                                              scale_grad_by_freq=scale),
            lambda w: torch.nn.functional.embedding(torch.tensor(index), w, padding_idx,
                                                    scale_grad_by_freq=scale),
            [table], rng, modes=modes)


@st.composite
def bag_cases(draw):
    rows, dim = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["sum", "mean", "max"]))
    two_d = draw(st.booleans())
    sizes = draw(st.lists(st.integers(0, 3), min_size=1, max_size=4))
    if two_d:
        sizes = [max(sizes[0], 1)] * len(sizes)
    return dict(rows=rows, dim=dim, mode=mode, two_d=two_d, sizes=sizes,
                padding=draw(st.booleans()), include_last=not two_d and draw(st.booleans()),
                weighted=mode == "sum" and draw(st.booleans()))


@fuzz(80, case=bag_cases(), seed=seeds)
def test_embedding_bag(case, seed):
    rng = np.random.default_rng(seed)
    c = case
    index = rng.integers(0, c["rows"], sum(c["sizes"]))
    offsets = np.concatenate([[0], np.cumsum(c["sizes"])[:-1]]).astype(np.int64)
    if c["include_last"]:
        offsets = np.r_[offsets, index.size]
    if c["two_d"]:
        index, offsets = index.reshape(len(c["sizes"]), -1), None
    padding_idx = int(rng.integers(0, c["rows"])) if c["padding"] else None
    arrays = [values("normal", (c["rows"], c["dim"]), rng)]
    if c["weighted"]:
        arrays.append(values("normal", index.shape, rng))

    def run(lib, functional):
        def f(w, *psw):
            return functional.embedding_bag(
                lib.tensor(index), w, None if offsets is None else lib.tensor(offsets),
                mode=c["mode"], per_sample_weights=psw[0] if psw else None,
                include_last_offset=c["include_last"], padding_idx=padding_idx)
        return f

    ours = run(tsf, nn.functional)
    # PyTorch has no forward mode for embedding_bag: our tangents against finite differences
    compare(ours, run(torch, torch.nn.functional), arrays, rng, modes=("rev",))
    check_grads(ours, [tsf.tensor(a) for a in arrays], modes=("fwd",), order=1)
