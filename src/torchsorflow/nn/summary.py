"""``summary(model)``: parameters per layer, output shapes, multiply-accumulates and memory.

Seed 002, exercise 3 counts VGG11's parameters with a loop over ``features`` and
``classifier``. :func:`summary` answers that question for any model, and the wider one people ask
torchinfo: with an ``input_size`` it runs one forward pass (no gradients, in ``eval`` mode, with
forward hooks) and records every layer's input and output shapes and its compute.

How the numbers are defined:

* **Parameters** are counted once, even when two layers share (tie) them: a row still shows the
  parameters its layer uses, marked ``(tied)`` when an earlier row owns them, but the totals do
  not add them twice (torchinfo's issue #322). Buffers (BatchNorm's running statistics) are state,
  not parameters: they appear only in the memory estimate. A parameter with
  ``requires_grad=False`` is *non-trainable*.
* **MACs** (multiply-accumulates) count the products of the layers that multiply by learned
  matrices: a convolution does out_elements × (C_in/groups) × k_h × k_w of them, a Linear layer
  out_elements × in_features. Element-wise layers (ReLU, BatchNorm, pooling) are memory-bound and
  count 0, which is also how torchvision's "GFLOPS" figures (really GMACs) are made: VGG11 at
  1x3x224x224 needs 7.61 G, ResNet-18 1.81 G. :func:`register_mac_counter` adds a layer type.
* **Memory** is an estimate in MB (10⁶ bytes): the input, the layer outputs kept for the backward
  pass plus their gradients (2 × the sum of the leaf layers' outputs), parameters and buffers.

A container's row adds up its sub-layers; rows deeper than ``depth`` are folded into their parent.

>>> from torchsorflow import nn
>>> from torchsorflow.nn.summary import summary
>>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
>>> info = summary(model, input_size=(1, 1, 8, 8))
>>> info.total_params, info.total_macs
(1490, 2736)
>>> [(row.name, row.output_shape, row.params) for row in info.rows][1:]
[('0', [1, 4, 6, 6], 40), ('1', [1, 4, 6, 6], 0), ('2', [1, 144], 0), ('3', [1, 10], 1450)]
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..autodiff.tracer import no_grad
from ..ops.shape import ShapeError
from ..tensor import Tensor
from .conv import _Conv, _ConvTransposeNd
from .linear import Linear
from .module import Module, size_str
from ..ops.creation import as_tensor

__all__ = ["summary", "ModelSummary", "LayerRow", "register_mac_counter"]

_MAC_COUNTERS = {}


def register_mac_counter(layer_type):
    """Decorator: ``fn(module, inputs, output) -> int`` counts the MACs of one call of a layer type
    (and of its subclasses). ``inputs`` is the tuple of positional arguments."""
    def decorator(fn):
        _MAC_COUNTERS[layer_type] = fn
        return fn
    return decorator


@register_mac_counter(_Conv)
def _conv_macs(module, inputs, output):
    # Each output element is a dot product over (C_in/groups) × kernel inputs: weight.shape[1:].
    return _numel(output) * math.prod(module.weight.shape[1:])


@register_mac_counter(_ConvTransposeNd)
def _conv_transpose_macs(module, inputs, output):
    # Each input element is spread over (C_out/groups) × kernel outputs: weight.shape[1:].
    return _numel(inputs[0]) * math.prod(module.weight.shape[1:])


@register_mac_counter(Linear)
def _linear_macs(module, inputs, output):
    return _numel(output) * module.in_features


def _mac_counter(module):
    for cls in type(module).__mro__:
        if cls in _MAC_COUNTERS:
            return _MAC_COUNTERS[cls]
    return None


def _numel(value):
    return math.prod(value.shape) if isinstance(value, (Tensor, np.ndarray)) else 0


def _shapes(value):
    """A Tensor's shape as a list; the Tensors of a (nested) tuple/list, like an LSTM's
    ``(output, (h_n, c_n))``, as a flat list of shapes; else None."""
    shapes = list(_leaf_shapes(value))
    return shapes[0] if len(shapes) == 1 else (shapes or None)


def _leaf_shapes(value):
    if isinstance(value, (Tensor, np.ndarray)):
        yield [int(n) for n in value.shape]
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _leaf_shapes(item)


def _bytes(value):
    if isinstance(value, (Tensor, np.ndarray)):
        return _numel(value) * np.dtype(value.dtype).itemsize
    if isinstance(value, (tuple, list)):
        return sum(_bytes(v) for v in value)
    return 0


def _storage_key(param):
    """Two Parameters viewing the same memory are one parameter: key on address, shape, strides."""
    array = param._array
    return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)


@dataclass
class LayerRow:
    """One line of the table: a module (with everything below it folded in) at ``depth``."""

    name: str                 # dotted name as in state_dict ("features.0"); "" for the model
    layer_type: str           # class name ("Conv2d")
    depth: int                # 0 for the model, 1 for its children, ...
    input_shape: list | None  # shape of the first call's input (None: not run / no input size)
    output_shape: list | None
    kernel_size: list | None
    params: int               # parameters this module uses (its own and its sub-modules', once)
    trainable_params: int     # of which requires_grad=True
    tied_params: int          # of which an earlier row already owns (shared weights)
    macs: int | None          # multiply-accumulates of all its calls (None without a forward)
    calls: int = 0            # how often the forward pass called it

    @property
    def trainable(self):
        """True / False / "partial", or None for a row without parameters (torchinfo's column)."""
        if self.params == 0:
            return None
        if self.trainable_params == self.params:
            return True
        return False if self.trainable_params == 0 else "partial"


@dataclass
class ModelSummary:
    """What :func:`summary` returns; ``print`` it for the table, or export it."""

    model_name: str
    input_size: list | None
    depth: int | None
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int | None = None
    input_bytes: int = 0
    forward_backward_bytes: int = 0
    param_bytes: int = 0
    buffer_bytes: int = 0

    @property
    def non_trainable_params(self):
        return self.total_params - self.trainable_params

    @property
    def total_bytes(self):
        return self.input_bytes + self.forward_backward_bytes + self.param_bytes + self.buffer_bytes

    def to_dict(self):
        """Plain Python data (lists, ints, strings), ready for :func:`json.dumps`."""
        rows = [dict(asdict(row), trainable=row.trainable) for row in self.rows]
        return {"model": self.model_name, "input_size": self.input_size, "depth": self.depth,
                "total_params": self.total_params, "trainable_params": self.trainable_params,
                "non_trainable_params": self.non_trainable_params, "total_macs": self.total_macs,
                "memory_bytes": {"input": self.input_bytes,
                                 "forward_backward": self.forward_backward_bytes,
                                 "params": self.param_bytes, "buffers": self.buffer_bytes,
                                 "total": self.total_bytes},
                "rows": rows}

    def to_json(self, indent=2):
        return json.dumps(self.to_dict(), indent=indent)

    # --- text --------------------------------------------------------------------------------
    def _columns(self):
        columns = [("Layer (type)", lambda r: "  " * r.depth + _label(r, self.model_name), "<"),
                   ("Kernel", lambda r: _dims(r.kernel_size), ">")]
        if self.input_size is not None:
            columns += [("Input shape", lambda r: _shape_text(r.input_shape), ">"),
                        ("Output shape", lambda r: _shape_text(r.output_shape), ">")]
        columns += [("Param #", _param_text, ">"),
                    ("Trainable", lambda r: "--" if r.trainable is None else str(r.trainable)
                     .capitalize(), ">")]
        if self.input_size is not None:
            columns.append(("MACs", lambda r: f"{r.macs:,}" if r.macs else "--", ">"))
        return columns

    def _footer(self):
        lines = [f"Total params: {self.total_params:,}",
                 f"Trainable params: {self.trainable_params:,}",
                 f"Non-trainable params: {self.non_trainable_params:,}"]
        if self.total_macs is not None:
            lines.append(f"Total mult-adds: {_scaled(self.total_macs)} ({self.total_macs:,})")
        memory = [("Input size (MB)", self.input_bytes),
                  ("Forward/backward pass size (MB)", self.forward_backward_bytes),
                  ("Params size (MB)", self.param_bytes), ("Buffers size (MB)", self.buffer_bytes),
                  ("Estimated total size (MB)", self.total_bytes)]
        if self.input_size is None:
            memory = memory[2:4]
        return lines, [f"{label}: {value / 1e6:.2f}" for label, value in memory]

    def __str__(self):
        columns = self._columns()
        cells = [[text(row) for _, text, _ in columns] for row in self.rows]
        widths = [max([len(title)] + [len(line[i]) for line in cells])
                  for i, (title, _, _) in enumerate(columns)]

        def join(values, aligns):
            return "  ".join(v.ljust(w) if a == "<" else v.rjust(w)
                             for v, w, a in zip(values, widths, aligns))

        rule_width = sum(widths) + 2 * (len(widths) - 1)
        aligns = [align for _, _, align in columns]
        header = join([title for title, _, _ in columns], aligns)
        body = [join(line, aligns) for line in cells]
        counts, memory = self._footer()
        parts = ["=" * rule_width, header, "=" * rule_width, *body, "=" * rule_width, *counts,
                 "-" * rule_width, *memory, "=" * rule_width]
        return "\n".join(parts)

    __repr__ = __str__

    def to_markdown(self):
        """A GitHub-flavoured markdown table followed by the totals as a list."""
        columns = self._columns()
        lines = ["| " + " | ".join(title for title, _, _ in columns) + " |",
                 "| " + " | ".join("---" if a == "<" else "---:" for _, _, a in columns) + " |"]
        for row in self.rows:
            values = [text(row).strip() if i == 0 else text(row)
                      for i, (_, text, _) in enumerate(columns)]
            values[0] = "&nbsp;&nbsp;" * row.depth + values[0].replace("|", "\\|")
            lines.append("| " + " | ".join(values) + " |")
        counts, memory = self._footer()
        return "\n".join(lines + [""] + [f"- {line}" for line in counts + memory]) + "\n"


def _label(row, model_name):
    return model_name if row.depth == 0 else f"{row.name} ({row.layer_type})"


def _scaled(count):
    """7609090048 -> '7.61 G' (decimal prefixes, as torchvision's GFLOPS column)."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if count >= factor:
            return f"{count / factor:.2f} {prefix}"
    return str(count)


def _dims(values):
    return "--" if values is None else "x".join(str(v) for v in values)


def _shape_text(shape):
    if shape is None:
        return "--"
    if shape and isinstance(shape[0], list):
        return ", ".join(size_str(s) for s in shape)
    return size_str(shape)


def _param_text(row):
    if row.params == 0:
        return "--"
    return f"{row.params:,}" + (" (tied)" if row.tied_params else "")


def _kernel_size(module):
    size = getattr(module, "kernel_size", None)
    if isinstance(size, (int, np.integer)):
        return [int(size), int(size)]
    if isinstance(size, (tuple, list)):
        return [int(v) for v in size]
    return None


def _check_request(input_size, depth):
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"summary: depth must be a non-negative int or None, got {depth!r}")
    if input_size is None:
        return None
    sizes = input_size if input_size and isinstance(input_size[0], (tuple, list)) else [input_size]
    checked = []
    for i, size in enumerate(sizes):
        for j, n in enumerate(size):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                where = f"input_size[{i}][{j}]" if len(sizes) > 1 else f"input_size[{j}]"
                raise ValueError(f"summary: {where} must be a positive int, got {n!r} "
                                 f"(input_size={input_size!r})")
        checked.append([int(n) for n in size])
    return checked


def _record_forward(model, inputs, names):
    """Run ``model(*inputs)`` once with hooks on every module; return per-module call records."""
    records = {id(m): {"input": None, "output": None, "calls": 0, "macs": 0} for m in names}
    activation_bytes = [0]
    stack = []

    def before(module, args):
        stack.append((module, args))

    def after(module, args, output):
        while stack and stack.pop()[0] is not module:  # skip calls that raised and were caught
            pass
        record = records[id(module)]
        if record["calls"] == 0:
            record["input"], record["output"] = _shapes(args), _shapes(output)
        record["calls"] += 1
        counter = _mac_counter(module)
        if counter is not None:
            record["macs"] += int(counter(module, args, output))
        if not module._modules:  # leaf layers: their outputs are what backward keeps
            activation_bytes[0] += _bytes(output)

    modes = {id(m): m.training for m in names}
    handles = []
    try:
        for module in names:
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
        model.eval()
        with no_grad():
            model(*inputs)
    except (ValueError, TypeError, RuntimeError, IndexError) as error:
        # What a layer raises when its input does not fit; other errors (a missing module, out
        # of memory) are not about the input and pass through unchanged.
        if not stack:
            raise
        module, args = stack[-1]
        label = f"'{names[module]}' ({type(module).__name__})" if names[module] else \
            f"the model's own forward ({type(module).__name__})"
        message = (f"summary: layer {label} failed on input of shape "
                   f"{_shape_text(_shapes(args))}: {error}")
        kind = (type(error) if type(error) in (ValueError, TypeError, RuntimeError, ShapeError)
                else RuntimeError)
        raise kind(message) from error
    finally:
        for handle in handles:
            handle.remove()
        for module in names:
            object.__setattr__(module, "training", modes[id(module)])
    return records, 2 * activation_bytes[0]


def _row(module, name, depth, params_of, owner, records):
    """The table row of ``module``: everything below it folded in, shared parameters once."""
    subtree = [m for _, m in module.named_modules()]
    params = {key: p for m in subtree for key, p in params_of[m].items()}

    def owned_inside(key):  # by this module or one below it (else: tied to an earlier row)
        return name == "" or owner[key] == name or owner[key].startswith(name + ".")

    record = records[id(module)] if records else {"input": None, "output": None, "calls": 0}
    return LayerRow(
        name=name, layer_type=type(module).__name__, depth=depth,
        input_shape=record["input"], output_shape=record["output"],
        kernel_size=_kernel_size(module), params=sum(p.numel() for p in params.values()),
        trainable_params=sum(p.numel() for p in params.values() if p.requires_grad),
        tied_params=sum(p.numel() for key, p in params.items() if not owned_inside(key)),
        macs=sum(records[id(m)]["macs"] for m in subtree) if records else None,
        calls=record["calls"])


def summary(model, input_size=None, depth=3, input_data=None, dtype=None):
    """Summarise ``model`` layer by layer; see the module docstring for the definitions.

    ``input_size`` is one shape including the batch dimension, e.g. ``(1, 3, 224, 224)``, or a
    list of shapes for a model taking several inputs; the input is zeros of ``dtype`` (by default
    the parameters' dtype). Or pass ``input_data`` (a Tensor or a tuple of them) instead. Without
    either, only parameters are listed and ``total_macs`` is None. ``depth=None`` shows every
    level. The model's train/eval flags, parameters and buffers are left as they were.

    >>> from torchsorflow import nn
    >>> from torchsorflow.nn.summary import summary
    >>> tied = nn.Sequential(nn.Linear(8, 8, bias=False), nn.Linear(8, 8, bias=False))
    >>> tied[1].weight = tied[0].weight
    >>> info = summary(tied)
    >>> info.total_params, [row.params for row in info.rows]
    (64, [64, 64, 64])
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected a torchsorflow.nn.Module, got {type(model).__name__}")
    sizes = _check_request(input_size, depth)
    names = {module: name for name, module in model.named_modules()}
    params_of = {m: {_storage_key(p): p for p in m._parameters.values() if p is not None}
                 for m in names}
    if input_data is not None:
        inputs = tuple(input_data) if isinstance(input_data, (tuple, list)) else (input_data,)
        inputs = tuple(x if isinstance(x, Tensor) else as_tensor(x) for x in inputs)
        sizes = [list(x.shape) for x in inputs]
    elif sizes is not None:
        if dtype is None:
            floating = [p.dtype for ps in params_of.values() for p in ps.values()
                        if np.issubdtype(p.dtype, np.floating)]
            dtype = floating[0] if floating else np.float32
        inputs = tuple(as_tensor(np.zeros(size, dtype=dtype)) for size in sizes)
    records, forward_backward = (None, 0) if sizes is None else _record_forward(model, inputs,
                                                                                 names)
    result = ModelSummary(model._get_name(), None if sizes is None else
                          (sizes[0] if len(sizes) == 1 else sizes), depth)
    owner = {}  # every parameter belongs to the first module (in registration order) holding it
    for module, name in names.items():
        for key in params_of[module]:
            owner.setdefault(key, name)
    for module, name in names.items():
        row_depth = 0 if name == "" else name.count(".") + 1
        if depth is None or row_depth <= depth:
            result.rows.append(_row(module, name, row_depth, params_of, owner, records))

    unique = {key: p for ps in params_of.values() for key, p in ps.items()}
    result.total_params = sum(p.numel() for p in unique.values())
    result.trainable_params = sum(p.numel() for p in unique.values() if p.requires_grad)
    result.param_bytes = sum(_bytes(p) for p in unique.values())
    result.buffer_bytes = sum(_bytes(b) for _, b in model.named_buffers())
    if records is not None:
        result.total_macs = sum(r["macs"] for r in records.values())
        result.input_bytes = sum(_bytes(x) for x in inputs)
        result.forward_backward_bytes = forward_backward
    return result
