"""The base of every learning-rate scheduler (:class:`LRScheduler`) and what the schedulers of
``lr_scheduler.py`` and ``lr_cycles.py`` share: per-group settings and the saved state."""
from __future__ import annotations

import types
import warnings

from .optimizer import Optimizer

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available.")
STEP_ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and "
    "later, you should call them in the opposite order: `optimizer.step()` before "
    "`lr_scheduler.step()`.  Failure to do this will result in PyTorch skipping the first value "
    "of the learning rate schedule.")


class LRScheduler:
    """Base class: subclasses define :meth:`get_lr`, the lrs for the new ``last_epoch``, and where
    they can ``_get_closed_form_lr``, the lrs of any epoch from ``base_lrs`` alone."""

    _is_initial = False   # True during the constructor's step (epoch 0 keeps the initial lr)

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        _check_optimizer(optimizer)
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
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self, epoch: int | None = None):
        """Advance one epoch (or jump to ``epoch``) and write the new lrs into the optimizer."""
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(STEP_ORDER_WARNING, UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None):
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            lrs = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest :meth:`step` (one per param group)."""
        return list(self._last_lr)

    # attributes that cannot be saved as they are (user functions, sub-schedulers): the state
    # dict holds what _save_attribute makes of them, and _load_attribute puts it back
    _saved_separately: tuple = ()

    def state_dict(self) -> dict:
        """The scheduler's attributes, without the optimizer (PyTorch's layout)."""
        state = {key: value for key, value in self.__dict__.items()
                 if key != "optimizer" and key not in self._saved_separately}
        state.update({key: self._save_attribute(key) for key in self._saved_separately})
        return state

    def load_state_dict(self, state_dict: dict):
        state_dict = dict(state_dict)
        separate = {key: state_dict.pop(key) for key in self._saved_separately if key in state_dict}
        self.__dict__.update(state_dict)
        for key, saved in separate.items():
            self._load_attribute(key, saved)

    def _save_attribute(self, key):
        raise NotImplementedError

    def _load_attribute(self, key, saved):
        raise NotImplementedError


_LRScheduler = LRScheduler   # PyTorch's old name


def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def function_settings(function):
    """What a state dict can hold of a user function: the attributes of a callable object, or
    ``None`` for a plain function or none (code is never saved, as in PyTorch)."""
    if function is None or isinstance(function, types.FunctionType):
        return None
    return function.__dict__.copy()


def restore_settings(function, saved):
    if saved is not None:
        function.__dict__.update(saved)


def _per_group(name: str, optimizer: Optimizer, value) -> list:
    """``value`` for every param group: a list of one per group, or one value for all."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. {name} "
                             f"has {len(value)} values, param_groups has "
                             f"{len(optimizer.param_groups)}.")
        return list(value)
    return [value] * len(optimizer.param_groups)
