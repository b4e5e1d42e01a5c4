"""Gamma, Beta and Dirichlet: shape parameters, log Γ, and samples differentiable in the shape.

A Gamma sample is not a smooth function of (α, noise) that one could write down, so ``rsample``
uses implicit reparameterisation, as PyTorch does: the draw x moves with α as its quantile at fixed
probability does, dx/dα = −(∂F/∂α)/p(x) (:func:`torchsorflow.ops.special.standard_gamma`). Beta is
the first coordinate of a two-component Dirichlet, and a Dirichlet sample moves by the same rule
applied to its Beta marginals (:func:`torchsorflow.ops.special.sample_dirichlet`).

Fitting: Gamma and Beta have no closed-form estimator; their log-likelihoods depend on the data
only through mean(x), mean(log x) (and mean(log(1 − x))), so each Newton step costs O(1) whatever
N is, and the Hessian (with ψ′ from :mod:`torchsorflow.ops.special`) is exact.

>>> import torchsorflow as tsf
>>> from torchsorflow.distributions import Gamma
>>> alpha = tsf.tensor(2.0, dtype="float64", requires_grad=True)
>>> Gamma(alpha, 1.0).rsample((40000,), seed=0).mean().backward()   # d E[x] / dα = 1/rate
>>> round(alpha.grad.item(), 2)
1.0
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..ops.special import digamma, gammainc, lgamma, sample_dirichlet, standard_gamma
from . import constraints
from .distribution import Distribution
from .likelihood import constant_value, degenerate
from .utils import broadcast_all, xlogy


def _log_beta(a, b):
    return lgamma(a) + lgamma(b) - lgamma(a + b)


def _dirichlet_mode(concentration):
    """(α − 1)⁺ normalised. Where every αᵢ < 1 the density is unbounded at every vertex; like
    PyTorch we then return the first vertex."""
    excess = ops.clamp(concentration - 1, 0, None)
    total = excess.sum(-1, True)
    interior = excess / ops.where(total > 0, total, 1.0)
    all_below = np.all(concentration._array < 1, axis=-1, keepdims=True)
    first = (np.arange(concentration.shape[-1]) == 0).astype(interior.dtype)
    return ops.where(all_below, first, interior)


def _xlog1my(x, v):
    """x·log(1 − v), taken as 0 where x = 0."""
    return x * ops.log1p(-ops.where(ops.equal(x, 0), 0.0, v))


class Gamma(Distribution):
    """Density βᵅ x^(α−1) e^(−βx) / Γ(α) on x > 0 (``torch.distributions.Gamma(concentration,
    rate)``; ``scipy.stats.gamma`` with a = α, loc = 0, scale = 1/β).

    No closed form for α: fitted numerically from mean(x) and mean(log x).
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    fit_constraints = arg_constraints
    fit_support = constraints.positive

    def __init__(self, concentration=1.0, rate=1.0, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ops.clamp((self.concentration - 1) / self.rate, 0, None)

    @property
    def variance(self):
        return self.concentration / self.rate ** 2

    def _rsample(self, shape, rng):
        return standard_gamma(ops.broadcast_to(self.concentration, shape), rng) / self.rate

    def _log_prob(self, value):
        a, b = self.concentration, self.rate
        return xlogy(a, b) + xlogy(a - 1, value) - b * value - lgamma(a)

    def _cdf(self, value):
        return gammainc(self.concentration, self.rate * value)

    def entropy(self):
        a = self.concentration
        return a - ops.log(self.rate) + lgamma(a) + (1 - a) * digamma(a)

    # Beyond this concentration the log-likelihood, a difference of terms of size α·log β, is
    # lost to float64 rounding and Newton's steps are noise.
    MAX_CONCENTRATION = 1e12

    @classmethod
    def _statistics(cls, x):
        mean = float(np.mean(x))
        # log mean(x) − mean(log x) ≥ 0, the spread the MLE of α rests on (α ≈ 1/(2·spread) when
        # it is small); taken as −mean(log(x / mean)) with log1p, which keeps its digits for
        # nearly constant data where the plain difference of two logs would be rounding noise.
        spread = float(-np.mean(np.log1p((x - mean) / mean)))
        return {"n": x.shape[0], "mean": mean, "mean_log": float(np.mean(np.log(x))),
                "spread": spread, "constant": constant_value(x)}

    @classmethod
    def _check_degenerate(cls, stats):
        super()._check_degenerate(stats)
        if stats["spread"] < 0.5 / cls.MAX_CONCENTRATION:
            estimate = 0.5 / stats["spread"] if stats["spread"] > 0 else float("inf")
            raise degenerate(cls.__name__, f"the {stats['n']} observations are nearly constant "
                             f"(log mean(x) − mean(log x) = {stats['spread']:.3g}), so the "
                             f"maximum-likelihood concentration (about {estimate:.3g}) is beyond "
                             f"what float64 can fit (up to about {cls.MAX_CONCENTRATION:.0e}); "
                             "such data are a point mass for any practical purpose")

    @classmethod
    def _loglik(cls, params, stats):
        a, b = params["concentration"], params["rate"]
        per_point = a * ops.log(b) - lgamma(a) + (a - 1) * stats["mean_log"] - b * stats["mean"]
        return stats["n"] * per_point

    @classmethod
    def _initial(cls, stats):
        # Minka's approximation to the root of log α − ψ(α) = log mean(x) − mean(log x).
        s = max(np.log(stats["mean"]) - stats["mean_log"], 1e-12)
        a = (3 - s + np.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
        return np.array([a, a / stats["mean"]])


class Beta(Distribution):
    """Density x^(α−1) (1−x)^(β−1) / B(α, β) on [0, 1] (``torch.distributions.Beta(
    concentration1=α, concentration0=β)``; ``scipy.stats.beta(a, b)``). Fitted numerically from
    the sufficient statistics mean(log x) and mean(log(1 − x)), to data strictly inside (0, 1)."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True
    fit_constraints = arg_constraints
    fit_support = constraints.open_unit_interval

    def __init__(self, concentration1=1.0, concentration0=1.0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    _log_beta = staticmethod(_log_beta)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return _dirichlet_mode(ops.stack([self.concentration1, self.concentration0], -1))[..., 0]

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        return a * b / ((a + b) ** 2 * (a + b + 1))

    def _rsample(self, shape, rng):
        pair = ops.stack([ops.broadcast_to(self.concentration1, shape),
                          ops.broadcast_to(self.concentration0, shape)], -1)
        return sample_dirichlet(pair, rng)[..., 0]

    def _log_prob(self, value):
        a, b = self.concentration1, self.concentration0
        return xlogy(a - 1, value) + _xlog1my(b - 1, value) - _log_beta(a, b)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        total = a + b
        return (_log_beta(a, b) - (a - 1) * digamma(a) - (b - 1) * digamma(b)
                + (total - 2) * digamma(total))

    @classmethod
    def _statistics(cls, x):
        return {"n": x.shape[0], "mean_log": float(np.mean(np.log(x))),
                "mean_log1m": float(np.mean(np.log1p(-x))), "mean": float(np.mean(x)),
                "var": float(np.var(x)), "constant": constant_value(x)}

    @classmethod
    def _loglik(cls, params, stats):
        a, b = params["concentration1"], params["concentration0"]
        per_point = ((a - 1) * stats["mean_log"] + (b - 1) * stats["mean_log1m"]
                     - cls._log_beta(a, b))
        return stats["n"] * per_point

    @classmethod
    def _initial(cls, stats):
        m, v = stats["mean"], stats["var"]
        common = m * (1 - m) / v - 1 if v > 0 else 2.0
        common = common if common > 0 else 2.0
        return np.array([m * common, (1 - m) * common])


class Dirichlet(Distribution):
    """Density Γ(Σα) / ΠΓ(αᵢ) · Π xᵢ^(αᵢ−1) on the probability simplex
    (``torch.distributions.Dirichlet``); the last axis of ``concentration`` is the event.

    >>> import numpy as np
    >>> from torchsorflow.distributions import Dirichlet
    >>> d = Dirichlet(np.array([1.0, 2.0, 3.0]))
    >>> d.mean, d.event_shape
    (tensor([0.16666667, 0.33333333, 0.5       ], dtype=float64), (3,))
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        (concentration,) = broadcast_all(concentration)
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:],
                         validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):
        return _dirichlet_mode(self.concentration)

    @property
    def variance(self):
        total = self.concentration.sum(-1, True)
        return self.concentration * (total - self.concentration) / (total ** 2 * (total + 1))

    def _rsample(self, shape, rng):
        return sample_dirichlet(ops.broadcast_to(self.concentration, shape), rng)

    def _log_prob(self, value):
        a = self.concentration
        return (xlogy(a - 1, value).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1))

    def entropy(self):
        a = self.concentration
        k = a.shape[-1]
        total = a.sum(-1)
        return (lgamma(a).sum(-1) - lgamma(total) - (k - total) * digamma(total)
                - ((a - 1) * digamma(a)).sum(-1))
