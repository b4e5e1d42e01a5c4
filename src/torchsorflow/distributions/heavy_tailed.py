"""Heavy-tailed families without sufficient statistics: Laplace and Student's t.

Their log-likelihoods cannot be reduced to a few sums, so fitting keeps the data and sums
``log_prob`` over them at each step (the default ``_loglik`` of the fitting hooks).

>>> import numpy as np
>>> from torchsorflow.distributions import Laplace
>>> from torchsorflow.stats import fit
>>> fit(Laplace, [1.0, 2.0, 4.0, 10.0]).params  # loc: the median; scale: mean |x − median|
{'loc': 3.0, 'scale': 2.75}
"""
from __future__ import annotations

import math

import numpy as np
import scipy.stats

from .. import ops
from ..func import grad
from ..ops.special import digamma, lgamma, standard_gamma
from . import constraints
from .continuous import _draws, _LocationScale
from .distribution import Distribution
from .utils import broadcast_all
from ..ops.creation import as_tensor


class Laplace(_LocationScale):
    """Density exp(−|x − loc| / scale) / (2·scale) (``torch.distributions.Laplace``,
    ``scipy.stats.laplace``). MLE (closed form): loc = sample median, scale = mean |x − median|.

    The log-likelihood is piecewise linear in ``loc``, so its second derivative there is 0 almost
    everywhere: the *observed* information does not exist. Standard errors use the *expected*
    Fisher information instead, N/scale² for each parameter (``FitResult.information`` says so).
    """

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    @property
    def variance(self):
        return 2 * self.scale ** 2

    def _rsample(self, shape, rng):
        return self.loc + self.scale * _draws(rng.laplace(0.0, 1.0, shape), self.loc)

    def _log_prob(self, value):
        return -ops.log(2 * self.scale) - ops.abs(value - self.loc) / self.scale

    def _cdf(self, value):
        z = value - self.loc
        return 0.5 - 0.5 * ops.sign(z) * ops.expm1(-ops.abs(z) / self.scale)

    def _icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * ops.sign(term) * ops.log1p(-2 * ops.abs(term))

    def entropy(self):
        return 1 + ops.log(2 * self.scale)

    @classmethod
    def _closed_form(cls, stats):
        x = stats["x"]
        loc = float(np.median(x))
        return {"loc": loc, "scale": float(np.mean(np.abs(x - loc)))}

    @classmethod
    def _initial(cls, stats):
        x = stats["x"]
        return np.array([float(np.mean(x)), float(np.std(x)) / np.sqrt(2)])

    @classmethod
    def _numeric_fit(cls, stats, theta0):
        """``loc`` by bisection on the sign of the autodiff (sub)gradient of Σ|xᵢ − loc| (Newton
        needs curvature that a piecewise linear function lacks), then ``scale`` by Newton on
        log scale. When N is even every point between the two middle order statistics is a
        maximiser; we return the middle of that interval, which is the sample median."""
        from ..stats.optimize import newton_minimize  # stats imports this package
        x = as_tensor(stats["x"])
        slope = grad(lambda m: ops.sum(ops.abs(x - m)))  # Σ sign(m − xᵢ): −N … +N

        def boundary(negative_side):
            lo, hi = float(stats["x"].min()), float(stats["x"].max())
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                if not lo < mid < hi:
                    break
                if negative_side(float(slope(as_tensor(np.float64(mid))).item())):
                    lo = mid
                else:
                    hi = mid
            return lo, hi

        left, right = boundary(lambda s: s < 0)[1], boundary(lambda s: s <= 0)[0]
        loc = 0.5 * (left + right)
        spread = ops.sum(ops.abs(x - loc))
        result = newton_minimize(lambda u: u[0] + spread / ops.exp(u[0]) / stats["n"],
                                 np.log([max(theta0[1], 1e-300)]))
        return np.array([loc, float(np.exp(result.x[0]))]), result

    @classmethod
    def _information(cls, theta, stats):
        return np.eye(2) * stats["n"] / theta[1] ** 2, "expected"


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, location and scale (``torch.distributions.
    StudentT``, ``scipy.stats.t``). ``rsample`` is X·√(df/Y) with X normal and Y a chi-square
    (a Gamma, reparameterised implicitly), so it is differentiable in ``df`` too.

    Fitted numerically; no sufficient statistics exist, so each step sums ``log_prob`` over the
    data. With near-Gaussian data the likelihood is almost flat in ``df`` (a Normal is the limit
    df → ∞): the estimate of ``df`` is then large and its standard error huge, which is the honest
    answer; it may even run off to infinity, and the fit then reports ``converged=False`` or a
    singular information matrix."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    fit_constraints = arg_constraints

    def __init__(self, df=1.0, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, validate_args=validate_args)

    @property
    def mean(self):
        return ops.where(self.df > 1, self.loc, np.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        finite = self.scale ** 2 * df / ops.where(df > 2, df - 2, 1.0)
        return ops.where(df > 2, finite, ops.where(df > 1, np.inf, np.nan))

    def _rsample(self, shape, rng):
        normal = _draws(rng.standard_normal(shape), self.loc)
        chi2 = 2 * standard_gamma(ops.broadcast_to(0.5 * self.df, shape), rng)
        return self.loc + self.scale * normal * ops.sqrt(self.df / chi2)

    def _log_prob(self, value):
        df, z = self.df, (value - self.loc) / self.scale
        norm = (lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * ops.log(df * np.pi)
                - ops.log(self.scale))
        return norm - (df + 1) / 2 * ops.log1p(z * z / df)

    def entropy(self):
        df = self.df
        log_beta = lgamma(0.5 * df) + math.lgamma(0.5) - lgamma(0.5 * (df + 1))
        return (ops.log(self.scale) + 0.5 * (df + 1) * (digamma(0.5 * (df + 1)) - digamma(0.5 * df))
                + 0.5 * ops.log(df) + log_beta)

    @classmethod
    def _initial(cls, stats):
        x = stats["x"]
        loc = float(np.median(x))
        scale = 1.4826 * float(np.median(np.abs(x - loc))) or float(np.std(x))
        kurtosis = float(scipy.stats.kurtosis(x)) if x.shape[0] > 3 else 0.0
        df = 4 + 6 / kurtosis if kurtosis > 0 else 30.0
        return np.array([min(max(df, 1.0), 100.0), loc, scale])
