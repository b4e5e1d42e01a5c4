"""Matrix decompositions and the functions built on them, differentiable as in torch.linalg:
``det``, ``slogdet``, ``eigh``/``eigvalsh``, ``svd``/``svdvals``, ``qr``, ``pinv``, ``lstsq``,
``matrix_rank`` and the vector and matrix norms.

*Several results, one primitive.* A primitive returns one array, so a decomposition returns its
factors packed into one (``eigh``: the eigenvalues as a first row above the eigenvectors;
``svd``: U, then S as a row, then V; ``qr``: Q above R) and the public function slices them
apart with ``getitem``. The cotangent of the packed array arrives with zeros in the slices that
were not used, so one reverse rule serves every combination of outputs.

*The rules* (real matrices, all batched over leading dimensions; F holds 1/(λⱼ − λᵢ), or
1/(sⱼ² − sᵢ²) for the SVD, off the diagonal and 0 on it; sym(X) = (X + Xᵀ)/2):

* det: Ā = ḡ·adj(A)ᵀ. A plain backward computes the adjugate from an SVD, so singular matrices
  get their (finite) gradient; differentiated again the rule is ḡ·det(A)·A⁻ᵀ.
* log|det|: Ā = ḡ·A⁻ᵀ.
* eigh (A = V diag(λ) Vᵀ, the symmetric part of A is read, as cholesky does): Ā = sym(V (diag(λ̄)
  + F ∘ Vᵀ V̄) Vᵀ); λ̇ = diag(Vᵀ Ȧ V), V̇ = V (F ∘ Vᵀ Ȧ V).
* svd (A = U diag(s) Vᵀ, reduced): Ā = U [(J + Jᵀ) S + S (K + Kᵀ) + diag(s̄)] Vᵀ + (I − UUᵀ) Ū S⁻¹
  Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ), with J = F ∘ UᵀŪ and K = F ∘ VᵀV̄ (Townsend, 2016).
* qr (A = QR, m ≥ n): with M = R̄Rᵀ − QᵀQ̄ and N its upper triangle plus the transpose of its
  strict lower triangle, Ā = (Q̄ + Q N) R⁻ᵀ; a wide A = [X Y] is Q R₁ = qr(X), R₂ = Qᵀ Y.
* pinv (P = A⁺, rank constant nearby): Ā = −Pᵀ P̄ Pᵀ + (I − AP) P̄ᵀ P Pᵀ + Pᵀ P P̄ᵀ (I − PA)
  (Golub and Pereyra, 1973), torch's rule.

When only eigenvalues or singular values are used, the part of the cotangent for the vectors is
exactly zero and the F term is skipped, so repeated eigenvalues (an identity matrix) still give
a finite gradient, as torch's ``eigvalsh``/``svdvals`` do.
"""
from __future__ import annotations

import builtins
from collections import namedtuple

from ..autodiff.tracer import Box, Primitive, is_constant, to_box, wrap
from ..backend import is_floating, to_dtype, xp
from .elementwise import absolute, add, div, mul, neg, power, sub, where
from .linalg import inv, matmul, solve
from .reductions import _std_from_var, amax, amin, normalize_axis
from .reductions import sum as reduce_sum
from .shape import astype, cat, getitem, movedim, reshape, squeeze, swapaxes, unsqueeze
from .special import _symmetric, cholesky
from .structure import diag_embed, diagonal, tril, triu

__all__ = ["det", "slogdet", "eigh", "eigvalsh", "svd", "svdvals", "qr", "pinv", "lstsq",
           "matrix_rank", "vector_norm", "matrix_norm", "norm", "svd_uv", "qr_reduced",
           "pinverse", "cholesky_factor"]

SignLogAbsDet = namedtuple("slogdet", ["sign", "logabsdet"])
Eigh = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
SVD = namedtuple("svd", ["U", "S", "Vh"])
QR = namedtuple("qr", ["Q", "R"])
Lstsq = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])


def _t(a):
    return swapaxes(a, -1, -2)


