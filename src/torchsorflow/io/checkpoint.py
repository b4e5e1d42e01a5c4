"""Checkpoints: nested state (model, optimizer, settings) in one safetensors file.

A checkpoint is usually a dict such as::

    {"model": model.state_dict(),                  # {"conv1.weight": Tensor, ...}
     "optimizer": optimizer.state_dict(),          # {"state": {0: {"step": 3, "exp_avg": Tensor}},
                                                   #  "param_groups": [{"lr": 0.001, ...}]}
     "config": {"model": "cnn-bn", "epochs": 10}}

:func:`save` splits it in two: every Tensor (or NumPy array) becomes a safetensors entry named by
its path (``"model.conv1.weight"``, ``"optimizer.state.0.exp_avg"``), and everything else -- the
nesting, integer keys, tuples, OrderedDicts, numbers, strings -- is kept as a JSON *skeleton* in
the file's metadata under ``"torchsorflow.structure"``, with ``{"__tensor__": name}`` where a
tensor was. :func:`load` puts the two back together. No pickle is involved, so loading runs no
code.

The skeleton's special nodes (every other JSON object is a dict with string keys):

* ``{"__tensor__": name}`` a tensor, with ``"requires_grad": true`` for one that required
  gradients and ``"parameter": true`` for an ``nn.Parameter``. The same tensor (or the same view
  of the same memory) reached under two keys -- tied weights -- is stored once and referenced
  twice; the two come back sharing memory, as after ``torch.load``;
* ``{"__items__": [[key, value], ...]}`` a dict with integer (or reserved) keys;
* ``{"__ordered__": [[key, value], ...]}`` a ``collections.OrderedDict``;
* ``{"__tuple__": [...]}`` a tuple, ``{"__float__": "inf"}`` a float JSON cannot spell.

Files written by other safetensors writers have no skeleton; :func:`load` then returns the flat
``{name: Tensor}`` dict.

>>> import os, tempfile
>>> import torchsorflow as tsf
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
>>> save({"model": {"w": tsf.ones(2)}, "optimizer": {"state": {0: {"step": 3}}},
...       "config": {"betas": (0.9, 0.99)}}, path)
>>> state = load(path)
>>> state["model"]["w"], state["optimizer"]["state"][0]["step"], state["config"]["betas"]
(tensor([1., 1.]), 3, (0.9, 0.99))
"""
from __future__ import annotations

import json
import math
import os
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor
from .safetensors import SafetensorsError, is_buffer, load_file, save_file
from ..ops.creation import as_tensor

STRUCTURE_KEY = "torchsorflow.structure"
FORMAT_KEY = "format"


def save(state, path, metadata: dict | None = None):
    """Write a nested state (dicts, lists, tuples, Tensors, JSON scalars) to ``path`` atomically.

    ``path`` may also be a binary file object open for writing. ``metadata`` adds plain string
    entries to the safetensors header (readable by any tool). Two tensors whose key paths would be
    stored under the same name (``{"a.b": x, "a": {"b": y}}``) are refused, naming both paths,
    rather than one silently overwriting the other.
    """
    tensors: dict[str, np.ndarray] = {}
    skeleton = _flatten(state, "", tensors, _Stored(), "state")
    header = {FORMAT_KEY: "torchsorflow", STRUCTURE_KEY: json.dumps(skeleton, allow_nan=True)}
    for key, value in (metadata or {}).items():
        if key in header:
            raise ValueError(f"metadata key {key!r} is reserved")
        header[key] = value
    save_file(tensors, path, metadata=header)


def load(path, verify: bool = True, mmap: bool = False, name: str | None = None):
    """Read a file written by :func:`save` (nested state) or by any safetensors writer (flat dict).

    ``verify=False`` skips the checksums, ``mmap=True`` maps the file rather than reading it (see
    :func:`~torchsorflow.io.safetensors.load_file`). ``path`` may be the file's contents as bytes,
    which ``name`` then names in messages."""
    arrays, metadata = load_file(path, with_metadata=True, verify=verify, mmap=mmap, name=name)
    tensors = {name: as_tensor(array) for name, array in arrays.items()}
    if STRUCTURE_KEY not in metadata:
        return tensors
    path = name or ("<bytes>" if is_buffer(path) else os.fspath(path))
    try:
        skeleton = json.loads(metadata[STRUCTURE_KEY])
    except json.JSONDecodeError as error:
        raise SafetensorsError(f"{path}: corrupted metadata {STRUCTURE_KEY!r}: "
                               f"{error}") from None
    except RecursionError:
        raise SafetensorsError(f"{path}: corrupted metadata {STRUCTURE_KEY!r}: nested too "
                               "deeply") from None
    unused = set(tensors)
    try:
        state = _unflatten(skeleton, tensors, unused, path)
    except RecursionError:
        raise SafetensorsError(f"{path}: corrupted metadata {STRUCTURE_KEY!r}: nested too "
                               "deeply") from None
    if unused:
        raise SafetensorsError(f"{path}: tensors {sorted(unused)} are stored in the "
                               "file but not referenced by its structure")
    return state


def read_metadata(path) -> dict:
    """The string metadata of a safetensors file, without reading the tensor data."""
    from .safetensors import read_header
    header, _, _ = read_header(path)
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise SafetensorsError(f"{os.fspath(path)}: corrupted header: __metadata__ must map "
                               "strings to strings")
    return dict(metadata)


# --- the skeleton --------------------------------------------------------------------------------
RESERVED = {"__tensor__", "__tuple__", "__items__", "__ordered__", "__float__"}
TENSOR_FLAGS = {"requires_grad", "parameter"}


def _join(prefix, key):
    return f"{prefix}.{key}" if prefix else str(key)


