"""NumPy loops of the recurrent layers (LSTM, GRU, Elman RNN) over a packed sequence.

:func:`forward` and :func:`backward` work on arrays only; :mod:`torchsorflow.ops.recurrent` makes
them one differentiable primitive per cell type and explains the layout (packed rows, ``steps``
as ``(first row, rows)`` pairs in visiting order, one flat output ``[y, h_n, c_n]``).

Both loops do as little per step as possible, because every NumPy call costs about a
microsecond whatever its size and a step's arrays are small (batch × hidden):

* the input projections of all steps are one product before the loop, and the weight gradients
  and the input's cotangent are products after the backward loop, over the gates' cotangents of
  all steps kept in one (N, gates) array; inside the loops remain the recurrent products
  ``h Wₕₕᵀ`` and ``δ Wₕₕ``, which depend on the previous step;
* the activated gates are computed in place in the projection array, which the backward pass
  then reads (no copies), and the gates' cotangents are written straight into their rows;
* per-step temporaries are slices of workspaces allocated once per call;
* the loops run with BLAS on one thread (:func:`.runtime.blas_limited`): a step's product is
  small and the next step waits for it, so waking and synchronising a second BLAS thread every
  step costs more than it saves (and, with other processes on the cores, a helper thread that
  must wait for a time slice stalls every step); the big products before and after the loop
  keep all threads.

The names follow the gate equations: LSTM ``i, f, g, o`` (sigmoid, sigmoid, tanh, sigmoid),
``c' = f⊙c + i⊙g``, ``h' = o⊙tanh(c')`` (then ``h' Wₕᵣᵀ`` with a projection); GRU ``r, z, n``,
``h' = n + z⊙(h − n)``; Elman ``h' = act(pre)``.
"""
from __future__ import annotations

import numpy as np

from .runtime import blas_limited, matmul

__all__ = ["forward", "backward"]


def _sizes(arrays):
    x, h0 = arrays["x"], arrays["h0"]
    return x.shape[0], h0.shape[0], arrays["w_hh"].shape[1]


def _input_projection(x, w_ih, bias):
    """``x Wᵢₕᵀ + bias`` for all rows at once, in x's dtype."""
    out = matmul(x, w_ih.T)
    if bias is not None:
        out += bias
    return out


def _sigmoid_(a):
    """``a = 1 / (1 + exp(−a))`` in place: four vectorised passes, several times faster than
    ``scipy.special.expit``'s scalar loop. Where ``exp(−a)`` overflows (a < −88 in float32) the
    result is the correct limit 0; the callers silence that overflow warning.

    The sign flip is a multiplication: NumPy 2.4's in-place ``np.negative(a, out=a)`` writes
    wrong values when ``a``'s innermost axis is strided (a one-column slice of the gates, as
    with hidden_size 1)."""
    np.multiply(a, -1, out=a)
    np.exp(a, out=a)
    a += 1
    np.reciprocal(a, out=a)
    return a


def _flat(y, h, c=None):
    parts = [y.reshape(-1), h.reshape(-1)] + ([] if c is None else [c.reshape(-1)])
    return np.concatenate(parts)


# --- forward ----------------------------------------------------------------------------------
def forward(mode, arrays, steps, keep):
    """``(flat output, saved)``: ``saved`` holds what :func:`backward` needs when ``keep``,
    else ``None``."""
    bias = arrays["b_ih"]
    if bias is not None and mode != "GRU":   # the GRU keeps b_hh inside r ⊙ (Wₕₙh + bₕₙ)
        bias = bias + arrays["b_hh"]
    projected = _input_projection(arrays["x"], arrays["w_ih"], bias)
    loop = {"LSTM": _lstm_forward, "GRU": _gru_forward, "RNN_TANH": _rnn_forward,
            "RNN_RELU": _rnn_forward}[mode]
    with np.errstate(over="ignore"), blas_limited(1):
        return loop(mode, arrays, projected, steps, keep)


