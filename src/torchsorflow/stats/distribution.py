"""The :class:`Distribution` base class, parameter constraints and data validation.

A distribution here is two things at once:

* an *object with parameters* (``Normal(loc=0.0, scale=2.0)``) whose ``log_prob`` is written with
  differentiable framework ops, so gradients and Hessians with respect to the parameters flow
  (``torchsorflow.func.hessian`` works on any function built from it);
* a *family* that knows how to be fitted: class-level hooks (``_statistics``, ``_loglik``,
  ``_closed_form`` ...) used by :func:`torchsorflow.stats.fit`.

Why class-level hooks? The log-likelihood of most families depends on the data only through a few
sums (the *sufficient statistics*): an Exponential needs N and Σx, a Gamma N, Σx and Σlog x. The
fitter computes those sums once with NumPy (the data are constants, never differentiated) and then
evaluates the log-likelihood as a tiny formula of the parameters with framework ops, so each
Newton step costs O(1) instead of O(N) and its Hessian is still exact, not approximated.

Parameters are kept as float64 Tensors: statistics wants the precision (standard errors come from
inverting a Hessian), and a Tensor passed in with ``requires_grad=True`` is kept as it is, so
``Normal(mu, sigma).log_prob(x).sum().backward()`` fills ``mu.grad`` like in PyTorch.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..func import hessian
from ..tensor import Tensor
from .optimize import newton_minimize


# --- where values may lie -------------------------------------------------------------------
class Constraint:
    """A set of allowed values, with a smooth map from all of ℝ onto it for numerical fitting.

    ``contains(array)`` returns a boolean mask of allowed entries; ``to_unconstrained`` maps a NumPy
    value into ℝ and ``from_unconstrained`` maps a Tensor back with framework ops (so the optimizer
    can differentiate through it).
    """

    def __init__(self, text, contains, to_unconstrained=None, from_unconstrained=None):
        self.text = text
        self.contains = contains
        self.to_unconstrained = to_unconstrained
        self.from_unconstrained = from_unconstrained

    def __repr__(self):
        return f"<constraint {self.text}>"


def _logit(p):
    return np.log(p) - np.log1p(-p)


real = Constraint("a finite real number", np.isfinite, lambda v: v, lambda u: u)
positive = Constraint("> 0", lambda v: np.isfinite(v) & (v > 0), np.log, ops.exp)
unit_interval = Constraint("in the open interval (0, 1)", lambda v: (v > 0) & (v < 1), _logit,
                           ops.sigmoid)
probability = Constraint("in [0, 1]", lambda v: (v >= 0) & (v <= 1))
nonnegative = Constraint("≥ 0", lambda v: v >= 0)
nonnegative_integer = Constraint("a non-negative integer", lambda v: (v >= 0) & (v == np.floor(v)))
binary = Constraint("0 or 1", lambda v: (v == 0) | (v == 1))


# --- reporting the first bad entry ----------------------------------------------------------
def _format_index(name, index):
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def first_violation(array, ok, name="data"):
    """``(\"data[i]\", value)`` for the first entry (in C order) where ``ok`` is False, else
    None."""
    ok = np.asarray(ok, dtype=bool)
    if ok.all():  # the common case, without building an index array of N entries
        return None
    bad = np.argwhere(~ok.reshape(array.shape))
    if bad.shape[0] == 0:
        return None
    index = tuple(bad[0])  # () for a 0-d array
    return _format_index(name, index) if array.ndim else name, array[index].item()


def check_values(owner, array, constraint, name):
    """Raise ``ValueError`` naming the first entry of ``array`` that breaks ``constraint``."""
    array = np.asarray(array)
    found = first_violation(array, constraint.contains(array), name)
    if found is not None:
        where, value = found
        raise ValueError(f"{owner}: {where} = {value!r} must be {constraint.text}")


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
    found = first_violation(x, cls.support.contains(x))
    if found is not None:
        raise ValueError(f"{owner}: {found[0]} = {found[1]!r} is outside the support "
                         f"(values must be {cls.support.text})")
    return x


def degenerate(owner, message):
    """The error for data whose maximum-likelihood estimate sits on the edge of the parameter space
    (zero variance, a probability of exactly 0 or 1): the estimate exists but is not an interior
    point, so the Hessian is singular and no standard error can be given."""
    return ValueError(f"{owner}: degenerate data: {message}")


def constant_value(x):
    """The common value if every observation is the same, else None."""
    return x.flat[0].item() if np.all(x == x.flat[0]) else None


def _param(value):
    if isinstance(value, Tensor):
        return value
    return Tensor(np.asarray(value, dtype=np.float64))


# --- the base class -------------------------------------------------------------------------
class Distribution:
    """Base class. Subclasses declare ``arg_constraints`` (parameter name → :class:`Constraint`, in
    constructor order), ``support``, ``_log_prob``, ``_sample``, ``mean`` and ``variance``."""

    arg_constraints: dict = {}
    scalar_parameters = True  # False where a parameter is a vector or matrix (θ is then custom)
    support: Constraint = real
    event_ndim = 0
    has_closed_form = False
    sample_dtype = np.float64

    def _store(self, validate_args, **params):
        for name, value in params.items():
            value = _param(value)
            if validate_args:
                check_values(type(self).__name__, value._array, self.arg_constraints[name], name)
            setattr(self, name, value)

    @property
    def params(self):
        """The parameters as a dict of Tensors, in constructor order."""
        return {name: getattr(self, name) for name in self.arg_constraints}

    def __repr__(self):
        def show(t):
            return repr(t.item()) if t.ndim == 0 else np.array2string(t._array, precision=4)
        inner = ", ".join(f"{k}={show(v)}" for k, v in self.params.items())
        return f"{type(self).__name__}({inner})"

    # --- density, sampling, moments ----------------------------------------------------------
    def log_prob(self, value, validate_args=True):
        """Log density (or mass) at ``value``, element-wise, differentiable in the parameters.

        Values outside the support raise ``ValueError`` naming the first one; with
        ``validate_args=False`` the formula is evaluated there anyway, as in PyTorch (SciPy would
        return −inf).
        """
        value = value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=np.float64))
        if validate_args:
            check_values(type(self).__name__, value._array, self.support, "value")
        return self._log_prob(value)

    def prob(self, value):
        return ops.exp(self.log_prob(value))

    def sample(self, n=1, seed=None):
        """``n`` independent draws as a Tensor of shape ``(n, *batch_shape, *event_shape)``.

        ``seed`` is anything ``numpy.random.default_rng`` accepts (an int makes draws repeatable).
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{type(self).__name__}.sample: n must be a non-negative int, got "
                             f"{n!r}")
        rng = np.random.default_rng(seed)
        arrays = {k: v._array for k, v in self.params.items()}
        batch = np.broadcast_shapes(*(a.shape[:a.ndim - self._event_dims(k)]
                                      for k, a in arrays.items()))
        draws = self._sample(rng, (int(n),) + batch, **arrays)
        return Tensor(np.asarray(draws).astype(self.sample_dtype, copy=False))

    def _event_dims(self, name):
        return 0

    @property
    def stddev(self):
        return ops.sqrt(self.variance)

    # --- hooks for fitting (see stats.fitting) -----------------------------------------------
    @classmethod
    def _check_data(cls, data, template=None):
        return check_data(cls, data)

    @classmethod
    def _prepare(cls, data, template=None):
        """Validate the data and reduce them to what the log-likelihood needs (checking that the
        MLE is an interior point). ``template`` is an instance passed to ``fit``, if any."""
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
        return ops.sum(model._log_prob(Tensor(stats["x"])))

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
        return list(cls.arg_constraints)

    @classmethod
    def _params_to_free(cls, params, stats):
        return np.array([float(np.asarray(params[k], dtype=np.float64))
                         for k in cls.arg_constraints])

    @classmethod
    def _free_to_params(cls, theta, stats):
        return {k: theta[i] for i, k in enumerate(cls.arg_constraints)}

    # Where a parameter's allowed set is closed (a probability in [0, 1]) the fitter still needs
    # an open set with a smooth map from ℝ; ``fit_constraints`` supplies it.
    fit_constraints: dict | None = None

    @classmethod
    def _free_to_unconstrained(cls, theta, stats):
        constraints = (cls.fit_constraints or cls.arg_constraints).values()
        return np.array([c.to_unconstrained(v) for c, v in zip(constraints, theta)])

    @classmethod
    def _unconstrained_to_free(cls, u, stats):
        constraints = (cls.fit_constraints or cls.arg_constraints).values()
        return ops.stack([c.from_unconstrained(u[i]) for i, c in enumerate(constraints)])

    @classmethod
    def _unconstrained_to_params(cls, u, stats):
        """The optimizer's u ↦ parameters. Scalar parameters map one by one, skipping the detour
        through θ (fewer primitives in every Newton step); others go u ↦ θ ↦ parameters."""
        if not cls.scalar_parameters:
            return cls._free_to_params(cls._unconstrained_to_free(u, stats), stats)
        constraints = cls.fit_constraints or cls.arg_constraints
        return {k: c.from_unconstrained(u[i]) for i, (k, c) in enumerate(constraints.items())}

    @classmethod
    def _numeric_fit(cls, stats, theta0):
        """Maximise the log-likelihood by Newton's method on unconstrained coordinates u (log of a
        positive parameter, logit of a probability ...), where no step can leave the parameter
        space. The objective is the *mean* negative log-likelihood so tolerances do not depend
        on N. Returns (θ̂, :class:`~torchsorflow.stats.optimize.NewtonResult`)."""
        n = stats["n"]

        def mean_nll(u):
            return ops.neg(cls._loglik(cls._unconstrained_to_params(u, stats), stats)) / n

        result = newton_minimize(mean_nll, cls._free_to_unconstrained(theta0, stats))
        return cls._unconstrained_to_free(Tensor(result.x), stats)._array, result

    @classmethod
    def _information(cls, theta, stats):
        """The observed Fisher information at θ̂: the Hessian of −log L with respect to the free
        natural coordinates θ, by the framework's autodiff (forward-over-reverse). Returns
        ``(matrix, "observed")``."""
        def nll(t):
            return ops.neg(cls._loglik(cls._free_to_params(t, stats), stats))
        return hessian(nll)(Tensor(theta))._array, "observed"


LOG_2PI = math.log(2 * math.pi)