def _square(op, a):
    a = to_box(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2] if a.ndim > 1 else '?'} by "
                           f"{a.shape[-1] if a.ndim else '?'} matrices")
    return _float(op, a)


def _float(op, a):
    a = to_box(a)
    if not is_floating(a.dtype):
        raise RuntimeError(f"linalg.{op}: Expected a floating point tensor as input. Got "
                           f"{a.dtype}")
    if a.ndim < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor A must have at least 2 dimensions.")
    return a


def _rows(packed, start, stop):
    return getitem(packed, (Ellipsis, slice(start, stop), slice(None)))


def _row(packed, i):
    return getitem(packed, (Ellipsis, i, slice(None)))


def _pack(*parts):
    return cat(parts, -2)


def _gaps_inverse(values):
    """F[..., i, j] = 1/(v_j − v_i) off the diagonal, 0 on it."""
    n = values.shape[-1]
    eye = xp.eye(n, dtype=bool)
    gaps = sub(unsqueeze(values, -2), unsqueeze(values, -1))
    with xp.errstate(divide="ignore"):
        return where(eye, xp.zeros((), values.dtype), div(1.0, where(eye, xp.ones(
            (), values.dtype), gaps)))


def _is_zero(t):
    return not t._array.any()


# --- determinants --------------------------------------------------------------------------------
def _adjugate_numpy(a):
    """adj(A) = det(U)·det(V)·V diag(∏_{j≠i} s_j) Uᵀ from A = U diag(s) Vᵀ: finite for singular
    matrices, where det(A)·A⁻¹ is not."""
    u, s, vh = xp.linalg.svd(a)
    n = s.shape[-1]
    ones = xp.ones(s.shape[:-1] + (1,), s.dtype)
    before = xp.cumprod(xp.concatenate([ones, s[..., :n - 1]], -1), -1)
    after = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(s[..., 1:], -1)], -1), -1), -1)
    sign = xp.linalg.det(u) * xp.linalg.det(vh)
    v = xp.swapaxes(vh, -1, -2)
    return sign[..., None, None] * ((v * (before * after)[..., None, :]) @ xp.swapaxes(u, -1, -2))


def _det_cofactors(ans, a):
    """∂det/∂A = adj(A)ᵀ."""
    if is_constant(ans, a):
        return wrap(xp.swapaxes(_adjugate_numpy(a._array), -1, -2).astype(a.dtype, copy=False))
    return mul(unsqueeze(unsqueeze(ans, -1), -1), _t(inv(a)))


_det = Primitive(
    "det", lambda a: xp.linalg.det(a),
    vjp=(lambda g, ans, a: mul(unsqueeze(unsqueeze(g, -1), -1), _det_cofactors(ans, a)),),
    jvp=(lambda t, ans, a: reduce_sum(mul(_det_cofactors(ans, a), t), (-2, -1)),))


def det(A):
    """The determinant of square matrices (batched)."""
    return _det(_square("det", A))


_logabsdet = Primitive(
    "logabsdet", lambda a: xp.linalg.slogdet(a)[1],
    vjp=(lambda g, ans, a: mul(unsqueeze(unsqueeze(g, -1), -1), _t(inv(a))),),
    jvp=(lambda t, ans, a: reduce_sum(mul(_t(inv(a)), t), (-2, -1)),))


def slogdet(A):
    """``(sign, logabsdet)`` of the determinant, computed without overflow."""
    A = _square("slogdet", A)
    sign = wrap(xp.linalg.slogdet(A._array)[0].astype(A.dtype, copy=False))
    return SignLogAbsDet(sign, _logabsdet(A))


# --- symmetric eigendecomposition -----------------------------------------------------------------
def _eigh_impl(a):
    w, v = xp.linalg.eigh(0.5 * (a + xp.swapaxes(a, -1, -2)))
    return xp.concatenate([w[..., None, :], v], -2)


def _eigh_parts(packed):
    n = packed.shape[-1]
    return _row(packed, 0), _rows(packed, 1, n + 1)


