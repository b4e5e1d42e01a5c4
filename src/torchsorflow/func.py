"""Functional transforms under torch.func / JAX names: ``grad``, ``value_and_grad``, ``vjp``,
``jvp``, ``hvp``, ``jacrev``, ``jacfwd``, ``hessian``."""
from .autodiff.transforms import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp

__all__ = ["functional_call", "grad", "hessian", "hvp", "jacfwd", "jacrev", "jvp",
           "value_and_grad", "vjp"]


def functional_call(module, parameter_and_buffer_dicts, args, kwargs=None, **options):
    """Call ``module`` with some parameters/buffers replaced (``torch.func.functional_call``).

    See :func:`torchsorflow.nn.utils.stateless.functional_call`.
    """
    from .nn.utils.stateless import functional_call as call
    return call(module, parameter_and_buffer_dicts, args, kwargs, **options)
