"""Influence functions that check themselves.

* :func:`validate_loo` -- Koh & Liang's Figure 2: for the ``k`` training points with the largest
  predicted effect on one test loss, remove each one, retrain to convergence (warm start from θ̂),
  and compare the actual change of the test loss with the prediction −I_up,loss/N.
* :func:`check_taylor` -- seed 002, exercise 4, numerically: re-optimise with one point
  up-weighted by ε and show that ‖θ̂(ε) − θ̂‖ shrinks like ε while the error of the first-order
  expansion ‖θ̂(ε) − (θ̂ + ε dθ̂/dε)‖ shrinks like ε².

Removal is the weight change wᵢ: 1 → 0 in (1/N) Σ wᵢ L(zᵢ, θ) + (l2/2)‖θ‖², exactly ε = −1/N in
the seed's θ̂(ε). (Re-normalising by 1/(N−1) instead would also strengthen the L2 term by a factor
N/(N−1): a shift common to every removal, which the first-order prediction does not describe.)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._optional import progress_bar
from .optimize import Preconditioner, minimize_risk
from .solvers import InfluenceWarning


@dataclass
class LOOResult:
    indices: np.ndarray     # training points removed, most influential (by |prediction|) first
    predicted: np.ndarray   # predicted change of the test loss, −I_up,loss / N
    actual: np.ndarray      # change after retraining without the point
    pearson: float
    spearman: float
    test_loss: float        # test loss of the model trained on all points
    png: str | None = None

    def __str__(self):
        lines = [f"leave-one-out over {len(self.indices)} points: Pearson R = {self.pearson:.4f}, "
                 f"Spearman ρ = {self.spearman:.4f} (test loss {self.test_loss:.4f})",
                 "   train index    predicted       actual"]
        lines += [f"  {i:>12}  {p:>+11.3e}  {a:>+11.3e}"
                  for i, p, a in zip(self.indices, self.predicted, self.actual)]
        if self.png:
            lines.append(f"scatter plot: {self.png}")
        return "\n".join(lines)


@dataclass
class TaylorCheck:
    eps: np.ndarray
    zeroth_order: np.ndarray   # ‖θ̂(ε) − θ̂‖
    first_order: np.ndarray    # ‖θ̂(ε) − θ̂ − ε·dθ̂/dε‖
    order_zeroth: float        # fitted slope of log error against log |ε| (expected 1)
    order_first: float         # (expected 2)
    png: str | None = None

    def __str__(self):
        lines = ["          ε    ‖θ̂(ε) − θ̂‖   ‖θ̂(ε) − θ̂ − ε·dθ̂/dε‖   ratio / ε²"]
        lines += [f"  {e:>9.1e}  {z:>12.3e}  {f:>22.3e}  {f / e ** 2:>11.4g}"
                  for e, z, f in zip(self.eps, self.zeroth_order, self.first_order)]
        lines.append(f"fitted orders: zeroth-order error ~ ε^{self.order_zeroth:.2f}, "
                     f"first-order error ~ ε^{self.order_first:.2f} (the seed's claim: 2)")
        if self.png:
            lines.append(f"plot: {self.png}")
        return "\n".join(lines)


def _baseline(influence, gtol=1e-11):
    """θ* = the re-optimised θ̂ (identical when θ̂ was already a minimum) and a Hessian factor."""
    objective = influence.objective
    preconditioner = influence._preconditioner(influence.theta)
    theta, _ = minimize_risk(objective, influence.theta, hessian=preconditioner, gtol=gtol)
    moved = np.linalg.norm(theta - influence.theta) / max(np.linalg.norm(influence.theta), 1e-300)
    if moved > 1e-6:
        warnings.warn(f"θ̂ was not a minimum: re-optimising moved it by {moved:.1e} (relative). "
                      "Predictions are made at θ̂ and retraining starts from the minimum; call "
                      "fit() first for a like-for-like check", InfluenceWarning, stacklevel=3)
    return theta, preconditioner


def _reweighted(influence, theta, weights):
    """Fallback factors for re-optimising R_w from θ: first ∇²R(θ) + Σⱼ (wⱼ − 1)·∇²Lⱼ(θ)/N, the
    Hessian of the *changed* objective (one example's Hessian: cheap), then the default."""
    from .model import MAX_EXACT_PARAMS

    changed = np.flatnonzero(weights != 1)
    objective = influence.objective
    if objective.size > MAX_EXACT_PARAMS or not len(changed):
        return ()

    def corrected(_):
        correction = sum((weights[j] - 1) * objective.example_hessian(theta, [j]) for j in changed)
        return Preconditioner(influence._dense_hessian() + correction)
    return (corrected,)


def validate_loo(influence, test_point, k=50, png=None, indices=None):
    """Predicted vs actual test-loss change for the ``k`` most influential training points.

    Each retraining starts from θ̂ and runs to max |∇R_w| ≤ 1e-11 (chord Newton with the Hessian
    at θ̂ for small models, trust-region Newton-CG otherwise). Returns a :class:`LOOResult`;
    ``png`` writes the scatter plot.
    """
    import scipy.stats

    inputs, targets, _ = influence._points(test_point, "test_point")
    if len(targets) != 1:
        raise ValueError(f"validate_loo checks one test point, got {len(targets)}")
    objective = influence.objective
    predicted_all = influence.predicted_loss_change((inputs, targets))[0]
    if indices is None:
        indices = np.argsort(-np.abs(predicted_all), kind="stable")[:int(k)]
    indices = np.asarray(indices, dtype=np.int64)
    if len(indices) < 3:
        raise ValueError(f"validate_loo needs at least 3 points to correlate, got {len(indices)}")
    theta, preconditioner = _baseline(influence)
    test_loss = float(objective.losses(theta, (inputs, targets))[0])
    actual = np.empty(len(indices))
    for j, i in enumerate(progress_bar(indices, desc="leave-one-out", leave=False,
                                       enabled=influence.progress)):
        weights = np.ones(objective.n)
        weights[i] = 0.0
        retrained, _ = minimize_risk(objective, theta, weights, hessian=preconditioner,
                                     fallbacks=_reweighted(influence, theta, weights))
        actual[j] = objective.losses(retrained, (inputs, targets))[0] - test_loss
    predicted = predicted_all[indices]
    pearson = float(scipy.stats.pearsonr(predicted, actual)[0])
    spearman = float(scipy.stats.spearmanr(predicted, actual)[0])
    result = LOOResult(indices, predicted, actual, pearson, spearman, test_loss)
    if png is not None:
        from .plots import loo_scatter
        result.png = loo_scatter(predicted, actual, pearson, spearman, png,
                                 f"Leave-one-out, {len(indices)} most influential points")
    return result


def check_taylor(influence, train_idx, eps_list=None, png=None):
    """Re-optimise with training point ``train_idx`` up-weighted by each ε and measure the errors
    of the zeroth- and first-order Taylor expansions of θ̂(ε) (:class:`TaylorCheck`).

    ``eps_list`` defaults to (1, 0.3, 0.1, 0.03, 0.01)/N: removal is ε = −1/N, so that is the
    scale on which the expansion has to be good.

    Each θ̂(ε) is re-optimised to max |∇R_w| ≤ 1e-13, so that the ε² term stays above the
    optimisation error down to small ε. The derivative is the model's own
    ``influence_on_params``, so with ``damping > 0`` the
    first-order error keeps a term ε‖((H + λI)⁻¹ − H⁻¹)∇L‖ and its fitted order drops towards 1.
    """
    objective = influence.objective
    i = int(train_idx)
    if eps_list is None:
        eps_list = np.array([1.0, 0.3, 0.1, 0.03, 0.01]) / objective.n
    eps = np.asarray(eps_list, dtype=np.float64)
    if eps.ndim != 1 or len(eps) < 2 or np.any(eps == 0):
        raise ValueError(f"eps_list needs at least two non-zero values, got {eps_list!r}")
    if np.any(1 + objective.n * eps < 0):
        raise ValueError(f"ε must be >= −1/N = {-1 / objective.n:.3g} (a weight cannot be "
                         f"negative), got {eps.min():.3g}")
    theta, preconditioner = _baseline(influence, gtol=1e-13)
    derivative = influence.influence_on_params(i)
    zeroth, first = [], []
    for e in eps:
        weights = np.ones(objective.n)
        weights[i] += objective.n * e
        moved, _ = minimize_risk(objective, theta, weights, hessian=preconditioner, gtol=1e-13,
                                 fallbacks=_reweighted(influence, theta, weights))
        zeroth.append(np.linalg.norm(moved - theta))
        first.append(np.linalg.norm(moved - theta - e * derivative))
    zeroth, first = np.array(zeroth), np.array(first)
    logs = np.log(np.abs(eps))
    result = TaylorCheck(eps, zeroth, first, float(np.polyfit(logs, np.log(zeroth), 1)[0]),
                         float(np.polyfit(logs, np.log(first), 1)[0]))
    if png is not None:
        from .plots import taylor_plot
        result.png = taylor_plot(eps, zeroth, first, png,
                                 f"Up-weighting training point {i} by ε")
    return result
