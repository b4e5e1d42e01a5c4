"""Damped Newton minimisation driven by the framework's own derivatives.

Maximum-likelihood problems have few parameters (2 for a Gamma, d + d(d+1)/2 for a d-dimensional
Gaussian), so the full Hessian is cheap: ``torchsorflow.func.hessian`` builds it from one
Hessian-vector product per parameter (forward-over-reverse). With it, Newton's method converges
quadratically — a handful of steps to machine precision — which is what lets the numerical fit agree
with a closed form to 1e-6 and better.

Two safeguards make plain Newton robust far from the optimum:

* if the Hessian is not positive definite (the objective is not locally convex), a multiple of the
  identity is added until it is (Levenberg–Marquardt damping), so the step always goes downhill;
* a backtracking line search halves the step until the objective decreases enough (Armijo rule),
  which also rejects steps into regions where the objective is NaN or infinite.

>>> import numpy as np
>>> import torchsorflow as tsf
>>> from torchsorflow.stats.optimize import newton_minimize
>>> f = lambda u: tsf.exp(u[0]) - 2 * u[0] + (u[1] - 3.0) ** 2   # minimum at (log 2, 3)
>>> result = newton_minimize(f, np.zeros(2))
>>> result.converged, np.round(result.x, 6).tolist()
(True, [0.693147, 3.0])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..func import hessian, value_and_grad
from ..ops.creation import as_tensor


@dataclass
class NewtonResult:
    x: np.ndarray
    value: float
    gradient: np.ndarray
    iterations: int
    converged: bool
    message: str


def _descent_direction(hess, grad):
    """Solve (H + λI) p = −g with the smallest λ ≥ 0 (from a short ladder) making H + λI positive
    definite."""
    scale = max(1.0, float(np.max(np.abs(np.diag(hess))))) if hess.size else 1.0
    damping = 0.0
    eye = np.eye(len(grad))
    for _ in range(30):
        try:
            factor = np.linalg.cholesky(hess + damping * eye)
        except np.linalg.LinAlgError:
            damping = max(1e-10 * scale, damping * 10)
            continue
        return -np.linalg.solve(factor.T, np.linalg.solve(factor, grad))
    return -grad / scale  # hopeless curvature: fall back to a scaled gradient step


def newton_minimize(objective, x0, max_iter=100, step_tol=1e-11, grad_tol=1e-13):
    """Minimise a scalar function of a 1-D float64 vector written with framework ops.

    Stops when a full Newton step is shorter than ``step_tol`` (relative to the size of ``x``) or
    predicts a decrease below the rounding error of f (that last step is taken: Newton's
    quadratic convergence makes it polish the result), or when the gradient's largest entry is
    below ``grad_tol``. Returns a
    :class:`NewtonResult`; ``converged`` is False when ``max_iter`` is reached or the line search
    cannot make progress.
    """
    value_grad = value_and_grad(objective)
    hess = hessian(objective)

    def evaluate(x):
        """(f, ∇f) at x; a trial point where f cannot be computed (overflow, a singular matrix)
        counts as f = +inf, so the line search simply backs off from it."""
        try:
            with np.errstate(all="ignore"):
                value, grad = value_grad(as_tensor(x))
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return np.inf, np.full_like(x, np.nan)
        return float(value.item()), grad._array.astype(np.float64)

    x = np.asarray(x0, dtype=np.float64).copy()
    f, g = evaluate(x)
    if not np.isfinite(f) or not np.all(np.isfinite(g)):
        return NewtonResult(x, f, g, 0, False, "the objective is not finite at the starting point")
    for iteration in range(1, max_iter + 1):
        if np.max(np.abs(g), initial=0.0) <= grad_tol:
            return NewtonResult(x, f, g, iteration - 1, True, "gradient vanished")
        step = _descent_direction(hess(as_tensor(x))._array, g)
        slope = float(g @ step)
        # Done when the step is negligible, or when the decrease Newton predicts (half the
        # "Newton decrement" gᵀH⁻¹g) is below the rounding error of f: then no step can be
        # verified by the line search, e.g. along a nearly flat direction (a huge Student-t df).
        tiny = (np.max(np.abs(step)) <= step_tol * (1 + np.max(np.abs(x)))
                or -slope / 2 <= 1e-15 * max(1.0, abs(f)))
        t = 1.0
        while True:
            candidate = x + t * step
            f_new, g_new = evaluate(candidate)
            # A little slack (relative rounding of f) so a converged point is not refused.
            if tiny or (np.isfinite(f_new) and f_new <= f + 1e-4 * t * slope + 1e-15 * abs(f)):
                break
            t *= 0.5
            if t < 1e-12:
                return NewtonResult(x, f, g, iteration, False,
                                    "line search failed: no decrease along the Newton direction")
        x, f, g = candidate, f_new, g_new
        if tiny:
            return NewtonResult(x, f, g, iteration, True, "Newton step below tolerance")
    return NewtonResult(x, f, g, max_iter, False, f"no convergence in {max_iter} iterations")
