"""Three ways to compute H⁻¹v, each of which says when it cannot be trusted.

``H`` is the Hessian of the regularised training risk at θ̂ plus ``damping``·I. Influence needs
H⁻¹v for a handful of vectors (one per test point), so no method ever forms H⁻¹ itself:

* :class:`ExactSolver` -- the dense Hessian and its Cholesky factor; H⁻¹v is two triangular solves.
  For models with up to a few thousand parameters this is the fastest and the reference.
* :class:`CGSolver` -- SciPy's conjugate gradients on a ``LinearOperator`` whose matrix-vector
  product is the framework's forward-over-reverse ``hvp``. Every product CG asks for is a free
  curvature probe: pᵀHp ≤ 0 for a search direction p proves that H is not positive definite.
* :class:`LissaSolver` -- the stochastic Neumann series of Agarwal et al. (2017) that Koh & Liang
  use: h ← v + (I − H_b/scale) h, whose limit is scale·H⁻¹v. It converges only when every
  eigenvalue of H/scale lies in (0, 2); outside that it grows geometrically, which is detected and
  reported with the scale and damping that would fix it, never returned as NaN.

A Hessian that is not positive definite raises :class:`NotPositiveDefiniteError`, carrying the
estimate of the smallest eigenvalue and a damping that would make H + damping·I safely definite.

>>> import numpy as np
>>> H = np.array([[2.0, 0.5], [0.5, 1.0]]); v = np.array([1.0, -1.0])
>>> solvers = [ExactSolver(H), CGSolver(lambda x: H @ x, 2), LissaSolver(lambda x, rng: H @ x, 2,
...            scale=3.0, depth=200, progress=False)]
>>> [bool(np.allclose(s.solve(v), np.linalg.solve(H, v))) for s in solvers]
[True, True, True]
>>> ExactSolver(np.diag([1.0, -0.2])).solve(v)
Traceback (most recent call last):
...
torchsorflow.influence.solvers.NotPositiveDefiniteError: the Hessian (+ damping 0) is not ...
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as sparse_linalg

from .._optional import progress_bar


class InfluenceWarning(UserWarning):
    """An influence computation finished but its result may be inaccurate (see the message)."""


class NotPositiveDefiniteError(ValueError):
    """H + damping·I is not positive definite at θ̂ (θ̂ is a saddle point or not a minimum)."""

    def __init__(self, smallest, largest, damping, source=""):
        self.smallest, self.largest, self.damping = smallest, largest, damping
        self.suggested_damping = suggest_damping(smallest + damping, largest)
        super().__init__(
            f"the Hessian (+ damping {damping:.3g}) is not positive definite{source}: smallest "
            f"eigenvalue {smallest:.3g} (largest {largest:.3g}); influence functions need a "
            f"minimum. Try damping={damping + self.suggested_damping:.3g} (> {-smallest:.3g}), "
            "train closer to a minimum, or restrict the parameters (e.g. the last layer)")


class _NegativeCurvature(Exception):
    """Raised inside CG's matrix-vector product when a direction with pᵀHp ≤ 0 turns up."""


class LissaDivergenceError(ArithmeticError):
    """The LiSSA recursion grew without bound (scale too small or the Hessian indefinite)."""


def suggest_damping(smallest, largest):
    """A round damping (1, 2 or 5 times a power of ten) above 2·|smallest| and 1e-8·largest."""
    need = max(2.0 * max(-smallest, 0.0), 1e-8 * abs(largest), 1e-12)
    exponent = math.floor(math.log10(need))
    for mantissa in (1, 2, 5, 10):
        if mantissa * 10.0 ** exponent >= need:
            return float(f"{mantissa * 10.0 ** exponent:.1g}")
    return float(f"{10.0 ** (exponent + 1):.1g}")   # pragma: no cover


def _columns(b):
    b = np.asarray(b, dtype=np.float64)
    return (b[:, None], True) if b.ndim == 1 else (b, False)


