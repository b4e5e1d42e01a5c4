"""Adagrad: divide each coordinate's step by the root of its summed squared gradients.

Coordinates that received large gradients get small steps from then on, rare ones keep large
steps -- useful for sparse features. For a parameter ``p`` with gradient ``g`` at step ``t``::

    g = g + weight_decay * p
    s = s + g * g                                    # s starts at initial_accumulator_value
    p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import Adagrad
>>> w = tsf.tensor([3.0], requires_grad=True)
>>> opt = Adagrad([w], lr=0.5)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w   # first step: g / sqrt(g*g) = 1, so w moves by exactly lr
tensor([2.5], requires_grad=True)
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, weight_decay_, zeros_state


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        if initial_accumulator_value < 0:
            raise ValueError(f"Invalid initial_accumulator_value: {initial_accumulator_value}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))

    def _init_state(self, param, group):
        return {"step": 0, "sum": zeros_state(param, group["initial_accumulator_value"])}

    def _update(self, param, grad, state, group):
        state["step"] += 1
        grad = weight_decay_(param, grad, group)
        current_lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        squared_sum = state["sum"].numpy()
        squared_sum += grad * grad
        param += -current_lr * (grad / (np.sqrt(squared_sum) + group["eps"]))