def _eigh_vjp(g, ans, a):
    w, v = _eigh_parts(ans)
    gw, gv = _eigh_parts(g)
    inner = diag_embed(gw)
    if not _is_zero(gv):
        inner = add(inner, mul(_gaps_inverse(w), matmul(_t(v), gv)))
    return _symmetric(matmul(matmul(v, inner), _t(v)))


def _eigh_jvp(t, ans, a):
    w, v = _eigh_parts(ans)
    p = matmul(matmul(_t(v), _symmetric(t)), v)
    dv = matmul(v, mul(_gaps_inverse(w), p))
    return _pack(unsqueeze(diagonal(p, 0, -2, -1), -2), dv)


_eigh = Primitive("eigh", _eigh_impl, vjp=(_eigh_vjp,), jvp=(_eigh_jvp,))


def _check_uplo(uplo):
    if uplo not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo}")


def eigh(A, UPLO="L"):  # noqa: N803 - torch's argument name
    """``(eigenvalues, eigenvectors)`` of symmetric matrices, eigenvalues ascending. The
    symmetric part ½(A + Aᵀ) is read (for a symmetric A, the matrix torch reads from one
    triangle)."""
    _check_uplo(UPLO)
    w, v = _eigh_parts(_eigh(_square("eigh", A)))
    return Eigh(w, v)


def eigvalsh(A, UPLO="L"):  # noqa: N803 - torch's argument name
    """The eigenvalues of symmetric matrices, ascending."""
    return eigh(A, UPLO).eigenvalues


# --- singular value decomposition --------------------------------------------------------------
def _svd_impl(a):
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    return xp.concatenate([u, s[..., None, :], xp.swapaxes(vh, -1, -2)], -2)


def _svd_parts(packed, m):
    total = packed.shape[-2]
    return _rows(packed, 0, m), _row(packed, m), _rows(packed, m + 1, total)


def _svd_vjp(g, ans, a):
    m, n = a.shape[-2:]
    u, s, v = _svd_parts(ans, m)
    gu, gs, gv = _svd_parts(g, m)
    inner = diag_embed(gs)
    out = None
    if not (_is_zero(gu) and _is_zero(gv)):
        f = _gaps_inverse(mul(s, s))
        j, k = mul(f, matmul(_t(u), gu)), mul(f, matmul(_t(v), gv))
        inner = add(inner, add(mul(add(j, _t(j)), unsqueeze(s, -2)),
                               mul(unsqueeze(s, -1), add(k, _t(k)))))
        inverse_s = div(1.0, s)
        if m > s.shape[-1]:  # (I − UUᵀ) Ū S⁻¹ Vᵀ
            left = sub(gu, matmul(u, matmul(_t(u), gu)))
            out = matmul(mul(left, unsqueeze(inverse_s, -2)), _t(v))
        if n > s.shape[-1]:  # U S⁻¹ V̄ᵀ (I − VVᵀ)
            right = _t(sub(gv, matmul(v, matmul(_t(v), gv))))
            term = matmul(mul(u, unsqueeze(inverse_s, -2)), right)
            out = term if out is None else add(out, term)
    core = matmul(matmul(u, inner), _t(v))
    return core if out is None else add(core, out)


def _svd_jvp(t, ans, a):
    m, n = a.shape[-2:]
    u, s, v = _svd_parts(ans, m)
    p = matmul(matmul(_t(u), t), v)
    f = _gaps_inverse(mul(s, s))
    row_s, col_s = unsqueeze(s, -2), unsqueeze(s, -1)
    du = matmul(u, mul(f, add(mul(p, row_s), mul(col_s, _t(p)))))
    dv = matmul(v, mul(f, add(mul(col_s, p), mul(_t(p), row_s))))
    inverse_s = unsqueeze(div(1.0, s), -2)
    if m > s.shape[-1]:
        spill = matmul(t, v)
        du = add(du, mul(sub(spill, matmul(u, matmul(_t(u), spill))), inverse_s))
    if n > s.shape[-1]:
        spill = matmul(_t(t), u)
        dv = add(dv, mul(sub(spill, matmul(v, matmul(_t(v), spill))), inverse_s))
    return _pack(du, unsqueeze(diagonal(p, 0, -2, -1), -2), dv)


