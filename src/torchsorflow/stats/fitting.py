"""Maximum-likelihood fitting with standard errors: :func:`fit` and :class:`FitResult`.

The recipe, for every family:

1. validate the data (errors name the first bad index and value) and reduce them to sufficient
   statistics;
2. find θ̂ — by the closed-form estimator where one exists, otherwise by Newton's method on an
   unconstrained reparametrisation (see :mod:`torchsorflow.stats.optimize`);
3. compute the *observed Fisher information* I(θ̂) = −∇²log L(θ̂), the Hessian of the negative
   log-likelihood with respect to the natural parameters, by the framework's autodiff. Its inverse
   estimates the covariance of θ̂ (asymptotic normality of the MLE), so the standard errors are
   the square roots of its diagonal — no delta method needed, because the Hessian is taken in the
   natural coordinates, not the optimizer's.

Families with a scale (Normal, Exponential, Gamma, Laplace, Student's t, the multivariate
normal) whose data lie beyond 2**±100 in magnitude are fitted to the data divided by a power of
two near their largest magnitude, and the estimates, standard errors and log-likelihood are
mapped back: dividing by a power of two is exact, and data near 1e300 (whose squares or sums
overflow) or near 1e-300 (whose squares underflow) fit as well as data near 1. An estimate that
is still not finite in float64, or a numerical fit that does not converge, is an error saying
why, never a table of inf and nan.

>>> import numpy as np
>>> from torchsorflow.stats import Exponential, fit
>>> x = np.random.default_rng(0).exponential(scale=0.5, size=400)   # true rate 2
>>> result = fit(Exponential, x)
>>> bool(result.params["rate"] == len(x) / x.sum())                 # λ̂ = N / Σx (seed 002)
True
>>> bool(np.isclose(result.stderr["rate"], result.params["rate"] / np.sqrt(len(x))))  # λ̂/√N
True
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.stats

from .. import ops
from ..func import jacrev
from ..tensor import Tensor
from ..distributions import (Bernoulli, Beta, Categorical, Distribution, Exponential, Gamma,
                             Laplace, LogNormal, MultivariateNormal, Normal, Poisson, StudentT)
from ..distributions.likelihood import constant_value
from ..ops.creation import as_tensor

FAMILIES = (Normal, MultivariateNormal, Exponential, Bernoulli, Categorical, Poisson, Gamma, Beta,
            Laplace, LogNormal, StudentT)
_ALIASES = {"gaussian": Normal, "norm": Normal, "mvn": MultivariateNormal,
            "multivariatenormal": MultivariateNormal, "expon": Exponential, "lognorm": LogNormal,
            "t": StudentT, "studentt": StudentT, "student": StudentT}


def _key(name):
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def get_family(name):
    """The distribution class for a name such as ``"gamma"``, ``"student_t"`` or ``"mvn"``."""
    table = {_key(cls.__name__): cls for cls in FAMILIES}
    table.update(_ALIASES)
    try:
        return table[_key(name)]
    except KeyError:
        names = ", ".join(sorted(_key(cls.__name__) for cls in FAMILIES))
        raise ValueError(f"unknown distribution {name!r}; choose one of: {names}") from None


@dataclass
class FitResult:
    """What :func:`fit` found. ``params``/``stderr`` map parameter names to floats (arrays for
    vector and matrix parameters); ``covariance`` is the estimated covariance of the free
    coordinates named in ``free_names``; ``information`` says whether it came from the
    ``"observed"`` or the ``"expected"`` Fisher information."""

    family: str
    params: dict
    stderr: dict
    loglik: float
    aic: float
    bic: float
    n: int
    converged: bool
    method: str
    iterations: int = 0
    covariance: np.ndarray = field(default=None, repr=False)
    free_names: list = field(default_factory=list, repr=False)
    information: str = "observed"
    message: str = ""
    distribution: Distribution = field(default=None, repr=False)

    def confidence_intervals(self, level=0.95):
        """Wald intervals estimate ± z·stderr on the natural scale, name → (low, high).

        They rest on the normal approximation to the MLE, good for large N; for a handful of
        points an interval for a positive parameter can even reach below 0.
        """
        if not 0 < level < 1:
            raise ValueError(f"confidence level must be in (0, 1), got {level}")
        z = scipy.stats.norm.ppf(0.5 + level / 2)
        return {k: (v - z * self.stderr[k], v + z * self.stderr[k]) for k, v in self.params.items()}

    def summary(self, level=0.95):
        """The parameter table (estimate, standard error, interval) with log L, AIC and BIC."""
        done = ("closed form" if self.method == "closed_form" else
                f"numeric, {'converged' if self.converged else 'NOT converged'} after "
                f"{self.iterations} iterations")
        lines = [f"{self.family} fit to N = {self.n} observations ({done})"]
        interval = f"{level:.0%} interval"
        rows = [("parameter", "estimate", "std. error", interval)]
        bounds = self.confidence_intervals(level)
        for name, value in self.params.items():
            low, high = bounds[name]
            for index in np.ndindex(np.shape(value)):
                label = name + (f"[{', '.join(map(str, index))}]" if index else "")
                rows.append((label, f"{np.asarray(value)[index]:.6g}",
                             f"{np.asarray(self.stderr[name])[index]:.4g}",
                             f"[{np.asarray(low)[index]:.6g}, {np.asarray(high)[index]:.6g}]"))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.append(f"log-likelihood = {self.loglik:.6g}   AIC = {self.aic:.6g}   "
                     f"BIC = {self.bic:.6g}")
        lines.append(f"standard errors from the {self.information} Fisher information")
        if self.message:
            lines.append(f"note: {self.message}")
        return "\n".join(lines)

    __str__ = summary


# --- rescaling ---------------------------------------------------------------------------------
# For each family fitted to x / s: the power of s by which each parameter scales back (a location
# or scale parameter is multiplied by s, a rate divided by it, a covariance multiplied by s²) and
# the number of coordinates per observation (the log-density shifts by −d·log s).
_SCALE_POWERS = {Normal: {"loc": 1, "scale": 1}, Exponential: {"rate": -1},
                 Gamma: {"concentration": 0, "rate": -1}, Laplace: {"loc": 1, "scale": 1},
                 StudentT: {"df": 0, "loc": 1, "scale": 1},
                 MultivariateNormal: {"loc": 1, "covariance_matrix": 2}}


# Data whose largest magnitude lies within 2**±100 are fitted as they are: their squares and sums
# of millions of them stay far inside float64's range, and no copy of a large array is made.
_SAFE_EXPONENT = 100


def _scale_exponent(x):
    """e such that max|x| / 2**e lies in [0.5, 1) when max|x| is beyond 2**±100, else 0:
    dividing by a power of two is exact."""
    largest = max(float(np.max(x)), -float(np.min(x)))   # max|x| without an |x| copy
    e = 0 if largest == 0 else math.frexp(largest)[1]
    return e if abs(e) > _SAFE_EXPONENT else 0


def _prepare(cls, data, template):
    """Validated sufficient statistics of the data divided by 2**e, and the exponent e."""
    if cls not in _SCALE_POWERS:
        return cls._prepare(data, template), 0
    x = cls._check_data(data, template)
    e = _scale_exponent(x)
    stats = cls._statistics(np.ldexp(x, -e) if e else x)
    if stats.get("constant") is not None:   # messages name the value in the data's own units
        stats["constant"] = constant_value(x)
    cls._check_degenerate(stats)
    return stats, e


def _rescaled(cls, params, e, inverse=False):
    """Parameters fitted to x / 2**e mapped to the units of x (``inverse``: the other way).
    Beyond float64's range a value becomes ±inf (and is then refused by :func:`_check_finite`)."""
    powers = _SCALE_POWERS.get(cls, {})
    sign = -1 if inverse else 1
    with np.errstate(over="ignore", under="ignore"):
        scaled = {k: np.ldexp(v, sign * e * powers[k]) if powers.get(k) else v
                  for k, v in params.items()}
    return {k: float(v) if np.ndim(v) == 0 and not isinstance(params[k], np.ndarray) else v
            for k, v in scaled.items()}


