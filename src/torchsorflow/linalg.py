"""``torchsorflow.linalg``: torch.linalg's functions, differentiable where torch's are (the rules
are in :mod:`torchsorflow.ops.decompositions`, :mod:`torchsorflow.ops.linalg` and
:mod:`torchsorflow.ops.special`).

>>> import torchsorflow as tsf
>>> a = tsf.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=tsf.float64)
>>> tsf.linalg.det(a)
tensor(5., dtype=float64)
>>> tsf.linalg.eigvalsh(a)
tensor([1.38196601, 3.61803399], dtype=float64)
"""
from __future__ import annotations

import numpy as np

from .autodiff.tracer import to_box, wrap
from .ops import (elementwise as _elementwise, linalg as _basic, products as _products,
                  reductions as _reductions, special as _special)
from .ops.decompositions import (det, eigh, eigvalsh, lstsq, matrix_norm, matrix_rank, norm,
                                 pinv, qr, slogdet, svd, svdvals, vector_norm)
from .ops.products import matrix_power, multi_dot
from .ops.shape import swapaxes as _swapaxes
from .ops.structure import diagonal as _diagonal

__all__ = ["cholesky", "cholesky_ex", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv",
           "inv_ex", "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank",
           "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "svd", "svdvals",
           "vecdot", "vector_norm"]

matmul = _basic.matmul


def cholesky(A, *, upper=False, out=None):
    """The lower Cholesky factor L with A = LLᵀ (``upper=True``: Lᵀ)."""
    factor = _special.cholesky(A)
    return _swapaxes(factor, -1, -2) if upper else factor


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """``(L, info)``; info is 0 (a matrix that is not positive-definite raises, as with
    ``check_errors=True``)."""
    factor = cholesky(A, upper=upper)
    return factor, wrap(np.zeros(factor.shape[:-2], np.int32))


def inv(A, *, out=None):
    """The inverse of square matrices (batched)."""
    return _basic.inv(A)


def inv_ex(A, *, check_errors=False, out=None):
    inverse = inv(A)
    return inverse, wrap(np.zeros(inverse.shape[:-2], np.int32))


def solve(A, B, *, left=True, out=None):
    """X with AX = B (``left=False``: XA = B)."""
    if left:
        return _basic.solve(A, B)
    return _swapaxes(_basic.solve(_swapaxes(to_box(A), -1, -2), _swapaxes(to_box(B), -1, -2)),
                     -1, -2)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    x = solve(A, B, left=left)
    return x, wrap(np.zeros(to_box(A).shape[:-2], np.int32))


def cross(input, other, *, dim=-1, out=None):
    """The cross product of 3-vectors along ``dim`` (the last by default)."""
    return _products.cross(input, other, dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The ``offset``-th diagonal of the matrices in the last two dimensions."""
    return _diagonal(A, offset, dim1, dim2)


def vecdot(x, y, *, dim=-1, out=None):
    """The dot product along ``dim`` (broadcasting the rest)."""
    return _reductions.sum(_elementwise.mul(to_box(x), to_box(y)), dim)

