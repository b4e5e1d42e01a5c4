"""RAdam: Adam with a rectified warm-up (Liu et al., 2019).

In the first steps the second moment ``v`` rests on a handful of gradients, so Adam's adaptive
step has a huge variance. RAdam measures that with ``rho_t``, the length of the simple moving
average that the exponential average approximates: while ``rho_t <= 5`` it takes plain momentum
steps (no division by ``sqrt(v)``), afterwards Adam steps scaled by a rectification factor ``r_t``
that rises towards 1. For a parameter ``p`` at step ``t``::

    g = g + weight_decay * p          (or p *= 1 - lr * weight_decay if decoupled_weight_decay)
    m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g * g
    rho_inf = 2 / (1 - beta2) - 1;     rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
    r_t = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
    p = p - lr * m / (1 - beta1**t) * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r_t   if rho_t > 5
    p = p - lr * m / (1 - beta1**t)                                                 otherwise

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import RAdam
>>> w = tsf.tensor([1.0, -1.0], dtype="float64", requires_grad=True)
>>> opt = RAdam([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w.numpy()   # the first step is a plain SGD step: m / (1 - beta1) = g
array([ 0.8, -0.8])
"""
from __future__ import annotations

import numpy as np

from .adam import adam_moments_
from .optimizer import Optimizer, zeros_state


class RAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _init_state(self, param, group):
        return {"step": 0, "exp_avg": zeros_state(param), "exp_avg_sq": zeros_state(param)}

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2) = group["lr"], group["betas"]
        step, _, exp_avg, exp_avg_sq = adam_moments_(param, grad, state, group)
        bias_correction1, bias_correction2 = 1 - beta1 ** step, 1 - beta2 ** step
        corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
        if rho_t > 5.0:
            rectification = ((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = bias_correction2 ** 0.5 / (np.sqrt(exp_avg_sq) + group["eps"])
            param -= corrected_exp_avg * lr * adaptive_lr * rectification
        else:
            param -= corrected_exp_avg * lr