def _free_factors(cls, theta, stats, e):
    """θ_x = f ⊙ θ_(x/2**e): the factor of each free coordinate, through the parameters."""
    params = cls._free_to_params(as_tensor(np.ones_like(theta)), stats)
    ones = {k: np.ones(np.shape(getattr(v, "_array", v))) for k, v in params.items()}
    return cls._params_to_free(_rescaled(cls, ones, e), stats)


def _start_theta(cls, start, stats, e=0):
    if start is None:
        return np.asarray(cls._initial(stats), dtype=np.float64)
    params = start.params if isinstance(start, Distribution) else start
    arrays = {k: np.asarray(v._array if isinstance(v, Tensor) else v, dtype=np.float64)
              for k, v in params.items()}
    arrays = _rescaled(cls, arrays, e, inverse=True)
    missing = set(cls.fit_constraints) - set(arrays)
    if missing:
        raise ValueError(f"fit: start is missing {sorted(missing)} for {cls.__name__}")
    theta = cls._params_to_free(arrays, stats)
    if theta.shape != (len(cls._free_names(stats)),):
        raise ValueError(f"fit: start has {theta.size} free values, {cls.__name__} fitted to these "
                         f"data needs {len(cls._free_names(stats))}")
    return theta


def _plain(value):
    array = np.asarray(value._array if isinstance(value, Tensor) else value, dtype=np.float64)
    return float(array) if array.ndim == 0 else array.copy()


