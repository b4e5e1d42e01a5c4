"""Where parameters and values may lie: ``torch.distributions.constraints``.

A constraint answers three questions:

* ``check(value)``: a boolean Tensor, True where ``value`` lies in the set (PyTorch's method; the
  rightmost ``event_dim`` dimensions are reduced, so a whole vector is checked at once);
* ``contains(array)``: the same on a NumPy array, for the fitting code and for error messages;
* ``text``: how a message completes "must be …" (``"> 0"``, ``"in [0, 1]"``), so an error can name
  the first offending entry and say what it should have been.

Constraints of parameters that :func:`torchsorflow.stats.fit` estimates also carry the smooth map
from all of ℝ onto the set that its Newton iterations run on (``from_unconstrained``, with framework
ops so it is differentiated through) and its inverse on NumPy values (``to_unconstrained``).

>>> from torchsorflow.distributions import constraints
>>> constraints.positive, constraints.unit_interval
(GreaterThan(lower_bound=0.0), Interval(lower_bound=0.0, upper_bound=1.0))
>>> constraints.positive.check(__import__("torchsorflow").tensor([1.0, -2.0]))
tensor([ True, False])
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor

__all__ = ["Constraint", "boolean", "dependent", "dependent_property", "greater_than",
           "greater_than_eq", "half_open_interval", "independent", "integer_interval",
           "interval", "is_dependent", "less_than", "lower_cholesky", "nonnegative",
           "nonnegative_integer", "one_hot", "positive", "positive_definite", "positive_integer",
           "real", "real_vector", "simplex", "unit_interval"]


def _array(value):
    return value._array if isinstance(value, Tensor) else np.asarray(value)


def _number(bound):
    """A bound as it reads in a message: 0 not 0.0; a Tensor bound shows its values."""
    array = np.asarray(bound._array if isinstance(bound, Tensor) else bound)
    if array.ndim == 0:
        value = array.item()
        return f"{value:g}" if isinstance(value, float) else f"{value}"
    return np.array2string(array, precision=4)


def _is_zero(bound):
    return not isinstance(bound, Tensor) and np.ndim(bound) == 0 and bound == 0


def _shown(bound):
    """A bound as PyTorch's reprs print it: a 0-d Tensor as its number."""
    return repr(bound.item()) if isinstance(bound, Tensor) and bound.ndim == 0 else f"{bound!r}"


class Constraint:
    """Base class: a set of values. ``event_dim`` is how many rightmost dimensions make one
    element of the set (1 for a probability vector, 2 for a matrix)."""

    is_discrete = False
    event_dim = 0
    text = "valid"

    def contains(self, array):
        """Boolean NumPy mask over ``array.shape[:ndim - event_dim]``."""
        raise NotImplementedError

    def check(self, value):
        return Tensor._wrap(np.asarray(self.contains(_array(value))))

    def text_at(self, index, shape=()):
        """The text for the entry at ``index`` of a value of ``shape`` (constraints with array
        bounds name the matching bound)."""
        return self.text

    def why(self, block):
        """An optional detail for one offending element of a constraint with ``event_dim > 0``."""
        return ""

    def __repr__(self):
        return type(self).__name__.lstrip("_") + "()"


class _Dependent(Constraint):
    """A placeholder for a constraint that depends on other parameters; never checked."""

    def __init__(self, *, is_discrete=False, event_dim=0):
        self.is_discrete = is_discrete
        self.event_dim = event_dim

    def __call__(self, *, is_discrete=None, event_dim=None):
        return _Dependent(is_discrete=self.is_discrete if is_discrete is None else is_discrete,
                          event_dim=self.event_dim if event_dim is None else event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint):
    return isinstance(constraint, _Dependent)


class dependent_property(property, _Dependent):  # noqa: N801 - PyTorch's name
    """A property whose value is a constraint computed from the instance (``Uniform.support`` is
    ``interval(low, high)``); on the class it reads as a dependent constraint."""

    def __init__(self, fn=None, *, is_discrete=False, event_dim=0):
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn):
        return dependent_property(fn, is_discrete=self.is_discrete, event_dim=self.event_dim)


