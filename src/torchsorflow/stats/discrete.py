"""Discrete families: Bernoulli, Categorical, Poisson.

All three have closed-form maximum-likelihood estimates (a frequency or a mean) and
log-likelihoods that depend on the data only through counts and sums.

>>> from torchsorflow.stats import Bernoulli, fit
>>> result = fit(Bernoulli, [1, 0, 1, 1])
>>> result.params["probs"], round(result.stderr["probs"], 4)  # 3/4 and √(p(1−p)/N)
(0.75, 0.2165)
"""
from __future__ import annotations

import numpy as np
import scipy.special

from .. import ops
from ..ops.special import lgamma
from ..tensor import Tensor
from .distribution import (Constraint, Distribution, binary, check_data, degenerate,
                           nonnegative, nonnegative_integer, positive, probability, unit_interval)


class Bernoulli(Distribution):
    """P(x = 1) = probs, P(x = 0) = 1 − probs (``torch.distributions.Bernoulli``,
    ``scipy.stats.bernoulli``). MLE: the fraction of ones. Samples are float64 0.0/1.0 as in
    PyTorch."""

    arg_constraints = {"probs": probability}
    fit_constraints = {"probs": unit_interval}
    support = binary
    has_closed_form = True

    def __init__(self, probs=0.5, validate_args=True):
        self._store(validate_args, probs=probs)

    def _log_prob(self, x):
        return x * ops.log(self.probs) + (1 - x) * ops.log1p(-self.probs)

    def _sample(self, rng, shape, probs):
        return rng.random(shape) < probs

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    @classmethod
    def _statistics(cls, x):
        return {"n": x.shape[0], "ones": float(np.sum(x))}

    @classmethod
    def _check_degenerate(cls, stats):
        if stats["ones"] in (0, stats["n"]):
            value = int(stats["ones"] > 0)
            raise degenerate(cls.__name__, f"all {stats['n']} observations are {value}, so the "
                             f"maximum-likelihood probability is exactly {value}, on the boundary "
                             "where the log-likelihood has no curvature to give a standard error")

    @classmethod
    def _loglik(cls, params, stats):
        p = params["probs"]
        return stats["ones"] * ops.log(p) + (stats["n"] - stats["ones"]) * ops.log1p(-p)

    @classmethod
    def _closed_form(cls, stats):
        return {"probs": stats["ones"] / stats["n"]}


class Poisson(Distribution):
    """P(x = k) = λᵏ e^(−λ) / k! (``torch.distributions.Poisson``, ``scipy.stats.poisson``).
    MLE: λ̂ = sample mean, standard error √(λ̂/N). Samples are float64, as in PyTorch."""

    arg_constraints = {"rate": positive}
    support = nonnegative_integer
    has_closed_form = True

    def __init__(self, rate=1.0, validate_args=True):
        self._store(validate_args, rate=rate)

    def _log_prob(self, x):
        return x * ops.log(self.rate) - self.rate - lgamma(x + 1)

    def _sample(self, rng, shape, rate):
        return rng.poisson(rate, shape)

    @property
    def mean(self):
        return self.rate

    @property
    def variance(self):
        return self.rate

    @classmethod
    def _statistics(cls, x):
        return {"n": x.shape[0], "total": float(np.sum(x)),
                "sum_log_factorial": float(np.sum(scipy.special.gammaln(x + 1)))}

    @classmethod
    def _check_degenerate(cls, stats):
        if stats["total"] == 0:
            raise degenerate(cls.__name__, f"all {stats['n']} observations are 0, so the "
                             "maximum-likelihood rate is 0, outside the open parameter space")

    @classmethod
    def _loglik(cls, params, stats):
        rate = params["rate"]
        return stats["total"] * ops.log(rate) - stats["n"] * rate - stats["sum_log_factorial"]

    @classmethod
    def _closed_form(cls, stats):
        return {"rate": stats["total"] / stats["n"]}


