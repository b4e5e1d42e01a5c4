"""The original spectral normalisation hook, as ``torch.nn.utils.spectral_norm`` (superseded in
PyTorch by :func:`torchsorflow.nn.utils.parametrizations.spectral_norm`, still common in GAN code):
the module keeps ``weight_orig`` as its parameter and ``weight_u``/``weight_v`` as buffers, and a
forward pre-hook sets ``weight = weight_orig / σ`` before every call, refining the power-iteration
vectors first when training.

>>> from torchsorflow import nn
>>> from torchsorflow.nn.utils import spectral_norm
>>> list(spectral_norm(nn.Linear(3, 2)).state_dict())
['bias', 'weight_orig', 'weight_u', 'weight_v']
"""
from __future__ import annotations

from ... import ops
from ...ops.creation import default_generator
from ...tensor import Tensor
from ..module import Module
from ..parameter import Parameter
from .parametrizations import _normalized

__all__ = ["spectral_norm", "remove_spectral_norm"]


class SpectralNorm:
    """The forward pre-hook: weight = weight_orig / σ(weight_orig)."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def matrix(self, weight):
        if self.dim != 0:
            weight = ops.movedim(weight, self.dim, 0)
        return ops.reshape(weight, (weight.shape[0], -1))

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        matrix = self.matrix(weight)
        if do_power_iteration:  # in place, no gradient: v first, then u (PyTorch's order)
            w = matrix._array
            for _ in range(self.n_power_iterations):
                v._array[...] = _normalized(w.T @ u._array, self.eps)
                u._array[...] = _normalized(w @ v._array, self.eps)
            u._version += 1
            v._version += 1
        sigma = ops.sum(ops.mul(u.clone(), ops.matmul(matrix, v.clone())))
        return ops.div(weight, sigma)

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, module.training))


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter "
                               f"{name}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    hook = SpectralNorm(name, n_power_iterations, dim, eps)
    weight = module._parameters[name]
    rows, cols = hook.matrix(weight).shape
    rng = default_generator.rng
    u = _normalized(rng.standard_normal(rows), eps).astype(weight.dtype)
    v = _normalized(rng.standard_normal(cols), eps).astype(weight.dtype)
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())
    module.register_buffer(name + "_u", Tensor._wrap(u))
    module.register_buffer(name + "_v", Tensor._wrap(v))
    module.register_forward_pre_hook(hook)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            weight = hook.compute_weight(module, do_power_iteration=False).detach().clone()
            delattr(module, name + "_u")
            delattr(module, name + "_v")
            delattr(module, name + "_orig")
            module.__dict__.pop(name, None)
            module.register_parameter(name, Parameter(weight))
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
