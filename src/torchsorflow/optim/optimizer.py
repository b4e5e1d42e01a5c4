"""The :class:`Optimizer` base class: parameter groups, per-parameter state and checkpoints.

An optimizer owns two things, exactly as in PyTorch:

* ``param_groups`` -- a list of dicts, each with a ``"params"`` list and the hyper-parameters that
  apply to those parameters (so a model's biases can have another learning rate than its weights);
* ``state`` -- a dict from each parameter to what the update rule remembers between steps
  (a momentum buffer, Adam's moment estimates, a step counter).

Subclasses only write :meth:`_update`, the rule for one parameter, on plain NumPy arrays. The
arrays are the parameters' own memory (``Tensor.numpy()`` shares it), so updating them in place is
cheap and never records anything for autodiff. (:class:`~torchsorflow.optim.LBFGS`, which works on
all parameters at once and re-evaluates the loss, writes :meth:`step` itself.)

PyTorch's implementation switches are accepted with their defaults so that its code and its
state dicts carry over: ``foreach`` (a multi-tensor loop; one NumPy implementation serves both) is
recorded and ignored, while ``capturable``, ``differentiable`` and ``fused`` set to ``True`` ask for
something TorchsorFlow does not do, and raise an error naming the argument.

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
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autodiff.tracer import enable_grad
from ..tensor import Tensor
from ..ops.creation import as_tensor


# What an optimizer takes: Tensors, or dicts of options with a "params" entry (parameter groups).
ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: holds ``param_groups`` and ``state``; subclasses define :meth:`_update`."""

    def __init__(self, params: ParamsT, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict] = defaultdict(dict)   # opt.state[p] is {} before a step
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
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        params = [params] if isinstance(params, Tensor) else list(params)
        names = None
        if any(isinstance(p, tuple) for p in params):   # model.named_parameters()
            if not all(isinstance(p, tuple) and len(p) == 2 for p in params):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            names, params = [name for name, _ in params], [p for _, p in params]
        if self.param_groups and ("param_names" in self.param_groups[0]) != (names is not None):
            raise ValueError("all optimizer param groups should be with/without names. cannot "
                             f"add param group {'with' if names else 'without'} names to the "
                             "optimizer")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but params[{i}] is a "
                                f"{type(p).__name__}")
            if not (p.is_leaf or p._retains_grad):
                raise ValueError(f"can't optimize a non-leaf Tensor (params[{i}] is the result "
                                 "of an operation; optimize the tensors it was computed from)")
            if not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"params[{i}] has dtype {p.dtype}; only floating point Tensors "
                                "can be optimized")
            if id(p) in seen:
                raise ValueError(f"params[{i}] appears in more than one parameter group "
                                 "(or twice in this one)")
            seen.add(id(p))
        new_group = {key: _plain_number(value, key) for key, value in
                     {**self.defaults, **group}.items() if key != "params"}
        new_group["params"] = params
        if names is not None:
            new_group["param_names"] = names
        self._check_group(new_group)
        self.param_groups.append(new_group)

    def _check_group(self, group: dict):
        """Reject invalid hyper-parameters early, naming them (subclasses extend this)."""
        for key in ("lr", "weight_decay", "eps", "momentum"):
            if key in group and group[key] < 0:
                raise ValueError(f"Invalid {key}: {group[key]} (must be >= 0)")
        for flag, reason in UNSUPPORTED_FLAGS.items():
            if group.get(flag):
                raise ValueError(f"{type(self).__name__}({flag}=True) is not supported: {reason}")
        if "betas" in group:
            for i, beta in enumerate(group["betas"]):
                if not 0.0 <= beta < 1.0:
                    raise ValueError(f"Invalid beta parameter at index {i}: {beta} "
                                     "(must be in [0, 1))")

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
                    p.grad = as_tensor(np.zeros_like(p.grad.numpy()))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if one is given."""
        self._opt_called = True   # lets a scheduler warn when it is stepped first
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
                if not state:   # first step (an empty dict comes from looking at opt.state[p])
                    state = self._init_state(p, group)
                self._update(p.primal().numpy(), grad, state, group)
                p.primal()._version += 1  # updated in place: graphs that saved p refuse it now
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
        self.state = defaultdict(dict, new_state)

    def _restore(self, value, param, where):
        if isinstance(value, list):   # LBFGS keeps lists of history vectors
            return [self._restore(v, param, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, (Tensor, np.ndarray)):
            array = np.array(value, dtype=param.dtype if np.ndim(value) else None)
            expected = self._state_shape(param)
            if array.ndim and array.shape != expected:
                raise ValueError(f"{where} has shape {array.shape} but the parameter has shape "
                                 f"{expected}")
            if array.ndim == 0:
                return array.item()
            return as_tensor(array)
        return copy.deepcopy(value)

    def _state_shape(self, param: Tensor) -> tuple:
        """The shape of the arrays in a parameter's state (the parameter's own shape)."""
        return param.shape


def _plain_number(value, key):
    """A hyper-parameter given as a 1-element Tensor (PyTorch allows ``lr``, ``betas`` and
    ``weight_decay`` as Tensors) becomes its Python value: the updates are NumPy arithmetic."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {key} must be 1-element, got shape {value.shape}")
        return value.item()
    if isinstance(value, tuple):
        return tuple(_plain_number(v, key) for v in value)
    return value