class Categorical(Distribution):
    """P(x = k) = probs[k] for k = 0 … K−1 (``torch.distributions.Categorical``). ``probs`` is
    normalised to sum to 1 along its last axis, as in PyTorch.

    MLE: the observed frequencies counts/N. There are K−1 free parameters (the last probability is
    1 minus the others), so the standard errors come from the information matrix of probs[:-1];
    that of probs[-1] follows from its linear dependence on them. Data are labels 0 … K−1; K is
    max(label) + 1, or the length of ``probs`` when an instance is passed to ``fit``.
    """

    arg_constraints = {"probs": nonnegative}
    scalar_parameters = False
    support = nonnegative_integer
    has_closed_form = True
    sample_dtype = np.int64

    def __init__(self, probs, validate_args=True):
        self._store(validate_args, probs=probs)
        if self.probs.ndim == 0 or self.probs.shape[-1] == 0:
            raise ValueError(f"Categorical: probs must have at least one category along its last "
                             f"axis, got shape {self.probs.shape}")
        if validate_args and np.any(np.sum(self.probs._array, axis=-1) <= 0):
            raise ValueError("Categorical: probs must have a positive sum along the last axis")
        self.probs = self.probs / ops.sum(self.probs, axis=-1, keepdims=True)
        k = self.num_categories
        self.support = Constraint(f"an integer in [0, {k})",
                                  lambda v: nonnegative_integer.contains(v) & (v < k))

    @property
    def num_categories(self):
        return self.probs.shape[-1]

    def _event_dims(self, name):
        return 1

    def _log_prob(self, x):
        log_p = ops.log(self.probs)
        index = x._array.astype(np.int64)
        if self.probs.ndim == 1:
            return log_p[index]
        hits = Tensor(index[..., None] == np.arange(self.num_categories))
        return ops.sum(ops.where(hits, log_p, 0.0), axis=-1)

    def _sample(self, rng, shape, probs):
        cdf = np.cumsum(probs, axis=-1)
        draws = np.sum(rng.random(shape)[..., None] > cdf, axis=-1)
        return np.minimum(draws, probs.shape[-1] - 1)

    @property
    def mean(self):
        """Mean of the label k (Σ k·probs[k]); PyTorch returns NaN here, we return the number."""
        return ops.sum(self.probs * np.arange(self.num_categories, dtype=np.float64), axis=-1)

    @property
    def variance(self):
        k = np.arange(self.num_categories, dtype=np.float64)
        return ops.sum(self.probs * k * k, axis=-1) - self.mean ** 2

    @classmethod
    def _check_data(cls, data, template=None):
        x = check_data(cls, data)
        if template is not None:
            k = template.num_categories
            where = np.flatnonzero(x >= k)
            if where.size:
                raise ValueError(f"Categorical: data[{where[0]}] = {x[where[0]].item()!r} is "
                                 f"outside the support (values must be an integer in [0, {k}))")
        return x

    @classmethod
    def _prepare(cls, data, template=None):
        x = cls._check_data(data, template)
        stats = cls._statistics(x, 0 if template is None else template.num_categories)
        cls._check_degenerate(stats)
        return stats

    @classmethod
    def _statistics(cls, x, num_categories=0):
        counts = np.bincount(x.astype(np.int64), minlength=num_categories).astype(np.float64)
        return {"n": x.shape[0], "counts": counts, "k": counts.shape[0]}

    @classmethod
    def _check_degenerate(cls, stats):
        counts = stats["counts"]
        if stats["k"] < 2:
            raise degenerate(cls.__name__, "only category 0 occurs (K = 1): its probability is 1 "
                             "and there is nothing to estimate")
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise degenerate(cls.__name__, f"category {empty[0]} never occurs among the "
                             f"{stats['n']} observations, so its maximum-likelihood probability "
                             "is 0, on the boundary where no standard error exists")

    @classmethod
    def _loglik(cls, params, stats):
        return ops.sum(stats["counts"] * ops.log(params["probs"]))

    @classmethod
    def _closed_form(cls, stats):
        return {"probs": stats["counts"] / stats["n"]}

    @classmethod
    def _initial(cls, stats):
        return np.full(stats["k"] - 1, 1.0 / stats["k"])

    @classmethod
    def _free_names(cls, stats):
        return [f"probs[{i}]" for i in range(stats["k"] - 1)]

    @classmethod
    def _params_to_free(cls, params, stats):
        return np.asarray(params["probs"], dtype=np.float64)[:-1]

    @classmethod
    def _free_to_params(cls, theta, stats):
        last = 1 - ops.sum(theta, axis=0, keepdims=True)
        return {"probs": ops.concatenate([theta, last])}

    @classmethod
    def _free_to_unconstrained(cls, theta, stats):
        return np.log(theta) - np.log1p(-np.sum(theta))

    @classmethod
    def _unconstrained_to_free(cls, u, stats):
        logits = ops.concatenate([u, Tensor(np.zeros(1))])
        return ops.softmax(logits)[:-1]
