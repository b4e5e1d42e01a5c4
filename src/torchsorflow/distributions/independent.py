"""``Independent``: read some batch dimensions of a distribution as event dimensions.

A batch of d independent Normals has ``log_prob`` of shape (d,); as one distribution on ℝᵈ with a
diagonal covariance it should have one number per point, the sum. ``Independent(base, 1)`` is
that: the same samples, with ``log_prob`` and ``entropy`` summed over the rightmost batch
dimension (``torch.distributions.Independent``).

>>> import numpy as np
>>> from torchsorflow.distributions import Independent, Normal
>>> d = Independent(Normal(np.zeros(3), np.ones(3)), 1)
>>> d.batch_shape, d.event_shape, d.log_prob(np.zeros(3)).shape
((), (3,), ())
"""
from __future__ import annotations

from . import constraints
from .distribution import Distribution
from .utils import sum_rightmost


class Independent(Distribution):
    arg_constraints: dict = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        batch = base_distribution.batch_shape
        if reinterpreted_batch_ndims > len(batch):
            raise ValueError("Expected reinterpreted_batch_ndims <= len(base_distribution."
                             f"batch_shape), actual {reinterpreted_batch_ndims} vs {len(batch)}")
        shape = batch + base_distribution.event_shape
        event_dim = reinterpreted_batch_ndims + len(base_distribution.event_shape)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Independent, _instance)
        batch_shape = tuple(batch_shape)
        new.__dict__.update(self.__dict__)
        reinterpreted = self._event_shape[:self.reinterpreted_batch_ndims]
        new.base_dist = self.base_dist.expand(batch_shape + reinterpreted)
        new._batch_shape = batch_shape
        return new

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self):
        base = self.base_dist.support
        n = self.reinterpreted_batch_ndims
        return constraints.independent(base, n) if n else base

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def _sample(self, shape, rng):
        return self.base_dist._sample(shape, rng)

    def _rsample(self, shape, rng):
        return self.base_dist._rsample(shape, rng)

    def log_prob(self, value, validate_args=None):
        return sum_rightmost(self.base_dist.log_prob(value, validate_args),
                             self.reinterpreted_batch_ndims)

    def entropy(self):
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand=True):
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
