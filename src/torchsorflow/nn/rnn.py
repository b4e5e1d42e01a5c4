"""Recurrent layers with ``torch.nn``'s interface: ``RNN``, ``LSTM``, ``GRU`` and their cells.

Each layer of each direction is one fused primitive over the whole sequence
(:mod:`torchsorflow.ops.recurrent`); this module stacks them: layer after layer, the two
directions side by side, dropout between layers while training. Arguments, defaults, the
initialisation U(−1/√H, 1/√H), the gate order (LSTM i, f, g, o; GRU r, z, n) and the parameter
names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ``weight_hr_l0`` ...) are PyTorch's, so a
``state_dict`` saved from ``torch.nn.LSTM`` loads here and gives the same outputs.

Inputs are (L, N, H_in) (or (N, L, H_in) with ``batch_first``), a single unbatched (L, H_in)
sequence, or a :class:`~torchsorflow.nn.utils.rnn.PackedSequence` of sequences of different
lengths; initial states default to zeros.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
>>> output, (h_n, c_n) = lstm(tsf.randn(5, 3, 10))
>>> output.shape, h_n.shape, c_n.shape
((5, 3, 40), (4, 3, 20), (4, 3, 20))
>>> [name for name, _ in lstm.named_parameters()][:5]
['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ih_l0_reverse']
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import ops
from ..ops import creation, recurrent, shape
from ..tensor import Tensor
from . import functional as F
from . import init
from .common_types import _dtype_t
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _check_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero")


def _permute(hx, permutation):
    """``hx`` with its batch dimension (1) reordered; ``None`` leaves it as it is."""
    if permutation is None:
        return hx
    return shape.getitem(hx, (slice(None), np.asarray(permutation._array, np.int64)))


class RNNBase(Module):
    """What the three recurrent layers share: the parameters, the checks and the stacking."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype: _dtype_t = None):
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) \
                or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: "
                            f"{type(batch_first).__name__}")
        _check_int("input_size", input_size)
        _check_int("hidden_size", hidden_size)
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in recurrent.MODES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate_size = recurrent.MODES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for kind, size in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(creation.zeros(*size, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias uniform in ±1/√hidden_size (PyTorch's initialisation)."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """PyTorch packs the weights into one buffer for cuDNN; on the CPU there is nothing to
        do (as in PyTorch)."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters of each layer and direction, in PyTorch's order."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    # --- checks -----------------------------------------------------------------------------
    def check_input(self, input: Tensor, batch_sizes) -> None:
        weight_dtype = self.weight_ih_l0.dtype
        if input.dtype != weight_dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight_dtype}). Convert input: input.to({weight_dtype}), or "
                             f"convert model: model.to({input.dtype})")
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes) -> tuple:
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.shape[0] if self.batch_first else input.shape[1]
        directions = 2 if self.bidirectional else 1
        width = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * directions, mini_batch, width)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size: tuple,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.shape) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(tuple(expected_hidden_size), list(hx.shape)))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        return _permute(hx, permutation)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # --- running ----------------------------------------------------------------------------
    def _layout(self, input, name):
        """``(packed rows, batch_sizes, sorted_indices, unsorted_indices, how to undo)`` for any
        accepted input; ``how to undo`` is ``None`` for a PackedSequence, else ``(L, N,
        batched)``."""
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            sizes = tuple(int(b) for b in np.asarray(batch_sizes._array))
            return data, sizes, sorted_indices, unsorted_indices, None
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D "
                             f"{'tensor ' if name == 'RNN' else ''}instead")
        batched = input.dim() == 3
        if not batched:
            input = ops.unsqueeze(input, 0 if self.batch_first else 1)
        return input, None, None, None, batched

    def _zeros(self, batch, width, dtype):
        directions = 2 if self.bidirectional else 1
        return creation.zeros(self.num_layers * directions, batch, width, dtype=dtype)

    def _stack(self, rows, batch_sizes, states):
        """Run every layer and direction over the packed ``rows``; ``states`` is a list of
        initial-state Tensors (num_layers·directions, B, ·), one per kind (h, or h and c).
        Returns the last layer's packed output and the final states, stacked the same way."""
        directions = 2 if self.bidirectional else 1
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                weights = [getattr(self, name) for name in self._all_weights[k]]
                w_ih, w_hh = weights[:2]
                b_ih, b_hh = weights[2:4] if self.bias else (None, None)
                w_hr = weights[-1] if self.proj_size > 0 else None
                initial = [shape.getitem(s, k) for s in states]
                y, h_n, c_n = recurrent.layer(
                    self.mode, rows, initial[0], initial[1] if len(initial) > 1 else None,
                    w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes=batch_sizes,
                    reverse=direction == 1)
                outputs.append(y)
                finals[0].append(h_n)
                if c_n is not None:
                    finals[1].append(c_n)
            rows = outputs[0] if directions == 1 else ops.cat(outputs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                rows = F.dropout(rows, self.dropout, True)
        return rows, [ops.stack(f, 0) for f in finals]

    def _forward(self, input, hx, name):
        """The forward pass shared by the three layers; ``hx`` is a list of states (h, or h
        and c) or ``None``; returns ``(output, list of final states)``."""
        rows, batch_sizes, sorted_indices, unsorted_indices, undo = self._layout(input, name)
        lstm = self.mode == "LSTM"
        width = self.proj_size if self.proj_size > 0 else self.hidden_size
        if undo is not None:
            batched = undo
            if hx is not None:
                dims = [h.dim() for h in hx]
                want = 3 if batched else 2
                if any(d != want for d in dims):
                    kind = "batched 3-D" if batched else "unbatched 2-D"
                    if lstm:
                        raise RuntimeError(f"For {kind} input, hx and cx should also be "
                                           f"{want}-D but got ({dims[0]}-D, {dims[1]}-D) tensors")
                    raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                       f"{dims[0]}-D tensor")
                if not batched:
                    hx = [ops.unsqueeze(h, 1) for h in hx]
            padded = rows
            if self.batch_first:
                padded = ops.transpose(padded, 0, 1)
            steps, batch = padded.shape[0], padded.shape[1]
            batch_sizes = (batch,) * steps
            rows = ops.reshape(padded, (steps * batch, padded.shape[2])) if padded.ndim == 3 \
                else padded
            self.check_input(padded, None)
        else:
            self.check_input(rows, batch_sizes)
            batch = batch_sizes[0]
        dtype = rows.dtype
        if hx is None:
            hx = [self._zeros(batch, width, dtype)]
            if lstm:
                hx.append(self._zeros(batch, self.hidden_size, dtype))
        else:
            expected = (self.num_layers * (2 if self.bidirectional else 1), batch, width)
            if lstm:
                self.check_hidden_size(hx[0], expected, "Expected hidden[0] size {}, got {}")
                self.check_hidden_size(hx[1], expected[:2] + (self.hidden_size,),
                                       "Expected hidden[1] size {}, got {}")
            else:
                self.check_hidden_size(hx[0], expected)
            hx = [_permute(h, sorted_indices) for h in hx]
        out_rows, finals = self._stack(rows, batch_sizes, hx)
        if undo is None:
            output = PackedSequence(out_rows, input.batch_sizes, sorted_indices, unsorted_indices)
            return output, [_permute(h, unsorted_indices) for h in finals]
        output = ops.reshape(out_rows, (steps, batch, out_rows.shape[-1]))
        if self.batch_first:
            output = ops.transpose(output, 0, 1)
        if not batched:
            output = ops.squeeze(output, 0 if self.batch_first else 1)
            finals = [ops.squeeze(h, 1) for h in finals]
        return output, finals


