"""Automatic differentiation: one tracer, reverse and forward mode, functional transforms,
a gradient checker and an explainer of the two modes."""
from .explain import Explanation, explain
from .gradcheck import check_grads
from .reverse import backward, eager_grad
from .tracer import Primitive, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .transforms import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp

__all__ = ["Explanation", "Primitive", "backward", "check_grads", "explain", "eager_grad", "enable_grad", "grad", "hessian", "hvp",
           "is_grad_enabled", "jacfwd", "jacrev", "jvp", "no_grad", "set_grad_enabled",
           "value_and_grad", "vjp"]