def lanczos_extremes(matvec, size, tol=1e-4):
    """(smallest, largest) eigenvalue of a symmetric operator by SciPy's Lanczos (``eigsh``)."""
    op = sparse_linalg.LinearOperator((size, size), matvec=matvec, dtype=np.float64)
    if size <= 2:
        dense = np.column_stack([matvec(e) for e in np.eye(size)])
        values = np.linalg.eigvalsh(0.5 * (dense + dense.T))
        return float(values[0]), float(values[-1])
    extremes = []
    for which in ("SA", "LA"):
        try:
            values = sparse_linalg.eigsh(op, k=1, which=which, tol=tol, maxiter=20 * size,
                                         return_eigenvectors=False,
                                         v0=np.ones(size) / math.sqrt(size))
        except sparse_linalg.ArpackNoConvergence as failure:
            values = failure.eigenvalues if len(failure.eigenvalues) else [np.nan]
        extremes.append(float(values[0]))
    return tuple(extremes)


class ExactSolver:
    """Cholesky factor of the dense Hessian plus ``damping``·I."""

    name = "exact"

    def __init__(self, hessian, damping=0.0):
        self.hessian = np.asarray(hessian, dtype=np.float64)
        self.damping = float(damping)
        size = len(self.hessian)
        try:
            self.factor = scipy.linalg.cho_factor(self.hessian + self.damping * np.eye(size))
        except np.linalg.LinAlgError:
            values = np.linalg.eigvalsh(self.hessian)
            raise NotPositiveDefiniteError(values[0], values[-1], self.damping) from None

    def solve(self, b):
        return scipy.linalg.cho_solve(self.factor, np.asarray(b, dtype=np.float64))

    def eigenvalue_range(self):
        values = np.linalg.eigvalsh(self.hessian)
        return float(values[0]), float(values[-1])


class CGSolver:
    """SciPy's ``cg`` on H + damping·I given only ``matvec(v) = Hv``; ``rtol`` is CG's relative
    residual target. Each solve costs one ``matvec`` per CG iteration."""

    name = "cg"

    def __init__(self, matvec, size, damping=0.0, rtol=1e-10, maxiter=None):
        self.matvec, self.size, self.damping = matvec, int(size), float(damping)
        self.rtol, self.maxiter = rtol, maxiter
        self.products = 0
        self.lowest_curvature = np.inf

    def _damped(self, v):
        v = np.asarray(v, dtype=np.float64).ravel()
        hv = self.matvec(v) + self.damping * v
        self.products += 1
        norm2 = float(v @ v)
        if norm2 > 0:
            self.lowest_curvature = min(self.lowest_curvature, float(v @ hv) / norm2)
            if self.lowest_curvature <= 0:   # CG's answer would be meaningless: stop at once
                raise _NegativeCurvature
        return hv

    def eigenvalue_range(self):
        return lanczos_extremes(self.matvec, self.size)

    def _not_definite(self, source):
        low, high = self.eigenvalue_range()
        low = min(low, self.lowest_curvature - self.damping)
        return NotPositiveDefiniteError(low, high, self.damping, source)

    def solve(self, b):
        columns, single = _columns(b)
        op = sparse_linalg.LinearOperator((self.size, self.size), matvec=self._damped,
                                          dtype=np.float64)
        solutions = []
        for rhs in columns.T:
            if not np.any(rhs):
                solutions.append(np.zeros_like(rhs))
                continue
            try:
                x, info = sparse_linalg.cg(op, rhs, rtol=self.rtol, atol=0.0,
                                           maxiter=self.maxiter)
            except _NegativeCurvature:
                x, info = np.zeros_like(rhs), -1
            if self.lowest_curvature <= 0 or float(x @ rhs) <= 0:
                raise self._not_definite(f" (CG met curvature pᵀHp/pᵀp = "
                                         f"{self.lowest_curvature:.3g} along a search direction)")
            residual = np.linalg.norm(self._damped(x) - rhs) / np.linalg.norm(rhs)
            if info != 0 or not np.isfinite(residual) or residual > max(1e3 * self.rtol, 1e-6):
                warnings.warn(f"CG stopped after {info if info > 0 else 'its'} iterations with "
                              f"relative residual {residual:.2e} (target {self.rtol:.0e}); the "
                              "Hessian may be ill-conditioned: add damping or raise maxiter",
                              InfluenceWarning, stacklevel=3)
            solutions.append(x)
        out = np.column_stack(solutions)
        return out[:, 0] if single else out


