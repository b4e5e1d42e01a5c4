"""What a family tells :func:`torchsorflow.stats.fit`: the :class:`MaximumLikelihood` hooks every
:class:`~torchsorflow.distributions.Distribution` inherits, and the checks of data to fit.

Why class-level hooks? The log-likelihood of most families depends on the data only through a few
sums (the *sufficient statistics*): an Exponential needs N and Σx, a Gamma N, Σx and Σlog x. The
fitter computes those sums once with NumPy (the data are constants, never differentiated) and then
evaluates the log-likelihood as a tiny formula of the parameters with framework ops, so each
Newton step costs O(1) instead of O(N) and its Hessian is still exact, not approximated.

A family is fittable when it names its estimated parameters in ``fit_constraints`` (name →
constraint, in constructor order); the constraint's ``from_unconstrained`` is the smooth map from
ℝ the Newton iterations run on. ``fit_support`` is where data may lie (it can be narrower than
``support``: a Beta is fitted to data strictly inside (0, 1)).
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..func import hessian
from ..tensor import Tensor
from .utils import first_violation
from ..ops.creation import as_tensor


def as_float_array(data, owner):
    """Data of any array-like kind (list, ndarray, Tensor, pandas Series) as a float64 array."""
    if isinstance(data, Tensor):
        data = data._array
    try:
        array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{owner}: data must be numbers, could not convert them ({error})"
                         ) from None
    return array


def check_data(cls, data, event_size=None):
    """Validate observations for fitting ``cls``; return them as a float64 array.

    Checks, in order: not empty, the right number of dimensions (N observations of shape
    ``cls.event_ndim``), all finite, all inside the support. Each error names the first offending
    index and value, so it can be found in the file it came from.
    """
    owner = cls.__name__
    x = as_float_array(data, owner)
    want = 1 + cls.event_ndim
    if x.ndim != want:
        layout = "a 1-D array (one observation per entry)" if want == 1 else \
            "a 2-D array of shape (N, d) (one observation per row)"
        raise ValueError(f"{owner}: expected {layout}, got an array of shape {x.shape}")
    if x.shape[0] == 0 or x.size == 0:
        raise ValueError(f"{owner}: cannot fit to empty data (shape {x.shape})")
    if event_size is not None and x.shape[1] != event_size:
        raise ValueError(f"{owner}: observations have {x.shape[1]} coordinates but the "
                         f"distribution has {event_size}")
    found = first_violation(x, np.isfinite(x))
    if found is not None:
        raise ValueError(f"{owner}: {found[0]} = {found[1]!r} is not a finite number")
    support = cls.fit_support or cls.support
    found = first_violation(x, support.elementwise(x) if cls.event_ndim else support.contains(x))
    if found is not None:
        raise ValueError(f"{owner}: {found[0]} = {found[1]!r} is outside the support "
                         f"(values must be {support.text})")
    return x


def degenerate(owner, message):
    """The error for data whose maximum-likelihood estimate sits on the edge of the parameter space
    (zero variance, a probability of exactly 0 or 1): the estimate exists but is not an interior
    point, so the Hessian is singular and no standard error can be given."""
    return ValueError(f"{owner}: degenerate data: {message}")


def constant_value(x):
    """The common value if every observation is the same, else None."""
    return x.flat[0].item() if np.all(x == x.flat[0]) else None


class MaximumLikelihood:
    """Default fitting hooks; families override those their likelihood makes simpler."""

    fit_constraints: dict | None = None  # None: the family cannot be fitted
    fit_support = None  # where data may lie, if narrower than the support
    scalar_parameters = True  # False where a parameter is a vector or matrix (θ is then custom)
    event_ndim = 0
    has_closed_form = False

    @classmethod
    def _fittable(cls):
        if cls.fit_constraints is None:
            from ..stats.fitting import FAMILIES
            names = ", ".join(f.__name__ for f in FAMILIES)
            raise ValueError(f"{cls.__name__} cannot be fitted by maximum likelihood here; the "
                             f"families that can: {names}")

    @classmethod
    def _check_data(cls, data, template=None):
        return check_data(cls, data)

    @classmethod
    def _prepare(cls, data, template=None):
        """Validate the data and reduce them to what the log-likelihood needs (checking that the
        MLE is an interior point). ``template`` is an instance passed to ``fit``, if any."""
        cls._fittable()
        stats = cls._statistics(cls._check_data(data, template))
        cls._check_degenerate(stats)
        return stats

    @classmethod
    def _statistics(cls, x):
        """What the log-likelihood needs from the data. Default: the data themselves."""
        return {"n": x.shape[0], "x": x, "constant": constant_value(x)}

    @classmethod
    def _check_degenerate(cls, stats):
        """Raise :func:`degenerate` when the MLE would sit on the boundary. Default: when the
        statistics record a ``constant`` sample, whose fitted spread would be 0."""
        if stats.get("constant") is not None:
            raise degenerate(cls.__name__, f"all {stats['n']} observations equal "
                             f"{stats['constant']!r}, so the maximum-likelihood spread is 0 and "
                             "the density collapses to a point; the fit needs at least two "
                             "distinct values")

    @classmethod
    def _loglik(cls, params, stats):
        """Total log-likelihood as a scalar Tensor, differentiable in ``params``.

        Default: the sum of ``log_prob`` over the data. Families with sufficient statistics override
        this with a formula in those sums (same value, O(1) cost).
        """
        model = cls(**params, validate_args=False)
        return ops.sum(model._log_prob(as_tensor(stats["x"])))

    @classmethod
    def _closed_form(cls, stats):
        raise ValueError(f"{cls.__name__} has no closed-form maximum-likelihood estimate; use "
                         "method='numeric' (or 'auto')")

    @classmethod
    def _initial(cls, stats):
        """A starting point θ for numerical fitting.

        The default starts at 0.7× the closed-form estimate's free coordinates: near enough for
        Newton, yet far enough that ``method="numeric"`` is a genuine, independent check of the
        closed form rather than a no-op.
        """
        closed = {k: np.asarray(getattr(v, "_array", v), dtype=np.float64)
                  for k, v in cls._closed_form(stats).items()}
        return 0.7 * cls._params_to_free(closed, stats)

    # The "free" vector θ lists the parameters' independent coordinates in their natural units;
    # standard errors come from the Hessian of the negative log-likelihood with respect to θ.
    # The default below is for families whose parameters are all scalars.
    @classmethod
    def _free_names(cls, stats):
        return list(cls.fit_constraints)

    @classmethod
    def _params_to_free(cls, params, stats):
        return np.array([float(np.asarray(params[k], dtype=np.float64))
                         for k in cls.fit_constraints])

    @classmethod
    def _free_to_params(cls, theta, stats):
        return {k: theta[i] for i, k in enumerate(cls.fit_constraints)}

    @classmethod
    def _free_to_unconstrained(cls, theta, stats):
        return np.array([c.to_unconstrained(v)
                         for c, v in zip(cls.fit_constraints.values(), theta)])

    @classmethod
    def _unconstrained_to_free(cls, u, stats):
        return ops.stack([c.from_unconstrained(u[i])
                          for i, c in enumerate(cls.fit_constraints.values())])

    @classmethod
    def _unconstrained_to_params(cls, u, stats):
        """The optimizer's u ↦ parameters. Scalar parameters map one by one, skipping the detour
        through θ (fewer primitives in every Newton step); others go u ↦ θ ↦ parameters."""
        if not cls.scalar_parameters:
            return cls._free_to_params(cls._unconstrained_to_free(u, stats), stats)
        return {k: c.from_unconstrained(u[i])
                for i, (k, c) in enumerate(cls.fit_constraints.items())}

    @classmethod
    def _numeric_fit(cls, stats, theta0):
        """Maximise the log-likelihood by Newton's method on unconstrained coordinates u (log of a
        positive parameter, logit of a probability ...), where no step can leave the parameter
        space. The objective is the *mean* negative log-likelihood so tolerances do not depend
        on N. Returns (θ̂, :class:`~torchsorflow.stats.optimize.NewtonResult`)."""
        from ..stats.optimize import newton_minimize  # stats imports this package
        n = stats["n"]

        def mean_nll(u):
            return ops.neg(cls._loglik(cls._unconstrained_to_params(u, stats), stats)) / n

        result = newton_minimize(mean_nll, cls._free_to_unconstrained(theta0, stats))
        return cls._unconstrained_to_free(as_tensor(result.x), stats)._array, result

    @classmethod
    def _information(cls, theta, stats):
        """The observed Fisher information at θ̂: the Hessian of −log L with respect to the free
        natural coordinates θ, by the framework's autodiff (forward-over-reverse). Returns
        ``(matrix, "observed")``."""
        def nll(t):
            return ops.neg(cls._loglik(cls._free_to_params(t, stats), stats))
        return hessian(nll)(as_tensor(theta))._array, "observed"
