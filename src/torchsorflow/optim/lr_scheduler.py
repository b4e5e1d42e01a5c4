"""Learning-rate schedules that rewrite ``group["lr"]`` of an optimizer, epoch by epoch.

Usage is PyTorch's: build the scheduler after the optimizer (this records ``initial_lr`` in every
param group and counts as epoch 0), then call ``scheduler.step()`` once per epoch *after* the
optimizer's steps. The formulas are PyTorch's *recursive* ones (each lr is computed from the
previous one), so the sequences agree with ``torch.optim.lr_scheduler`` to the last bit.

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import SGD
>>> from torchsorflow.optim.lr_scheduler import StepLR
>>> opt = SGD([tsf.zeros(1, requires_grad=True)], lr=1.0)
>>> scheduler = StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(scheduler.get_last_lr()[0])
...     opt.step()
...     scheduler.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]
"""
from __future__ import annotations

import math
from collections import Counter

from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define :meth:`get_lr`, the lrs for the new ``last_epoch``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when "
                               f"resuming a scheduler with last_epoch={last_epoch}; load the "
                               "optimizer's state_dict first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True     # the constructor's step: epoch 0 keeps the initial lr
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self):
        """Advance one epoch and write the new learning rates into the optimizer."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest :meth:`step` (one per param group)."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict):
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size}")
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each epoch listed in ``milestones``.

    >>> import torchsorflow as tsf
    >>> from torchsorflow.optim import SGD
    >>> opt = SGD([tsf.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = MultiStepLR(opt, milestones=[1, 3], gamma=0.1)
    >>> [(scheduler.step(), round(scheduler.get_last_lr()[0], 6))[1] for _ in range(4)]
    [0.1, 0.1, 0.01, 0.01]
    """

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones, self.gamma = Counter(int(m) for m in milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """Anneal the lr from its initial value to ``eta_min`` along half a cosine over ``T_max``
    epochs.

    The closed form is ``eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``; like
    PyTorch we apply it recursively (ratio of consecutive cosine factors), which lets it compose
    with other changes to the lr, and after ``T_max`` epochs the lr rises again (a full period).

    >>> import torchsorflow as tsf
    >>> from torchsorflow.optim import SGD
    >>> opt = SGD([tsf.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = CosineAnnealingLR(opt, T_max=2)
    >>> [(scheduler.step(), round(scheduler.get_last_lr()[0], 6))[1] for _ in range(4)]
    [0.5, 0.0, 0.5, 1.0]
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        if T_max < 1:
            raise ValueError(f"T_max must be a positive integer, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        epoch, period = self.last_epoch, self.T_max
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and epoch > 0:   # resumed at a later epoch: use the closed form
            cosine = math.cos(epoch * math.pi / period)
            return [self.eta_min + (base - self.eta_min) * (1 + cosine) / 2
                    for base in self.base_lrs]
        if (epoch - 1 - period) % (2 * period) == 0:  # at the bottom: restart the climb
            return [lr + (base - self.eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base, lr in zip(self.base_lrs, self._current_lrs())]
        now, before = math.cos(math.pi * epoch / period), math.cos(math.pi * (epoch - 1) / period)
        ratio = (1 + now) / (1 + before)
        return [ratio * (lr - self.eta_min) + self.eta_min for lr in self._current_lrs()]
