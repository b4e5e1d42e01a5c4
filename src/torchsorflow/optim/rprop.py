"""Rprop: resilient backpropagation, steps that follow the *sign* of the gradient only.

Each coordinate has its own step size: it grows by ``etaplus`` while the gradient keeps its sign
and shrinks by ``etaminus`` when the sign flips (the last step jumped over a minimum; that step's
move is then skipped and its gradient forgotten). Meant for full-batch training, where the sign is
reliable. For a parameter ``p`` with gradient ``g`` (``step_size`` starts at ``lr``)::

    s = sign(g * prev)
    step_size = clip(step_size * (etaplus if s > 0 else etaminus if s < 0 else 1), *step_sizes)
    g = 0 where s < 0
    p = p - sign(g) * step_size
    prev = g

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import Rprop
>>> w = tsf.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
>>> opt = Rprop([w], lr=0.25)
>>> for _ in range(2):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> w.numpy()   # 0.25, then 0.25 * 1.2 = 0.3 towards the minimum
array([ 0.45, -1.45])
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, zeros_state


class Rprop(Optimizer):
    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]} "
                             "(need 0 < etaminus < 1 < etaplus)")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _init_state(self, param, group):
        return {"step": 0, "prev": zeros_state(param),
                "step_size": zeros_state(param, group["lr"])}

    def _update(self, param, grad, state, group):
        (etaminus, etaplus), (smallest, largest) = group["etas"], group["step_sizes"]
        state["step"] += 1
        prev, step_size = state["prev"].numpy(), state["step_size"].numpy()
        agreement = np.sign(grad * prev)
        step_size *= np.where(agreement > 0, etaplus, np.where(agreement < 0, etaminus, 1.0))
        np.clip(step_size, smallest, largest, out=step_size)
        grad = np.where(agreement < 0, 0.0, grad)
        param -= np.sign(grad) * step_size
        prev[...] = grad
