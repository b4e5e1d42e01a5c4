"""Special functions: ``lgamma``, ``digamma``, ``polygamma``, ``erfinv``, ``gammainc``,
``cholesky``, and the implicit reparameterisation of Gamma and Dirichlet samples.

Likelihoods of the Gamma, Beta, Poisson and Student-t families contain ``log Γ``. Its derivatives
form a ladder: d/dx lgamma = digamma (ψ), d/dx ψ = ψ⁽¹⁾ (trigamma), d/dx ψ⁽ⁿ⁾ = ψ⁽ⁿ⁺¹⁾. So the three
primitives below only need SciPy for their *forward* values; each derivative rule calls the next
rung of the ladder, which is itself a primitive, so Hessians (and any higher derivative) of a
log-likelihood come out exact rather than by finite differences.

>>> import numpy as np
>>> import torchsorflow as tsf
>>> from torchsorflow.func import grad
>>> from torchsorflow.ops.special import lgamma, digamma
>>> x = tsf.tensor(np.array([1.0, 5.0]))
>>> lgamma(x)  # log 0! and log 4!
tensor([0.        , 3.17805383], dtype=float64)
>>> bool(np.allclose(grad(lambda x: lgamma(x).sum())(x).numpy(), digamma(x).numpy()))
True
"""
from __future__ import annotations

import math

import scipy.special

from .. import backend
from ..autodiff.tracer import Primitive, is_constant, to_box, wrap
from ..backend import xp
from .creation import default_generator
from .elementwise import add, elementwise, exp, greater, log, mul, sub, where
from .linalg import matmul, solve
from .reductions import sum as reduce_sum
from .shape import astype, broadcast_to, swapaxes

__all__ = ["lgamma", "digamma", "polygamma", "erfinv", "gammainc", "cholesky", "standard_gamma",
           "standard_gamma_grad", "sample_dirichlet", "dirichlet_grad"]


def _same_dtype(impl):
    """SciPy may compute in float64; hand back the input's dtype like every other primitive."""
    def forward(x, **params):
        return xp.asarray(impl(x, **params)).astype(x.dtype, copy=False)
    return forward


def _polygamma_impl(x, n):
    return scipy.special.polygamma(n, x)


_polygamma = elementwise("polygamma", _same_dtype(_polygamma_impl),
                         lambda ans, x, n: _polygamma(x, n=n + 1))
_digamma = elementwise("digamma", _same_dtype(scipy.special.psi),
                       lambda ans, x: _polygamma(x, n=1))
_lgamma = elementwise("lgamma", _same_dtype(scipy.special.gammaln), lambda ans, x: _digamma(x))


def _floating(x):
    """Integer input gives a floating result, as in ``torch.lgamma(torch.tensor([3]))``."""
    x = to_box(x)
    if not backend.is_floating(x.dtype):
        x = astype(x, backend.default_float)
    return x


def lgamma(x):
    """log |Γ(x)|, element-wise (``torch.lgamma``, ``scipy.special.gammaln``); derivative ψ(x)."""
    return _lgamma(_floating(x))


def digamma(x):
    """ψ(x) = d/dx log Γ(x), element-wise (``torch.digamma``); derivative ψ⁽¹⁾(x)."""
    return _digamma(_floating(x))