# The value each switch must keep, and why: TorchsorFlow runs one NumPy update on the CPU.
UNSUPPORTED_FLAGS = {
    "capturable": "CUDA-graph capture needs a GPU; TorchsorFlow runs on the CPU",
    "differentiable": "gradients cannot flow through an optimizer step (the update is in place)",
    "fused": "there is one NumPy implementation of each update; leave fused=None",
}


def torch_scalar(value: float) -> float:
    """``value`` rounded as PyTorch stores per-parameter scalars such as NAdam's ``mu_product``.

    PyTorch keeps them in 0-d tensors of its default dtype, float32, even for float64 parameters;
    rounding the same way keeps float64 trajectories identical to PyTorch's.
    """
    return float(np.float32(value))


def weight_decay_(param: np.ndarray, grad: np.ndarray, group: dict) -> np.ndarray:
    """Apply ``group["weight_decay"]`` and return the gradient to use.

    The L2 penalty adds ``weight_decay * p`` to the gradient; with ``decoupled_weight_decay``
    (AdamW and friends) the weights shrink directly, ``p *= 1 - lr * weight_decay``.
    """
    weight_decay = group["weight_decay"]
    if weight_decay == 0:
        return grad
    if group.get("decoupled_weight_decay", False):
        param *= 1 - group["lr"] * weight_decay
        return grad
    return grad + weight_decay * param


def zeros_state(param: Tensor, fill: float = 0.0) -> Tensor:
    """A state buffer shaped like ``param`` (moment estimates start at zero)."""
    return as_tensor(np.full_like(param.numpy(), fill))


def state_buffer(state: dict, name: str, like: np.ndarray) -> np.ndarray:
    """The array of ``state[name]``, created as zeros the first time (also when an option such as
    ``amsgrad`` or ``centered`` is switched on between steps)."""
    if name not in state:
        state[name] = as_tensor(np.zeros_like(like))
    return state[name].numpy()


def square_average_(average: np.ndarray, grad: np.ndarray, decay: float):
    """``average = decay * average + (1 - decay) * grad**2`` in place (PyTorch's
    ``mul_(decay).addcmul_(grad, grad, value=1 - decay)``)."""
    average *= decay
    average += (1 - decay) * grad * grad


def lerp_(start: np.ndarray, end: np.ndarray, weight: float):
    """``start += weight * (end - start)`` in place, rounded the way ``torch.lerp`` rounds.

    For weights of 0.5 and more PyTorch computes ``end - (end - start) * (1 - weight)``, which is
    more accurate near ``weight = 1``; matching it keeps float64 trajectories identical to PyTorch.
    """
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        np.subtract(end, (end - start) * (1 - weight), out=start)
