"""Linear algebra: batched, broadcasting ``matmul``, plus ``solve``, ``inv`` and ``logdet`` (which
the statistics package needs for a differentiable multivariate normal)."""
from __future__ import annotations

from ..autodiff.tracer import Primitive, to_box
from ..backend import xp
from .elementwise import mul, neg
from .reductions import sum as reduce_sum
from .kernels import runtime
from .shape import squeeze, swapaxes, unsqueeze

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "solve", "inv", "logdet"]


def _matmul_vjp_left(g, ans, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return mul(g, b)
    if b.ndim == 1:  # (..., n, k) @ (k,) -> (..., n)
        return mul(unsqueeze(g, -1), b)
    if a.ndim == 1:  # (k,) @ (..., k, m) -> (..., m)
        return squeeze(matmul(unsqueeze(g, -2), swapaxes(b, -1, -2)), -2)
    return matmul(g, swapaxes(b, -1, -2))


def _matmul_vjp_right(g, ans, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return mul(g, a)
    if a.ndim == 1:
        return matmul(unsqueeze(a, -1), unsqueeze(g, -2))
    if b.ndim == 1:  # (..., n, k) @ (k,): g is (..., n); the batch is summed back by fit_to
        return squeeze(matmul(unsqueeze(g, -2), a), -2)
    return matmul(swapaxes(a, -1, -2), g)


def _check_matmul(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                         f"({k_a} != {k_b})")


_matmul = Primitive("matmul", runtime.matmul, vjp=(_matmul_vjp_left, _matmul_vjp_right),
                    linear=(0, 1))


def _sparse_mm(input, other):
    """A product with a sparse COO operand goes to :func:`torchsorflow.sparse.mm`."""
    from ..sparse import mm as sparse_mm
    return sparse_mm(input, other)


def matmul(input, other):
    if getattr(input, "is_sparse", False) or getattr(other, "is_sparse", False):
        return _sparse_mm(input, other)
    input, other = to_box(input), to_box(other)
    _check_matmul(input._array, other._array)
    return _matmul(input, other)


def _check_ndim(op, what, x, ndim):
    if x.ndim != ndim:
        raise RuntimeError(f"{op}: {what} must be a {ndim}D tensor, got a {x.ndim}D tensor of "
                           f"shape {tuple(x.shape)}")


def mm(input, mat2):
    """Matrix times matrix (both 2-D; ``matmul`` broadcasts, this does not); either may be
    sparse."""
    if getattr(input, "is_sparse", False) or getattr(mat2, "is_sparse", False):
        return _sparse_mm(input, mat2)
    input, mat2 = to_box(input), to_box(mat2)
    _check_ndim("mm", "self", input, 2)
    _check_ndim("mm", "mat2", mat2, 2)
    return matmul(input, mat2)


def bmm(input, mat2):
    """Batches of matrix products: (b, n, m) @ (b, m, p)."""
    input, mat2 = to_box(input), to_box(mat2)
    _check_ndim("bmm", "batch1", input, 3)
    _check_ndim("bmm", "batch2", mat2, 3)
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch1 and batch2 must have the same batch size, got "
                           f"{input.shape[0]} and {mat2.shape[0]}")
    return matmul(input, mat2)


def mv(input, vec):
    input, vec = to_box(input), to_box(vec)
    _check_ndim("mv", "matrix", input, 2)
    _check_ndim("mv", "vector", vec, 1)
    return matmul(input, vec)


def dot(input, other):
    input, other = to_box(input), to_box(other)
    _check_ndim("dot", "self", input, 1)
    _check_ndim("dot", "tensor", other, 1)
    return matmul(input, other)


# solve(A, B) = A⁻¹B. With X = A⁻¹B: dX = A⁻¹(dB − dA·X), so the cotangent of B is A⁻ᵀG and the
# cotangent of A is −(A⁻ᵀG)Xᵀ. B may be a vector (...,n) or a matrix (...,n,k).
def _as_matrix(v, like):
    return unsqueeze(v, -1) if v.ndim == like.ndim - 1 else v


def _solve_vjp_b(g, ans, a, b):
    return solve(swapaxes(a, -1, -2), g)


def _solve_vjp_a(g, ans, a, b):
    gb = _as_matrix(solve(swapaxes(a, -1, -2), g), a)
    return neg(matmul(gb, swapaxes(_as_matrix(ans, a), -1, -2)))


def _solve_impl(a, b):
    if b.ndim == a.ndim - 1:
        return xp.linalg.solve(a, b[..., None])[..., 0]
    return xp.linalg.solve(a, b)


_solve = Primitive("solve", _solve_impl,
                   vjp=(_solve_vjp_a, _solve_vjp_b),
                   jvp=(lambda t, ans, a, b: neg(_unmatrix(solve(a, matmul(t, _as_matrix(ans, a))),
                                                            ans)),
                        lambda t, ans, a, b: solve(a, t)))


def _unmatrix(m, like):
    return squeeze(m, -1) if like.ndim == m.ndim - 1 else m


def solve(a, b):
    a, b = to_box(a), to_box(b)
    square = a.ndim >= 2 and a.shape[-1] == a.shape[-2]
    if b.ndim == a.ndim - 1:
        fits = b.shape[-1:] == a.shape[-1:]
    else:
        fits = b.ndim >= 2 and b.shape[-2] == a.shape[-1]
    if not (square and fits):
        raise ValueError(f"solve: A of shape {a.shape} must be square and match B of shape "
                         f"{b.shape}")
    return _solve(a, b)


def inv(a):
    a = to_box(a)
    eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    return solve(a, to_box(eye))


def _logdet_impl(a):
    sign, value = xp.linalg.slogdet(a)
    return xp.where(sign > 0, value, xp.nan).astype(a.dtype, copy=False)


# d log|A| = tr(A⁻¹ dA), so the cotangent of A is g·A⁻ᵀ.
_logdet = Primitive(
    "logdet", _logdet_impl,
    vjp=(lambda g, ans, a: mul(unsqueeze(unsqueeze(g, -1), -1), swapaxes(inv(a), -1, -2)),),
    jvp=(lambda t, ans, a: reduce_sum(mul(swapaxes(inv(a), -1, -2), t), axis=(-2, -1)),))


def logdet(a):
    """log det A for matrices with positive determinant (NaN otherwise, like ``torch.logdet``)."""
    a = to_box(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"logdet: expected square matrices, got shape {a.shape}")
    return _logdet(a)
