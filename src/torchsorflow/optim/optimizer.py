"""The :class:`Optimizer` base class: parameter groups, per-parameter state and checkpoints.

An optimizer owns two things, exactly as in PyTorch:

* ``param_groups`` -- a list of dicts, each with a ``"params"`` list and the hyper-parameters that
  apply to those parameters (so a model's biases can have another learning rate than its weights);
* ``state`` -- a dict from each parameter to what the update rule remembers between steps
  (a momentum buffer, Adam's moment estimates, a step counter).

Subclasses only write :meth:`_update`, the rule for one parameter, on plain NumPy arrays. The
arrays are the parameters' own memory (``Tensor.numpy()`` shares it), so updating them in place is
cheap and never records anything for autodiff.

``state_dict()`` has PyTorch's structure, which makes it easy to compare with PyTorch and to save in
a checkpoint: parameters are replaced by their position (0, 1, 2... over all groups in order)::

    {"state": {0: {"step": 3, "exp_avg": Tensor, ...}, ...},
     "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), ..., "params": [0, 1]}]}

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import SGD
>>> w = tsf.tensor([1.0, -2.0], requires_grad=True)
>>> opt = SGD([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w
tensor([ 0.8, -1.6], requires_grad=True)
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autodiff.tracer import enable_grad
from ..tensor import Tensor


# What an optimizer takes: Tensors, or dicts of options with a "params" entry (parameter groups).
ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: holds ``param_groups`` and ``state``; subclasses define :meth:`_update`."""

    def __init__(self, params: ParamsT, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items())
                      if key != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters, filling in the optimizer's defaults for missing options."""
        if not isinstance(group, dict):
            raise TypeError(f"param group must be a dict, got {type(group).__name__}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but params[{i}] is a "
                                f"{type(p).__name__}")
            if not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"params[{i}] has dtype {p.dtype}; only floating point Tensors "
                                "can be optimized")
            if id(p) in seen:
                raise ValueError(f"params[{i}] appears in more than one parameter group "
                                 "(or twice in this one)")
            seen.add(id(p))
        new_group = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        new_group["params"] = params
        self._check_group(new_group)
        self.param_groups.append(new_group)

    def _check_group(self, group: dict):
        """Reject invalid hyper-parameters early, naming them (subclasses extend this)."""
        for key in ("lr", "weight_decay", "eps", "momentum"):
            if key in group and group[key] < 0:
                raise ValueError(f"Invalid {key}: {group[key]} (must be >= 0)")

    # --- the training-loop API --------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of the last step (PyTorch's default: set them to ``None``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = Tensor(np.zeros_like(p.grad.numpy()))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if one is given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.numpy()
                if grad.shape != p.shape:
                    raise RuntimeError(f"gradient of shape {grad.shape} for a parameter of shape "
                                       f"{p.shape}")
                if group.get("maximize", False):
                    grad = -grad
                state = self.state.get(p)
                if state is None:
                    state = self._init_state(p, group)
                self._update(p.primal().numpy(), grad, state, group)
                if state:  # plain SGD keeps no state at all, as in PyTorch
                    self.state[p] = state
        return loss

    def _init_state(self, param: Tensor, group: dict) -> dict:
        """The state of a parameter before its first update (empty for plain SGD)."""
        return {}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict):
        """Update ``param`` in place from ``grad``; ``state`` holds Tensors sharing memory."""
        raise NotImplementedError

    # --- checkpoints --------------------------------------------------------------------------
    def _indexed_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """PyTorch-structured state: per-parameter state keyed by index and the param groups.

        Tensors in the result are copies, so later steps do not change a saved state dict.
        """
        index = {id(p): i for i, p in enumerate(self._indexed_params())}
        groups, start = [], 0
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            groups.append(packed)
        state = {index[id(p)]: {k: (v.clone() if isinstance(v, Tensor) else copy.deepcopy(v))
                                for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict`, checking that it fits these parameters.

        Mismatches raise ``ValueError`` naming the group, parameter index or state key, because a
        silently wrong optimizer state only shows up hours later as a training curve that jumps.
        """
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"optimizer state_dict has no {key!r} entry (keys: "
                                 f"{sorted(map(str, state_dict))})")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, the "
                             f"optimizer has {len(self.param_groups)}")
        params = self._indexed_params()
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"param_groups[{g}] has {len(saved['params'])} parameters in the "
                                 f"loaded state dict but {len(group['params'])} in the optimizer")
        saved_index = [i for saved in saved_groups for i in saved["params"]]
        new_state = {}
        for key, saved in state_dict["state"].items():
            position = saved_index.index(int(key)) if int(key) in saved_index else None
            if position is None:
                raise ValueError(f"state[{key!r}] refers to no parameter of the param groups")
            param = params[position]
            new_state[param] = {name: self._restore(value, param, f"state[{key}][{name!r}]")
                                for name, value in saved.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
        self.state = new_state

    @staticmethod
    def _restore(value, param, where):
        if isinstance(value, (Tensor, np.ndarray)):
            array = np.array(value, dtype=param.dtype if np.ndim(value) else None)
            if array.ndim and array.shape != param.shape:
                raise ValueError(f"{where} has shape {array.shape} but the parameter has shape "
                                 f"{param.shape}")
            if array.ndim == 0:
                return array.item()
            return Tensor(array)
        return copy.deepcopy(value)


def lerp_(start: np.ndarray, end: np.ndarray, weight: float):
    """``start += weight * (end - start)`` in place, rounded the way ``torch.lerp`` rounds.

    For weights of 0.5 and more PyTorch computes ``end - (end - start) * (1 - weight)``, which is
    more accurate near ``weight = 1``; matching it keeps float64 trajectories identical to PyTorch.
    """
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        np.subtract(end, (end - start) * (1 - weight), out=start)
