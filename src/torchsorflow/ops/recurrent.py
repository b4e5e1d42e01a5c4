"""Recurrent layers: one primitive per layer and direction for a whole sequence.

A recurrent net written step by step with small primitives records a dozen graph nodes per time
step, and a dozen tiny NumPy calls per node on the way back: far slower than PyTorch's fused
kernels. Here one primitive runs a whole layer over the whole sequence (for each cell type:
``lstm_sequence``, ``gru_sequence``, ``rnn_tanh_sequence``, ``rnn_relu_sequence``):

* **forward**, in NumPy (:mod:`.kernels.recurrent`): the input projection of every time step is
  one matrix product (``x Wᵢₕᵀ`` for all N rows at once); the loop over time then does only the
  recurrent product ``h Wₕₕᵀ`` and the gates, keeping the activated gates for the backward pass;
* **reverse mode**, when nothing differentiates the rule (a plain ``loss.backward()``): one
  backpropagation-through-time loop in NumPy that leaves the gates' cotangents of all steps in
  one array, so the weight gradients and the input's cotangent are again single products;
* **forward mode**, likewise: one tangent loop in NumPy (:func:`.kernels.recurrent.tangent`);
* otherwise (``create_graph=True``, ``grad`` of ``grad``, ``jvp`` of ``grad``): the derivative
  of :func:`reference`, the same layer composed step by step from primitives, so every order of
  derivative works; tests prove the fused rules equal to it.

*Layout.* Sequences travel as PyTorch's packed data: the rows of all time steps one after the
other, ``batch_sizes[t]`` rows at step t (sorted by decreasing length, so step t's rows are the
first ``batch_sizes[t]`` sequences). A padded (T, B, F) batch is the special case
``batch_sizes = (B,) * T`` viewed as (T·B, F). A sequence that has ended keeps its state, which
is its final state; run backwards (``reverse=True``, the second direction of a bidirectional
layer), a sequence starts from the initial state at its own last step.

*Outputs.* A primitive returns one array, so the outputs ``y`` (N, P), ``h_n`` (B, P) and, for
the LSTM, ``c_n`` (B, H) are laid end to end in one flat array; :func:`layer` splits it into three
views (P is the LSTM's ``proj_size`` if it projects, else H).

*Gates and parameters* follow PyTorch: LSTM rows (i, f, g, o), GRU rows (r, z, n) with
``n = tanh(Wᵢₙx + bᵢₙ + r ⊙ (Wₕₙh + bₕₙ))``, and an Elman RNN ``h' = act(Wᵢₕx + bᵢₕ + Wₕₕh + bₕₕ)``;
so weights copied from ``torch.nn.LSTM`` give the same outputs.
"""
from __future__ import annotations

import functools

import numpy as np

from ..autodiff.tracer import Primitive, is_constant, wrap
from ..autodiff.transforms import jvp, vjp
from .elementwise import add, mul, relu, sigmoid, sub, tanh
from .kernels import recurrent as kernels
from .nn_ops import linear
from .shape import concatenate, getitem, reshape

__all__ = ["MODES", "layer", "reference", "steps_of"]

# Gate blocks per cell type: the rows of weight_ih/weight_hh are this many hidden_size blocks.
MODES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


@functools.lru_cache(maxsize=256)
def steps_of(batch_sizes, reverse):
    """``((first row, rows), ...)`` of each time step of a packed sequence, in the order the layer
    visits them (last step first when ``reverse``)."""
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).tolist()
    steps = tuple(zip(starts, batch_sizes))
    return steps[::-1] if reverse else steps


class Saved:
    """What the forward loop kept for the backward pass (the flat output and the activated gates
    and states of every step); travels as a parameter of the primitive, like max pooling's
    picked maxima, so the graph node holds it as long as it lives."""

    __slots__ = ("out", "arrays")

    def __init__(self, out, arrays):
        self.out = out
        self.arrays = arrays

    def __repr__(self):
        return f"<forward state of {self.out.size} outputs>"


