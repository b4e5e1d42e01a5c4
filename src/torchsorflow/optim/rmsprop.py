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

from ..tensor import Tensor
from .optimizer import Optimizer, lerp_


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False):
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha} (must be >= 0)")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _init_state(self, param, group):
        state = {"step": 0, "square_avg": Tensor(np.zeros_like(param.numpy()))}
        if group["momentum"] > 0:
            _zero_buffer(state, "momentum_buffer", param.numpy())
        if group["centered"]:
            _zero_buffer(state, "grad_avg", param.numpy())
        return state

    def _update(self, param, grad, state, group):
        alpha = group["alpha"]
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg = state["square_avg"].numpy()
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = _zero_buffer(state, "grad_avg", param)
            lerp_(grad_avg, grad, 1 - alpha)
            denominator = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denominator = np.sqrt(square_avg)
        denominator += group["eps"]
        if group["momentum"] > 0:
            buffer = _zero_buffer(state, "momentum_buffer", param)
            buffer *= group["momentum"]
            buffer += grad / denominator
            param -= group["lr"] * buffer
        else:
            param += -group["lr"] * (grad / denominator)


def _zero_buffer(state, name, like):
    """The array of ``state[name]``, created as zeros the first time (also when an option such as
    ``centered`` is switched on between steps)."""
    if name not in state:
        state[name] = Tensor(np.zeros_like(like))
    return state[name].numpy()
