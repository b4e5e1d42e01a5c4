"""Saving and loading a module's state with PyTorch's key names (mixed into :class:`Module`).

``state_dict()`` walks the module tree and joins attribute names with dots, so the keys are the
ones PyTorch writes (``features.0.weight``, ``bn.running_mean``, ``bn.num_batches_tracked``),
and records each module's ``_version`` in the dict's ``_metadata``, as PyTorch does.
``load_state_dict`` copies values *into* the existing arrays (the Parameters keep their identity,
so an optimizer built before loading still sees them; ``assign=True`` puts the loaded tensors in
their place instead) and accepts Tensors, NumPy arrays or PyTorch tensors, so weights exported
from PyTorch -- or read from a ``.pth`` file by ``torchsorflow.load`` -- load unchanged.

Each module checks its own keys (:meth:`StateDictMixin._load_from_state_dict`, PyTorch's hook
with PyTorch's signature, which a layer may extend: BatchNorm accepts checkpoints older than its
``num_batches_tracked`` buffer). Missing keys, unexpected keys and shape mismatches are collected
over the whole tree and reported together in PyTorch's words and order.

>>> import numpy as np
>>> from torchsorflow import nn
>>> layer = nn.Linear(2, 1)
>>> layer.load_state_dict({"weight": np.array([[1.0, 2.0]]), "bias": np.array([0.5])})
<All keys matched successfully>
>>> layer.weight.tolist()
[[1.0, 2.0]]
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ..tensor import Tensor

class _IncompatibleKeys(namedtuple("_IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the missing and the unexpected keys (printed as
    PyTorch's ``_IncompatibleKeys``)."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys


def size_str(shape):
    """A shape the way PyTorch's messages print it, without the ``torch.Size(...)`` wrapper."""
    return "[" + ", ".join(str(int(n)) for n in shape) + "]"


def _as_array(value):
    """A NumPy array from a Tensor, an array, a foreign tensor (PyTorch's, say) or nested lists of
    numbers; None for anything else (a string, None, a dict), which is reported as PyTorch does."""
    if isinstance(value, Tensor):
        return value._array
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor (torch not imported)
        return value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array if array.dtype.kind in "biufc" else None


class StateDictMixin:
    """``state_dict`` / ``load_state_dict`` for :class:`Module` (which provides the registries)."""

    # The version of a module's state_dict layout, saved in ``state_dict()._metadata``; a layer
    # whose layout changed raises it and reads older layouts in ``_load_from_state_dict``.
    _version: int = 1

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
            destination._metadata = OrderedDict()
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = {"version": self._version}
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Load this module's own parameters and persistent buffers (not its children's) from
        ``state_dict``, appending to the three lists; PyTorch's signature and behaviour.

        ``local_metadata`` is this module's entry of ``state_dict._metadata`` (its ``version``
        when saved) plus ``assign_to_params_buffers`` for ``load_state_dict(assign=True)``."""
        persistent = [(n, b) for n, b in self._buffers.items()
                      if n not in self._non_persistent_buffers]
        local_state = {n: t for n, t in list(self._parameters.items()) + persistent
                       if t is not None}
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, target in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            array = _as_array(value)
            if array is None:
                error_msgs.append(f'While copying the parameter named "{key}", expected '
                                  "torch.Tensor or Tensor-like object from checkpoint but received "
                                  f"{type(value)}")
                continue
            if target.ndim == 0 and array.ndim == 1:   # PyTorch 0.3 saved scalars as 1-d
                array = array[0]
            if array.shape != target.shape:
                error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{size_str(array.shape)} from checkpoint, the shape in current "
                                  f"model is {size_str(target.shape)}.")
                continue
            try:
                if assign:
                    self._assign(name, target, array)
                else:
                    np.copyto(target._array, array, casting="unsafe")
                    target._version += 1
            except Exception as error:   # reported with the key, as PyTorch does
                error_msgs.append(f'While copying the parameter named "{key}", whose dimensions '
                                  f"in the model are {size_str(target.shape)} and whose dimensions "
                                  f"in the checkpoint are {size_str(array.shape)}, an exception "
                                  f"occurred : {error.args}.")
        if strict:
            for key in state_dict:
                if not key.startswith(prefix):
                    continue
                head = key[len(prefix):].split(".", 1)
                if head[0] not in (self._modules if len(head) > 1 else local_state):
                    unexpected_keys.append(key)

    def _assign(self, name, target, array):
        """``load_state_dict(assign=True)``: the loaded values replace the parameter or buffer
        (sharing the checkpoint's memory); a parameter keeps its ``requires_grad``."""
        from .parameter import Parameter
        if isinstance(target, Parameter):
            setattr(self, name, Parameter(array, requires_grad=target.requires_grad))
        else:
            setattr(self, name, Tensor._wrap(array))

    def load_state_dict(self, state_dict: Mapping[str, object], strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy values (Tensors, NumPy arrays or PyTorch tensors) into this model's own arrays.

        With ``strict`` the key sets must match exactly; shapes must always match. All problems
        are collected and reported together, as PyTorch does; the named tuple
        ``(missing_keys, unexpected_keys)`` is returned otherwise. ``assign=True`` makes the
        loaded tensors the module's parameters and buffers instead of copying them.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)   # the layers may add keys (BatchNorm's counter)

        def load(module, local_state_dict, prefix):
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = True
            module._load_from_state_dict(local_state_dict, prefix, local_metadata, True, missing,
                                         unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(child, {k: v for k, v in local_state_dict.items()
                                 if k.startswith(child_prefix)}, child_prefix)

        load(self, state_dict, "")
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