def _lstm_forward(mode, a, gates, steps, keep):
    """``gates`` (N, 4H): the input projections, activated in place step by step."""
    w_hh, w_hr = a["w_hh"], a["w_hr"]
    n, batch, width = _sizes(a)
    hidden = a["c0"].shape[1]
    w_hh_t = w_hh.T
    dtype = gates.dtype
    h = a["h0"].astype(dtype, copy=True)
    c = a["c0"].astype(dtype, copy=True)
    y = np.empty((n, width), dtype)
    tanh_c = np.empty((n, hidden), dtype)                  # tanh(c_t), kept for backward
    h_prev = np.empty((n, width), dtype) if keep else None
    c_prev = np.empty((n, hidden), dtype) if keep else None
    hh_all = np.empty((n, hidden), dtype) if keep and w_hr is not None else None
    work = np.empty((batch, hidden), dtype)
    two, three = 2 * hidden, 3 * hidden
    for start, rows in steps:
        stop = start + rows
        g = gates[start:stop]
        hp, cp = h[:rows], c[:rows]
        if keep:
            h_prev[start:stop] = hp
            c_prev[start:stop] = cp
        g += matmul(hp, w_hh_t)
        _sigmoid_(g[:, :two])
        np.tanh(g[:, two:three], out=g[:, two:three])
        _sigmoid_(g[:, three:])
        ig = np.multiply(g[:, :hidden], g[:, two:three], out=work[:rows])
        cp *= g[:, hidden:two]
        cp += ig
        tc = np.tanh(cp, out=tanh_c[start:stop])
        if w_hr is None:
            np.multiply(g[:, three:], tc, out=y[start:stop])
        else:
            hh = np.multiply(g[:, three:], tc, out=work[:rows])
            if keep:
                hh_all[start:stop] = hh
            np.matmul(hh, w_hr.T, out=y[start:stop])
        hp[...] = y[start:stop]
    saved = None
    if keep:
        saved = {"gates": gates, "tanh_c": tanh_c, "h_prev": h_prev, "c_prev": c_prev,
                 "hh": hh_all}
    return _flat(y, h, c), saved


def _gru_forward(mode, a, gi, steps, keep):
    """``gi`` (N, 3H): the input projections (r, z, n), activated in place step by step."""
    w_hh, b_hh = a["w_hh"], a["b_hh"]
    n, batch, hidden = _sizes(a)
    dtype = gi.dtype
    w_hh_t = w_hh.T
    two = 2 * hidden
    h = a["h0"].astype(dtype, copy=True)
    y = np.empty((n, hidden), dtype)
    hn_all = np.empty((n, hidden), dtype) if keep else None   # Wₕₙh + bₕₙ of every step
    h_prev = np.empty((n, hidden), dtype) if keep else None
    for start, rows in steps:
        stop = start + rows
        hp = h[:rows]
        if keep:
            h_prev[start:stop] = hp
        gh = matmul(hp, w_hh_t)
        if b_hh is not None:
            gh += b_hh
        rz = gi[start:stop, :two]
        rz += gh[:, :two]
        _sigmoid_(rz)
        hn = gh[:, two:]
        if keep:
            hn_all[start:stop] = hn
        new = gi[start:stop, two:]
        hn *= rz[:, :hidden]
        new += hn
        np.tanh(new, out=new)
        out = np.subtract(hp, new, out=y[start:stop])
        out *= rz[:, hidden:]
        out += new
        hp[...] = out
    saved = {"gates": gi, "hn": hn_all, "h_prev": h_prev} if keep else None
    return _flat(y, h), saved


def _rnn_forward(mode, a, y, steps, keep):
    """``y`` (N, H): the input projections, turned into the outputs step by step."""
    relu = mode == "RNN_RELU"
    w_hh = a["w_hh"]
    n, batch, hidden = _sizes(a)
    dtype = y.dtype
    w_hh_t = w_hh.T
    h = a["h0"].astype(dtype, copy=True)
    h_prev = np.empty((n, hidden), dtype) if keep else None
    for start, rows in steps:
        stop = start + rows
        hp = h[:rows]
        if keep:
            h_prev[start:stop] = hp
        pre = y[start:stop]
        pre += matmul(hp, w_hh_t)
        if relu:
            np.maximum(pre, 0, out=pre)
        else:
            np.tanh(pre, out=pre)
        hp[...] = pre
    saved = {"y": y, "h_prev": h_prev} if keep else None
    return _flat(y, h), saved


