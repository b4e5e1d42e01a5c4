"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay.

The update for one parameter ``p`` with gradient ``g`` (PyTorch's formulation, step ``t``)::

    g = g + weight_decay * p                          # L2 penalty folded into the gradient
    b = g                      if t == 1              # momentum buffer starts at the gradient
    b = momentum * b + (1 - dampening) * g  otherwise
    g = g + momentum * b       if nesterov else  b    # Nesterov looks one step ahead
    p = p - lr * g

Note that PyTorch (and therefore this module) puts the learning rate *outside* the buffer, unlike
Sutskever et al. who write ``b = momentum * b + lr * g``; the two agree while ``lr`` is constant.

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import SGD
>>> w = tsf.tensor([1.0], requires_grad=True)
>>> opt = SGD([w], lr=0.1, momentum=0.9)
>>> for _ in range(2):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> round(w.item(), 4)   # 1 - 0.2 = 0.8, then 0.8 - 0.1 * (0.9 * 2 + 1.6) = 0.46
0.46
"""
from __future__ import annotations

from .optimizer import Optimizer, weight_decay_
from ..ops.creation import as_tensor


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update(self, param, grad, state, group):
        momentum = group["momentum"]
        grad = weight_decay_(param, grad, group)
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                state["momentum_buffer"] = as_tensor(grad.copy())
                buffer = state["momentum_buffer"].numpy()
            else:
                buffer = buffer.numpy()
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param -= group["lr"] * grad