class _Real(Constraint):
    text = "a real number, not NaN"

    def contains(self, array):
        return array == array  # False only for NaN, as in PyTorch (±inf pass)

    def to_unconstrained(self, value):
        return value

    def from_unconstrained(self, u):
        return u


class _Boolean(Constraint):
    is_discrete = True
    text = "0 or 1"

    def contains(self, array):
        return (array == 0) | (array == 1)


class _Bound(Constraint):
    """A half line or interval with scalar or array bounds."""

    def _bound_at(self, bound, index, shape):
        array = _array(bound)
        if array.ndim == 0:
            return _number(array)
        return _number(np.broadcast_to(array, shape)[index])


class _HalfLine(_Bound):
    """{x : x ⋚ bound}: subclasses give the comparison, its symbol and the bound's name."""

    symbol, attribute = ">", "lower_bound"

    def __init__(self, bound):
        setattr(self, self.attribute, bound)

    @property
    def _bound(self):
        return getattr(self, self.attribute)

    @property
    def text(self):
        return f"{self.symbol} {_number(self._bound)}"

    def text_at(self, index, shape=()):
        return f"{self.symbol} {self._bound_at(self._bound, index, shape)}"

    def contains(self, array):
        return self._holds(array, _array(self._bound))

    def __repr__(self):
        return f"{type(self).__name__.lstrip('_')}({self.attribute}={_shown(self._bound)})"


class _GreaterThan(_HalfLine):
    symbol = ">"
    _holds = staticmethod(np.greater)

    def to_unconstrained(self, value):
        return np.log(value - _array(self.lower_bound))

    def from_unconstrained(self, u):
        return ops.exp(u) if _is_zero(self.lower_bound) else ops.exp(u) + self.lower_bound


class _GreaterThanEq(_HalfLine):
    symbol = "≥"
    _holds = staticmethod(np.greater_equal)


class _LessThan(_HalfLine):
    symbol, attribute = "<", "upper_bound"
    _holds = staticmethod(np.less)


class _Interval(_Bound):
    """[lower_bound, upper_bound]; fitting maps ℝ onto its interior with a scaled sigmoid."""

    brackets = "[]"

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def _describe(self, low, high):
        return f"in {self.brackets[0]}{low}, {high}{self.brackets[1]}"

    @property
    def text(self):
        return self._describe(_number(self.lower_bound), _number(self.upper_bound))

    def text_at(self, index, shape=()):
        return self._describe(self._bound_at(self.lower_bound, index, shape),
                              self._bound_at(self.upper_bound, index, shape))

    def contains(self, array):
        return (_array(self.lower_bound) <= array) & (array <= _array(self.upper_bound))

    def to_unconstrained(self, value):
        low, high = _array(self.lower_bound), _array(self.upper_bound)
        p = (value - low) / (high - low)
        return np.log(p) - np.log1p(-p)

    def from_unconstrained(self, u):
        if _is_zero(self.lower_bound) and _is_zero(self.upper_bound - 1):
            return ops.sigmoid(u)
        return self.lower_bound + (self.upper_bound - self.lower_bound) * ops.sigmoid(u)

    def __repr__(self):
        return (f"{type(self).__name__.lstrip('_')}(lower_bound={_shown(self.lower_bound)}, "
                f"upper_bound={_shown(self.upper_bound)})")


class _HalfOpenInterval(_Interval):
    brackets = "[)"

    def contains(self, array):
        return (_array(self.lower_bound) <= array) & (array < _array(self.upper_bound))


class _OpenInterval(_Interval):
    """(lower_bound, upper_bound): where the data of a Beta fit must lie (PyTorch has no name for
    it; its Beta support is the closed interval)."""

    brackets = "()"

    @property
    def text(self):
        return "in the open interval " + super().text[3:]

    def contains(self, array):
        return (_array(self.lower_bound) < array) & (array < _array(self.upper_bound))