def _unpack(mode, args, has_bias, has_proj):
    """The primitive's positional arguments by name (absent ones ``None``)."""
    args = list(args)
    named = {"x": args.pop(0), "h0": args.pop(0)}
    named["c0"] = args.pop(0) if mode == "LSTM" else None
    named["w_ih"], named["w_hh"] = args.pop(0), args.pop(0)
    named["b_ih"], named["b_hh"] = (args.pop(0), args.pop(0)) if has_bias else (None, None)
    named["w_hr"] = args.pop(0) if has_proj else None
    return named


def _arrays(named):
    return {k: (v._array if hasattr(v, "_array") else v) for k, v in named.items()}


def _impl_for(mode):
    def impl(*arrays, batch_sizes, reverse, has_bias, has_proj, saved=None):
        if saved is not None:
            return saved.out
        named = _unpack(mode, arrays, has_bias, has_proj)
        return kernels.forward(mode, named, steps_of(batch_sizes, reverse), keep=False)[0]
    return impl


def _vjp_for(mode):
    def rule(g, ans, *args, batch_sizes, reverse, has_bias, has_proj, saved=None):
        named = _unpack(mode, args, has_bias, has_proj)
        if is_constant(g, *args):   # a plain backward(): one BPTT loop in NumPy
            arrays = _arrays(named)
            steps = steps_of(batch_sizes, reverse)
            kept = None if saved is None else saved.arrays
            if kept is None:   # not kept, or already used: run the forward loop again
                kept = kernels.forward(mode, arrays, steps, keep=True)[1]
            grads = kernels.backward(mode, g._array, arrays, kept, steps)
            if saved is not None:
                saved.arrays = None   # free the gates now; the graph node may outlive the sweep
            order = [k for k in ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "w_hr")
                     if named[k] is not None]
            return tuple(wrap(grads[k]) for k in order)
        _, pullback = vjp(lambda *a: _reference_call(mode, a, batch_sizes, reverse, has_bias,
                                                     has_proj), *args)
        return pullback(g)
    return rule


def _jvp_for(mode):
    def rule(tangents, ans, *args, batch_sizes, reverse, has_bias, has_proj, saved=None):
        moving = [i for i, t in enumerate(tangents) if t is not None]
        if is_constant(*args, *(tangents[i] for i in moving)):   # one tangent loop in NumPy
            named = _arrays(_unpack(mode, args, has_bias, has_proj))
            dotted = _arrays(_unpack(mode, tangents, has_bias, has_proj))
            steps = steps_of(batch_sizes, reverse)
            kept = None if saved is None else saved.arrays
            if kept is None:
                kept = kernels.forward(mode, named, steps, keep=True)[1]
            return wrap(kernels.tangent(mode, named, dotted, kept, steps))

        def along(*values):
            full = list(args)
            for i, v in zip(moving, values):
                full[i] = v
            return _reference_call(mode, full, batch_sizes, reverse, has_bias, has_proj)

        _, tangent = jvp(along, tuple(args[i] for i in moving),
                         tuple(tangents[i] for i in moving))
        return tangent
    return rule


PRIMITIVES = {mode: Primitive(f"{mode.lower()}_sequence", _impl_for(mode), vjp=_vjp_for(mode),
                              jvp=_jvp_for(mode), joint_vjp=True, joint_jvp=True)
              for mode in MODES}


# --- the same layer composed from primitives ---------------------------------------------------
def _cell(mode, xw, h, c, w_hh, b_hh, w_hr):
    """One step for the active rows: ``xw`` is the input's projection (bias ``b_ih`` included),
    ``h``/``c`` the previous state. Returns the new ``(h, c)`` (``c`` None but for the LSTM)."""
    hidden = w_hh.shape[0] // MODES[mode]
    gh = linear(h, w_hh, b_hh)
    if mode == "LSTM":
        gates = add(xw, gh)
        i, f, g, o = (getitem(gates, (slice(None), slice(k * hidden, (k + 1) * hidden)))
                      for k in range(4))
        c = add(mul(sigmoid(f), c), mul(sigmoid(i), tanh(g)))
        h = mul(sigmoid(o), tanh(c))
        return (h if w_hr is None else linear(h, w_hr)), c
    if mode == "GRU":
        def block(t, k):
            return getitem(t, (slice(None), slice(k * hidden, (k + 1) * hidden)))
        r = sigmoid(add(block(xw, 0), block(gh, 0)))
        z = sigmoid(add(block(xw, 1), block(gh, 1)))
        n = tanh(add(block(xw, 2), mul(r, block(gh, 2))))
        return add(n, mul(z, sub(h, n))), None
    pre = add(xw, gh)
    return (tanh(pre) if mode == "RNN_TANH" else relu(pre)), None


