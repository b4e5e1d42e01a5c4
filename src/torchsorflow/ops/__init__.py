"""Primitives and the composites built from them.

Every primitive is declared once, with its forward function and derivative rules side by side,
and enters the :func:`registry`; see the modules :mod:`.elementwise`, :mod:`.reductions`,
:mod:`.shape`, :mod:`.linalg`, :mod:`.special` and, for neural networks, :mod:`.nn_ops`
(convolution, pooling, batch norm) over the NumPy kernels in :mod:`.kernels`, with
:mod:`.convolution` (1-D, 3-D and transposed convolutions on the 2-D engine), :mod:`.pooling`
(adaptive max pooling, unpooling), :mod:`.resample` (interpolation, padding modes and sliding
windows, one linear primitive), :mod:`.normalization` (layer, group, RMS norm) and
:mod:`.attention` (scaled dot-product attention); embedding lookup in :mod:`.embedding` and
whole-sequence recurrent layers in :mod:`.recurrent`. Creation functions are in :mod:`.creation`;
PyTorch's argument conventions in :mod:`.arguments`.

torch's wider tensor API is in :mod:`.pointwise` (more element-wise math), :mod:`.scans`
(products and scans), :mod:`.sorting`, :mod:`.statistics`, :mod:`.indexing` (scatter and the
index family), :mod:`.structure` (triangles, diagonals, grids, stacking), :mod:`.einsum`,
:mod:`.products`, :mod:`.decompositions` (torch.linalg) and :mod:`.random`; activation
functions are in :mod:`.activations` and fused losses (Huber, CTC) in :mod:`.losses`. Those are
reached as submodules (``ops.sorting.sort``), and at the top level of ``torchsorflow``.
"""
from ..autodiff.tracer import registry
from . import (activations, arguments, attention, convolution, creation, decompositions, einsum,
               elementwise, embedding, indexing, kernels, linalg, losses, nn_ops, normalization,
               pointwise, pooling, products, random, recurrent, reductions, resample, scans,
               shape, sorting, special, statistics, structure)
from .creation import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .linalg import *  # noqa: F403
from .reductions import *  # noqa: F403
from .shape import *  # noqa: F403
from .special import *  # noqa: F403

abs = absolute  # noqa: F405
pow = power  # noqa: F405

__all__ = ["registry", "activations", "arguments", "attention", "convolution", "creation",
           "decompositions", "einsum", "elementwise", "embedding", "indexing", "kernels",
           "linalg", "losses", "nn_ops", "normalization", "pointwise", "pooling", "products",
           "random", "recurrent", "reductions", "resample", "scans", "shape", "sorting",
           "special", "statistics", "structure", "abs", "pow", *creation.__all__,
           *elementwise.__all__, *linalg.__all__, *reductions.__all__, *shape.__all__,
           *special.__all__]
