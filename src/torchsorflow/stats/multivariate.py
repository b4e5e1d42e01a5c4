"""The multivariate normal with a mean vector and a full covariance matrix.

Seed 000, exercise 1: for data x₁ … x_N in ℝⁿ,
∇_μ log L = Σᵢ Σ⁻¹(xᵢ − μ) = 0, and since Σ is positive definite this gives μ̂ = (1/N) Σᵢ xᵢ, the
sample mean, whatever Σ is. The covariance MLE is the biased sample covariance
(1/N) Σᵢ (xᵢ − μ̂)(xᵢ − μ̂)ᵀ.

Parametrisations. A covariance matrix has d(d+1)/2 free entries (it is symmetric), so the *free*
coordinates θ used for standard errors are the mean and the lower triangle of Σ (row by row).
The optimizer instead works with the Cholesky factor L (Σ = LLᵀ, log of its diagonal), which makes
every point of ℝᵖ a valid positive-definite Σ.

>>> import numpy as np
>>> from torchsorflow.stats import MultivariateNormal, fit
>>> x = np.array([[0.0, 1.0], [2.0, 1.0], [1.0, 4.0], [1.0, 2.0]])
>>> fit(MultivariateNormal, x).params["loc"]  # the sample mean, as the seed derives
array([1., 2.])
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor
from .distribution import LOG_2PI, Distribution, check_data, degenerate, real


def _vech_position(i, j):
    """Index of entry (i, j), i ≥ j, in the row-major lower triangle (NumPy's ``tril_indices``)."""
    return i * (i + 1) // 2 + j


class MultivariateNormal(Distribution):
    """N(loc, covariance_matrix) on ℝᵈ (``torch.distributions.MultivariateNormal``,
    ``scipy.stats.multivariate_normal``). Data for fitting: an (N, d) array, one row per point.

    ``log_prob`` uses ``solve`` and ``logdet`` from the core, so it is differentiable in both the
    mean and the covariance (the gradient with respect to Σ is the full, unsymmetrised one, as
    in PyTorch).

    Cost of the standard errors: the information matrix takes one Hessian-vector product per free
    coordinate, p = d + d(d+1)/2 of them, so the cost grows as d² Hessian-vector products and
    very high-dimensional fits are better served by the closed-form point estimates alone.
    """

    arg_constraints = {"loc": real, "covariance_matrix": real}
    scalar_parameters = False
    support = real
    event_ndim = 1
    has_closed_form = True

    def __init__(self, loc, covariance_matrix, validate_args=True):
        self._store(validate_args, loc=loc, covariance_matrix=covariance_matrix)
        loc, cov = self.loc, self.covariance_matrix
        d = loc.shape[-1] if loc.ndim else 0
        if loc.ndim == 0 or cov.ndim < 2 or cov.shape[-2:] != (d, d):
            raise ValueError(f"MultivariateNormal: loc must have shape (..., d) and "
                             f"covariance_matrix (..., d, d); got {loc.shape} and {cov.shape}")
        if validate_args:
            c = cov._array
            if not np.allclose(c, np.swapaxes(c, -1, -2), rtol=1e-10, atol=1e-12):
                raise ValueError("MultivariateNormal: covariance_matrix must be symmetric")
            if np.any(np.linalg.eigvalsh(c) <= 0):
                raise ValueError("MultivariateNormal: covariance_matrix must be positive definite "
                                 f"(smallest eigenvalue {np.linalg.eigvalsh(c).min():.3g})")

    @property
    def dim(self):
        return self.loc.shape[-1]

    def _event_dims(self, name):
        return 1 if name == "loc" else 2

    def _log_prob(self, x):
        diff = x - self.loc
        solved = ops.squeeze(ops.solve(self.covariance_matrix, ops.unsqueeze(diff, -1)), -1)
        mahalanobis = ops.sum(diff * solved, axis=-1)
        return -0.5 * (self.dim * LOG_2PI + ops.logdet(self.covariance_matrix) + mahalanobis)

    def _sample(self, rng, shape, loc, covariance_matrix):
        d = loc.shape[-1]
        factor = np.linalg.cholesky(covariance_matrix)
        z = rng.standard_normal(shape + (d,))
        return loc + np.einsum("...ij,...j->...i", factor, z)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        """The marginal variances, diag(Σ) (as ``torch...MultivariateNormal.variance``)."""
        return ops.sum(self.covariance_matrix * np.eye(self.dim), axis=-1)

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
        trace = ops.sum(ops.solve(cov, Tensor(stats["scatter"])) * np.eye(d))
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
        cov = cls._free_to_params(Tensor(theta), stats)["covariance_matrix"]._array
        factor = np.linalg.cholesky(cov)
        factor[np.diag_indices(d)] = np.log(np.diag(factor))
        return np.concatenate([theta[:d], factor[np.tril_indices(d)]])

    @classmethod
    def _unconstrained_to_free(cls, u, stats):
        d = stats["d"]
        raw = ops.concatenate([u[d:], Tensor(np.zeros(1))])
        zero_slot = d * (d + 1) // 2
        strictly_lower = np.array([[_vech_position(i, j) if i > j else zero_slot for j in range(d)]
                                   for i in range(d)])
        diagonal = np.array([_vech_position(i, i) for i in range(d)])
        factor = raw[strictly_lower] + np.eye(d) * ops.exp(raw[diagonal])
        cov = ops.matmul(factor, ops.swapaxes(factor, -1, -2))
        return ops.concatenate([u[:d], cov[np.tril_indices(d)]])
