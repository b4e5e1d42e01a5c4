"""``kl_divergence(p, q)`` and the ``register_kl`` registry (``torch.distributions.kl``).

KL(p‖q) = E_p[log p(x) − log q(x)], in closed form for the pairs PyTorch implements among this
package's families, each written with framework ops so it is differentiable in both
distributions' parameters. A pair is looked up by the most specific registered pair of base
classes (so a subclass of Normal uses the Normal formula); where two registrations tie, a
``RuntimeWarning`` asks for an explicit one, as in PyTorch. Pairs whose supports make the
divergence infinite (a Normal against a Gamma) return ``inf``.

>>> from torchsorflow.distributions import Normal, kl_divergence
>>> round(kl_divergence(Normal(0.0, 1.0), Normal(1.0, 2.0)).item(), 6)
0.443147
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import ops
from ..ops.nn_ops import erf
from ..ops.special import digamma, lgamma
from ..tensor import Tensor
from .continuous import Exponential, LogNormal, Normal, Uniform
from .discrete import Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson
from .distribution import Distribution
from .gamma import Beta, Dirichlet, Gamma
from .heavy_tailed import Laplace
from .independent import Independent
from .multivariate_normal import MultivariateNormal, _solve_lower
from .utils import sum_rightmost, xlogy

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY = {}  # (type_p, type_q) -> function
_KL_MEMOIZE = {}  # (type(p), type(q)) -> function found for them

EULER_GAMMA = 0.5772156649015329


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as the KL divergence of a pair of classes::

        @register_kl(Normal, Normal)
        def kl_normal_normal(p, q):
            ...
    """
    for name, cls in (("type_p", type_p), ("type_q", type_q)):
        if not (isinstance(cls, type) and issubclass(cls, Distribution)):
            raise TypeError(f"Expected {name} to be a Distribution subclass but got {cls}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        _KL_MEMOIZE.clear()
        return fn

    return decorator


def _dispatch_kl(type_p, type_q):
    """The most specific registered pair: nearest in p's method resolution order, then q's (and
    the same read the other way round, which must agree)."""
    matches = [(p, q) for p, q in _KL_REGISTRY if issubclass(type_p, p) and issubclass(type_q, q)]
    if not matches:
        return NotImplemented
    rank_p = lambda m: type_p.__mro__.index(m[0])  # noqa: E731
    rank_q = lambda m: type_q.__mro__.index(m[1])  # noqa: E731
    left = min(matches, key=lambda m: (rank_p(m), rank_q(m)))
    right = min(matches, key=lambda m: (rank_q(m), rank_p(m)))
    if _KL_REGISTRY[left] is not _KL_REGISTRY[right]:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). Please "
                      f"register_kl({left[0].__name__}, {right[1].__name__})", RuntimeWarning,
                      stacklevel=3)
    return _KL_REGISTRY[left]


def kl_divergence(p, q):
    """KL(p‖q) over the batch (shape ``batch_shape``); ``NotImplementedError`` for a pair without
    a registered formula."""
    key = (type(p), type(q))
    if key not in _KL_MEMOIZE:
        _KL_MEMOIZE[key] = _dispatch_kl(*key)
    fn = _KL_MEMOIZE[key]
    if fn is NotImplemented:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} "
                                  f"and q type {type(q).__name__}")
    return fn(p, q)


def _infinite_where(value, mask):
    return ops.where(mask, np.inf, value)


def _x_log_x(x):
    return xlogy(x, x)


def _mask(condition):
    """A comparison of Tensors as a NumPy mask (the edge cases are not differentiated)."""
    return np.asarray(condition._array if hasattr(condition, "_array") else condition)


# --- the same family -------------------------------------------------------------------------
@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    ones = p.probs * (ops.softplus(-q.logits) - ops.softplus(-p.logits))
    ones = ops.where(_mask(p.probs == 0), 0.0, _infinite_where(ones, _mask(q.probs == 0)))
    zeros = (1 - p.probs) * (ops.softplus(q.logits) - ops.softplus(p.logits))
    zeros = ops.where(_mask(p.probs == 1), 0.0, _infinite_where(zeros, _mask(q.probs == 1)))
    return ones + zeros


def _kl_dirichlet(a, b):
    """KL(Dir(a)‖Dir(b)) with the concentrations along the last axis."""
    a0, b0 = a.sum(-1), b.sum(-1)
    return (lgamma(a0) - lgamma(a).sum(-1) - lgamma(b0) + lgamma(b).sum(-1)
            + ((a - b) * (digamma(a) - ops.unsqueeze(digamma(a0), -1))).sum(-1))


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    return _kl_dirichlet(ops.stack([p.concentration1, p.concentration0], -1),
                         ops.stack([q.concentration1, q.concentration0], -1))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    return _kl_dirichlet(p.concentration, q.concentration)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    if np.any(_mask(p.total_count < q.total_count)):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is "
                                  "not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + ops.log1p(-p.probs)
                          - ops.log1p(-q.probs))
    return _infinite_where(kl, _mask(p.total_count > q.total_count))


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    terms = p.probs * (p.logits - q.logits)
    terms = _infinite_where(terms, _mask(q.probs == 0))
    return ops.where(_mask(p.probs == 0), 0.0, terms).sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - ops.log(ratio) - 1


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    return (q.concentration * ops.log(p.rate / q.rate) + lgamma(q.concentration)
            - lgamma(p.concentration) + (p.concentration - q.concentration) * digamma(p.concentration)
            + (q.rate - p.rate) * (p.concentration / p.rate))


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    ratio = p.scale / q.scale
    distance = ops.abs(p.loc - q.loc)
    return -ops.log(ratio) + distance / q.scale + ratio * ops.exp(-distance / p.scale) - 1


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariatenormal_multivariatenormal(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event "
                         "shapes cannot be computed")
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_log_ratio = q._half_log_det() - p._half_log_det()
    # ‖Lq⁻¹ Lp‖²_F = tr(Σq⁻¹ Σp), solved column by column of Lp.
    whitened = _solve_lower(ops.unsqueeze(lq, -3), lp.mT)
    trace = (whitened * whitened).sum((-2, -1))
    delta = _solve_lower(lq, q.loc - p.loc)
    mahalanobis = (delta * delta).sum(-1)
    kl = half_log_ratio + 0.5 * (trace + mahalanobis - p.event_shape[0])
    return ops.broadcast_to(kl, np.broadcast_shapes(p.batch_shape, q.batch_shape))


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    z = (p.loc - q.loc) / q.scale
    return 0.5 * (var_ratio + z * z - 1 - ops.log(var_ratio))


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)  # KL is invariant under x ↦ log x


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return p.rate * (ops.log(p.rate) - ops.log(q.rate)) - (p.rate - q.rate)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ops.log((q.high - q.low) / (p.high - p.low))
    return _infinite_where(result, _mask((q.low > p.low) | (q.high < p.high)))


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


