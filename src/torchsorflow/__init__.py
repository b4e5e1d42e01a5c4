"""TorchsorFlow: a deep-learning framework on NumPy that you can read end to end.

>>> import torchsorflow as tsf
>>> x = tsf.tensor([3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad
tensor([6.])
"""
__version__ = "0.1.0"

from .tensor import Tensor  # noqa: E402  (first: everything else builds on it)
from . import ops  # noqa: E402
from .ops import *  # noqa: E402,F401,F403
from .ops import abs, cat, clamp, pow, sum  # noqa: E402,F401  (names that shadow builtins)
from .autodiff.tracer import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from . import autodiff, autograd, func, runtime  # noqa: E402,F401
from .backend import bool_, float16, float32, float64, int32, int64  # noqa: E402,F401

max = ops.amax
min = ops.amin

_SUBPACKAGES = {"nn", "optim", "data", "models", "stats", "embeddings", "influence", "io", "tour",
                "distributed"}


def summary(model, input_size=None, depth=3, **kwargs):
    """Per-layer parameters, shapes and MACs of ``model``; see :func:`torchsorflow.nn.summary.summary`."""
    from .nn.summary import summary as _summary
    return _summary(model, input_size=input_size, depth=depth, **kwargs)


def __getattr__(name):
    """Import sub-packages on first use (``tsf.nn``, ``tsf.optim`` ...), keeping ``import`` fast."""
    if name in _SUBPACKAGES:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'torchsorflow' has no attribute {name!r}")
