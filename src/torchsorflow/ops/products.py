"""Products with torch's names, composed from ``matmul`` and element-wise operations (so their
gradients are those of the parts): ``outer``/``ger``, ``addmm``, ``addmv``, ``addr``,
``addbmm``, ``baddbmm``, ``matrix_power``, ``kron``, ``cross``, ``chain_matmul``/``multi_dot``.
"""
from __future__ import annotations

import builtins
import functools
import warnings

from ..autodiff.tracer import to_box, wrap
from ..backend import xp
from .elementwise import add, mul, sub
from .linalg import _check_ndim, bmm, inv, matmul, mm, mv
from .reductions import sum as reduce_sum
from .shape import (ShapeError, _dim, broadcast_tensors, broadcast_to, cat, narrow, reshape,
                    unsqueeze)

__all__ = ["outer", "ger", "addmm", "addmv", "addr", "addbmm", "baddbmm", "matrix_power", "kron",
           "cross", "chain_matmul", "multi_dot"]


def outer(input, vec2):
    """The outer product of two vectors: ``out[i, j] = input[i]·vec2[j]``."""
    input, vec2 = to_box(input), to_box(vec2)
    _check_ndim("outer", "self", input, 1)
    _check_ndim("outer", "vec2", vec2, 1)
    return mul(unsqueeze(input, 1), vec2)


ger = outer


def _scaled_sum(input, product, beta, alpha):
    """beta·input + alpha·product; with beta = 0 the input is ignored (NaN included), as in
    torch."""
    if alpha != 1:
        product = mul(product, alpha)
    if beta == 0:
        return _broadcast_like(product, input)
    return add(to_box(input) if beta == 1 else mul(to_box(input), beta), product)


def _broadcast_like(product, input):
    """``product`` in the shape input and product broadcast to (input's values unused)."""
    shape = xp.broadcast_shapes(to_box(input).shape, product.shape)
    return product if shape == product.shape else broadcast_to(product, shape)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta·input + alpha·(mat1 @ mat2)."""
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta·input + alpha·(mat @ vec)."""
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta·input + alpha·outer(vec1, vec2)."""
    return _scaled_sum(input, outer(vec1, vec2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta·input + alpha·Σ_b batch1[b] @ batch2[b]."""
    return _scaled_sum(input, reduce_sum(bmm(batch1, batch2), 0), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta·input + alpha·(batch1 @ batch2), batch by batch."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def matrix_power(input, n):
    """The ``n``-th power of square matrices (batched): repeated squaring; a negative ``n``
    inverts first; ``n = 0`` gives the identity."""
    input = to_box(input)
    if input.ndim < 2 or input.shape[-1] != input.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they "
                           f"are {input.shape[-2] if input.ndim >= 2 else ''} by "
                           f"{input.shape[-1] if input.ndim else ''} matrices")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if n == 0:
        eye = xp.broadcast_to(xp.eye(input.shape[-1], dtype=input.dtype), input.shape)
        return wrap(eye.copy())
    base = inv(input) if n < 0 else input
    n = abs(n)
    result = None
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def kron(input, other):
    """The Kronecker product: every entry of ``input`` times a whole copy of ``other``."""
    a, b = to_box(input), to_box(other)
    ndim = builtins.max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (ndim - a.ndim) + a.shape)
    b = reshape(b, (1,) * (ndim - b.ndim) + b.shape)
    spread_a, spread_b = [], []
    for n, m in zip(a.shape, b.shape):
        spread_a += [n, 1]
        spread_b += [1, m]
    product = mul(reshape(a, tuple(spread_a)), reshape(b, tuple(spread_b)))
    return reshape(product, tuple(n * m for n, m in zip(a.shape, b.shape)))


def cross(input, other, dim=None):
    """The cross product of 3-vectors along ``dim`` (``torch.cross``: by default the first
    dimension of size 3, with torch's deprecation warning; ``linalg.cross`` uses -1)."""
    input, other = broadcast_tensors(input, other)
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                      "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                      "default value of dim will change to agree with that of linalg.cross in a "
                      "future release.", UserWarning, stacklevel=2)
        dim = next((i for i, n in enumerate(input.shape) if n == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = _dim(dim, input.ndim)
    if input.shape[d] != 3:
        raise ShapeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                         f"{input.shape[d]} and {other.shape[d]}")
    a = [narrow(input, d, i, 1) for i in range(3)]
    b = [narrow(other, d, i, 1) for i in range(3)]
    return cat([sub(mul(a[1], b[2]), mul(a[2], b[1])),
                sub(mul(a[2], b[0]), mul(a[0], b[2])),
                sub(mul(a[0], b[1]), mul(a[1], b[0]))], d)


def multi_dot(tensors):
    """The product of a chain of matrices (the first may be a vector, and the last)."""
    tensors = [to_box(t) for t in tensors]
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    return functools.reduce(matmul, tensors)


def chain_matmul(*matrices):
    """The product of a chain of matrices (``torch.chain_matmul``)."""
    if len(matrices) == 1:
        return to_box(matrices[0])
    return multi_dot(matrices)
