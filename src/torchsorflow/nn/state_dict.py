"""Saving and loading a module's state with PyTorch's key names (mixed into :class:`Module`).

``state_dict()`` walks the module tree and joins attribute names with dots, so the keys are the
ones PyTorch writes (``features.0.weight``, ``bn.running_mean``, ``bn.num_batches_tracked``).
``load_state_dict`` copies values *into* the existing arrays (the Parameters keep their identity,
so an optimizer built before loading still sees them) and accepts Tensors, NumPy arrays or
PyTorch tensors, so weights exported from PyTorch load unchanged.

>>> import numpy as np
>>> from torchsorflow import nn
>>> layer = nn.Linear(2, 1)
>>> layer.load_state_dict({"weight": np.array([[1.0, 2.0]]), "bias": np.array([0.5])})
IncompatibleKeys(missing_keys=[], unexpected_keys=[])
>>> layer.weight.tolist()
[[1.0, 2.0]]
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ..tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def size_str(shape):
    """A shape the way PyTorch's messages print it, without the ``torch.Size(...)`` wrapper."""
    return "[" + ", ".join(str(int(n)) for n in shape) + "]"


def _as_array(value):
    """A NumPy array from a Tensor, an array, a number or a foreign tensor (PyTorch's, say)."""
    if isinstance(value, Tensor):
        return value._array
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor (torch not imported)
        return value.detach().cpu().numpy()
    return np.asarray(value)


class StateDictMixin:
    """``state_dict`` / ``load_state_dict`` for :class:`Module` (which provides the registries)."""

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()

    def state_dict(self, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """An ordered mapping from PyTorch-style dotted names to Tensors sharing this model's
        memory.

        >>> from torchsorflow import nn
        >>> list(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).state_dict())
        ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var',
         '1.num_batches_tracked']
        """
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _load_from_state_dict(self, state_dict, prefix, missing, errors):
        persistent = [(n, b) for n, b in self._buffers.items()
                      if n not in self._non_persistent_buffers]
        for name, target in list(self._parameters.items()) + persistent:
            if target is None:
                continue
            key = prefix + name
            if key not in state_dict:
                missing.append(key)
                continue
            try:
                value = _as_array(state_dict[key])
            except (TypeError, ValueError) as error:
                errors.append(f'While copying the parameter named "{key}": {error}')
                continue
            if value.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{size_str(value.shape)} from checkpoint, the shape in current "
                              f"model is {size_str(target.shape)}.")
                continue
            np.copyto(target._array, value, casting="unsafe")

    def load_state_dict(self, state_dict: Mapping[str, object], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy values (Tensors, NumPy arrays or PyTorch tensors) into this model's own arrays.

        With ``strict`` the key sets must match exactly; shapes must always match. All problems
        are collected and reported together, as PyTorch does; the named tuple
        ``(missing_keys, unexpected_keys)`` is returned otherwise.
        """
        missing, errors = [], []

        def load(module, prefix):
            module._load_from_state_dict(state_dict, prefix, missing, errors)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, prefix + name + ".")

        load(self, "")
        expected = self.state_dict(keep_vars=True)
        unexpected = [key for key in state_dict if key not in expected]
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        return IncompatibleKeys(missing, unexpected)
