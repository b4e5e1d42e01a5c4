"""Re-optimising the training objective to convergence, fast, from a warm start.

Leave-one-out validation and the Taylor check compare influence predictions with θ̂ₓ, the exact
minimiser of a slightly changed objective R_w (one weight set to 0, or to 1 + Nε). Those changes
move θ by O(1/N), so the retrained θ must be accurate to far better than that: loose training
would drown the effect being measured. Two methods:

* with a factored Hessian M ≈ ∇²R_w near the answer (small models): the *chord* (simplified)
  Newton iteration θ ← θ − M⁻¹∇R_w(θ). Because R_w differs from R only by one example, M = ∇²R(θ̂)
  is usually an excellent approximation and each step shrinks the gradient by a large factor: a
  few gradient evaluations reach ‖∇R_w‖ ≈ 1e-12. Backtracking keeps every step a descent step.
  Where M is not good enough (a non-convex model whose smallest curvature is below one
  example's), the step becomes a true Newton step, solved by CG on Hessian-vector products at the
  current θ with M as preconditioner.
* otherwise SciPy's ``trust-ncg`` with the framework's gradient and Hessian-vector products.

>>> import numpy as np
>>> from torchsorflow import nn
>>> from torchsorflow.influence.objective import Objective
>>> X = np.random.default_rng(0).normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)
>>> risk = Objective(nn.Linear(3, 2), None, X, y, l2=0.01)
>>> theta, info = minimize_risk(risk, risk.theta, hessian=True)
>>> info.converged, bool(np.abs(risk.value_and_grad(theta)[1]).max() < 1e-10)
(True, True)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse.linalg as sparse_linalg

from .solvers import InfluenceWarning, suggest_damping


@dataclass
class OptimizeInfo:
    converged: bool
    iterations: int
    gradient_norm: float   # max |∂R_w/∂θⱼ| at the returned θ
    method: str


class Preconditioner:
    """A Cholesky factor of ∇²R (made definite with a little damping if it is not) to reuse."""

    def __init__(self, hessian):
        hessian = 0.5 * (hessian + hessian.T)
        shift = 0.0
        try:
            self.factor = scipy.linalg.cho_factor(hessian)
        except np.linalg.LinAlgError:
            values = np.linalg.eigvalsh(hessian)
            shift = suggest_damping(values[0], values[-1])
            self.factor = scipy.linalg.cho_factor(hessian + shift * np.eye(len(hessian)))
        self.shift = shift

    def solve(self, g):
        return scipy.linalg.cho_solve(self.factor, g)


def minimize_risk(objective, theta0, weights=None, hessian=None, gtol=1e-11, max_iter=200,
                  fallbacks=()):
    """Minimise R_w from ``theta0``; returns ``(theta, OptimizeInfo)``.

    ``hessian``: a :class:`Preconditioner`, ``True`` to build one at ``theta0``, or ``None`` for
    the matrix-free ``trust-ncg``. ``gtol`` bounds the largest gradient entry at the answer.
    When the chord iteration stalls (the Newton decrement gᵀM⁻¹g shrinks by less than 0.81 a
    step), the factor is replaced by the next of ``fallbacks`` (functions θ -> Preconditioner);
    once they are used up, steps become Newton steps solved by CG with Hessian-vector products at
    the current θ, preconditioned by the factor: exact curvature at the cost of a few HVPs.
    """
    if hessian is True:
        hessian = Preconditioner(objective.hessian(theta0, weights))
    if hessian is None:
        return _trust_ncg(objective, theta0, weights, gtol, max_iter)
    fallbacks = list(fallbacks)
    newton = False

    def direction(theta, g):
        if not newton:
            return hessian.solve(g)
        size = len(g)
        op = sparse_linalg.LinearOperator((size, size), dtype=np.float64,
                                          matvec=lambda v: objective.hvp(theta, v, weights))
        pre = sparse_linalg.LinearOperator((size, size), matvec=hessian.solve, dtype=np.float64)
        return sparse_linalg.cg(op, g, rtol=1e-6, atol=0.0, M=pre, maxiter=50)[0]

    def better_model(theta, g):
        """The next fallback factor, or Newton-CG when none is left; the new step."""
        nonlocal hessian, newton
        if fallbacks:
            hessian = fallbacks.pop(0)(theta)
        else:
            newton = True
        step = direction(theta, g)
        return step, float(g @ step)

    theta = np.array(theta0, dtype=np.float64)
    value, g = objective.value_and_grad(theta, weights)
    step = direction(theta, g)
    decrement = float(g @ step)   # the chord iteration shrinks gᵀM⁻¹g steadily
    iteration = 0
    for iteration in range(max_iter):
        norm = float(np.abs(g).max())
        if norm <= gtol:
            return theta, OptimizeInfo(True, iteration, norm, "newton" if newton else "chord")
        t = 1.0
        while t > 1e-10 and decrement > 0:
            candidate = theta - t * step
            new_value, new_g = objective.value_and_grad(candidate, weights)
            # Armijo, or (near the optimum, where values only differ by rounding) a smaller gradient
            if new_value <= value - 1e-4 * t * decrement or np.abs(new_g).max() < norm:
                break
            t *= 0.5
        else:   # no descent along the step: a better model of the curvature, or give up
            if newton:
                break
            step, decrement = better_model(theta, g)
            continue
        theta, value, g = candidate, new_value, new_g
        step = direction(theta, g)
        previous, decrement = decrement, float(g @ step)
        if not newton and decrement > 0.81 * previous:   # contracting by less than 0.9 a step
            step, decrement = better_model(theta, g)
    norm = float(np.abs(g).max())
    converged = norm <= gtol
    if not converged:
        warnings.warn(f"re-optimisation stopped with max |∇R| = {norm:.2e} > {gtol:.0e}",
                      InfluenceWarning, stacklevel=2)
    return theta, OptimizeInfo(converged, iteration + 1, norm, "newton" if newton else "chord")


def lbfgs(objective, theta0, weights=None, gtol=1e-8, max_iter=5000):
    """SciPy's L-BFGS on R_w: the robust way to get *near* a minimum from far away (a random
    initialisation, a non-convex model), before Newton-type polishing."""
    result = scipy.optimize.minimize(lambda th: objective.value_and_grad(th, weights),
                                     np.asarray(theta0, dtype=np.float64), jac=True,
                                     method="L-BFGS-B",
                                     options={"maxiter": max_iter, "gtol": gtol, "ftol": 1e-15})
    return result.x, OptimizeInfo(bool(result.success), int(result.nit),
                                  float(np.abs(result.jac).max()), "L-BFGS")


def _trust_ncg(objective, theta0, weights, gtol, max_iter):
    cache = {}

    def value_and_grad(theta):
        key = theta.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = objective.value_and_grad(theta, weights)
        return cache[key]

    result = scipy.optimize.minimize(
        lambda th: value_and_grad(th)[0], np.asarray(theta0, dtype=np.float64),
        jac=lambda th: value_and_grad(th)[1], method="trust-ncg",
        hessp=lambda th, v: objective.hvp(th, v, weights),
        options={"gtol": gtol, "maxiter": max_iter})
    norm = float(np.abs(value_and_grad(result.x)[1]).max())
    converged = norm <= 10 * gtol
    if not converged:
        warnings.warn(f"trust-ncg stopped with max |∇R| = {norm:.2e}: {result.message}",
                      InfluenceWarning, stacklevel=3)
    return result.x, OptimizeInfo(converged, int(result.nit), norm, "trust-ncg")
