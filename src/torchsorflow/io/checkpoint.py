"""Checkpoints: nested state (model, optimizer, settings) in one safetensors file.

A checkpoint is usually a dict such as::

    {"model": model.state_dict(),                  # {"conv1.weight": Tensor, ...}
     "optimizer": optimizer.state_dict(),          # {"state": {0: {"step": 3, "exp_avg": Tensor}},
                                                   #  "param_groups": [{"lr": 0.001, ...}]}
     "config": {"model": "cnn-bn", "epochs": 10}}

:func:`save` splits it in two: every Tensor (or NumPy array) becomes a safetensors entry named by
its path (``"model.conv1.weight"``, ``"optimizer.state.0.exp_avg"``), and everything else -- the
nesting, integer keys, tuples, numbers, strings -- is kept as a JSON *skeleton* in the file's
metadata under ``"torchsorflow.structure"``, with ``{"__tensor__": name}`` where a tensor was.
:func:`load` puts the two back together. No pickle is involved, so loading runs no code.

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

import numpy as np

from ..tensor import Tensor
from .safetensors import SafetensorsError, load_file, save_file

STRUCTURE_KEY = "torchsorflow.structure"
FORMAT_KEY = "format"


def save(state, path, metadata: dict | None = None):
    """Write a nested state (dicts, lists, tuples, Tensors, JSON scalars) to ``path`` atomically.

    ``metadata`` adds plain string entries to the safetensors header (readable by any tool). Two
    tensors whose key paths would be stored under the same name (``{"a.b": x, "a": {"b": y}}``)
    are refused, naming both paths, rather than one silently overwriting the other.
    """
    tensors: dict[str, np.ndarray] = {}
    skeleton = _flatten(state, "", tensors, {}, "state")
    header = {FORMAT_KEY: "torchsorflow", STRUCTURE_KEY: json.dumps(skeleton, allow_nan=True)}
    for key, value in (metadata or {}).items():
        if key in header:
            raise ValueError(f"metadata key {key!r} is reserved")
        header[key] = value
    save_file(tensors, path, metadata=header)


def load(path, verify: bool = True):
    """Read a file written by :func:`save` (nested state) or by any safetensors writer (flat dict).

    ``verify=False`` skips the checksums (see :func:`~torchsorflow.io.safetensors.load_file`)."""
    arrays, metadata = load_file(path, with_metadata=True, verify=verify)
    tensors = {name: Tensor(array) for name, array in arrays.items()}
    if STRUCTURE_KEY not in metadata:
        return tensors
    path = os.fspath(path)
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
RESERVED = {"__tensor__", "__tuple__", "__items__", "__float__"}


def _join(prefix, key):
    return f"{prefix}.{key}" if prefix else str(key)


def _flatten(value, name, tensors, origins, where):
    """The JSON skeleton of ``value``; tensors go into ``tensors`` under their dotted ``name``.
    ``where`` is the key path in Python syntax (``state['model'][0]``), ``origins`` maps each
    stored name to the path that claimed it, to name both sides of a collision."""
    if isinstance(value, (Tensor, np.ndarray)):
        stored = name or "tensor"
        if stored in tensors:
            raise ValueError(f"two tensors would both be stored under the name {stored!r}: "
                             f"{origins[stored]} and {where}; rename one of the keys")
        tensors[stored] = value.numpy() if isinstance(value, Tensor) else value
        origins[stored] = where
        return {"__tensor__": stored}
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"{where}: dict key {k!r} of type {type(k).__name__} "
                                "cannot be saved (use str or int keys)")
        if all(isinstance(k, str) for k in value) and not RESERVED & set(value):
            return {k: _flatten(v, _join(name, k), tensors, origins, f"{where}[{k!r}]")
                    for k, v in value.items()}
        return {"__items__": [[k, _flatten(v, _join(name, k), tensors, origins, f"{where}[{k!r}]")]
                              for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_flatten(v, _join(name, i), tensors, origins, f"{where}[{i}]")
                              for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_flatten(v, _join(name, i), tensors, origins, f"{where}[{i}]")
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
    if special and len(node) != 1:
        raise bad(f"a node with {sorted(special)[0]!r} has other keys too: {sorted(node)}")
    if "__tensor__" in node:
        name = node["__tensor__"]
        if not isinstance(name, str):
            raise bad(f"a tensor reference must be a name, got {name!r}")
        if name not in tensors:
            raise SafetensorsError(f"{path}: the structure refers to tensor {name!r}, which the "
                                   "file does not contain")
        unused.discard(name)
        return tensors[name]
    if "__tuple__" in node:
        if not isinstance(node["__tuple__"], list):
            raise bad(f"__tuple__ must hold a list, got {node['__tuple__']!r}")
        return tuple(_unflatten(v, tensors, unused, path) for v in node["__tuple__"])
    if "__items__" in node:
        items = node["__items__"]
        if not isinstance(items, list) or not all(
                isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))
                and not isinstance(item[0], bool) for item in items):
            raise bad("__items__ must be a list of [key, value] pairs with str or int keys")
        return {k: _unflatten(v, tensors, unused, path) for k, v in items}
    if "__float__" in node:
        text = node["__float__"]
        if text not in ("inf", "-inf", "nan"):
            raise bad(f"__float__ must be 'inf', '-inf' or 'nan', got {text!r}")
        return float(text)
    return {k: _unflatten(v, tensors, unused, path) for k, v in node.items()}
