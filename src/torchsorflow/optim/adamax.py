"""Adamax: Adam with the infinity norm in place of the root-mean-square.

The second moment becomes an exponentially weighted maximum of ``|g|``, which needs no bias
correction and cannot blow up on a single huge gradient. For a parameter ``p`` at step ``t``::

    g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g                      # exp_avg
    u = max(beta2 * u, |g| + eps)                        # exp_inf
    p = p - lr / (1 - beta1**t) * m / u

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import Adamax
>>> w = tsf.tensor([1.0, -3.0], dtype="float64", requires_grad=True)
>>> opt = Adamax([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w.numpy().round(6)   # the first step is lr * sign(g), whatever |g| is
array([ 0.9, -2.9])
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, lerp_, weight_decay_, zeros_state


class Adamax(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _init_state(self, param, group):
        return {"step": 0, "exp_avg": zeros_state(param), "exp_inf": zeros_state(param)}

    def _update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        state["step"] += 1
        grad = weight_decay_(param, grad, group)
        exp_avg, exp_inf = state["exp_avg"].numpy(), state["exp_inf"].numpy()
        lerp_(exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        np.maximum(exp_inf, np.abs(grad) + group["eps"], out=exp_inf)
        step_size = group["lr"] / (1 - beta1 ** state["step"])
        param += -step_size * exp_avg / exp_inf