_svd = Primitive("svd", _svd_impl, vjp=(_svd_vjp,), jvp=(_svd_jvp,))


def svd(A, full_matrices=True, *, driver=None):
    """``(U, S, Vh)`` with A = U diag(S) Vh (``torch.linalg.svd``). Gradients need
    ``full_matrices=False`` (or a square A), as in torch."""
    A = _float("svd", A)
    if driver is not None:
        raise RuntimeError(f"torch.linalg.svd: keyword argument `driver=` is only supported on "
                           f"CUDA inputs with cuSOLVER backend, got driver={driver!r}")
    m, n = A.shape[-2:]
    if full_matrices and m != n:
        if not is_constant(A):
            raise NotImplementedError(
                "linalg.svd: gradients with full_matrices=True of a non-square matrix are not "
                "supported (the completed basis is not unique; torch refuses them too); pass "
                "full_matrices=False")
        u, s, vh = xp.linalg.svd(A._array, full_matrices=True)
        return SVD(wrap(u), wrap(s), wrap(vh))
    u, s, v = _svd_parts(_svd(A), m)
    return SVD(u, s, _t(v))


def svdvals(A, *, driver=None):
    """The singular values, descending."""
    return svd(A, full_matrices=False, driver=driver).S


# --- QR -------------------------------------------------------------------------------------------
def _qr_impl(a):
    q, r = xp.linalg.qr(a, mode="reduced")
    return xp.concatenate([q, r], -2)


def _solve_right_transposed(x, r):
    """x R⁻ᵀ, as (R⁻¹ xᵀ)ᵀ."""
    return _t(solve(r, _t(x)))


def _qr_vjp(g, ans, a):
    m = a.shape[-2]
    q, r = _rows(ans, 0, m), _rows(ans, m, ans.shape[-2])
    gq, gr = _rows(g, 0, m), _rows(g, m, g.shape[-2])
    big_m = sub(matmul(gr, _t(r)), matmul(_t(q), gq))
    n_mat = add(triu(big_m), tril(_t(big_m), -1))
    return _solve_right_transposed(add(gq, matmul(q, n_mat)), r)


def _qr_jvp(t, ans, a):
    m = a.shape[-2]
    q, r = _rows(ans, 0, m), _rows(ans, m, ans.shape[-2])
    t_r_inv = _t(solve(_t(r), _t(t)))                    # Ȧ R⁻¹
    x = matmul(_t(q), t_r_inv)
    lower = tril(x, -1)
    upper_part = sub(x, sub(lower, _t(lower)))            # X − Ω
    return _pack(sub(t_r_inv, matmul(q, upper_part)), matmul(upper_part, r))


_qr = Primitive("qr", _qr_impl, vjp=(_qr_vjp,), jvp=(_qr_jvp,))


def _qr_tall(a):
    m = a.shape[-2]
    packed = _qr(a)
    return _rows(packed, 0, m), _rows(packed, m, packed.shape[-2])