# --- different families ----------------------------------------------------------------------
@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * ops.log(q.rate) - q.rate)


def _beta_mean(p):
    return p.concentration1 / (p.concentration1 + p.concentration0)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() - ops.log(q.rate) + q.rate * _beta_mean(p)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    expected_log = digamma(p.concentration1) - digamma(p.concentration1 + p.concentration0)
    return (-p.entropy() + lgamma(q.concentration) - q.concentration * ops.log(q.rate)
            - (q.concentration - 1) * expected_log + q.rate * _beta_mean(p))


def _normal_cross_entropy(second_moment_term, q):
    """E_p[−log q(x)] for a Normal q, given E_p[(x − μ_q)²]."""
    return 0.5 * ops.log(2 * math.pi * q.scale ** 2) + 0.5 * second_moment_term / q.scale ** 2


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    mean = _beta_mean(p)
    variance = mean * (1 - mean) / (p.concentration1 + p.concentration0 + 1)
    return -p.entropy() + _normal_cross_entropy(variance + (mean - q.loc) ** 2, q)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    result = -p.entropy() + ops.log(q.high - q.low)
    return _infinite_where(result, _mask((q.low > 0) | (q.high < 1)))


def _kl_infinite(p, q):
    """Infinite where p puts mass outside q's support (for instance a real-valued p against a
    positive q)."""
    shape = np.broadcast_shapes(p.batch_shape, q.batch_shape)
    return Tensor._wrap(np.full(shape, np.inf, dtype=p._dtype))


for _p, _q in [(Exponential, Beta), (Exponential, Uniform), (Gamma, Beta), (Gamma, Uniform),
               (Laplace, Beta), (Laplace, Exponential), (Laplace, Gamma), (Laplace, Uniform),
               (Normal, Beta), (Normal, Exponential), (Normal, Gamma), (Normal, Uniform),
               (Poisson, Bernoulli), (Poisson, Binomial)]:
    register_kl(_p, _q)(_kl_infinite)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    ratio = q.rate / p.rate
    return (-q.concentration * ops.log(ratio) + ratio + lgamma(q.concentration)
            + q.concentration * EULER_GAMMA - (1 + EULER_GAMMA))


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    mean, variance = 1 / p.rate, p.rate ** -2
    return -p.entropy() + _normal_cross_entropy(variance + (mean - q.loc) ** 2, q)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - ops.log(q.rate) + q.rate * p.concentration / p.rate


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    mean, variance = p.concentration / p.rate, p.concentration / p.rate ** 2
    return -p.entropy() + _normal_cross_entropy(variance + (mean - q.loc) ** 2, q)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    return -p.entropy() + _normal_cross_entropy(2 * p.scale ** 2 + (p.loc - q.loc) ** 2, q)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    # E|x − μ_q| for x ~ N(μ_p, σ_p²): the mean of a folded normal.
    d = p.loc - q.loc
    folded = (math.sqrt(2 / math.pi) * p.scale * ops.exp(-0.5 * (d / p.scale) ** 2)
              + d * erf(d / (p.scale * math.sqrt(2))))
    return -p.entropy() + ops.log(2 * q.scale) + folded / q.scale


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    width = p.high - p.low
    a, b = q.concentration1, q.concentration0
    # E[log x] and E[log(1 − x)] under the uniform on [low, high].
    expected_log = (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    expected_log1m = -(_x_log_x(1 - p.high) - _x_log_x(1 - p.low) + width) / width
    log_beta = lgamma(a) + lgamma(b) - lgamma(a + b)
    result = (-ops.log(width) + log_beta - (a - 1) * expected_log - (b - 1) * expected_log1m)
    return _infinite_where(result, _mask((p.high > 1) | (p.low < 0)))


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    result = q.rate * (p.high + p.low) / 2 - ops.log((p.high - p.low) * q.rate)
    return _infinite_where(result, _mask(p.low < 0))


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    width = p.high - p.low
    expected_log = (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    result = (-ops.log(width) + lgamma(q.concentration) - q.concentration * ops.log(q.rate)
              - (q.concentration - 1) * expected_log + q.rate * (p.high + p.low) / 2)
    return _infinite_where(result, _mask(p.low < 0))


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    width = p.high - p.low
    second_moment = width ** 2 / 12 + ((p.high + p.low) / 2 - q.loc) ** 2
    return -ops.log(width) + _normal_cross_entropy(second_moment, q)

