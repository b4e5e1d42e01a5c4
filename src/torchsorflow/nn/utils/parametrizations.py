"""Weight normalisation and spectral normalisation as parametrizations, as
``torch.nn.utils.parametrizations``.

* :func:`weight_norm` (Salimans & Kingma, 2016) writes a weight as ``g · v / ‖v‖``: a magnitude
  ``g`` (``parametrizations.weight.original0``) and a direction ``v`` (``original1``), the norm
  taken over every dimension but ``dim``.
* :func:`spectral_norm` (Miyato et al., 2018) divides a weight by its largest singular value σ,
  estimated by power iteration: the vectors ``_u``, ``_v`` are buffers, refined by
  ``n_power_iterations`` steps on each forward pass in training mode, and σ = uᵀWv is
  differentiated with u and v held fixed.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> from torchsorflow.nn.utils.parametrizations import weight_norm
>>> layer = weight_norm(nn.Linear(3, 2))
>>> list(layer.state_dict())
['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']
>>> layer.parametrizations.weight.original0.shape
(2, 1)
"""
from __future__ import annotations

import numpy as np

from ... import ops
from ...autodiff.tracer import no_grad
from ...ops.creation import default_generator
from ...tensor import Tensor
from ..module import Module
from . import parametrize

__all__ = ["weight_norm", "spectral_norm"]


def norm_except_dim(v, pow=2, dim=0):
    """The ``pow``-norm of ``v`` over every dimension but ``dim``, shaped to broadcast against
    ``v`` (1 everywhere but ``dim``); ``dim=-1`` takes the norm of the whole tensor (PyTorch's
    convention)."""
    if dim == -1:
        return ops.norm(v, pow)
    dim = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != dim)
    return ops.norm(v, pow, others, keepdim=True)


def _weight_norm(v, g, dim=0):
    return ops.mul(v, ops.div(g, norm_except_dim(v, 2, dim)))


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as g·v/‖v‖ (norm over all dimensions but ``dim``;
    ``dim=None``: over the whole tensor)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


def _normalized(array, eps):
    return array / max(float(np.linalg.norm(array)), eps)


class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            rows, cols = self._matrix(weight).shape
            rng = default_generator.rng
            u = _normalized(rng.standard_normal(rows), eps).astype(weight.dtype)
            v = _normalized(rng.standard_normal(cols), eps).astype(weight.dtype)
            self.register_buffer("_u", Tensor._wrap(u))
            self.register_buffer("_v", Tensor._wrap(v))
            self._power_method(self._matrix(weight), 15)

    def _matrix(self, weight):
        """The weight as a matrix with ``dim`` as its rows."""
        if self.dim != 0:
            weight = ops.movedim(weight, self.dim, 0)
        return ops.reshape(weight, (weight.shape[0], -1))

    def _power_method(self, matrix, iterations):
        """Refine the singular vectors in place (no gradient)."""
        w = matrix._array
        u, v = self._u._array, self._v._array
        for _ in range(iterations):
            u[...] = _normalized(w @ v, self.eps)
            v[...] = _normalized(w.T @ u, self.eps)
        self._u._version += 1
        self._v._version += 1

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            norm = ops.clamp_min(ops.norm(weight), self.eps)
            return ops.div(weight, norm)
        matrix = self._matrix(weight)
        if self.training:
            with no_grad():
                self._power_method(matrix, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = ops.sum(ops.mul(u, ops.matmul(matrix, v)))
        return ops.div(weight, sigma)

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Reparametrize ``module.<name>`` as W/σ(W), σ the largest singular value of the weight as
    a matrix with ``dim`` as rows (1 for transposed convolutions, else 0)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
