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

    ``metadata`` adds plain string entries to the safetensors header (readable by any tool).
    """
    tensors: dict[str, np.ndarray] = {}
    skeleton = _flatten(state, "", tensors)
    header = {FORMAT_KEY: "torchsorflow", STRUCTURE_KEY: json.dumps(skeleton, allow_nan=True)}
    for key, value in (metadata or {}).items():
        if key in header:
            raise ValueError(f"metadata key {key!r} is reserved")
        header[key] = value
    save_file(tensors, path, metadata=header)


def load(path):
    """Read a file written by :func:`save` (nested state) or by any safetensors writer (flat
    dict)."""
    arrays, metadata = load_file(path, with_metadata=True)
    tensors = {name: Tensor(array) for name, array in arrays.items()}
    if STRUCTURE_KEY not in metadata:
        return tensors
    try:
        skeleton = json.loads(metadata[STRUCTURE_KEY])
    except json.JSONDecodeError as error:
        raise SafetensorsError(f"{os.fspath(path)}: corrupted metadata {STRUCTURE_KEY!r}: "
                               f"{error}") from None
    unused = set(tensors)
    state = _unflatten(skeleton, tensors, unused, os.fspath(path))
    if unused:
        raise SafetensorsError(f"{os.fspath(path)}: tensors {sorted(unused)} are stored in the "
                               "file but not referenced by its structure")
    return state


def read_metadata(path) -> dict:
    """The string metadata of a safetensors file, without reading the tensor data."""
    from .safetensors import read_header
    header, _, _ = read_header(path)
    return dict(header.get("__metadata__") or {})


# --- the skeleton --------------------------------------------------------------------------------
def _join(prefix, key):
    return f"{prefix}.{key}" if prefix else str(key)


def _flatten(value, name, tensors):
    if isinstance(value, (Tensor, np.ndarray)):
        if name in tensors:
            raise ValueError(f"two tensors would both be stored under the name {name!r}")
        tensors[name or "tensor"] = value.numpy() if isinstance(value, Tensor) else value
        return {"__tensor__": name or "tensor"}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not {"__tensor__", "__tuple__",
                                                           "__items__", "__float__"} & set(value):
            return {k: _flatten(v, _join(name, k), tensors) for k, v in value.items()}
        for k in value:
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"{name or 'state'}: dict key {k!r} of type {type(k).__name__} "
                                "cannot be saved (use str or int keys)")
        return {"__items__": [[k, _flatten(v, _join(name, k), tensors)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_flatten(v, _join(name, i), tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_flatten(v, _join(name, i), tensors) for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{name or 'state'}: cannot save a value of type {type(value).__name__} "
                    "(supported: dict, list, tuple, Tensor, ndarray, str, int, float, bool, None)")


def _unflatten(node, tensors, unused, path):
    if isinstance(node, list):
        return [_unflatten(v, tensors, unused, path) for v in node]
    if not isinstance(node, dict):
        return node
    if "__tensor__" in node:
        name = node["__tensor__"]
        if name not in tensors:
            raise SafetensorsError(f"{path}: the structure refers to tensor {name!r}, which the "
                                   "file does not contain")
        unused.discard(name)
        return tensors[name]
    if "__tuple__" in node:
        return tuple(_unflatten(v, tensors, unused, path) for v in node["__tuple__"])
    if "__items__" in node:
        return {k: _unflatten(v, tensors, unused, path) for k, v in node["__items__"]}
    if "__float__" in node:
        return float(node["__float__"])
    return {k: _unflatten(v, tensors, unused, path) for k, v in node.items()}