def _first(state, rows, batch):
    """The states of the ``rows`` sequences still running (all of them when none has ended)."""
    if state is None or rows == batch:
        return state
    return getitem(state, slice(0, rows))


def _merged(new, old, rows, batch):
    """The new states of the running sequences above the unchanged states of the others."""
    if new is None or rows == batch:
        return new
    return concatenate([new, getitem(old, slice(rows, batch))], axis=0)


def reference(mode, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, batch_sizes=None,
              reverse=False):
    """The layer as a composition of primitives, one step at a time: what the fused primitive
    computes, differentiable to any order. Returns the flat output (``y``, ``h_n``, ``c_n``)."""
    xw = linear(x, w_ih, b_ih)
    batch = h0.shape[0]
    h, c = h0, c0
    ys = {}
    for start, rows in steps_of(batch_sizes, reverse):
        h_new, c_new = _cell(mode, getitem(xw, slice(start, start + rows)), _first(h, rows, batch),
                             _first(c, rows, batch), w_hh, b_hh, w_hr)
        ys[start] = h_new
        h, c = _merged(h_new, h, rows, batch), _merged(c_new, c, rows, batch)
    parts = [ys[start] for start in sorted(ys)]
    pieces = [reshape(concatenate(parts, axis=0) if len(parts) > 1 else parts[0], (-1,)),
              reshape(h, (-1,))]
    if c is not None:
        pieces.append(reshape(c, (-1,)))
    return concatenate(pieces, axis=0)


def _reference_call(mode, args, batch_sizes, reverse, has_bias, has_proj):
    named = _unpack(mode, args, has_bias, has_proj)
    return reference(mode, batch_sizes=batch_sizes, reverse=reverse, **named)


# --- the public entry point --------------------------------------------------------------------
def layer(mode, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, batch_sizes=None,
          reverse=False):
    """One recurrent layer in one direction over a packed sequence.

    ``x`` (N, input_size) holds the rows of all steps, ``batch_sizes`` the rows per step (a
    tuple of ints summing to N); ``h0`` (B, P) and, for the LSTM, ``c0`` (B, H) are the initial
    states of the B sequences (B = ``batch_sizes[0]``). Returns ``(y, h_n, c_n)``: the output
    rows (N, P) in the same layout, the final states, and ``c_n`` None but for the LSTM.
    """
    if mode not in MODES:
        raise ValueError(f"Unrecognized RNN mode: {mode}")
    batch_sizes = tuple(int(b) for b in batch_sizes)
    has_bias, has_proj = b_ih is not None, w_hr is not None
    named = {"x": x, "h0": h0, "c0": c0, "w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih,
             "b_hh": b_hh, "w_hr": w_hr}
    args = [v for v in named.values() if v is not None]
    steps = steps_of(batch_sizes, reverse)
    out, kept = kernels.forward(mode, _arrays(named), steps, keep=not is_constant(*args))
    flat = PRIMITIVES[mode](*args, batch_sizes=batch_sizes, reverse=reverse, has_bias=has_bias,
                            has_proj=has_proj, saved=Saved(out, kept))
    rows, batch, width = x.shape[0], h0.shape[0], h0.shape[1]
    y = reshape(getitem(flat, slice(0, rows * width)), (rows, width))
    h_n = reshape(getitem(flat, slice(rows * width, (rows + batch) * width)), (batch, width))
    c_n = None
    if mode == "LSTM":
        start = (rows + batch) * width
        c_n = reshape(getitem(flat, slice(start, start + c0._array.size)), c0.shape)
    return y, h_n, c_n