def polygamma(n, x):
    """ψ⁽ⁿ⁾(x), the n-th derivative of ψ, element-wise (``torch.polygamma(n, x)``).

    >>> import torchsorflow as tsf
    >>> from torchsorflow.ops.special import polygamma
    >>> round(polygamma(1, tsf.tensor(1.0)).item(), 6)  # trigamma(1) = π²/6
    1.644934
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"polygamma: the order n must be a non-negative int, got {n!r}")
    x = _floating(x)
    return _digamma(x) if n == 0 else _polygamma(x, n=n)


# --- erfinv: the quantile function of a Normal is loc + scale·√2·erfinv(2p − 1) ---------------
# d/dx erfinv(x) = (√π / 2) exp(erfinv(x)²): the rule reuses the answer, like exp's.
_HALF_SQRT_PI = math.sqrt(math.pi) / 2


def _erfinv_slope(ans):
    return mul(_HALF_SQRT_PI, exp(mul(ans, ans)))


_erfinv = elementwise("erfinv", _same_dtype(scipy.special.erfinv),
                      lambda ans, x: _erfinv_slope(ans))


def erfinv(x):
    """The inverse error function, element-wise (``torch.erfinv``); ±inf at ±1.

    >>> import torchsorflow as tsf
    >>> from torchsorflow.ops.special import erfinv
    >>> round(erfinv(tsf.tensor(0.5, dtype="float64")).item(), 6)
    0.476936
    """
    return _erfinv(_floating(x))


# --- the regularised lower incomplete gamma function P(a, x) (Gamma's CDF) ---------------------
def _not_implemented(what):
    def rule(*args, **params):
        raise NotImplementedError(f"{what} is not implemented (PyTorch does not implement it "
                                  "either)")
    return rule


def _gamma_density(a, x):
    """x^(a−1) e^(−x) / Γ(a) = ∂P(a, x)/∂x, with primitives (log x read as 0 at x = 0)."""
    positive = greater(x, 0)
    log_x = log(where(positive, x, 1.0))
    return where(positive, exp(sub(sub(mul(sub(a, 1), log_x), x), _lgamma(a))), 0.0)


_gammainc = elementwise(
    "gammainc", lambda a, x: xp.asarray(scipy.special.gammainc(a, x)).astype(
        xp.result_type(a, x), copy=False),
    _not_implemented("the derivative of gammainc(a, x) with respect to a"),
    lambda ans, a, x: _gamma_density(a, x))


def gammainc(a, x):
    """The regularised lower incomplete gamma function P(a, x) (``torch.special.gammainc``),
    differentiable in ``x``; its derivative in ``a`` is not implemented, as in PyTorch.

    >>> import torchsorflow as tsf
    >>> from torchsorflow.ops.special import gammainc
    >>> round(gammainc(tsf.tensor(1.0, dtype="float64"), tsf.tensor(2.0, dtype="float64")).item(), 6)
    0.864665
    """
    a, x = _floating(a), _floating(x)
    return _gammainc(a, x)


# --- Cholesky factor (MultivariateNormal from a covariance or precision matrix) ---------------
# L = chol(A). Differentiating A = LLᵀ gives L⁻¹ dA L⁻ᵀ = L⁻¹dL + (L⁻¹dL)ᵀ, whose lower triangle
# with a halved diagonal, Φ(·), is L⁻¹dL: so dL = L Φ(L⁻¹ dA L⁻ᵀ) (Murray, 2016), and the
# adjoint is Ā = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹. The forward reads ½(A + Aᵀ), so a perturbation of A acts
# through its symmetric part and both rules symmetrise; the gradient is then symmetric, as
# ``torch.linalg.cholesky``'s is.
def _phi(n, dtype):
    return wrap((xp.tril(xp.ones((n, n))) - 0.5 * xp.eye(n)).astype(dtype))


def _symmetric(a):
    return mul(add(a, swapaxes(a, -1, -2)), 0.5)


def _cholesky_impl(a):
    try:
        return xp.linalg.cholesky(0.5 * (a + xp.swapaxes(a, -1, -2)))
    except xp.linalg.LinAlgError:
        raise ValueError("cholesky: the input is not positive-definite") from None


def _cholesky_jvp(t, ans, a):
    inner = solve(ans, swapaxes(solve(ans, _symmetric(t)), -1, -2))  # L⁻¹ Ȧ L⁻ᵀ
    return matmul(ans, mul(inner, _phi(ans.shape[-1], ans.dtype)))


def _cholesky_vjp_numpy(g, factor):
    """The same adjoint in NumPy, for a plain backward() that will not be differentiated again."""
    lt = xp.swapaxes(factor, -1, -2)
    middle = (lt @ g) * _phi(factor.shape[-1], factor.dtype)._array
    left = xp.linalg.solve(lt, middle)
    adjoint = xp.swapaxes(xp.linalg.solve(lt, xp.swapaxes(left, -1, -2)), -1, -2)
    return 0.5 * (adjoint + xp.swapaxes(adjoint, -1, -2))


def _cholesky_vjp(g, ans, a):
    if is_constant(g, ans):
        return wrap(_cholesky_vjp_numpy(g._array, ans._array).astype(ans.dtype))
    lt = swapaxes(ans, -1, -2)
    middle = mul(matmul(lt, g), _phi(ans.shape[-1], ans.dtype))  # Φ(Lᵀ L̄)
    left = solve(lt, middle)                                       # L⁻ᵀ Φ(Lᵀ L̄)
    return _symmetric(swapaxes(solve(lt, swapaxes(left, -1, -2)), -1, -2))


_cholesky = Primitive("cholesky", _cholesky_impl, vjp=(_cholesky_vjp,), jvp=(_cholesky_jvp,))


def cholesky(a):
    """The lower Cholesky factor L with A = LLᵀ (``torch.linalg.cholesky``), batched over the
    leading dimensions and differentiable to any order.

    >>> import numpy as np
    >>> import torchsorflow as tsf
    >>> from torchsorflow.ops.special import cholesky
    >>> cholesky(tsf.tensor(np.array([[4.0, 2.0], [2.0, 2.0]])))
    tensor([[2., 0.],
            [1., 1.]], dtype=float64)
    """
    a = _floating(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"cholesky: expected square matrices, got shape {a.shape}")
    return _cholesky(a)


# --- implicit reparameterisation: Gamma and Dirichlet samples differentiable in their shape ---
# A sample x with CDF F(x; a) moves with a as the quantile at fixed F does:
# dx/da = −(∂F/∂a) / p(x; a). SciPy gives F to full precision but not ∂F/∂a, so that partial is
# taken by a central difference of log F in a, with a step of 1e-5 of the scale min(a, √a) on
# which F varies. F is the lower tail unless that exceeds 0.9: the upper tail then keeps the
# relative accuracy that 1 − F would lose (and SciPy's upper tails cost up to ten times more, so
# they are only evaluated there). The slopes agree with arbitrary-precision derivatives to about
# 1e-9 (PyTorch's approximations: 1e-3 to 1e-5). Samples and slopes are float64.
def _quantile_slope(lower, upper, log_density, a, x, *args):
    """dx/da = −∂F/∂a / p for F = ``lower`` (or 1 − ``upper`` in the far upper tail)."""
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tail = lower(a, x, *args)
        use_upper = tail > 0.9
        slope = xp.empty_like(tail)
        for chosen, fn, sign in ((~use_upper, lower, -1.0), (use_upper, upper, 1.0)):
            if not xp.any(chosen):
                continue
            a_c, x_c, rest = a[chosen], x[chosen], [r[chosen] for r in args]
            if fn is upper:
                tail[chosen] = upper(a_c, x_c, *rest)
            h = 1e-5 * xp.minimum(a_c, xp.sqrt(a_c))
            slope[chosen] = sign * (xp.log(fn(a_c + h, x_c, *rest))
                                    - xp.log(fn(a_c - h, x_c, *rest))) / (2 * h)
        return slope * xp.exp(xp.log(tail) - log_density(a, x, *args))


def _gamma_log_density(a, x):
    return (a - 1) * xp.log(x) - x - scipy.special.gammaln(a)


def _standard_gamma_grad_impl(a, x):
    a64, x64 = xp.asarray(a, xp.float64), xp.asarray(x, xp.float64)
    a64, x64 = xp.broadcast_arrays(a64, x64)
    slope = _quantile_slope(scipy.special.gammainc, scipy.special.gammaincc, _gamma_log_density,
                            a64, x64)
    # Where P(a, x) underflows (x far below the bulk), P ≈ xᵃ/Γ(a+1) gives the limit below.
    small = ~xp.isfinite(slope)
    if xp.any(small):
        a_s, x_s = a64[small], x64[small]
        slope[small] = -(xp.log(x_s) - scipy.special.digamma(a_s + 1)) * x_s / a_s
    return slope.astype(xp.result_type(a, x), copy=False)


_standard_gamma_grad = Primitive(
    "standard_gamma_grad", _standard_gamma_grad_impl,
    vjp=(_not_implemented("a second derivative of a Gamma sample in its concentration"),) * 2,
    symmetric=True)

# The value is the drawn sample x; the concentration a enters only through its slope dx/da.
_standard_gamma = elementwise("standard_gamma", lambda a, x: x,
                              lambda ans, a, x: _standard_gamma_grad(a, ans), None)


def _numpy_rng(generator):
    if generator is None:
        return default_generator.rng
    return getattr(generator, "rng", generator)


def _tiny(dtype):
    return xp.finfo(dtype).tiny


def standard_gamma_grad(concentration, x):
    """dx/dα of a Gamma(α, 1) sample x, the slope its reparameterised gradient uses
    (``torch._standard_gamma_grad``)."""
    return _standard_gamma_grad(_floating(concentration), _floating(x))


def standard_gamma(concentration, generator=None):
    """Gamma(concentration, 1) samples of the concentration's shape, differentiable in it by
    implicit reparameterisation (``torch._standard_gamma``). Samples are clamped below at the
    smallest normal number, as in PyTorch, so their logarithm is finite.

    >>> import numpy as np
    >>> import torchsorflow as tsf
    >>> from torchsorflow.func import grad
    >>> alpha = tsf.tensor(np.full(20000, 3.0))
    >>> g = grad(lambda a: standard_gamma(a, np.random.default_rng(0)).sum())(alpha)
    >>> round(float(g.numpy().mean()), 1)    # d E[x] / dα = 1
    1.0
    """
    concentration = _floating(concentration)
    array = concentration._array
    draws = _numpy_rng(generator).standard_gamma(array.astype(xp.float64))
    draws = xp.maximum(draws.astype(array.dtype), _tiny(array.dtype))
    return _standard_gamma(concentration, wrap(draws))


def _beta_log_density(a, x, b):
    return (a - 1) * xp.log(x) + (b - 1) * xp.log1p(-x) - scipy.special.betaln(a, b)


def _betainc(a, x, b):
    return scipy.special.betainc(a, b, x)


def _betaincc(a, x, b):
    return scipy.special.betainc(b, a, 1 - x)  # far faster than betaincc, and as accurate here


def _dirichlet_grad_impl(x, alpha, total):
    """PyTorch's convention: ∂x_i/∂α_i of the Beta(α_i, total − α_i) marginal, over 1 − x_i.

    Raising α_i with the others fixed moves x_i as that Beta quantile moves, and scales the other
    coordinates by (1 − x_i) so the point stays on the simplex: dx_j/dα_i = D_i (δ_ij − x_j)."""
    x64, a64, t64 = (xp.asarray(v, xp.float64) for v in (x, alpha, total))
    x64, a64, t64 = xp.broadcast_arrays(x64, a64, t64)
    slope = _quantile_slope(_betainc, _betaincc, _beta_log_density, a64, x64, t64 - a64)
    with xp.errstate(divide="ignore", invalid="ignore"):
        result = xp.where(x64 < 1, slope / (1 - x64), 0.0)
    return result.astype(xp.result_type(x, alpha), copy=False)


_dirichlet_grad = Primitive(
    "dirichlet_grad", _dirichlet_grad_impl,
    vjp=(_not_implemented("a second derivative of a Dirichlet sample in its concentration"),) * 3,
    symmetric=True)


def _dirichlet_slopes(ans, alpha):
    total = broadcast_to(reduce_sum(alpha, -1, True), alpha.shape)
    return _dirichlet_grad(ans, alpha, total)


def _dirichlet_vjp(g, ans, alpha, x):
    # ᾱ_i = Σ_j g_j D_i (δ_ij − x_j) = D_i (g_i − Σ_j x_j g_j)
    return mul(_dirichlet_slopes(ans, alpha), sub(g, reduce_sum(mul(ans, g), -1, True)))


def _dirichlet_jvp(t, ans, alpha, x):
    # ẋ_j = Σ_i D_i t_i (δ_ij − x_j) = u_j − x_j Σ_i u_i with u = D t
    u = mul(_dirichlet_slopes(ans, alpha), t)
    return sub(u, mul(ans, reduce_sum(u, -1, True)))


_sample_dirichlet = Primitive("sample_dirichlet", lambda alpha, x: x,
                              vjp=(_dirichlet_vjp, None), jvp=(_dirichlet_jvp, None))


def dirichlet_grad(x, concentration, total):
    """The slopes D with dx_j/dα_i = D_i (δ_ij − x_j) for a Dirichlet sample x
    (``torch._dirichlet_grad(x, concentration, total)``)."""
    return _dirichlet_grad(_floating(x), _floating(concentration), _floating(total))


def sample_dirichlet(concentration, generator=None):
    """Dirichlet samples, one per row of the last axis of ``concentration``, as normalised Gamma
    draws, differentiable in the concentration by implicit reparameterisation
    (``torch._sample_dirichlet``)."""
    concentration = _floating(concentration)
    array = concentration._array
    gammas = _numpy_rng(generator).standard_gamma(array.astype(xp.float64))
    gammas = xp.maximum(gammas, _tiny(xp.float64))  # tiny concentrations underflow to 0
    draws = gammas / gammas.sum(-1, keepdims=True)
    draws = xp.clip(draws.astype(array.dtype), _tiny(array.dtype), 1 - xp.finfo(array.dtype).epsneg)
    return _sample_dirichlet(concentration, wrap(draws))
