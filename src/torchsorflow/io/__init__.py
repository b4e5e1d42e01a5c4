"""Saving and loading: safetensors files (no pickle) and nested checkpoints.

* :func:`save` / :func:`load` -- a nested state (model and optimizer ``state_dict()``, settings)
  in one safetensors file, written atomically;
* :func:`save_file` / :func:`load_file` -- flat ``{name: array}`` files, compatible with the
  ``safetensors`` package in both directions;
* :func:`atomic_write` -- the one way the package writes any file (checkpoints, PNGs, metrics,
  word vectors): a temporary file, fsync, rename; the umask or the old file's mode;
* ``torchsorflow.save`` / ``torchsorflow.load`` (:mod:`~torchsorflow.io.serialization`) --
  ``torch.save``/``torch.load``: the same files, plus PyTorch's own ``.pt``/``.pth`` checkpoints,
  read without PyTorch and without running code (:mod:`~torchsorflow.io.torch_format`).

>>> import os, tempfile
>>> import torchsorflow as tsf
>>> from torchsorflow import io
>>> path = os.path.join(tempfile.mkdtemp(), "state.safetensors")
>>> io.save({"weights": {"w": tsf.zeros(3)}, "epoch": 4}, path)
>>> io.load(path)["epoch"]
4
"""
from .atomic import atomic_write
from .checkpoint import load, read_metadata, save
from .safetensors import SafetensorsError, load_file, save_file
from .torch_format import CheckpointError

__all__ = ["save", "load", "read_metadata", "save_file", "load_file", "SafetensorsError",
           "CheckpointError", "atomic_write"]
