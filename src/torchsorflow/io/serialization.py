"""``torch.save`` and ``torch.load``: :func:`torchsorflow.save` and :func:`torchsorflow.load`.

:func:`save` writes state dicts, Tensors and nested containers in the project's safetensors format
(:mod:`~torchsorflow.io.checkpoint`): atomic, checksummed, no pickle. :func:`load` reads that
format back with the same container types, and also reads what other frameworks write:

* PyTorch's ``.pt``/``.pth`` checkpoints, zip or legacy, through a restricted unpickler that
  admits only tensors and plain containers and never runs code from the file
  (:mod:`~torchsorflow.io.torch_format`);
* safetensors files of any writer (the ``safetensors`` package, the Hugging Face hub).

The format is recognised from the first bytes, not from the file's name: ``PK`` starts a zip
archive, ``0x80`` a pickle (the legacy format), and an 8-byte length followed by ``{`` a
safetensors header.

>>> import os, tempfile
>>> import torchsorflow as tsf
>>> path = os.path.join(tempfile.mkdtemp(), "state.pt")
>>> save({"w": tsf.ones(2), "step": 3, "betas": (0.9, 0.999)}, path)
>>> load(path)
{'w': tensor([1., 1.]), 'step': 3, 'betas': (0.9, 0.999)}
"""
from __future__ import annotations

import os
import pickle

from .. import backend
from . import checkpoint, torch_format
from .torch_format import CheckpointError

__all__ = ["save", "load", "CheckpointError"]


def save(obj, f, pickle_module=None, pickle_protocol=None):
    """Save ``obj`` -- a state dict, a Tensor, or dicts, lists and tuples of Tensors, numbers,
    strings, bools and ``None`` -- to ``f``, a path or a binary file object.

    The file is a safetensors file (every tensor an entry, the nesting JSON in its metadata) with
    checksums of its header and data, written atomically to a path. Nothing is pickled, so
    ``pickle_module`` cannot be chosen and ``pickle_protocol`` has nothing to apply to. A module
    or any other object is refused: save its ``state_dict()``.
    """
    if pickle_module is not None and pickle_module is not pickle:
        raise TypeError(f"save: pickle_module={getattr(pickle_module, '__name__', pickle_module)!r}"
                        " is not supported: TorchsorFlow saves without pickle")
    from ..nn.module import Module
    if isinstance(obj, Module):
        raise TypeError(f"save: cannot save the {type(obj).__name__} module itself: TorchsorFlow "
                        "saves tensors and plain data, never pickled objects; save "
                        "model.state_dict() and restore it with "
                        "model.load_state_dict(torchsorflow.load(path))")
    if not isinstance(f, (str, os.PathLike)) and not hasattr(f, "write"):
        raise TypeError(f"save: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")
    checkpoint.save(obj, f)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load what :func:`save`, ``torch.save`` or a safetensors writer wrote to ``f`` (a path or a
    binary file object).

    ``map_location`` may name the CPU (``None``, ``"cpu"``, ``device("cpu")``, a dict mapping
    saved locations to the CPU, or a function returning the storage it is given): tensors saved on
    a GPU are loaded on the CPU, the only device; any other device is an error naming it.
    ``weights_only`` is accepted for PyTorch's sake, but only tensors and plain containers are
    ever read, whatever its value: code in a file is never run. ``mmap=True`` maps the file's
    tensors (copy-on-write) instead of reading them; ``f`` must then be a path. ``encoding`` is
    passed to the unpickler (``"latin1"`` for Python 2 checkpoints).
    """
    _check_map_location(map_location)
    if pickle_module is not None and pickle_module is not pickle:
        raise TypeError(f"load: pickle_module={getattr(pickle_module, '__name__', pickle_module)!r}"
                        " is not supported: TorchsorFlow reads checkpoints with its own restricted "
                        "unpickler")
    encoding = pickle_load_args.pop("encoding", "ASCII")
    if pickle_load_args:
        raise TypeError(f"load() got unsupported argument(s) {', '.join(sorted(pickle_load_args))}")
    if weights_only not in (True, False, None):
        raise TypeError(f"load: weights_only must be True or False, got {weights_only!r}")
    is_path = isinstance(f, (str, os.PathLike))
    if not is_path and not hasattr(f, "read"):
        raise TypeError(f"load: f must be a path or a binary file object, got {type(f).__name__}")
    if mmap and not is_path:
        raise ValueError("f must be a file path in order to use the mmap argument")
    name = torch_format.source_name(f)
    if is_path and os.path.isdir(f):
        raise IsADirectoryError(21, f"{name} is a folder, not a checkpoint", name)
    head = _head(f, is_path)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return torch_format.load_zip(f, name, map_location, bool(mmap), encoding)
    if torch_format.is_legacy_tar(head):
        raise CheckpointError(f"{name}: a tar checkpoint of PyTorch before 0.4 is not supported; "
                              "load it with that PyTorch and save it again")
    if head[:1] == b"\x80":
        if mmap:
            raise CheckpointError(f"{name}: mmap can only be used with files saved with "
                                  "torch.save(_use_new_zipfile_serialization=True)")
        return torch_format.load_legacy(_contents(f, is_path), name, map_location, encoding)
    if len(head) >= 9 and head[8:9] == b"{":
        if is_path:
            return checkpoint.load(f, mmap=bool(mmap))
        return checkpoint.load(_contents(f, is_path), name=name)
    raise CheckpointError(f"{name} is not a checkpoint TorchsorFlow can read: it is neither a "
                          "safetensors file nor one of PyTorch's formats (it starts with "
                          f"{bytes(head[:8])!r})")


def _check_map_location(map_location):
    """Only the CPU exists: a location naming another device is an error naming it."""
    if map_location is None or callable(map_location) and not isinstance(
            map_location, (str, backend.device)):
        return
    targets = map_location.values() if isinstance(map_location, dict) else [map_location]
    for target in targets:
        target = target.decode() if isinstance(target, bytes) else target
        try:
            backend.check_device(target if isinstance(target, (str, backend.device))
                                 else str(target))
        except RuntimeError as error:
            raise RuntimeError(f"load: map_location={map_location!r}: {error}") from None


def _head(f, is_path) -> bytes:
    """The first bytes of the file (without moving a file object's position)."""
    if is_path:
        with open(f, "rb") as file:
            return file.read(512)
    start = f.tell()
    head = f.read(512)
    f.seek(start)
    return head


def _contents(f, is_path) -> bytes:
    if is_path:
        with open(f, "rb") as file:
            return file.read()
    return f.read()