class RNN(RNNBase):
    """An Elman network, ``h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh)`` (or ReLU with
    ``nonlinearity='relu'``), stacked ``num_layers`` deep. Returns ``(output, h_n)``."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self_nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self_nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self_nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self_nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self_nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = self_nonlinearity

    def forward(self, input, hx: Tensor | None = None):
        output, (h_n,) = self._forward(input, None if hx is None else [hx], "RNN")
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997) with PyTorch's gates::

        i, f, g, o = σ(·), σ(·), tanh(·), σ(·)  of  x W_ihᵀ + b_ih + h W_hhᵀ + b_hh
        c' = f ⊙ c + i ⊙ g,    h' = o ⊙ tanh(c')   (then h' W_hrᵀ with ``proj_size``)

    Returns ``(output, (h_n, c_n))``."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: Tensor, batch_sizes) -> tuple:
        expected = self.get_expected_hidden_size(input, batch_sizes)
        return expected[:2] + (self.hidden_size,)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0) of two Tensors")
        output, (h_n, c_n) = self._forward(input, None if hx is None else list(hx), "LSTM")
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014) with PyTorch's gates::

        r = σ(W_ir x + b_ir + W_hr h + b_hr),   z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 − z) ⊙ n + z ⊙ h

    Returns ``(output, h_n)``."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx: Tensor | None = None):
        output, (h_n,) = self._forward(input, None if hx is None else [hx], "GRU")
        return output, h_n


# --- cells -------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """One time step of a recurrent layer: ``weight_ih`` (chunks·H, I), ``weight_hh``
    (chunks·H, H) and two biases, uniform in ±1/√H; each call is the layer's fused primitive
    over a single step."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype: _dtype_t = None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(creation.zeros(num_chunks * hidden_size, input_size,
                                                  dtype=dtype))
        self.weight_hh = Parameter(creation.zeros(num_chunks * hidden_size, hidden_size,
                                                  dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.zeros(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(creation.zeros(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def _step(self, input, hx, name):
        """Checks, batching and zero states, then one step; returns the new state(s) as a
        list (h, or h and c)."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for i, h in enumerate(hx or ()):
            if h is not None and h.dim() not in (1, 2):
                what = f"hx[{i}]" if len(hx) > 1 else "hidden"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {h.dim()}D "
                                 "instead")
        batched = input.dim() == 2
        if not batched:
            input = ops.unsqueeze(input, 0)
        lstm = self._mode == "LSTM"
        batch = input.shape[0]
        if hx is None or all(h is None for h in hx):
            hx = [creation.zeros(batch, self.hidden_size, dtype=input.dtype)
                  for _ in range(2 if lstm else 1)]
        elif not batched:
            hx = [ops.unsqueeze(h, 0) for h in hx]
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        for i, h in enumerate(hx):
            if h.shape[0] != batch:
                raise RuntimeError(f"Input batch size {batch} doesn't match hidden{i} batch size "
                                   f"{h.shape[0]}")
            if h.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.shape[1]}, "
                                   f"expected {self.hidden_size}")
        _, h_new, c_new = recurrent.layer(
            self._mode, input, hx[0], hx[1] if lstm else None, self.weight_ih, self.weight_hh,
            self.bias_ih, self.bias_hh, batch_sizes=(batch,))
        states = [h_new, c_new] if lstm else [h_new]
        return states if batched else [ops.squeeze(s, 0) for s in states]


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`` (or ReLU)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype: _dtype_t = None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        self._mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        return self._step(input, None if hx is None else [hx], "RNNCell")[0]


class LSTMCell(RNNCellBase):
    """One LSTM step; ``forward(input, (h, c))`` returns ``(h', c')``."""

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype: _dtype_t = None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, dtype=dtype)

    def forward(self, input: Tensor, hx=None):
        h, c = self._step(input, None if hx is None else list(hx), "LSTMCell")
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step; returns ``h'``."""

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype: _dtype_t = None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, None if hx is None else [hx], "GRUCell")[0]


# --- multiply-accumulates, for torchsorflow.nn.summary ---------------------------------------
def _rows_of(input, input_size):
    """Time steps × sequences of one call: the rows every layer multiplies."""
    data = input.data if isinstance(input, PackedSequence) else input
    return math.prod(data.shape) // input_size


def _register_mac_counters():
    from .summary import register_mac_counter

    @register_mac_counter(RNNBase)
    def _recurrent_macs(module, inputs, output):
        """Per layer and direction, each row costs a gate projection of the layer input and of
        the recurrent state (and the projection of the LSTM's output, if any)."""
        rows = _rows_of(inputs[0], module.input_size)
        gates = recurrent.MODES[module.mode] * module.hidden_size
        width = module.proj_size or module.hidden_size
        directions = 2 if module.bidirectional else 1
        total = 0
        for layer in range(module.num_layers):
            layer_input = module.input_size if layer == 0 else width * directions
            per_row = gates * (layer_input + width) + module.proj_size * module.hidden_size
            total += directions * rows * per_row
        return total

    @register_mac_counter(RNNCellBase)
    def _cell_macs(module, inputs, output):
        rows = _rows_of(inputs[0], module.input_size)
        return rows * module.weight_ih.shape[0] * (module.input_size + module.hidden_size)


_register_mac_counters()