# --- backward ---------------------------------------------------------------------------------
def _split_cotangent(g, n, batch, width, hidden=None):
    """The flat output's cotangent as (gy, gh_n, gc_n) arrays; the last two are copies, since the
    loop accumulates into them."""
    gy = g[:n * width].reshape(n, width)
    gh = g[n * width:(n + batch) * width].reshape(batch, width).copy()
    gc = None
    if hidden is not None:
        start = (n + batch) * width
        gc = g[start:start + batch * hidden].reshape(batch, hidden).copy()
    return gy, gh, gc


def backward(mode, g, arrays, saved, steps):
    """Cotangents of every input (``x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr``; absent ones
    ``None``) for the cotangent ``g`` of the flat output."""
    backward_loop = {"LSTM": _lstm_backward, "GRU": _gru_backward, "RNN_TANH": _rnn_backward,
                     "RNN_RELU": _rnn_backward}[mode]
    with blas_limited(1):
        d_gates, d_gates_h, grads = backward_loop(mode, g, arrays, saved, steps)
    grads.update(_weight_grads(arrays, d_gates, d_gates_h, saved["h_prev"]))
    dh_all = grads.pop("dh_all", None)     # the LSTM projection's output cotangents
    if dh_all is not None:
        grads["w_hr"] = matmul(dh_all.T, saved["hh"])
    return grads


def _weight_grads(a, d_gates, d_gates_h, h_prev):
    """Cotangents of x, W_ih, W_hh and the biases from the gates' cotangents of all steps
    (``d_gates_h``: those seen by the recurrent product, when they differ)."""
    x, w_ih = a["x"], a["w_ih"]
    grads = {"x": matmul(d_gates, w_ih).astype(x.dtype, copy=False),
             "w_ih": matmul(d_gates.T, x), "w_hh": matmul(d_gates_h.T, h_prev)}
    if a["b_ih"] is not None:
        grads["b_ih"] = d_gates.sum(axis=0)
        grads["b_hh"] = d_gates_h.sum(axis=0)
    return grads


def _lstm_backward(mode, g, a, s, steps):
    w_hh, w_hr = a["w_hh"], a["w_hr"]
    n, batch, width = _sizes(a)
    hidden = a["c0"].shape[1]
    gates, tanh_c, c_prev = s["gates"], s["tanh_c"], s["c_prev"]
    dtype = gates.dtype
    gy, dh, dc = _split_cotangent(g.astype(dtype, copy=False), n, batch, width, hidden)
    d_gates = np.empty_like(gates)
    dh_all = np.empty((n, width), dtype) if w_hr is not None else None
    work = np.empty((batch, hidden), dtype)
    two, three = 2 * hidden, 3 * hidden
    for start, rows in reversed(steps):
        stop = start + rows
        dht = dh[:rows]
        dht += gy[start:stop]
        if w_hr is not None:
            dh_all[start:stop] = dht
            dhh = matmul(dht, w_hr)
        else:
            dhh = dht
        gt, dg = gates[start:stop], d_gates[start:stop]
        i, f, gg, o = gt[:, :hidden], gt[:, hidden:two], gt[:, two:three], gt[:, three:]
        tc = tanh_c[start:stop]
        np.multiply(dhh, tc, out=dg[:, three:])                  # ∂o
        tmp = np.multiply(tc, tc, out=work[:rows])               # ∂c += ∂h·o·(1 − tanh²c)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dhh
        dct = dc[:rows]
        dct += tmp
        np.multiply(dct, gg, out=dg[:, :hidden])                 # ∂i
        np.multiply(dct, c_prev[start:stop], out=dg[:, hidden:two])  # ∂f
        np.multiply(dct, i, out=dg[:, two:three])                # ∂g
        dct *= f                                                 # ∂c_{t-1}
        # through the activations: σ' = σ(1 − σ) for i, f, o; tanh' = 1 − g² for g
        _times_sigmoid_slope(dg[:, :two], gt[:, :two])
        _times_sigmoid_slope(dg[:, three:], o)
        tmp = np.multiply(gg, gg, out=work[:rows])
        np.subtract(1, tmp, out=tmp)
        dg[:, two:three] *= tmp
        dht[...] = matmul(dg, w_hh)
    return d_gates, d_gates, {"h0": dh, "c0": dc, "dh_all": dh_all}


def _times_sigmoid_slope(d, sig):
    """``d *= sig·(1 − sig)`` in place."""
    d *= sig
    d -= d * sig