def qr(A, mode="reduced"):
    """``(Q, R)`` with A = QR, Q with orthonormal columns and R upper triangular.
    ``mode='complete'`` gives a square Q; ``mode='r'`` only R (Q empty)."""
    A = _float("qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    m, n = A.shape[-2:]
    if mode == "complete" and m > n:
        if not is_constant(A):
            raise NotImplementedError(
                "linalg.qr: gradients with mode='complete' of a tall matrix are not supported "
                "(the completed basis is not unique; torch refuses them too)")
        q, r = xp.linalg.qr(A._array, mode="complete")
        return QR(wrap(q), wrap(r))
    if m >= n:
        q, r = _qr_tall(A)
    else:  # A = [X Y]: Q R₁ = qr(X), R₂ = Qᵀ Y
        left = getitem(A, (Ellipsis, slice(None), slice(0, m)))
        rest = getitem(A, (Ellipsis, slice(None), slice(m, n)))
        q, r1 = _qr_tall(left)
        r = cat([r1, matmul(_t(q), rest)], -1)
    if mode == "r":
        return QR(wrap(xp.zeros((0,), A.dtype)), r)
    return QR(q, r)


# --- pseudo-inverse, least squares, rank ----------------------------------------------------------
def _cutoff(s, atol, rtol, shape):
    """torch's tolerance: max(atol, rtol·σ₁), rtol = eps·max(m, n) when neither is given."""
    if atol is None and rtol is None:
        rtol = xp.finfo(s.dtype).eps * builtins.max(shape[-2:])
    atol = 0.0 if atol is None else atol
    rtol = 0.0 if rtol is None else rtol
    largest = s.max(-1, keepdims=True, initial=0.0)
    return xp.maximum(atol, rtol * largest)


def _pinv_impl(a, atol, rtol):
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    keep = s > _cutoff(s, atol, rtol, a.shape)
    inverse = xp.where(keep, 1.0 / xp.where(keep, s, 1.0), 0.0).astype(a.dtype, copy=False)
    return xp.swapaxes(vh, -1, -2) @ (inverse[..., None] * xp.swapaxes(u, -1, -2))


def _eye_like(n, dtype):
    return wrap(xp.eye(n, dtype=dtype))


def _pinv_vjp(g, ans, a, atol, rtol):
    m, n = a.shape[-2:]
    p, pt, gt = ans, _t(ans), _t(g)
    first = neg(matmul(matmul(pt, g), pt))
    second = matmul(matmul(sub(_eye_like(m, a.dtype), matmul(a, p)), gt), matmul(p, pt))
    third = matmul(matmul(matmul(pt, p), gt), sub(_eye_like(n, a.dtype), matmul(p, a)))
    return add(add(first, second), third)


def _pinv_jvp(t, ans, a, atol, rtol):
    m, n = a.shape[-2:]
    p, pt, tt = ans, _t(ans), _t(t)
    first = neg(matmul(matmul(p, t), p))
    second = matmul(matmul(matmul(p, pt), tt), sub(_eye_like(m, a.dtype), matmul(a, p)))
    third = matmul(matmul(sub(_eye_like(n, a.dtype), matmul(p, a)), tt), matmul(pt, p))
    return add(add(first, second), third)


_pinv = Primitive("pinv", _pinv_impl, vjp=(_pinv_vjp,), jvp=(_pinv_jvp,))


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse; singular values at or below max(atol, rtol·σ₁) count as
    zero."""
    A = _float("pinv", A)
    for name, value in (("atol", atol), ("rtol", rtol)):
        if isinstance(value, Box):
            raise TypeError(f"linalg.pinv: {name} as a Tensor is not supported; pass a float")
    return _pinv(A, atol=atol, rtol=rtol)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """How many singular values exceed max(atol, rtol·σ₁)."""
    A = _float("matrix_rank", A)
    s = xp.linalg.svd(A._array, compute_uv=False)
    return wrap((s > _cutoff(s, atol, rtol, A.shape)).sum(-1).astype(xp.int64))


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, *, driver=None):
    """``(solution, residuals, rank, singular_values)``: X minimising ‖AX − B‖ (the minimum-norm
    one), differentiable in A and B. As with torch's default driver ``'gelsy'``, residuals and
    singular values are empty; ``'gelsd'``/``'gelss'`` fill them."""
    A, B = _float("lstsq", A), to_box(B)
    if driver is not None and driver not in _DRIVERS:
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of "
                           f"{_DRIVERS}, got {driver!r}")
    vector = B.ndim == A.ndim - 1
    matrix_b = unsqueeze(B, -1) if vector else B
    if matrix_b.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2), "
                           f"got {A.shape[-2]} and {matrix_b.shape[-2]}")
    solution = matmul(pinv(A, rtol=rcond), matrix_b)
    empty = wrap(xp.zeros((0,), A.dtype))
    rank = matrix_rank(A, rtol=rcond)
    residuals, singular_values = empty, empty
    if driver in ("gelsd", "gelss"):
        singular_values = wrap(xp.linalg.svd(A._array, compute_uv=False))
        m, n = A.shape[-2:]
        if m > n and bool((rank._array == n).all()):
            misfit = sub(matmul(A, solution), matrix_b)
            residuals = reduce_sum(mul(misfit, misfit), -2)
    if vector:
        solution = squeeze(solution, -1)
    return Lstsq(solution, residuals, rank, singular_values)


# --- norms -----------------------------------------------------------------------------------
def _with_dtype(x, dtype):
    dtype = to_dtype(dtype)
    return x if dtype is None or dtype == x.dtype else astype(x, dtype)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 - torch's name
    """The ``ord``-norm of the entries over ``dim`` (all of them by default, as one vector); the
    2-norm's gradient at zero is zero, as in torch."""
    x = _with_dtype(to_box(x), dtype)
    if not is_floating(x.dtype):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {x.dtype}")
    axis = normalize_axis(dim, x.ndim)
    size = absolute(x)
    if ord == 2:
        return _std_from_var(reduce_sum(mul(x, x), axis, keepdim))
    if ord in (float("inf"), "inf"):
        return amax(size, axis, keepdim)
    if ord in (float("-inf"), "-inf"):
        return amin(size, axis, keepdim)
    if ord == 0:
        return reduce_sum(astype(wrap(x._array != 0), x.dtype), axis, keepdim)
    if ord == 1:
        return reduce_sum(size, axis, keepdim)
    return power(reduce_sum(power(size, ord), axis, keepdim), 1.0 / ord)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """A matrix norm over the two dimensions ``dim``: ``'fro'``, ``'nuc'``, ±1 (column sums),
    ±2 (singular values), ±inf (row sums)."""
    A = _with_dtype(_float("matrix_norm", A), dtype)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    rows, cols = (d % A.ndim for d in dim)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({rows}, {cols})")
    if ord == "fro":
        return vector_norm(A, 2, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        moved = movedim(A, (rows, cols), (-2, -1))
        s = svdvals(moved)
        out = {"nuc": reduce_sum, 2: amax, -2: amin}[ord](s, -1)
        if keepdim:
            for d in sorted((rows, cols)):
                out = unsqueeze(out, d)
        return out
    sums = {1: rows, -1: rows, float("inf"): cols, float("-inf"): cols}
    if ord not in sums:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    summed = reduce_sum(absolute(A), sums[ord], True)
    other = cols if sums[ord] == rows else rows
    out = (amax if ord > 0 else amin)(summed, other, True)
    return out if keepdim else reshape(out, tuple(n for i, n in enumerate(A.shape)
                                                  if i not in (rows, cols)))


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 - torch's name
    """``torch.linalg.norm``: a vector norm (1-D input or one ``dim``) or a matrix norm (2-D
    input or two ``dim``\\ s); without ``ord`` and ``dim``, the 2-norm of all entries."""
    A = to_box(A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D "
                       f"or 2D. Got {A.ndim}D.")


# --- torch's older names ----------------------------------------------------------------------
def svd_uv(input, some=True, compute_uv=True):
    """``torch.svd``: ``(U, S, V)`` (V, not Vᵀ), reduced unless ``some=False``; without
    ``compute_uv``, U and V are zeros, as in torch."""
    U, S, Vh = svd(input, full_matrices=not some)
    if not compute_uv:
        return (wrap(xp.zeros(U.shape, U.dtype)), S, wrap(xp.zeros(Vh.shape[:-2] + (
            Vh.shape[-1], Vh.shape[-2]), Vh.dtype)))
    return U, S, _t(Vh)


def qr_reduced(input, some=True):
    """``torch.qr``: reduced unless ``some=False``."""
    return qr(input, "reduced" if some else "complete")


def pinverse(input, rcond=1e-15):
    """``torch.pinverse``: :func:`pinv` with a relative cutoff ``rcond``."""
    return pinv(input, rtol=rcond)


def cholesky_factor(input, upper=False):
    """``torch.cholesky`` / ``Tensor.cholesky``: the lower (or upper) Cholesky factor."""
    factor = cholesky(input)
    return _t(factor) if upper else factor
