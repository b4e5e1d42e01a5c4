"""NAdam: Adam with Nesterov momentum (Dozat, 2016).

Adam's step uses the first moment ``m``; NAdam looks one step ahead, mixing the current gradient
and the *next* momentum coefficient into it. The momentum coefficient itself warms up,
``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``, and the bias correction uses the
running product of all ``mu`` so far (``mu_product``). For a parameter ``p`` at step ``t``::

    g = g + weight_decay * p          (or p *= 1 - lr * weight_decay if decoupled_weight_decay)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    d = sqrt(v / (1 - beta2**t)) + eps
    p = p - lr * (1 - mu_t) / (1 - mu_product_t) * g / d
          - lr * mu_{t+1} / (1 - mu_product_t * mu_{t+1}) * m / d

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import NAdam
>>> w = tsf.tensor([1.0, -1.0], dtype="float64", requires_grad=True)
>>> opt = NAdam([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w.numpy().round(4)   # lr * (1 + mu_2 (1 - beta1) / (1 - mu_1 mu_2)) whatever |g| is
array([ 0.8944, -0.8944])
"""
from __future__ import annotations

import numpy as np

from .adam import adam_moments_
from .optimizer import Optimizer, torch_scalar, zeros_state


class NAdam(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay} (must be >= 0)")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _init_state(self, param, group):
        return {"step": 0, "mu_product": 1.0, "exp_avg": zeros_state(param),
                "exp_avg_sq": zeros_state(param)}

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2), momentum_decay = group["lr"], group["betas"], group["momentum_decay"]
        step, grad, exp_avg, exp_avg_sq = adam_moments_(param, grad, state, group)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        # PyTorch multiplies its float32 mu_product by mu rounded to float32
        mu_product = state["mu_product"] = torch_scalar(state["mu_product"] * torch_scalar(mu))
        denominator = np.sqrt(exp_avg_sq / (1 - beta2 ** step)) + group["eps"]
        param += -lr * (1.0 - mu) / (1.0 - mu_product) * grad / denominator
        param += -lr * mu_next / (1.0 - mu_product * mu_next) * exp_avg / denominator