class _IntegerInterval(_Bound):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def _describe(self, low, high):
        return f"an integer in [{low}, {high})"

    @property
    def text(self):  # [0, K) reads as "one of K categories"
        return self._describe(_number(self.lower_bound), _number(_array(self.upper_bound) + 1))

    def text_at(self, index, shape=()):
        return self._describe(self._bound_at(self.lower_bound, index, shape),
                              self._bound_at(_array(self.upper_bound) + 1, index, shape))

    def contains(self, array):
        return ((array % 1 == 0) & (_array(self.lower_bound) <= array)
                & (array <= _array(self.upper_bound)))

    def __repr__(self):
        return f"IntegerInterval(lower_bound={_shown(self.lower_bound)}, upper_bound={_shown(self.upper_bound)})"


class _IntegerGreaterThan(_Bound):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    @property
    def text(self):
        return {0: "a non-negative integer", 1: "a positive integer"}.get(
            self.lower_bound, f"an integer ≥ {self.lower_bound}")

    def contains(self, array):
        return (array % 1 == 0) & (array >= _array(self.lower_bound))

    def __repr__(self):
        return f"IntegerGreaterThan(lower_bound={_shown(self.lower_bound)})"


class _IndependentConstraint(Constraint):
    """``base`` holding element-wise, with the rightmost ``reinterpreted_batch_ndims`` dimensions
    read as one event (``real_vector`` is ``independent(real, 1)``)."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    @property
    def text(self):
        return self.base_constraint.text

    def elementwise(self, array):
        return self.base_constraint.contains(array)

    def contains(self, array):
        ok = self.base_constraint.contains(array)
        n = self.reinterpreted_batch_ndims
        return ok.reshape(ok.shape[:ok.ndim - n] + (-1,)).all(-1) if n else ok

    def __repr__(self):
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _Simplex(Constraint):
    event_dim = 1
    text = "a probability vector (entries ≥ 0 summing to 1)"

    def contains(self, array):
        return np.all(array >= 0, axis=-1) & (np.abs(array.sum(-1) - 1) < 1e-6)

    def why(self, block):
        if np.any(block < 0):
            return f" (entry {int(np.argmax(block < 0))} is {block[np.argmax(block < 0)]!r})"
        return f" (the entries sum to {block.sum()!r})"


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1
    text = "a one-hot vector (one entry 1, the others 0)"

    def contains(self, array):
        return np.all((array == 0) | (array == 1), axis=-1) & (array.sum(-1) == 1)


def _symmetric(array):
    return np.all(np.isclose(array, np.swapaxes(array, -1, -2), atol=1e-6), axis=(-2, -1))


class _PositiveDefinite(Constraint):
    event_dim = 2
    text = "positive definite"

    def contains(self, array):
        ok = _symmetric(array)
        if not np.all(ok):
            return ok
        return np.linalg.eigvalsh(array).min(-1) > 0 if array.size else ok

    def why(self, block):
        if not _symmetric(block):
            return " (it must be symmetric)"
        return f" (smallest eigenvalue {np.linalg.eigvalsh(block).min():.3g})"


class _LowerCholesky(Constraint):
    event_dim = 2
    text = "lower triangular with a positive diagonal"

    def contains(self, array):
        lower = np.all(np.tril(array) == array, axis=(-2, -1))
        return lower & np.all(np.diagonal(array, axis1=-2, axis2=-1) > 0, axis=-1)


# --- the instances, under PyTorch's names ---------------------------------------------------
dependent = _Dependent()
boolean = _Boolean()
real = _Real()
real_vector = _IndependentConstraint(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
unit_interval = _Interval(0.0, 1.0)
open_unit_interval = _OpenInterval(0.0, 1.0)
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
simplex = _Simplex()
one_hot = _OneHot()
positive_definite = _PositiveDefinite()
lower_cholesky = _LowerCholesky()
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
interval = _Interval
half_open_interval = _HalfOpenInterval
integer_interval = _IntegerInterval
independent = _IndependentConstraint