class _Stored:
    """What :func:`_flatten` has stored so far: for each stored name the key path that claimed it
    (to name both sides of a collision), and for each view of memory its stored name (so that a
    tensor reached twice is stored once)."""

    def __init__(self):
        self.origins: dict[str, str] = {}
        self.views: dict[tuple, str] = {}


def _view(array: np.ndarray) -> tuple:
    """What identifies a view of memory: where it starts, its shape, strides and dtype."""
    return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)


def _tensor_node(value, name, tensors, stored, where):
    from ..nn.parameter import Parameter
    array = value.numpy() if isinstance(value, Tensor) else value
    view = _view(array)
    if array.size and view in stored.views:   # the same memory seen before: refer to it
        node = {"__tensor__": stored.views[view]}
    else:
        key = name or "tensor"
        if key in tensors:
            raise ValueError(f"two tensors would both be stored under the name {key!r}: "
                             f"{stored.origins[key]} and {where}; rename one of the keys")
        tensors[key], stored.origins[key], stored.views[view] = array, where, key
        node = {"__tensor__": key}
    if isinstance(value, Parameter):
        node["parameter"] = True
    if isinstance(value, Tensor) and (value.requires_grad or isinstance(value, Parameter)):
        node["requires_grad"] = bool(value.requires_grad)
    return node


def _flatten(value, name, tensors, stored, where):
    """The JSON skeleton of ``value``; tensors go into ``tensors`` under their dotted ``name``.
    ``where`` is the key path in Python syntax (``state['model'][0]``); ``stored`` remembers what
    was stored (:class:`_Stored`)."""
    if isinstance(value, (Tensor, np.ndarray)):
        return _tensor_node(value, name, tensors, stored, where)
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"{where}: dict key {k!r} of type {type(k).__name__} "
                                "cannot be saved (use str or int keys)")
        items = [(k, _flatten(v, _join(name, k), tensors, stored, f"{where}[{k!r}]"))
                 for k, v in value.items()]
        if isinstance(value, OrderedDict):
            return {"__ordered__": [list(item) for item in items]}
        if all(isinstance(k, str) for k in value) and not RESERVED & set(value):
            return dict(items)
        return {"__items__": [list(item) for item in items]}
    if isinstance(value, tuple):
        return {"__tuple__": [_flatten(v, _join(name, i), tensors, stored, f"{where}[{i}]")
                              for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_flatten(v, _join(name, i), tensors, stored, f"{where}[{i}]")
                for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{name or 'state'}: cannot save a value of type {type(value).__name__} "
                    "(supported: dict, list, tuple, Tensor, ndarray, str, int, float, bool, None)")


def _unflatten(node, tensors, unused, path):
    """The state described by a skeleton; every node is checked, since the skeleton comes from a
    file (a damaged or hand-made one must give an error naming the file, not a TypeError)."""
    def bad(what):
        return SafetensorsError(f"{path}: corrupted metadata {STRUCTURE_KEY!r}: {what}")

    if isinstance(node, list):
        return [_unflatten(v, tensors, unused, path) for v in node]
    if not isinstance(node, dict):
        return node
    special = RESERVED & set(node)
    allowed = 1 + len(TENSOR_FLAGS & set(node)) if "__tensor__" in node else 1
    if special and len(node) != allowed:
        raise bad(f"a node with {sorted(special)[0]!r} has other keys too: {sorted(node)}")
    if "__tensor__" in node:
        return _tensor(node, tensors, unused, path, bad)
    if "__tuple__" in node:
        if not isinstance(node["__tuple__"], list):
            raise bad(f"__tuple__ must hold a list, got {node['__tuple__']!r}")
        return tuple(_unflatten(v, tensors, unused, path) for v in node["__tuple__"])
    for kind, container in (("__items__", dict), ("__ordered__", OrderedDict)):
        if kind in node:
            items = node[kind]
            if not isinstance(items, list) or not all(
                    isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))
                    and not isinstance(item[0], bool) for item in items):
                raise bad(f"{kind} must be a list of [key, value] pairs with str or int keys")
            return container((k, _unflatten(v, tensors, unused, path)) for k, v in items)
    if "__float__" in node:
        text = node["__float__"]
        if text not in ("inf", "-inf", "nan"):
            raise bad(f"__float__ must be 'inf', '-inf' or 'nan', got {text!r}")
        return float(text)
    return {k: _unflatten(v, tensors, unused, path) for k, v in node.items()}


def _tensor(node, tensors, unused, path, bad):
    """The Tensor (or Parameter) a ``{"__tensor__": name, ...}`` node refers to. A name referred
    to again (tied weights) gives another Tensor sharing the first one's memory."""
    name = node["__tensor__"]
    if not isinstance(name, str):
        raise bad(f"a tensor reference must be a name, got {name!r}")
    if name not in tensors:
        raise SafetensorsError(f"{path}: the structure refers to tensor {name!r}, which the "
                               "file does not contain")
    flags = {flag: node.get(flag, False) for flag in TENSOR_FLAGS}
    if not all(isinstance(value, bool) for value in flags.values()):
        raise bad(f"tensor {name!r}: requires_grad and parameter must be true or false, got "
                  f"{flags}")
    tensor = tensors[name] if name in unused else as_tensor(tensors[name])
    unused.discard(name)
    if flags["requires_grad"] and not tensor.is_floating_point():
        raise bad(f"tensor {name!r} of dtype {tensor.dtype} cannot require gradients")
    if flags["parameter"]:
        from ..nn.parameter import Parameter
        return Parameter(tensor, requires_grad=flags["requires_grad"])
    return tensor.requires_grad_(True) if flags["requires_grad"] else tensor
