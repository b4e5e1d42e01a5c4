"""Continuous univariate families with sufficient statistics: Normal, LogNormal, Exponential, Gamma
and Beta (Laplace and Student's t are in :mod:`.heavy_tailed`).

Each ``_statistics`` reduces the data to the sums its log-likelihood needs (once, with NumPy) and
each ``_loglik`` is the log-likelihood written in those sums with framework ops, so evaluating it,
its gradient or its Hessian costs the same for 10 or 10⁶ observations. Laplace and Student-t have no
such sums.

>>> from torchsorflow.stats import Exponential, fit
>>> fit(Exponential, [0.5, 1.5, 1.0]).params["rate"]  # the seed's λ̂ = N / Σx = 3 / 3
1.0
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..ops.special import lgamma
from .distribution import (LOG_2PI, Distribution, constant_value, degenerate, nonnegative,
                           positive, real, unit_interval)


# --- the Gaussian pieces shared by Normal and LogNormal ----------------------------------------
def _gaussian_statistics(y):
    """N, the mean and the sum of squared deviations M2 = Σ(y − ȳ)² (centred: no cancellation)."""
    mean = float(np.mean(y))
    return {"n": y.shape[0], "mean": mean, "m2": float(np.sum((y - mean) ** 2)),
            "constant": constant_value(y)}


def _gaussian_loglik(loc, scale, stats):
    """Σ log N(yᵢ | μ, σ) = −N log σ − N/2 log 2π − (M2 + N(ȳ − μ)²) / 2σ²."""
    n = stats["n"]
    squares = stats["m2"] + n * (stats["mean"] - loc) ** 2
    return -n * ops.log(scale) - 0.5 * n * LOG_2PI - squares / (2 * scale * scale)


def _gaussian_closed_form(stats):
    return stats["mean"], float(np.sqrt(stats["m2"] / stats["n"]))


class Normal(Distribution):
    """The Gaussian N(loc, scale²) (``torch.distributions.Normal``, ``scipy.stats.norm``).

    MLE (closed form): loc = sample mean, scale = √(biased sample variance).

    >>> from torchsorflow.stats import Normal
    >>> round(Normal(0.0, 1.0).log_prob(0.0).item(), 6)  # −½ log 2π
    -0.918939
    """

    arg_constraints = {"loc": real, "scale": positive}
    support = real
    has_closed_form = True

    def __init__(self, loc=0.0, scale=1.0, validate_args=True):
        self._store(validate_args, loc=loc, scale=scale)

    def _log_prob(self, x):
        z = (x - self.loc) / self.scale
        return -0.5 * z * z - ops.log(self.scale) - 0.5 * LOG_2PI

    def _sample(self, rng, shape, loc, scale):
        return rng.normal(loc, scale, shape)

    @property
    def mean(self):
        return self.loc + 0 * self.scale

    @property
    def variance(self):
        return self.scale ** 2 + 0 * self.loc

    _statistics = staticmethod(_gaussian_statistics)

    @classmethod
    def _loglik(cls, params, stats):
        return _gaussian_loglik(params["loc"], params["scale"], stats)

    @classmethod
    def _closed_form(cls, stats):
        loc, scale = _gaussian_closed_form(stats)
        return {"loc": loc, "scale": scale}


class LogNormal(Distribution):
    """log X ~ N(loc, scale²) (``torch.distributions.LogNormal``; ``scipy.stats.lognorm`` with
    s = scale and scale = exp(loc)). MLE (closed form): the Normal MLE of log x."""

    arg_constraints = {"loc": real, "scale": positive}
    support = positive
    has_closed_form = True

    def __init__(self, loc=0.0, scale=1.0, validate_args=True):
        self._store(validate_args, loc=loc, scale=scale)

    def _log_prob(self, x):
        log_x = ops.log(x)
        z = (log_x - self.loc) / self.scale
        return -0.5 * z * z - ops.log(self.scale) - 0.5 * LOG_2PI - log_x

    def _sample(self, rng, shape, loc, scale):
        return rng.lognormal(loc, scale, shape)

    @property
    def mean(self):
        return ops.exp(self.loc + self.scale ** 2 / 2)

    @property
    def variance(self):
        s2 = self.scale ** 2
        return ops.expm1(s2) * ops.exp(2 * self.loc + s2)

    @classmethod
    def _statistics(cls, x):
        log_x = np.log(x)
        return dict(_gaussian_statistics(log_x), sum_log=float(np.sum(log_x)),
                    constant=constant_value(x))

    @classmethod
    def _loglik(cls, params, stats):
        # The Jacobian of y = log x adds −Σ log x, a constant in the parameters.
        return _gaussian_loglik(params["loc"], params["scale"], stats) - stats["sum_log"]

    @classmethod
    def _closed_form(cls, stats):
        loc, scale = _gaussian_closed_form(stats)
        return {"loc": loc, "scale": scale}


class Exponential(Distribution):
    """Density λ e^(−λx) on x ≥ 0 (``torch.distributions.Exponential``; ``scipy.stats.expon``
    with loc = 0, scale = 1/λ).

    MLE (closed form, seed 002 exercise 1): log L = N log λ − λ Σx, so d/dλ = N/λ − Σx = 0 gives
    λ̂ = N / Σx, and the observed information N/λ̂² gives the standard error λ̂/√N.
    """

    arg_constraints = {"rate": positive}
    support = nonnegative
    has_closed_form = True

    def __init__(self, rate=1.0, validate_args=True):
        self._store(validate_args, rate=rate)

    def _log_prob(self, x):
        return ops.log(self.rate) - self.rate * x

    def _sample(self, rng, shape, rate):
        return rng.exponential(1.0 / rate, shape)

    @property
    def mean(self):
        return 1 / self.rate

    @property
    def variance(self):
        return self.rate ** -2

    @classmethod
    def _statistics(cls, x):
        return {"n": x.shape[0], "total": float(np.sum(x))}

    @classmethod
    def _check_degenerate(cls, stats):
        if stats["total"] == 0:
            raise degenerate(cls.__name__, f"all {stats['n']} observations are 0, so the "
                             "maximum-likelihood rate N/Σx is infinite")

    @classmethod
    def _loglik(cls, params, stats):
        rate = params["rate"]
        return stats["n"] * ops.log(rate) - rate * stats["total"]

    @classmethod
    def _closed_form(cls, stats):
        return {"rate": stats["n"] / stats["total"]}


class Gamma(Distribution):
    """Density βᵅ x^(α−1) e^(−βx) / Γ(α) on x > 0 (``torch.distributions.Gamma(concentration,
    rate)``; ``scipy.stats.gamma`` with a = α, loc = 0, scale = 1/β).

    No closed form for α: fitted numerically. log L = N[α log β − log Γ(α) + (α−1)·mean(log x) −
    β·mean(x)] depends on the data only through mean(x) and mean(log x), so a Newton step costs
    O(1) whatever N is, and the Hessian (with ψ′ from :mod:`torchsorflow.ops.special`) is exact.
    """

    arg_constraints = {"concentration": positive, "rate": positive}
    support = positive

    def __init__(self, concentration=1.0, rate=1.0, validate_args=True):
        self._store(validate_args, concentration=concentration, rate=rate)

    def _log_prob(self, x):
        a, b = self.concentration, self.rate
        return a * ops.log(b) + (a - 1) * ops.log(x) - b * x - lgamma(a)

    def _sample(self, rng, shape, concentration, rate):
        return rng.gamma(concentration, 1.0 / rate, shape)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def variance(self):
        return self.concentration / self.rate ** 2

    # Beyond this concentration the log-likelihood, a difference of terms of size α·log β, is
    # lost to float64 rounding and Newton's steps are noise.
    MAX_CONCENTRATION = 1e12

    @classmethod
    def _statistics(cls, x):
        mean = float(np.mean(x))
        # log mean(x) − mean(log x) ≥ 0, the spread the MLE of α rests on (α ≈ 1/(2·spread) when it
        # is small); taken as −mean(log(x / mean)) with log1p, which keeps its digits for nearly
        # constant data where the plain difference of two logs would be rounding noise.
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
    """Density x^(α−1) (1−x)^(β−1) / B(α, β) on 0 < x < 1 (``torch.distributions.Beta(
    concentration1=α, concentration0=β)``; ``scipy.stats.beta(a, b)``). Fitted numerically from
    the sufficient statistics mean(log x) and mean(log(1 − x))."""

    arg_constraints = {"concentration1": positive, "concentration0": positive}
    support = unit_interval

    def __init__(self, concentration1=1.0, concentration0=1.0, validate_args=True):
        self._store(validate_args, concentration1=concentration1, concentration0=concentration0)

    @staticmethod
    def _log_beta(a, b):
        return lgamma(a) + lgamma(b) - lgamma(a + b)

    def _log_prob(self, x):
        a, b = self.concentration1, self.concentration0
        return (a - 1) * ops.log(x) + (b - 1) * ops.log1p(-x) - self._log_beta(a, b)

    def _sample(self, rng, shape, concentration1, concentration0):
        return rng.beta(concentration1, concentration0, shape)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        return a * b / ((a + b) ** 2 * (a + b + 1))

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
