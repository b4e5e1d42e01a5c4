"""``Parameter``: a Tensor that a :class:`~torchsorflow.nn.Module` should learn.

A Parameter is an ordinary :class:`~torchsorflow.Tensor` (the autodiff core only ever checks
``isinstance(x, Tensor)``), with two differences that make models convenient:

* it requires a gradient by default, so ``loss.backward()`` fills ``parameter.grad``;
* assigning it as a module attribute (``self.weight = Parameter(...)``) *registers* it, which is
  how :meth:`Module.parameters` and :meth:`Module.state_dict` find it without a hand-written list.

>>> import torchsorflow as tsf
>>> from torchsorflow.nn import Parameter
>>> p = Parameter(tsf.zeros(2))
>>> p.requires_grad
True
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


class Parameter(Tensor):
    """A learnable Tensor; shares memory with ``data`` when ``data`` is a Tensor or array."""

    __slots__ = ()  # Tensor uses __slots__; a subclass without this would grow a __dict__

    def __init__(self, data: Tensor | np.ndarray | None = None, requires_grad: bool = True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        # the data's own dtype and memory, as torch.nn.Parameter (not the legacy float constructor)
        array = data._array if isinstance(data, Tensor) else backend.as_array(data)
        super().__init__()
        self._array = array
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