def _standard_errors(cls, theta, stats):
    """Covariance of θ̂ = I(θ̂)⁻¹, pushed to every parameter entry through the (linear) map from
    free coordinates to parameters, whose Jacobian J autodiff gives: Var = diag(J I⁻¹ Jᵀ)."""
    information, kind = cls._information(theta, stats)
    information = 0.5 * (information + information.T)
    message = ""
    try:
        factor = np.linalg.cholesky(information)
        inverse = np.linalg.solve(factor, np.eye(len(theta)))
        covariance = inverse.T @ inverse
    except np.linalg.LinAlgError:
        covariance = np.full((len(theta),) * 2, np.nan)
        message = ("the information matrix is not positive definite at the estimate (a flat or "
                   "unbounded likelihood), so no standard errors are given")
        warnings.warn(f"{cls.__name__}: {message}", RuntimeWarning, stacklevel=3)

    def flat_params(t):
        params = cls._free_to_params(t, stats).values()
        return ops.concatenate([ops.reshape(p, (-1,)) for p in params])

    if cls.scalar_parameters:  # θ lists the parameters themselves: J is the identity
        jacobian = np.eye(len(theta))
    else:
        jacobian = jacrev(flat_params)(as_tensor(theta))._array
    variances = np.einsum("ij,jk,ik->i", jacobian, covariance, jacobian)
    shapes = [p.shape for p in cls._free_to_params(as_tensor(theta), stats).values()]
    stderr, offset = {}, 0
    for name, shape in zip(cls.fit_constraints, shapes):
        size = math.prod(shape)
        chunk = np.sqrt(np.maximum(variances[offset:offset + size], 0)).reshape(shape)
        stderr[name] = float(chunk) if chunk.ndim == 0 else chunk
        offset += size
    return stderr, covariance, kind, message


