"""Discrete families: Bernoulli, Binomial, Poisson, Categorical and OneHotCategorical.

Bernoulli, Binomial, Categorical and OneHotCategorical take ``probs`` or ``logits`` (one of the
two, as in PyTorch); the other is computed when first read. Samples are floats, except
Categorical's int64 labels, as in PyTorch.

Bernoulli, Poisson and Categorical are also fitted by :func:`torchsorflow.stats.fit`: their
maximum-likelihood estimates are closed-form (a frequency or a mean) and their log-likelihoods
depend on the data only through counts and sums.

>>> from torchsorflow.distributions import Bernoulli
>>> from torchsorflow.stats import fit
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
from . import constraints
from .distribution import Distribution
from .likelihood import check_data, degenerate
from .utils import (broadcast_all, first_violation, lazy_property, logits_to_probs,
                    probs_to_logits, xlogy)
from ..ops.creation import as_tensor


def _one_of(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _support_values(count, batch_shape, dtype, expand):
    """0 … count−1 along a new first axis, for ``enumerate_support``."""
    values = np.arange(count, dtype=dtype).reshape((-1,) + (1,) * len(batch_shape))
    if expand:
        values = np.broadcast_to(values, (count,) + tuple(batch_shape))
    return Tensor._wrap(values)


class _ProbsOrLogits:
    """``probs`` and ``logits``: whichever was not given is computed when first read (of one
    event for a Bernoulli or Binomial, of K categories along the last axis for a Categorical)."""

    _binary = True

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=self._binary)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=self._binary)

    @property
    def _param(self):
        return self.__dict__["probs"] if "probs" in self.__dict__ else self.__dict__["logits"]

    @property
    def param_shape(self):
        return self._param.shape


class Bernoulli(_ProbsOrLogits, Distribution):
    """P(x = 1) = probs, P(x = 0) = 1 − probs (``torch.distributions.Bernoulli``,
    ``scipy.stats.bernoulli``). MLE: the fraction of ones."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    fit_constraints = {"probs": constraints.unit_interval}
    has_closed_form = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        super().__init__(self._param.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        p = self.probs
        return ops.where(ops.equal(p, 0.5), np.nan, ops.astype(ops.greater(p, 0.5), p.dtype))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def _sample(self, shape, rng):
        p = self.probs
        return Tensor._wrap((rng.random(shape) < p._array).astype(p.dtype))

    def _log_prob(self, value):
        return value * self.logits - ops.softplus(self.logits)

    def entropy(self):
        return ops.softplus(self.logits) - self.logits * self.probs

    def enumerate_support(self, expand=True):
        return _support_values(2, self._batch_shape, self._param.dtype, expand)

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


class Binomial(_ProbsOrLogits, Distribution):
    """The number of successes in ``total_count`` Bernoulli trials (``torch.distributions.
    Binomial``).

    >>> from torchsorflow.distributions import Binomial
    >>> round(Binomial(10, probs=0.3).log_prob(3.0).exp().item(), 6)
    0.266828
    """

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
        super().__init__(self._param.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ops.minimum(ops.floor((self.total_count + 1) * self.probs), self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def _sample(self, shape, rng):
        n = np.broadcast_to(self.total_count._array, shape).astype(np.int64)
        draws = rng.binomial(n, np.broadcast_to(self.probs._array, shape))
        return Tensor._wrap(draws.astype(self._param.dtype))

    def _log_prob(self, value):
        n, logits = self.total_count, self.logits
        log_binomial = lgamma(n + 1) - lgamma(value + 1) - lgamma(n - value + 1)
        return log_binomial + value * logits - n * ops.softplus(logits)

    def _homogeneous_count(self, what):
        counts = self.total_count._array
        if counts.size and counts.min() != counts.max():
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return int(counts.max()) if counts.size else 0

    def enumerate_support(self, expand=True):
        count = self._homogeneous_count("enumerate_support")
        return _support_values(count + 1, self._batch_shape, self._param.dtype, expand)

    def entropy(self):
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False), validate_args=False)
        return -(ops.exp(log_prob) * log_prob).sum(0)


class Poisson(Distribution):
    """P(x = k) = λᵏ e^(−λ) / k! (``torch.distributions.Poisson``, ``scipy.stats.poisson``).
    MLE: λ̂ = sample mean, standard error √(λ̂/N). Samples are floats, as in PyTorch."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer
    fit_constraints = {"rate": constraints.positive}
    has_closed_form = True

    def __init__(self, rate=1.0, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return ops.floor(self.rate)

    @property
    def variance(self):
        return self.rate

    def _sample(self, shape, rng):
        rate = self.rate._array
        return Tensor._wrap(rng.poisson(np.broadcast_to(rate, shape)).astype(rate.dtype))

    def _log_prob(self, value):
        return xlogy(value, self.rate) - self.rate - lgamma(value + 1)

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


class Categorical(_ProbsOrLogits, Distribution):
    """P(x = k) = probs[k] for k = 0 … K−1 (``torch.distributions.Categorical``). ``probs`` is
    normalised to sum to 1 along its last axis and ``logits`` to log-probabilities, as in PyTorch.
    ``mean`` and ``variance`` are those of the label k (PyTorch returns NaN).

    MLE: the observed frequencies counts/N. There are K−1 free parameters (the last probability is
    1 minus the others), so the standard errors come from the information matrix of probs[:-1];
    that of probs[-1] follows from its linear dependence on them. Data are labels 0 … K−1; K is
    max(label) + 1, or the length of ``probs`` when an instance is passed to ``fit``.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True
    fit_constraints = {"probs": constraints.simplex}
    scalar_parameters = False
    has_closed_form = True
    fit_support = constraints.nonnegative_integer
    _binary = False

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        name = "probs" if probs is not None else "logits"
        (param,) = broadcast_all(probs if probs is not None else logits)
        if param.ndim < 1:
            raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
        if probs is not None:
            self.probs = param / param.sum(-1, True)
        else:
            self.logits = ops.log_softmax(param, -1)
        check = self._validate_args if validate_args is None else validate_args
        if probs is not None and check:
            self._check_raw_probs(param._array)
        super().__init__(param.shape[:-1], validate_args=validate_args)

    def _check_raw_probs(self, raw):
        """Name the entry the user gave (PyTorch's message shows the normalised probs)."""
        found = first_violation(raw, raw >= 0, "probs")
        line = f"Categorical: {found[0]} = {found[1]!r} must be ≥ 0" if found else None
        if line is None and np.any(~(raw.sum(-1) > 0)):
            line = "Categorical: probs must have a positive sum along the last axis"
        if line is not None:
            probs = self.probs
            raise ValueError(
                f"Expected parameter probs (Tensor of shape {tuple(probs.shape)}) of distribution "
                f"{self!r} to satisfy the constraint {constraints.simplex!r}, but found invalid "
                f"values:\n{probs!r}\n{line}")

    @property
    def num_categories(self):
        return self._param.shape[-1]

    _num_events = num_categories

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.num_categories - 1)

    @property
    def mean(self):
        """Mean of the label k (Σ k·probs[k]); PyTorch returns NaN here, we return the number."""
        k = np.arange(self.num_categories, dtype=self._param.dtype)
        return (self.probs * k).sum(-1)

    @property
    def variance(self):
        k = np.arange(self.num_categories, dtype=self._param.dtype)
        return (self.probs * k * k).sum(-1) - self.mean ** 2

    @property
    def mode(self):
        return ops.argmax(self.probs, -1)

    def _sample(self, shape, rng):
        cdf = np.cumsum(self.probs._array, axis=-1)
        draws = np.sum(rng.random(shape)[..., None] > cdf, axis=-1)
        return Tensor._wrap(np.minimum(draws, self.num_categories - 1).astype(np.int64))

    def _log_prob(self, value):
        index = value._array.astype(np.int64)[..., None]
        hits = index == np.arange(self.num_categories)
        return ops.where(hits, self.logits, 0.0).sum(-1)

    def entropy(self):
        logits = ops.clamp(self.logits, float(np.finfo(self._param.dtype).min), None)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        return _support_values(self.num_categories, self._batch_shape, np.int64, expand)

    # --- fitting ---------------------------------------------------------------------------
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
        last = 1 - ops.sum(theta, 0, True)
        return {"probs": ops.concatenate([theta, last])}

    @classmethod
    def _free_to_unconstrained(cls, theta, stats):
        return np.log(theta) - np.log1p(-np.sum(theta))

    @classmethod
    def _unconstrained_to_free(cls, u, stats):
        logits = ops.concatenate([u, as_tensor(np.zeros(1))])
        return ops.softmax(logits)[:-1]


class OneHotCategorical(Distribution):
    """A Categorical whose samples are one-hot vectors (``torch.distributions.
    OneHotCategorical``); the last axis of ``probs``/``logits`` is the event."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=False)
        if validate_args is not None:
            self._validate_args = validate_args

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(OneHotCategorical, _instance)
        new.__dict__.update(self.__dict__)
        new._categorical = self._categorical.expand(batch_shape)
        new._batch_shape = tuple(batch_shape)
        return new

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        index = self._categorical.mode._array[..., None]
        return Tensor._wrap((index == np.arange(self._event_shape[0])).astype(self.probs.dtype))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def _sample(self, shape, rng):
        labels = self._categorical._sample(shape[:-1], rng)._array[..., None]
        return Tensor._wrap((labels == np.arange(shape[-1])).astype(self.probs.dtype))

    def _log_prob(self, value):
        return self._categorical._log_prob(ops.argmax(value, -1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self._event_shape[0]
        values = np.eye(n, dtype=self.probs.dtype).reshape((n,) + (1,) * len(self._batch_shape)
                                                           + (n,))
        if expand:
            values = np.broadcast_to(values, (n,) + self._batch_shape + (n,))
        return Tensor._wrap(values)
