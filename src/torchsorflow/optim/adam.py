"""Adam and AdamW: per-coordinate step sizes from running moments of the gradient.

For one parameter ``p`` with gradient ``g`` at step ``t`` (PyTorch's formulation)::

    m = beta1 * m + (1 - beta1) * g               # first moment (mean of g)
    v = beta2 * v + (1 - beta2) * g * g           # second moment (uncentred variance)
    v_max = max(v_max, v)                         # only with amsgrad: never shrink the denominator
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

The two ``1 - beta**t`` factors undo the bias of starting the averages at zero. Weight decay is
where Adam and AdamW differ:

* ``Adam(weight_decay=wd)`` adds ``wd * p`` to the gradient (an L2 penalty), which the moments then
  rescale, so heavily-updated weights are barely decayed;
* ``AdamW(weight_decay=wd)`` shrinks the weights directly, ``p = p * (1 - lr * wd)``, before the
  Adam step (Loshchilov & Hutter's *decoupled* weight decay), so decay is the same for every weight.
  ``Adam(decoupled_weight_decay=True)`` is the same optimizer, as in PyTorch.

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import Adam
>>> w = tsf.tensor([1.0, -1.0], requires_grad=True)
>>> opt = Adam([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w.numpy().round(4)  # the first step moves every coordinate by about lr, whatever |g| is
array([ 0.9, -0.9], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from .optimizer import (
    Optimizer,
    lerp_,
    square_average_,
    state_buffer,
    weight_decay_,
    zeros_state,
)


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _init_state(self, param, group):
        state = {"step": 0, "exp_avg": zeros_state(param), "exp_avg_sq": zeros_state(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_state(param)
        return state

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2) = group["lr"], group["betas"]
        step, _, exp_avg, exp_avg_sq = adam_moments_(param, grad, state, group)
        if group["amsgrad"]:
            second_moment = state_buffer(state, "max_exp_avg_sq", exp_avg_sq)
            np.maximum(second_moment, exp_avg_sq, out=second_moment)
        else:
            second_moment = exp_avg_sq
        step_size = lr / (1 - beta1 ** step)
        denominator = np.sqrt(second_moment) / (1 - beta2 ** step) ** 0.5 + group["eps"]
        param += -step_size * (exp_avg / denominator)


def adam_moments_(param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> tuple:
    """What Adam, NAdam and RAdam share: count the step, apply the weight decay and advance the
    moment estimates in place, ``exp_avg`` (running mean of the gradient) and ``exp_avg_sq``
    (that of its square). Returns ``(step, decayed gradient, exp_avg, exp_avg_sq)``."""
    state["step"] += 1
    grad = weight_decay_(param, grad, group)
    beta1, beta2 = group["betas"]
    exp_avg, exp_avg_sq = state["exp_avg"].numpy(), state["exp_avg_sq"].numpy()
    lerp_(exp_avg, grad, 1 - beta1)
    square_average_(exp_avg_sq, grad, beta2)
    return state["step"], grad, exp_avg, exp_avg_sq


class AdamW(Adam):
    """Adam with decoupled weight decay (default ``weight_decay=1e-2``, as in PyTorch)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
