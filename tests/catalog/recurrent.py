"""Whole-sequence recurrent layers (torchsorflow/ops/recurrent.py): one row per cell type, over a
padded and a packed batch, forwards and backwards, with and without biases (and the LSTM's
projection). The PyTorch twin is ``torch.lstm``/``torch.gru``/``torch.rnn_tanh``/
``torch.rnn_relu`` on the same weights; a reverse-direction layer is the second half of a
bidirectional one whose two directions share the weights."""
import numpy as np

from torchsorflow.ops import recurrent

from . import row

INPUT, HIDDEN, PROJ = 3, 2, 1
TORCH_OP = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}


def _make(mode, batch_sizes, bias=True, proj=False):
    gates = recurrent.MODES[mode] * HIDDEN
    width = PROJ if proj else HIDDEN

    def make(rng):
        n, batch = sum(batch_sizes), batch_sizes[0]
        shapes = [(n, INPUT), (batch, width)] + ([(batch, HIDDEN)] if mode == "LSTM" else [])
        shapes += [(gates, INPUT), (gates, width)] + ([(gates,), (gates,)] if bias else [])
        shapes += [(PROJ, HIDDEN)] if proj else []
        return [rng.standard_normal(s) * 0.8 for s in shapes]
    return make


def _split(mode, args, bias, proj):
    args = list(args)
    x, h0 = args.pop(0), args.pop(0)
    c0 = args.pop(0) if mode == "LSTM" else None
    w_ih, w_hh = args.pop(0), args.pop(0)
    b_ih, b_hh = (args.pop(0), args.pop(0)) if bias else (None, None)
    w_hr = args.pop(0) if proj else None
    return x, h0, c0, [w for w in (w_ih, w_hh, b_ih, b_hh, w_hr) if w is not None]


def _ours(mode, batch_sizes, reverse, bias, proj):
    def ours(*args):
        x, h0, c0, weights = _split(mode, args, bias, proj)
        w_ih, w_hh = weights[:2]
        b_ih, b_hh = weights[2:4] if bias else (None, None)
        return _flat(*recurrent.layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh,
                                      weights[-1] if proj else None, batch_sizes=batch_sizes,
                                      reverse=reverse))
    return ours


def _flat(y, h, c):
    from torchsorflow.ops import cat, reshape
    return cat([reshape(t, (-1,)) for t in (y, h, c) if t is not None])


def _rows_of(batch_sizes):
    """For each sequence of a packed batch, the packed rows holding its steps, in time order."""
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
    return [[int(s) + b for s, n in zip(starts, batch_sizes) if n > b]
            for b in range(batch_sizes[0])]


def _theirs(mode, batch_sizes, reverse, bias, proj):
    """PyTorch's layer run on each sequence alone (the padded path, which torch.func.jvp
    supports, unlike its packed one), the outputs laid out in packed order."""
    def theirs(t, *args):
        x, h0, c0, weights = _split(mode, args, bias, proj)
        directions = 2 if reverse else 1
        params = weights * directions
        op = getattr(t, TORCH_OP[mode])
        width = h0.shape[1]
        outputs, finals = [], [[], []]
        for b, rows in enumerate(_rows_of(batch_sizes)):
            states = [h0[b]] + ([c0[b]] if c0 is not None else [])
            hx = [s.reshape(1, 1, -1).expand(directions, 1, s.shape[0]) for s in states]
            out = op(x[rows].unsqueeze(1), tuple(hx) if mode == "LSTM" else hx[0], params,
                     bias, 1, 0.0, False, reverse, False)
            y = out[0][:, 0]
            outputs.append(y[:, width:] if reverse else y)
            for k, state in enumerate(out[1:]):
                finals[k].append(state[-1, 0])
        order = np.argsort(np.concatenate(_rows_of(batch_sizes)), kind="stable")
        y = t.cat(outputs)[t.tensor(order)]
        pieces = [y.reshape(-1)] + [t.stack(f).reshape(-1) for f in finals if f]
        return t.cat(pieces)
    return theirs


for _mode in recurrent.MODES:
    for _sizes, _reverse, _bias in (((2, 2, 2), False, True), ((3, 2, 2, 1), True, True),
                                    ((2, 2, 1), False, False)):
        row(f"{_mode.lower()}_sequence", _ours(_mode, _sizes, _reverse, _bias, False),
            _theirs(_mode, _sizes, _reverse, _bias, False),
            make=_make(_mode, _sizes, _bias), domains=())
row("lstm_sequence", _ours("LSTM", (2, 1), True, True, True),
    _theirs("LSTM", (2, 1), True, True, True), make=_make("LSTM", (2, 1), True, True),
    domains=())
