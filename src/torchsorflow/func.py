"""Functional transforms under torch.func / JAX names: ``grad``, ``value_and_grad``, ``vjp``,
``jvp``, ``hvp``, ``jacrev``, ``jacfwd``, ``hessian``."""
from .autodiff.transforms import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp

__all__ = ["grad", "hessian", "hvp", "jacfwd", "jacrev", "jvp", "value_and_grad", "vjp"]
