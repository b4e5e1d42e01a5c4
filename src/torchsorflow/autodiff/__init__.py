"""Automatic differentiation: one tracer, reverse and forward mode, functional transforms,
a gradient checker and an explainer of the two modes.

The tracer comes first: the primitives of :mod:`torchsorflow.ops` register with it, and the
modules after it (reverse and forward mode, the transforms) compute with those primitives.
"""
# isort: off
from .tracer import (Primitive, enable_grad, inference_mode, is_grad_enabled, no_grad,
                     registry, set_grad_enabled)
from .reverse import backward, eager_grad
from .transforms import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp
from .gradcheck import check_grads
from .explain import Explanation, explain
# isort: on

__all__ = ["Explanation", "Primitive", "backward", "check_grads", "eager_grad", "enable_grad",
           "explain", "grad", "hessian", "hvp", "inference_mode", "is_grad_enabled", "jacfwd",
           "jacrev", "jvp", "no_grad", "registry", "set_grad_enabled", "value_and_grad", "vjp"]
