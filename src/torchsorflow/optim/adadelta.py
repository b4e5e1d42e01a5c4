"""Adadelta: RMSprop whose step size comes from a running average of the past *updates*.

Zeiler's idea is that the ratio of two root-mean-squares carries the units of the parameter, so
no learning rate is needed (PyTorch still scales the update by ``lr``, default 1). For a parameter
``p`` with gradient ``g``::

    g = g + weight_decay * p
    v = rho * v + (1 - rho) * g * g                      # square_avg
    delta = sqrt(u + eps) / sqrt(v + eps) * g
    u = rho * u + (1 - rho) * delta * delta              # acc_delta
    p = p - lr * delta

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import Adadelta
>>> w = tsf.tensor([1.0], dtype="float64", requires_grad=True)
>>> opt = Adadelta([w], rho=0.75, eps=0.25)
>>> (w * w).sum().backward()
>>> opt.step()
>>> round(w.item(), 6)   # v = 0.25 * 4 = 1, delta = sqrt(0.25) / sqrt(1.25) * 2
0.105573
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, square_average_, weight_decay_, zeros_state


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho} (must be in [0, 1])")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))

    def _init_state(self, param, group):
        return {"step": 0, "square_avg": zeros_state(param), "acc_delta": zeros_state(param)}

    def _update(self, param, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        grad = weight_decay_(param, grad, group)
        square_avg, acc_delta = state["square_avg"].numpy(), state["acc_delta"].numpy()
        square_average_(square_avg, grad, rho)
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
        square_average_(acc_delta, delta, rho)
        param += -group["lr"] * delta
