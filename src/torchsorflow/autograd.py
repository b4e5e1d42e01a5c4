"""PyTorch's ``torch.autograd`` entry points for the eager graph."""
from .autodiff.reverse import eager_grad as grad
from .autodiff.tracer import enable_grad, no_grad, set_grad_enabled

__all__ = ["grad", "enable_grad", "no_grad", "set_grad_enabled"]
