"""The multivariate normal, given by a covariance matrix, a precision matrix or a Cholesky factor.

As in PyTorch, every density and sample goes through the lower Cholesky factor L of the covariance
(Σ = LLᵀ): ``log_prob`` solves with L (the Mahalanobis term) and sums log diag L (half the log
determinant), ``rsample`` is loc + L·ε. The factor comes from the differentiable
:func:`~torchsorflow.ops.special.cholesky`, so gradients reach whichever matrix was given.

Exercise sheet 000, exercise 1: for data x₁ … x_N in ℝⁿ, ∇_μ log L = Σᵢ Σ⁻¹(xᵢ − μ) = 0, and
since Σ is positive definite this gives μ̂ = (1/N) Σᵢ xᵢ, the sample mean, whatever Σ is. The
covariance MLE is the biased sample covariance (1/N) Σᵢ (xᵢ − μ̂)(xᵢ − μ̂)ᵀ.

Parametrisations for fitting. A covariance matrix has d(d+1)/2 free entries (it is symmetric), so
the *free* coordinates θ used for standard errors are the mean and the lower triangle of Σ (row by
row). The optimizer instead works with the Cholesky factor L (Σ = LLᵀ, log of its diagonal), which
makes every point of ℝᵖ a valid positive-definite Σ.

>>> import numpy as np
>>> from torchsorflow.distributions import MultivariateNormal
>>> from torchsorflow.stats import fit
>>> x = np.array([[0.0, 1.0], [2.0, 1.0], [1.0, 4.0], [1.0, 2.0]])
>>> fit(MultivariateNormal, x).params["loc"]  # the sample mean, as the seed derives
array([1., 2.])
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..autodiff.tracer import wrap
from ..ops.special import cholesky
from . import constraints
from .continuous import _draws
from .distribution import Distribution
from .likelihood import check_data, degenerate
from .utils import LOG_2PI, _float_dtype, as_tensor, lazy_property


def _vech_position(i, j):
    """Index of entry (i, j), i ≥ j, in the row-major lower triangle (NumPy's ``tril_indices``)."""
    return i * (i + 1) // 2 + j


def _diagonal(matrix):
    return (matrix * np.eye(matrix.shape[-1], dtype=matrix.dtype)).sum(-1)


def _solve_lower(factor, vectors):
    """L⁻¹v for a batch of vectors, broadcasting L over the batch. Only the lower triangle of L
    is read (as by PyTorch's ``solve_triangular``), so its upper entries get no gradient. With one
    L for the whole batch (the usual case) the vectors are the columns of a single solve."""
    d = factor.shape[-1]
    factor = factor * np.tril(np.ones((d, d), dtype=factor.dtype))
    if factor.ndim == 2:
        columns = ops.reshape(vectors, (-1, d)).mT
        return ops.reshape(ops.solve(factor, columns).mT, vectors.shape)
    shape = np.broadcast_shapes(factor.shape[:-2], vectors.shape[:-1])
    factor = ops.broadcast_to(factor, shape + (d, d))
    vectors = ops.broadcast_to(vectors, shape + (d,))
    return ops.solve(factor, ops.unsqueeze(vectors, -1))[..., 0]


class MultivariateNormal(Distribution):
    """N(loc, Σ) on ℝᵈ (``torch.distributions.MultivariateNormal``,
    ``scipy.stats.multivariate_normal``); give exactly one of ``covariance_matrix``,
    ``precision_matrix`` (Σ⁻¹) and ``scale_tril`` (L). Data for fitting: an (N, d) array, one row
    per point.

    Cost of the standard errors: the information matrix takes one Hessian-vector product per free
    coordinate, p = d + d(d+1)/2 of them (about 0.05 s at d = 5, 0.2 s at d = 10 and 2 s at
    d = 20 on a laptop-class CPU), so very high-dimensional fits are better served by the
    closed-form point estimates alone.
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True
    fit_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite}
    scalar_parameters = False
    event_ndim = 1
    has_closed_form = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = {k: v for k, v in (("covariance_matrix", covariance_matrix),
                                   ("precision_matrix", precision_matrix),
                                   ("scale_tril", scale_tril)) if v is not None}
        dtype = _float_dtype([loc, *given.values()])
        loc = as_tensor(loc, dtype)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril "
                             "may be specified.")
        (name, matrix), = given.items()
        matrix = as_tensor(matrix, dtype)
        if matrix.ndim < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        d = loc.shape[-1]
        if matrix.shape[-2:] != (d, d):
            raise ValueError(f"MultivariateNormal: loc must have shape (..., d) and {name} "
                             f"(..., d, d); got {loc.shape} and {matrix.shape}")
        batch_shape = np.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        setattr(self, name, ops.broadcast_to(matrix, batch_shape + (d, d)))
        self.loc = ops.broadcast_to(loc, batch_shape + (d,))
        super().__init__(batch_shape, (d,), validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = cholesky(ops.inv(matrix))

    @property
    def dim(self):
        return self._event_shape[0]

    def _matrix_shape(self):
        return self._batch_shape + self._event_shape + self._event_shape

    @lazy_property
    def scale_tril(self):
        return ops.broadcast_to(self._unbroadcasted_scale_tril, self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        factor = self._unbroadcasted_scale_tril
        return ops.broadcast_to(ops.matmul(factor, factor.mT), self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        return ops.inv(self.covariance_matrix)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """The marginal variances, diag(Σ) (as ``torch...MultivariateNormal.variance``)."""
        rows = (self._unbroadcasted_scale_tril ** 2).sum(-1)
        return ops.broadcast_to(rows, self._batch_shape + self._event_shape)

    def _rsample(self, shape, rng):
        noise = _draws(rng.standard_normal(shape), self.loc)
        factor = self._unbroadcasted_scale_tril
        return self.loc + ops.matmul(factor, ops.unsqueeze(noise, -1))[..., 0]

    def _half_log_det(self):
        return ops.log(_diagonal(self._unbroadcasted_scale_tril)).sum(-1)

    def _log_prob(self, value):
        whitened = _solve_lower(self._unbroadcasted_scale_tril, value - self.loc)
        mahalanobis = (whitened * whitened).sum(-1)
        return -0.5 * (self.dim * LOG_2PI + mahalanobis) - self._half_log_det()

    def entropy(self):
        entropy = 0.5 * self.dim * (1.0 + LOG_2PI) + self._half_log_det()
        return ops.broadcast_to(entropy, self._batch_shape)

    # --- fitting ---------------------------------------------------------------------------
    @classmethod
    def _check_data(cls, data, template=None):
        return check_data(cls, data, None if template is None else template.dim)

    @classmethod
    def _statistics(cls, x):
        mean = x.mean(axis=0)
        centred = x - mean
        return {"n": x.shape[0], "d": x.shape[1], "mean": mean, "scatter": centred.T @ centred}

    @classmethod
    def _check_degenerate(cls, stats):
        n, d = stats["n"], stats["d"]
        eigenvalues = np.linalg.eigvalsh(stats["scatter"] / n)
        if eigenvalues.min() <= 1e-12 * max(eigenvalues.max(), 1e-300):
            rank = int(np.sum(eigenvalues > 1e-12 * max(eigenvalues.max(), 1e-300)))
            hint = (f" (N = {n} ≤ d = {d})" if n <= d
                    else " (some coordinates are linearly dependent)")
            raise degenerate(cls.__name__, f"the sample covariance of {n} points in {d} dimensions "
                             f"is singular, rank {rank}{hint}; the likelihood is unbounded")

    @classmethod
    def _loglik(cls, params, stats):
        """−N/2 [d log 2π + log|Σ|] − ½ tr(Σ⁻¹ S) − N/2 (x̄ − μ)ᵀ Σ⁻¹ (x̄ − μ), S the scatter matrix
        about x̄: Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ = S + N (x̄ − μ)(x̄ − μ)ᵀ."""
        n, d = stats["n"], stats["d"]
        loc, cov = params["loc"], params["covariance_matrix"]
        trace = ops.sum(ops.solve(cov, wrap(stats["scatter"])) * np.eye(d))
        delta = stats["mean"] - loc
        quadratic = ops.sum(delta * ops.solve(cov, delta))
        return -0.5 * n * (d * LOG_2PI + ops.logdet(cov)) - 0.5 * trace - 0.5 * n * quadratic

    @classmethod
    def _closed_form(cls, stats):
        return {"loc": stats["mean"].copy(), "covariance_matrix": stats["scatter"] / stats["n"]}

    @classmethod
    def _initial(cls, stats):
        """Sample mean and the *diagonal* of the sample covariance: Newton finds the rest."""
        start = {"loc": stats["mean"], "covariance_matrix": np.diag(np.diag(stats["scatter"]))
                 / stats["n"]}
        return cls._params_to_free(start, stats)

    @classmethod
    def _free_names(cls, stats):
        rows, cols = np.tril_indices(stats["d"])
        return ([f"loc[{i}]" for i in range(stats["d"])]
                + [f"covariance_matrix[{i}, {j}]" for i, j in zip(rows, cols)])

    @classmethod
    def _params_to_free(cls, params, stats):
        cov = np.asarray(params["covariance_matrix"], dtype=np.float64)
        return np.concatenate([np.asarray(params["loc"], dtype=np.float64),
                               cov[np.tril_indices(stats["d"])]])

    @classmethod
    def _free_to_params(cls, theta, stats):
        d = stats["d"]
        symmetric = np.array([[d + _vech_position(max(i, j), min(i, j)) for j in range(d)]
                              for i in range(d)])
        return {"loc": theta[:d], "covariance_matrix": theta[symmetric]}

    @classmethod
    def _free_to_unconstrained(cls, theta, stats):
        d = stats["d"]
        cov = cls._free_to_params(wrap(np.asarray(theta)), stats)["covariance_matrix"]._array
        factor = np.linalg.cholesky(cov)
        factor[np.diag_indices(d)] = np.log(np.diag(factor))
        return np.concatenate([theta[:d], factor[np.tril_indices(d)]])

    @classmethod
    def _unconstrained_to_free(cls, u, stats):
        d = stats["d"]
        raw = ops.concatenate([u[d:], wrap(np.zeros(1))])
        zero_slot = d * (d + 1) // 2
        strictly_lower = np.array([[_vech_position(i, j) if i > j else zero_slot for j in range(d)]
                                   for i in range(d)])
        diagonal = np.array([_vech_position(i, i) for i in range(d)])
        factor = raw[strictly_lower] + np.eye(d) * ops.exp(raw[diagonal])
        cov = ops.matmul(factor, ops.swapaxes(factor, -1, -2))
        return ops.concatenate([u[:d], cov[np.tril_indices(d)]])
