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

from ..tensor import Tensor
from .optimizer import Optimizer, lerp_


class Adam(Optimizer):
    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _check_group(self, group):
        super()._check_group(group)
        for i, beta in enumerate(group["betas"]):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta} (must be in [0, 1))")

    def _init_state(self, param, group):
        state = {"step": 0, "exp_avg": Tensor(np.zeros_like(param.numpy())),
                 "exp_avg_sq": Tensor(np.zeros_like(param.numpy()))}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = Tensor(np.zeros_like(param.numpy()))
        return state

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        exp_avg, exp_avg_sq = state["exp_avg"].numpy(), state["exp_avg_sq"].numpy()
        lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:  # amsgrad switched on after some steps
                state["max_exp_avg_sq"] = Tensor(np.zeros_like(exp_avg_sq))
            second_moment = state["max_exp_avg_sq"].numpy()
            np.maximum(second_moment, exp_avg_sq, out=second_moment)
        else:
            second_moment = exp_avg_sq
        step_size = lr / (1 - beta1 ** step)
        denominator = np.sqrt(second_moment) / (1 - beta2 ** step) ** 0.5 + group["eps"]
        param += -step_size * (exp_avg / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay (default ``weight_decay=1e-2``, as in PyTorch)."""

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