def _gru_backward(mode, g, a, s, steps):
    w_hh = a["w_hh"]
    n, batch, hidden = _sizes(a)
    gates, hn_all, h_prev = s["gates"], s["hn"], s["h_prev"]
    dtype = gates.dtype
    gy, dh, _ = _split_cotangent(g.astype(dtype, copy=False), n, batch, hidden)
    d_gi = np.empty_like(gates)           # cotangents of the input-side pre-activations
    d_gh = np.empty_like(gates)           # ... and of the recurrent side (differs in n)
    work = np.empty((batch, hidden), dtype)
    two = 2 * hidden
    for start, rows in reversed(steps):
        stop = start + rows
        dht = dh[:rows]
        dht += gy[start:stop]
        gt, dgi, dgh = gates[start:stop], d_gi[start:stop], d_gh[start:stop]
        r, z, nn = gt[:, :hidden], gt[:, hidden:two], gt[:, two:]
        hp = h_prev[start:stop]
        dn = dgi[:, two:]
        np.subtract(1, z, out=dn)                                # ∂n = ∂h·(1 − z)
        dn *= dht
        tmp = np.multiply(nn, nn, out=work[:rows])               # through tanh
        np.subtract(1, tmp, out=tmp)
        dn *= tmp
        np.multiply(dn, r, out=dgh[:, two:])                     # ∂(Wₕₙh + bₕₙ)
        dr = np.multiply(dn, hn_all[start:stop], out=dgi[:, :hidden])
        _times_sigmoid_slope(dr, r)
        dz = np.subtract(hp, nn, out=dgi[:, hidden:two])         # ∂z = ∂h·(h − n)
        dz *= dht
        _times_sigmoid_slope(dz, z)
        dgh[:, :two] = dgi[:, :two]
        dht *= z                                                 # ∂h_{t-1}, direct part
        dht += matmul(dgh, w_hh)
    return d_gi, d_gh, {"h0": dh}


def _rnn_backward(mode, g, a, s, steps):
    relu = mode == "RNN_RELU"
    w_hh = a["w_hh"]
    n, batch, hidden = _sizes(a)
    y = s["y"]
    dtype = y.dtype
    gy, dh, _ = _split_cotangent(g.astype(dtype, copy=False), n, batch, hidden)
    d_pre = np.empty_like(y)
    for start, rows in reversed(steps):
        stop = start + rows
        dht = dh[:rows]
        dht += gy[start:stop]
        d = d_pre[start:stop]
        yt = y[start:stop]
        if relu:
            np.multiply(dht, yt > 0, out=d)
        else:
            np.multiply(yt, yt, out=d)
            np.subtract(1, d, out=d)
            d *= dht
        dht[...] = matmul(d, w_hh)
    return d_pre, d_pre, {"h0": dh}


# --- forward mode -----------------------------------------------------------------------------
def tangent(mode, arrays, tangents, saved, steps):
    """The tangent of the flat output for ``tangents`` of the inputs (a dict like ``arrays``,
    ``None`` for inputs without one), from the forward pass's ``saved`` values.

    Whatever does not depend on the previous step is one product over all rows before the loop:
    ``ẋ Wᵢₕᵀ + x Ẇᵢₕᵀ + ḃ`` and ``h_{t−1} Ẇₕₕᵀ`` (the states are known from the forward pass);
    the loop carries ``ḣ`` (and ``ċ``) through ``ḣ Wₕₕᵀ`` and the gates' slopes.
    """
    a, t = arrays, tangents
    n, batch, width = _sizes(a)
    dtype = saved["h_prev"].dtype

    def product(x, w):      # x wᵀ, or None when either is absent
        return None if x is None or w is None else matmul(x.astype(dtype, copy=False), w.T)

    lstm, gru = mode == "LSTM", mode == "GRU"
    gates = a["w_hh"].shape[0]
    recurrent_in = _sum_terms([product(saved["h_prev"], t["w_hh"]),
                               None if t["b_hh"] is None else t["b_hh"]], (n, gates), dtype)
    input_in = _sum_terms([product(t["x"], a["w_ih"]), product(a["x"], t["w_ih"]),
                           None if t["b_ih"] is None else t["b_ih"]], (n, gates), dtype)
    if not gru:                # both biases and both products add before the activations
        input_in += recurrent_in
    dh = _state(t["h0"], (batch, width), dtype)
    dc = _state(t["c0"], (batch, a["c0"].shape[1]), dtype) if lstm else None
    dy = np.empty((n, width), dtype)
    loop = {"LSTM": _lstm_tangent, "GRU": _gru_tangent}.get(mode, _rnn_tangent)
    with blas_limited(1):
        loop(mode, a, t, saved, steps, input_in, recurrent_in, dh, dc, dy)
    return _flat(dy, dh, dc)


