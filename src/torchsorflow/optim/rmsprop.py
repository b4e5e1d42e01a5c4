"""RMSprop: divide the gradient by a running root-mean-square of recent gradients.

Like Adagrad, but the squared gradients are averaged with forgetting factor ``alpha`` instead of
summed, so the step size does not decay to zero. For a parameter ``p`` with gradient ``g``::

    g = g + weight_decay * p
    v = alpha * v + (1 - alpha) * g * g
    d = sqrt(v - a * a) + eps   with  a = alpha * a + (1 - alpha) * g   if centered
    d = sqrt(v) + eps                                                   otherwise
    b = momentum * b + g / d;  p = p - lr * b      if momentum > 0
    p = p - lr * g / d                             otherwise

``centered`` subtracts the squared mean, i.e. normalises by an estimate of the gradient's variance.

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import RMSprop
>>> w = tsf.tensor([1.0], requires_grad=True)
>>> opt = RMSprop([w], lr=0.01, alpha=0.75)
>>> (w * w).sum().backward()
>>> opt.step()
>>> round(w.item(), 4)   # v = 0.25 * 4 = 1, so the step is lr * 2 / 1 = 0.02
0.98
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


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha} (must be >= 0)")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, capturable=capturable,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def _init_state(self, param, group):
        state = {"step": 0, "square_avg": zeros_state(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_state(param)
        if group["centered"]:
            state["grad_avg"] = zeros_state(param)
        return state

    def _update(self, param, grad, state, group):
        alpha = group["alpha"]
        state["step"] += 1
        grad = weight_decay_(param, grad, group)
        square_avg = state["square_avg"].numpy()
        square_average_(square_avg, grad, alpha)
        if group["centered"]:
            grad_avg = state_buffer(state, "grad_avg", param)
            lerp_(grad_avg, grad, 1 - alpha)
            denominator = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denominator = np.sqrt(square_avg)
        denominator += group["eps"]
        if group["momentum"] > 0:
            buffer = state_buffer(state, "momentum_buffer", param)
            buffer *= group["momentum"]
            buffer += grad / denominator
            param -= group["lr"] * buffer
        else:
            param += -group["lr"] * (grad / denominator)
