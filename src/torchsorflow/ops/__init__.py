"""Primitives and the composites built from them.

Every primitive is declared once, with its forward function and derivative rules side by side,
and enters the :func:`registry`; see the modules :mod:`.elementwise`, :mod:`.reductions`,
:mod:`.shape`, :mod:`.linalg`, :mod:`.special` and, for neural networks (convolution, pooling,
batch norm), :mod:`.nn_ops` over the NumPy kernels in :mod:`.kernels`; embedding lookup in
:mod:`.embedding` and whole-sequence recurrent layers in :mod:`.recurrent`. Creation functions
are in :mod:`.creation`; PyTorch's argument conventions in :mod:`.arguments`.
"""
from ..autodiff.tracer import registry
from . import (arguments, creation, elementwise, embedding, kernels, linalg, nn_ops, recurrent,
               reductions, shape, special)
from .creation import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .linalg import *  # noqa: F403
from .reductions import *  # noqa: F403
from .shape import *  # noqa: F403
from .special import *  # noqa: F403

abs = absolute  # noqa: F405
pow = power  # noqa: F405

__all__ = ["registry", "arguments", "creation", "elementwise", "embedding", "kernels", "linalg",
           "nn_ops", "recurrent", "reductions", "shape", "special", "abs", "pow", *creation.__all__,
           *elementwise.__all__, *linalg.__all__, *reductions.__all__, *shape.__all__,
           *special.__all__]
