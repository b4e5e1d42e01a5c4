"""ASGD: averaged stochastic gradient descent (Polyak & Juditsky; Bottou's schedule).

Plain SGD with a decaying step size ``eta`` and weight decay ``lambd``, which also keeps ``ax``,
a running average of the iterates: averaging cancels the noise of the last steps and converges
at the optimal rate. The average starts at step ``t0`` (before that ``ax`` just follows ``p``).
For a parameter ``p`` at step ``t`` (``eta`` starts at ``lr``, ``mu`` at 1)::

    g = g + weight_decay * p
    p = p * (1 - lambd * eta) - eta * g
    ax = ax + mu * (p - ax)
    eta = lr / (1 + lambd * lr * t) ** alpha
    mu = 1 / max(1, t - t0)

The model's weights stay the SGD iterates; ``optimizer.state[p]["ax"]`` holds the average, to be
copied into the model for evaluation.

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import ASGD
>>> w = tsf.tensor([1.0], dtype="float64", requires_grad=True)
>>> opt = ASGD([w], lr=0.125, lambd=0.0)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w.item(), opt.state[w]["ax"].item()   # before t0 the average is the last iterate
(0.75, 0.75)
"""
from __future__ import annotations

from .optimizer import Optimizer, torch_scalar, weight_decay_, zeros_state


class ASGD(Optimizer):
    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _init_state(self, param, group):
        # eta and mu are float32 scalars in PyTorch's state (see torch_scalar)
        return {"step": 0, "eta": torch_scalar(group["lr"]), "mu": 1.0, "ax": zeros_state(param)}

    def _update(self, param, grad, state, group):
        lr, lambd = group["lr"], group["lambd"]
        state["step"] += 1
        step = state["step"]
        grad = weight_decay_(param, grad, group)
        eta = state["eta"]
        param *= 1 - lambd * eta
        param += -eta * grad
        ax = state["ax"].numpy()
        if state["mu"] != 1:
            ax += (param - ax) * state["mu"]
        else:
            ax[...] = param
        state["eta"] = torch_scalar(lr / (1 + lambd * lr * step) ** group["alpha"])
        state["mu"] = torch_scalar(1 / max(1, step - group["t0"]))
