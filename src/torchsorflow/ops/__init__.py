"""Primitives and the composites built from them.

Every primitive is declared once, with its forward function and derivative rules side by side,
and enters the :func:`registry`; see the modules :mod:`.elementwise`, :mod:`.reductions`,
:mod:`.shape`, :mod:`.linalg`, :mod:`.special` and, for neural networks (convolution, pooling,
batch norm), :mod:`.nn_ops` over the NumPy kernels in :mod:`.kernels`. Creation functions are in
:mod:`.creation`.
"""
from ..autodiff.tracer import registry
from . import nn_ops
from .creation import (Generator, arange, as_tensor, default_generator, eye, full, linspace,
                       manual_seed, ones, ones_like, rand, randint, randn, randperm, tensor, zeros,
                       zeros_like)
from .elementwise import (absolute, add, clip, cos, div, equal, exp, expm1, floor, greater,
                          greater_equal, isfinite, isnan, less, less_equal, log, log1p,
                          logical_and, logical_not, logical_or, maximum, minimum, mul, neg,
                          not_equal, power, relu, rsqrt, sigmoid, sign, sin, softplus, sqrt,
                          square, sub, tanh, where)
from .linalg import inv, logdet, matmul, solve
from .reductions import (amax, amin, argmax, argmin, log_softmax, logsumexp, mean, norm, softmax,
                         std, sum, var)
from .special import digamma, lgamma, polygamma
from .shape import (astype, broadcast_to, concatenate, flatten, getitem, pad, permute, reshape,
                    squeeze, stack, sum_to, swapaxes, transpose, unsqueeze)

abs = absolute
pow = power
clamp = clip
cat = concatenate