class LissaSolver:
    """LiSSA: ``repeats`` runs of ``depth`` steps h ← v + h − (H_b h + damping·h)/scale, averaged
    and divided by ``scale``; ``batch_matvec(v, rng)`` returns a (mini-batch) Hessian product.

    ``scale=None`` picks 1.5 x the largest eigenvalue of the full-batch H + damping·I (Lanczos).
    """

    name = "lissa"

    def __init__(self, batch_matvec, size, damping=0.0, scale=None, depth=1000, repeats=1,
                 seed=0, full_matvec=None, stochastic=False, progress=True):
        if depth < 1 or repeats < 1:
            raise ValueError(f"LiSSA needs depth >= 1 and repeats >= 1, got {depth} and {repeats}")
        self.batch_matvec, self.size, self.damping = batch_matvec, int(size), float(damping)
        self.full_matvec = full_matvec or (lambda v: batch_matvec(v, None))
        self.depth, self.repeats = int(depth), int(repeats)
        self.seed, self.progress = seed, progress
        self.stochastic = stochastic
        if scale is None:
            scale = 1.5 * (self.eigenvalue_range()[1] + self.damping)
        if not scale > 0:
            raise ValueError(f"LiSSA scale must be positive, got {scale}")
        self.scale = float(scale)

    def eigenvalue_range(self):
        return lanczos_extremes(self.full_matvec, self.size)

    def _diverged(self, step, norm, bound):
        low, high = self.eigenvalue_range()
        advice = [f"scale > {high + self.damping:.3g} (the largest eigenvalue of H + damping·I; "
                  f"try scale={2 * (high + self.damping):.3g})"]
        if low + self.damping <= 0:
            advice.append(f"damping >= {suggest_damping(low + self.damping, high):.3g} (the "
                          f"smallest eigenvalue is {low:.3g})")
        return LissaDivergenceError(
            f"LiSSA diverged at step {step} of {self.depth}: ‖h‖ = {norm:.3g} exceeds the bound "
            f"{bound:.3g} that a convergent recursion respects (scale={self.scale:.3g}, "
            f"damping={self.damping:.3g}). Use " + " and ".join(advice))

    def _run(self, v, rng, bar):
        h, v_norm = v.copy(), float(np.linalg.norm(v))
        step_norm = np.inf
        for step in range(1, self.depth + 1):
            product = self.batch_matvec(h, rng) + self.damping * h
            new = v + h - product / self.scale
            norm, bound = float(np.linalg.norm(new)), 10.0 * (step + 1) * v_norm
            if not np.isfinite(norm) or norm > bound:   # ‖h_t‖ ≤ (t+1)‖v‖ when it converges
                raise self._diverged(step, norm, bound)
            step_norm = float(np.linalg.norm(new - h)) / max(norm, 1e-300)
            h = new
            if bar is not None:
                bar.update(1)
        return h, step_norm

    def _check_convergence(self, estimates, last_step):
        if not self.stochastic and last_step > 1e-4:
            warnings.warn(f"LiSSA may not have converged: the last of {self.depth} steps still "
                          f"changed the estimate by {last_step:.1e} (relative); raise depth (it "
                          "needs about scale/λ_min steps) or damping", InfluenceWarning,
                          stacklevel=4)
        elif self.stochastic and len(estimates) > 1:
            mean = estimates.mean(axis=0)
            spread = float(np.linalg.norm(estimates - mean, axis=1).max() / np.linalg.norm(mean))
            if spread > 0.1:
                warnings.warn(f"LiSSA's {len(estimates)} repeats disagree by {spread:.0%} "
                              "(relative): raise batch_size, repeats or depth", InfluenceWarning,
                              stacklevel=4)

    def solve(self, b):
        columns, single = _columns(b)
        rng = np.random.default_rng(self.seed)
        total = columns.shape[1] * self.repeats * self.depth
        bar = progress_bar(total=total, desc="LiSSA", unit="hvp", leave=False,
                           enabled=self.progress and total >= 2000)
        solutions = []
        try:
            for rhs in columns.T:
                runs = [self._run(rhs, rng, bar) for _ in range(self.repeats)]
                estimates = np.array([h for h, _ in runs])
                self._check_convergence(estimates, max(step for _, step in runs))
                solutions.append(estimates.mean(axis=0) / self.scale)
        finally:
            bar.close()
        out = np.column_stack(solutions)
        return out[:, 0] if single else out
