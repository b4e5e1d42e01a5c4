"""The :class:`Distribution` base class: PyTorch's interface, and the fitting hooks.

One class per family serves both uses of a distribution in this package:

* the ``torch.distributions`` interface — ``batch_shape``/``event_shape``, ``sample``/``rsample``,
  ``log_prob``, ``entropy``, ``mean``, ``variance``, ``cdf``/``icdf``, ``expand``, argument
  validation with PyTorch's messages — written with differentiable framework ops, so gradients
  flow from ``log_prob`` and ``rsample`` to the parameters in eager ``backward()`` and under
  ``torchsorflow.func`` transforms alike;
* maximum-likelihood fitting by :func:`torchsorflow.stats.fit`: class-level hooks (sufficient
  statistics, closed-form estimators, parametrisations) inherited from
  :class:`~torchsorflow.distributions.likelihood.MaximumLikelihood`.

Subclasses write the formulas as ``_log_prob``, ``_cdf``, ``_icdf`` and ``_rsample``/``_sample``;
the public methods here convert and validate the value first.

Beyond PyTorch: ``sample``/``rsample`` take ``seed=`` (anything ``numpy.random.default_rng``
accepts) and an int ``n`` for ``(n,)``; without a seed they draw from the generator that
``torchsorflow.manual_seed`` seeds. ``log_prob`` accepts lists and arrays, and
``validate_args=False`` for one call.

>>> from torchsorflow.distributions import Normal
>>> d = Normal(0.0, 2.0)
>>> d
Normal(loc: 0.0, scale: 2.0)
>>> d.sample((3,), seed=0).shape, d.batch_shape, d.event_shape
((3,), (), ())
>>> Normal(0.0, -1.0)
Traceback (most recent call last):
...
ValueError: Expected parameter scale (Tensor of shape ()) of distribution Normal(loc: 0.0, scale: -1.0) to satisfy the constraint GreaterThan(lower_bound=0.0), but found invalid values:
-1.0
Normal: scale = -1.0 must be > 0
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import ops
from ..tensor import Tensor
from . import constraints
from .likelihood import MaximumLikelihood
from .utils import first_bad_block, lazy_property

__all__ = ["Distribution"]


def _show(value):
    """A parameter or value as PyTorch prints it in messages: a 0-d Tensor as its number."""
    return repr(value.item()) if value.ndim == 0 else repr(value)


def _sample_shape(owner, sample_shape):
    """``sample_shape`` as a tuple; an int n means (n,), as ``sample(n, seed=...)`` did in stats."""
    if isinstance(sample_shape, (int, np.integer)) and not isinstance(sample_shape, bool):
        if sample_shape < 0:
            raise ValueError(f"{owner}.sample: n must be a non-negative int, got {sample_shape!r}")
        return (int(sample_shape),)
    try:
        entries = tuple(sample_shape)
    except TypeError:
        entries = None
    if entries is None or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                                  and n >= 0 for n in entries):
        raise ValueError(f"{owner}.sample: sample_shape must be a tuple of non-negative ints, "
                         f"got {sample_shape!r}")
    return tuple(int(n) for n in entries)


def _rng(seed):
    """NumPy's generator for one draw: a fresh one for ``seed``, else the framework's default
    (seeded by ``torchsorflow.manual_seed``)."""
    if seed is None:
        return ops.creation.default_generator.rng
    return np.random.default_rng(seed)


class Distribution(MaximumLikelihood):
    """Base class of the probability distributions (``torch.distributions.Distribution``)."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = True
    arg_constraints: dict = {}
    support = None

    @staticmethod
    def set_default_validate_args(value):
        """Turn argument validation on or off for distributions created later."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._validate_parameters()

    # --- validation, with PyTorch's messages and the first offending entry ---------------------
    def _validate_parameters(self):
        for name, constraint in self.arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue
            if name not in self.__dict__ and isinstance(getattr(type(self), name, None),
                                                        lazy_property):
                continue  # the parametrisation the user did not give
            value = getattr(self, name)
            ok = constraint.contains(value._array)
            if not np.all(ok):
                raise ValueError(
                    f"Expected parameter {name} ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                    f"{constraint!r}, but found invalid values:\n{_show(value)}\n"
                    + self._pinpoint(name, value._array, constraint, ok))

    def _pinpoint(self, name, array, constraint, ok):
        """One line naming the first bad entry: ``Normal: scale[1] = -1.0 must be > 0``."""
        owner = type(self).__name__
        if isinstance(constraint, constraints._IndependentConstraint):
            ok = constraint.elementwise(array)
            constraint = constraint.base_constraint
        if constraint.event_dim == 0:
            array = np.broadcast_to(array, np.broadcast_shapes(np.shape(ok), array.shape))
            where, index = first_bad_block(np.broadcast_to(ok, array.shape), name)
            return (f"{owner}: {where} = {array[index].item()!r} must be "
                    f"{constraint.text_at(index, array.shape)}")
        where, index = first_bad_block(ok, name)
        return f"{owner}: {where} must be {constraint.text}{constraint.why(array[index])}"

    def _validate_sample(self, value):
        """PyTorch's checks of a value to score: its shape against batch and event shapes, then
        the support."""
        shape, event = tuple(value.shape), self._event_shape
        if shape[len(shape) - len(event):] != event or len(shape) < len(event):
            raise ValueError(f"The right-most size of value must match event_shape: {shape} vs "
                             f"{event}.")
        expected = self._batch_shape + event
        for i, j in zip(reversed(shape), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{shape} vs {expected}.")
        support = self.support
        if support is None:
            warnings.warn(f"{type(self).__name__} does not define `support` to enable sample "
                          "validation", stacklevel=3)
            return
        ok = support.contains(value._array)
        if not np.all(ok):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {shape}) to be within "
                f"the support ({support!r}) of the distribution {self!r}, but found invalid "
                f"values:\n{_show(value)}\n" + self._pinpoint("value", value._array, support, ok))

    def _value(self, value, validate_args=None):
        """``value`` as a Tensor of the parameters' dtype, validated unless switched off."""
        if not isinstance(value, Tensor):
            value = Tensor._wrap(np.asarray(value, dtype=self._dtype))
        check = self._validate_args if validate_args is None else validate_args
        if check:
            self._validate_sample(value)
        return value

    @property
    def _dtype(self):
        for value in self.__dict__.values():
            if isinstance(value, Tensor) and value.dtype.kind == "f":
                return value.dtype
        return np.float64

    # --- shapes ---------------------------------------------------------------------------------
    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def expand(self, batch_shape, _instance=None):
        """A view of this distribution with its parameters broadcast to ``batch_shape``; no
        copies, and no validation (the parameters were checked when it was made)."""
        batch_shape = tuple(batch_shape)
        new = self._get_checked_instance(type(self), _instance)
        new.__dict__.update(self.__dict__)
        for name in self._expanded_names():
            value = self.__dict__[name]
            new.__dict__[name] = ops.broadcast_to(
                value, batch_shape + tuple(value.shape[len(self._batch_shape):]))
        new._batch_shape = batch_shape
        return new

    def _expanded_names(self):
        """Attributes that carry the batch dimensions (the parameters given or computed)."""
        return [n for n in self.arg_constraints if isinstance(self.__dict__.get(n), Tensor)]

    # --- sampling -------------------------------------------------------------------------------
    def sample(self, sample_shape=(), seed=None):
        """Draws of shape ``sample_shape + batch_shape + event_shape``, outside autodiff."""
        if self.has_rsample:  # through rsample, which a PyTorch-style subclass may override
            draws = self.rsample(sample_shape) if seed is None else self.rsample(sample_shape, seed)
            return draws.detach()
        shape = self._extended_shape(_sample_shape(type(self).__name__, sample_shape))
        return self._sample(shape, _rng(seed))

    def rsample(self, sample_shape=(), seed=None):
        """Reparameterised draws: a differentiable function of the parameters."""
        if not self.has_rsample:
            raise NotImplementedError(f"{type(self).__name__} has no rsample: its samples are "
                                      "not a differentiable function of its parameters; use sample")
        shape = self._extended_shape(_sample_shape(type(self).__name__, sample_shape))
        return self._rsample(shape, _rng(seed))

    def sample_n(self, n):
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.",
                      FutureWarning, stacklevel=2)
        return self.sample((n,))

    def _sample(self, shape, rng):
        raise NotImplementedError(f"{type(self).__name__} does not implement sample")

    def _rsample(self, shape, rng):
        raise NotImplementedError(f"{type(self).__name__} does not implement rsample")

    # --- densities ------------------------------------------------------------------------------
    def log_prob(self, value, validate_args=None):
        """Log density (or mass) at ``value``, element-wise over the batch, differentiable in the
        parameters and in ``value``. Values outside the support raise ``ValueError`` naming the
        first one, unless validation is off (then the formula is evaluated there anyway)."""
        return self._log_prob(self._value(value, validate_args))

    def prob(self, value, validate_args=None):
        return ops.exp(self.log_prob(value, validate_args))

    def cdf(self, value):
        return self._cdf(self._value(value))

    def icdf(self, value):
        if not isinstance(value, Tensor):
            value = Tensor._wrap(np.asarray(value, dtype=self._dtype))
        return self._icdf(value)

    def _log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def _cdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement cdf (nor does "
                                  "PyTorch)")

    def _icdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement icdf (nor does "
                                  "PyTorch)")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def perplexity(self):
        return ops.exp(self.entropy())

    def enumerate_support(self, expand=True):
        raise NotImplementedError(f"{type(self).__name__} does not implement enumerate_support")

    # --- moments --------------------------------------------------------------------------------
    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self):
        return ops.sqrt(self.variance)

    # --- the parameters -------------------------------------------------------------------------
    @property
    def params(self):
        """The parameters :func:`torchsorflow.stats.fit` estimates (else those given), by name."""
        names = self.fit_constraints or [n for n in self.arg_constraints if n in self.__dict__]
        return {name: getattr(self, name) for name in names}

    def __repr__(self):
        shown = []
        for name in self.arg_constraints:
            value = self.__dict__.get(name)
            if isinstance(value, Tensor):
                text = (repr(value.item()) if value.ndim == 0 else
                        repr(value) if value.numel() == 1 else str(tuple(value.shape)))
                shown.append(f"{name}: {text}")
        return f"{type(self).__name__}({', '.join(shown)})"
