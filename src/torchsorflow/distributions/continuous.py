"""Normal, LogNormal, Exponential and Uniform.

Each family is the ``torch.distributions`` class (reparameterised ``rsample``, ``log_prob``,
``cdf``/``icdf``, ``entropy``, moments) and, for the first three, a family that
:func:`torchsorflow.stats.fit` fits: ``_statistics`` reduces the data to the sums its
log-likelihood needs (once, with NumPy) and ``_loglik`` is the log-likelihood written in those sums
with framework ops, so evaluating it, its gradient or its Hessian costs the same for 10 or 10⁶
observations.

>>> from torchsorflow.distributions import Exponential
>>> from torchsorflow.stats import fit
>>> fit(Exponential, [0.5, 1.5, 1.0]).params["rate"]  # the seed's λ̂ = N / Σx = 3 / 3
1.0
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..ops.special import erfinv
from ..ops.nn_ops import erf
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .likelihood import constant_value, degenerate
from .utils import LOG_2PI, broadcast_all


def _draws(array, like):
    """NumPy draws as a constant Tensor of the parameters' dtype."""
    return Tensor._wrap(np.asarray(array).astype(like.dtype, copy=False))


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


class _LocationScale(Distribution):
    """Normal, LogNormal and Laplace: a location and a scale, broadcast together, both estimated
    in closed form."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    fit_constraints = arg_constraints
    has_closed_form = True

    def __init__(self, loc=0.0, scale=1.0, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc


class Normal(_LocationScale):
    """The Gaussian N(loc, scale²) (``torch.distributions.Normal``, ``scipy.stats.norm``).

    MLE (closed form): loc = sample mean, scale = √(biased sample variance).

    >>> from torchsorflow.distributions import Normal
    >>> round(Normal(0.0, 1.0).log_prob(0.0).item(), 6)  # −½ log 2π
    -0.918939
    >>> round(Normal(0.0, 1.0).icdf(0.975).item(), 4)
    1.96
    """

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale ** 2

    def _rsample(self, shape, rng):
        return self.loc + _draws(rng.standard_normal(shape), self.loc) * self.scale

    def _log_prob(self, value):
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - ops.log(self.scale) - 0.5 * LOG_2PI

    def _cdf(self, value):
        return 0.5 * (1 + erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def _icdf(self, value):
        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * LOG_2PI + ops.log(self.scale)

    _statistics = staticmethod(_gaussian_statistics)

    @classmethod
    def _loglik(cls, params, stats):
        return _gaussian_loglik(params["loc"], params["scale"], stats)

    @classmethod
    def _closed_form(cls, stats):
        loc, scale = _gaussian_closed_form(stats)
        return {"loc": loc, "scale": scale}


class LogNormal(_LocationScale):
    """log X ~ N(loc, scale²) (``torch.distributions.LogNormal``; ``scipy.stats.lognorm`` with
    s = scale and scale = exp(loc)). MLE (closed form): the Normal MLE of log x."""

    support = constraints.positive

    @property
    def base_dist(self):
        """The Normal of log X (PyTorch's LogNormal is that Normal transformed by exp)."""
        return Normal(self.loc, self.scale, validate_args=False)

    @property
    def mean(self):
        return ops.exp(self.loc + self.scale ** 2 / 2)

    @property
    def mode(self):
        return ops.exp(self.loc - self.scale ** 2)

    @property
    def variance(self):
        s2 = self.scale ** 2
        return ops.expm1(s2) * ops.exp(2 * self.loc + s2)

    def _rsample(self, shape, rng):
        return ops.exp(self.base_dist._rsample(shape, rng))

    def _log_prob(self, value):
        log_x = ops.log(value)
        return self.base_dist._log_prob(log_x) - log_x

    def _cdf(self, value):
        return self.base_dist._cdf(ops.log(value))

    def _icdf(self, value):
        return ops.exp(self.base_dist._icdf(value))

    def entropy(self):
        return self.base_dist.entropy() + self.loc

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

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    fit_constraints = arg_constraints
    has_closed_form = True

    def __init__(self, rate=1.0, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return 1 / self.rate

    @property
    def mode(self):
        return 0 * self.rate

    @property
    def stddev(self):
        return 1 / self.rate

    @property
    def variance(self):
        return self.rate ** -2

    def _rsample(self, shape, rng):
        return _draws(rng.standard_exponential(shape), self.rate) / self.rate

    def _log_prob(self, value):
        return ops.log(self.rate) - self.rate * value

    def _cdf(self, value):
        return 1 - ops.exp(-self.rate * value)

    def _icdf(self, value):
        return -ops.log1p(-value) / self.rate

    def entropy(self):
        return 1.0 - ops.log(self.rate)

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


class Uniform(Distribution):
    """Uniform on [low, high) (``torch.distributions.Uniform``).

    >>> from torchsorflow.distributions import Uniform
    >>> d = Uniform(0.0, 4.0)
    >>> d.log_prob(1.0).exp().item(), d.cdf(1.0).item(), d.support
    (0.25, 0.25, Interval(lower_bound=0.0, upper_bound=4.0))
    """

    has_rsample = True

    def __init__(self, low=0.0, high=1.0, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)

    @property
    def arg_constraints(self):
        return {"low": constraints.less_than(self.high),
                "high": constraints.greater_than(self.low)}

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return np.nan * self.high

    @property
    def stddev(self):
        return (self.high - self.low) / math.sqrt(12)

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def _rsample(self, shape, rng):
        return self.low + _draws(rng.random(shape), self.low) * (self.high - self.low)

    def _log_prob(self, value):
        inside = ops.logical_and(ops.less_equal(self.low, value), ops.greater(self.high, value))
        return ops.where(inside, -ops.log(self.high - self.low), -np.inf)

    def _cdf(self, value):
        return ops.clamp((value - self.low) / (self.high - self.low), 0, 1)

    def _icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return ops.log(self.high - self.low)