def _sum_terms(terms, shape, dtype):
    out = np.zeros(shape, dtype)
    for term in terms:
        if term is not None:
            out += term
    return out


def _state(value, shape, dtype):
    return np.zeros(shape, dtype) if value is None else value.astype(dtype, copy=True)


def _lstm_tangent(mode, a, t, s, steps, pre, _, dh, dc, dy):
    """``pre`` (N, 4H): the tangents of the pre-activations except ``ḣ_{t−1} Wₕₕᵀ``."""
    w_hh_t, w_hr = a["w_hh"].T, a["w_hr"]
    gates, tanh_c, c_prev = s["gates"], s["tanh_c"], s["c_prev"]
    hidden = tanh_c.shape[1]
    two, three = 2 * hidden, 3 * hidden
    for start, rows in steps:
        stop = start + rows
        da = pre[start:stop]
        dht, dct = dh[:rows], dc[:rows]
        da += matmul(dht, w_hh_t)
        gt = gates[start:stop]
        i, f, g, o = gt[:, :hidden], gt[:, hidden:two], gt[:, two:three], gt[:, three:]
        _times_sigmoid_slope(da[:, :two], gt[:, :two])          # i̇, ḟ
        _times_sigmoid_slope(da[:, three:], o)                  # ȯ
        da[:, two:three] *= 1 - g * g                           # ġ
        dct *= f                                                # ċ = ḟ c + f ċ + i̇ g + i ġ
        dct += da[:, hidden:two] * c_prev[start:stop]
        dct += da[:, :hidden] * g
        dct += i * da[:, two:three]
        tc = tanh_c[start:stop]
        dhh = da[:, three:] * tc + o * (1 - tc * tc) * dct      # of o ⊙ tanh(c)
        if w_hr is not None:
            dhh = matmul(dhh, w_hr.T)
            if t["w_hr"] is not None:
                dhh += matmul(s["hh"][start:stop], t["w_hr"].T)
        dy[start:stop] = dhh
        dht[...] = dhh


def _gru_tangent(mode, a, t, s, steps, gi, gh_in, dh, dc, dy):
    """``gi`` (N, 3H): input-side tangents; ``gh_in``: ``h_{t−1} Ẇₕₕᵀ + ḃₕₕ`` of each step."""
    w_hh_t = a["w_hh"].T
    gates, hn_all, h_prev = s["gates"], s["hn"], s["h_prev"]
    hidden = hn_all.shape[1]
    two = 2 * hidden
    for start, rows in steps:
        stop = start + rows
        dht = dh[:rows]
        dgh = gh_in[start:stop]
        dgh += matmul(dht, w_hh_t)
        gt = gates[start:stop]
        r, z, n = gt[:, :hidden], gt[:, hidden:two], gt[:, two:]
        drz = gi[start:stop, :two]
        drz += dgh[:, :two]
        _times_sigmoid_slope(drz, gt[:, :two])                  # ṙ, ż
        dn = gi[start:stop, two:]
        dn += drz[:, :hidden] * hn_all[start:stop] + r * dgh[:, two:]
        dn *= 1 - n * n
        out = dy[start:stop]
        np.multiply(drz[:, hidden:], h_prev[start:stop] - n, out=out)   # ż (h − n)
        out += dn
        out += z * (dht - dn)
        dht[...] = out


def _rnn_tangent(mode, a, t, s, steps, pre, _, dh, dc, dy):
    w_hh_t = a["w_hh"].T
    y = s["y"]
    for start, rows in steps:
        stop = start + rows
        dht = dh[:rows]
        da = pre[start:stop]
        da += matmul(dht, w_hh_t)
        yt = y[start:stop]
        if mode == "RNN_RELU":
            da *= yt > 0
        else:
            da *= 1 - yt * yt
        dy[start:stop] = da
        dht[...] = da