def fit(dist, data, method="auto", start=None):
    """Fit ``dist`` to ``data`` by maximum likelihood; return a :class:`FitResult`.

    ``dist`` is a family (``Gamma``), its name (``"gamma"``) or an instance, whose parameters then
    serve as the numerical starting point (and, for ``Categorical``/``MultivariateNormal``, fix K
    or d). ``method``: ``"closed_form"`` (only for families that have one), ``"numeric"`` (Newton on
    an unconstrained parametrisation, every family) or ``"auto"`` (closed form when available).
    ``start`` (a dict of parameters or an instance) overrides the numerical starting point.

    Raises ``ValueError`` for empty data, NaN/inf, the wrong number of dimensions, values outside
    the support (naming the first offending index and value), degenerate data whose MLE lies on
    the boundary of the parameter space (a constant sample for a Normal, say), and estimates that
    are not finite in float64 (a covariance of data near 1e200, whose square overflows).

    >>> from torchsorflow.stats import fit
    >>> r = fit("normal", [1.0, 2.0, 3.0, 6.0])
    >>> r.params, round(r.stderr["loc"], 4)
    ({'loc': 3.0, 'scale': 1.8708286933869707}, 0.9354)
    """
    if isinstance(dist, str):
        cls, template = get_family(dist), None
    elif isinstance(dist, Distribution):
        cls, template = type(dist), dist
    elif isinstance(dist, type) and issubclass(dist, Distribution):
        cls, template = dist, None
    else:
        raise TypeError(f"fit: dist must be a distribution class, instance or name, got {dist!r}")
    if method not in ("auto", "closed_form", "numeric"):
        raise ValueError(f"fit: method must be 'auto', 'closed_form' or 'numeric', got {method!r}")
    stats, e = _prepare(cls, data, template)
    if method == "auto":
        method = "closed_form" if cls.has_closed_form else "numeric"
    if start is None and template is not None:
        start = template

    iterations, converged, message = 0, True, ""
    if method == "closed_form":
        params = {k: _plain(v) for k, v in cls._closed_form(stats).items()}
        theta = cls._params_to_free(params, stats)
    else:
        theta, result = cls._numeric_fit(stats, _start_theta(cls, start, stats, e))
        iterations, converged = result.iterations, result.converged
        if not converged:
            message = f"the optimizer stopped without converging: {result.message}"
            warnings.warn(f"{cls.__name__}: {message}", RuntimeWarning, stacklevel=2)
        params = {k: _plain(v) for k, v in cls._free_to_params(as_tensor(theta), stats).items()}

    loglik = float(cls._loglik(cls._free_to_params(as_tensor(theta), stats), stats).item())
    stderr, covariance, kind, problem = _standard_errors(cls, theta, stats)
    k, n = len(theta), stats["n"]
    if e:   # back to the data's units: the density of x is that of x / 2**e over 2**(e·d)
        factors = _free_factors(cls, theta, stats, e)
        params = _rescaled(cls, params, e)
        stderr = _rescaled(cls, stderr, e)
        with np.errstate(over="ignore", invalid="ignore"):   # beyond 1.8e308: inf, honestly
            covariance = covariance * np.outer(factors, factors)
        loglik -= n * stats.get("d", 1) * e * math.log(2)
    _check_finite(cls, params, loglik, e)
    return FitResult(family=cls.__name__, params=params, stderr=stderr, loglik=loglik,
                     aic=2 * k - 2 * loglik, bic=k * math.log(n) - 2 * loglik, n=n,
                     converged=converged, method=method, iterations=iterations,
                     covariance=covariance, free_names=cls._free_names(stats), information=kind,
                     message="; ".join(m for m in (message, problem) if m),
                     distribution=cls(**params, validate_args=False))


def _check_finite(cls, params, loglik, e):
    """Refuse estimates that float64 cannot hold: a table of inf and nan is no answer."""
    for name, value in params.items():
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{cls.__name__}: the maximum-likelihood {name} is not finite in "
                             f"float64: for data as large as 2^{e} it exceeds the largest float, "
                             "1.8e308; divide the data by a constant and scale the estimate back")
    if not math.isfinite(loglik):
        raise ValueError(f"{cls.__name__}: the log-likelihood at the estimate is {loglik}, so "
                         "the fit has no finite maximum for these data")
