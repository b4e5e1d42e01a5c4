"""``InfluenceModel``: which training points made this prediction (Koh & Liang, 2017).

Seed 002, exercise 4: up-weighting a training point z by ε gives the minimiser

    θ̂(ε) = argmin_θ (1/N) Σᵢ L(zᵢ, θ) + ε L(z, θ)   (here plus the L2 term (l2/2)‖θ‖²),

whose first-order Taylor expansion θ̂(ε) ≈ θ̂ + ε dθ̂/dε|₀ holds with, by the implicit function
theorem on ∇R(θ̂(ε)) + ε∇L(z, θ̂(ε)) = 0,

    I_up,params(z) = dθ̂/dε|₀ = −H⁻¹ ∇θL(z, θ̂),      H = ∇²R(θ̂) (+ damping·I).

By the chain rule the influence on the loss at a test point is

    I_up,loss(z, z_test) = −∇θL(z_test, θ̂)ᵀ H⁻¹ ∇θL(z, θ̂) = −s_testᵀ ∇θL(z, θ̂),

and removing z is ε = −1/N, so the test loss changes by about −I_up,loss/N. The computation is
organised around that last form: one inverse-Hessian-vector product s_test = H⁻¹∇L(z_test) per
test point, then ⟨∇L(zᵢ), s_test⟩ for *all* training points in one forward-mode pass (the
Jacobian of the per-example loss vector times s_test); no per-example gradient is ever formed.

>>> import numpy as np
>>> from torchsorflow import nn
>>> X = np.random.default_rng(0).normal(size=(60, 4)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
>>> model = nn.Linear(4, 2)
>>> influence = InfluenceModel(model, None, (X, y), l2=0.01).fit()
>>> float((influence.outputs(X).argmax(1) == y).mean()) > 0.9
True
>>> change = influence.predicted_loss_change((X[0], y[0]))
>>> change.shape
(60,)
>>> top = influence.top_k((X[0], y[0]), k=3)
>>> len(top.helpful), bool(top.helpful[0][1] > 0)
(3, True)
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._optional import progress_bar
from .objective import Objective, as_arrays
from .optimize import Preconditioner, lbfgs, minimize_risk
from .solvers import CGSolver, ExactSolver, InfluenceWarning, LissaSolver

METHODS = ("exact", "cg", "lissa")
MAX_EXACT_PARAMS = 5000


@dataclass
class TopInfluences:
    """The ``k`` training points whose removal would change the test loss the most.

    ``helpful``: removing them *raises* the test loss (they support the prediction);
    ``harmful``: removing them *lowers* it. Each entry is ``(train index, predicted change)``.
    """
    helpful: list
    harmful: list
    scores: np.ndarray = field(repr=False)   # predicted test-loss change for every training point

    def table(self, labels=None):
        """The two lists side by side as text; ``labels`` (training labels) adds a column."""
        def cells(entry):
            label = f"{labels[entry[0]]:>6}" if labels is not None else ""
            return f"{entry[0]:>7}{label}  {entry[1]:>+11.3e}"
        header = "  train#" + (" label" if labels is not None else "") + "  Δ test loss"
        lines = ["        helpful (removing one raises the test loss)"
                 "   harmful (removing one lowers it)",
                 "  rank" + header + "   " + header]
        for rank, (good, bad) in enumerate(zip(self.helpful, self.harmful), 1):
            lines.append(f"  {rank:>4} {cells(good)}    {cells(bad)}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


class InfluenceModel:
    """Influence functions for a trained ``model`` on ``train_data``.

    ``loss_fn(output, target)`` is the per-example training loss in PyTorch style (default
    cross-entropy; it is called with ``reduction='none'``). ``params`` chooses the parameters to
    study (names or module prefixes; default all), ``l2`` is the L2 coefficient of training (the
    ``weight_decay`` of SGD), ``damping`` is added to the Hessian, and ``method`` picks the solver:
    ``"exact"`` (dense Hessian + Cholesky, up to a few thousand parameters), ``"cg"`` (``rtol``,
    ``maxiter``) or ``"lissa"`` (``scale``, ``depth``, ``repeats``, ``lissa_batch_size``, ``seed``).

    The model is copied in float64 and eval mode; the copy lives in :attr:`model`.

    ``distributed=True`` (inside an initialised :mod:`torchsorflow.distributed` process group,
    every rank passing the same model and data) shards the training set across the ranks: see
    :mod:`torchsorflow.influence.distributed`. Every rank gets the same results.
    """

    def __init__(self, model, loss_fn=None, train_data=None, *, params=None, l2=0.0, damping=0.0,
                 method="exact", rtol=1e-10, maxiter=None, scale=None, depth=1000, repeats=1,
                 lissa_batch_size=None, seed=0, batch_size=2048, progress=True,
                 distributed=False):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if damping < 0:
            raise ValueError(f"damping must be >= 0, got {damping}")
        if train_data is None:
            raise ValueError("InfluenceModel needs train_data: a Dataset or (inputs, targets)")
        inputs, targets = as_arrays(train_data, "train_data")
        if distributed:
            from .distributed import DistributedObjective as objective_class
        else:
            objective_class = Objective
        self.objective = objective_class(model, loss_fn, inputs, targets, params, l2, batch_size)
        if method == "exact" and self.objective.size > MAX_EXACT_PARAMS:
            raise ValueError(f"method='exact' forms a dense {self.objective.size}² Hessian; use "
                             f"method='cg' beyond {MAX_EXACT_PARAMS} parameters, or choose fewer "
                             "with params=")
        self.method, self.damping, self.progress = method, float(damping), progress
        self.options = dict(rtol=rtol, maxiter=maxiter, scale=scale, depth=depth,
                            repeats=repeats, lissa_batch_size=lissa_batch_size, seed=seed)
        self._solver = self._hessian = None
        self.gradient_norm = float(np.linalg.norm(self.objective.value_and_grad(self.theta)[1]))

    # --- basic properties ---------------------------------------------------------------------
    @property
    def model(self):
        """The float64, eval-mode copy of the model, holding θ̂."""
        return self.objective.model

    @property
    def theta(self):
        """θ̂ as one float64 vector (the chosen parameters in ``named_parameters`` order)."""
        return self.objective.theta

    @property
    def num_train(self):
        return self.objective.n

    def outputs(self, inputs):
        """The model's outputs (logits) at θ̂ for a batch of inputs, as a float64 array."""
        return self.objective.outputs(self.theta, np.asarray(inputs))

    def losses(self, points):
        """Per-example losses at θ̂ of ``points`` ((inputs, targets) or a Dataset)."""
        inputs, targets, _ = self._points(points, "points")
        return self.objective.losses(self.theta, (inputs, targets))

    def unflatten(self, vector):
        """A parameter-space vector as a dict name -> array shaped like that parameter."""
        return self.objective.unflatten(np.asarray(vector))

    def fit(self, gtol=1e-11):
        """Re-optimise the chosen parameters to the minimum of the regularised risk (warm start).

        Influence functions describe a minimiser; a network stopped by an epoch budget is only
        near one. From far away (‖∇R‖ > 1e-4) L-BFGS gets close first; Newton-type steps with the
        exact Hessian then polish to max |∇R| ≤ ``gtol``. For a convex sub-problem (the last
        layer on frozen features) this makes every later formula exact to first order.
        """
        theta = self.theta
        if self.gradient_norm > 1e-4:
            theta, _ = lbfgs(self.objective, theta)
        theta, info = minimize_risk(self.objective, theta, gtol=gtol,
                                    hessian=self._preconditioner(theta))
        self.objective.load(theta)
        self._solver = self._hessian = None
        self.gradient_norm = float(np.linalg.norm(self.objective.value_and_grad(theta)[1]))
        self.fit_info = info
        return self

    def with_damping(self, damping):
        """The same model, data and θ̂ with another damping; the dense Hessian (if formed) is
        shared, so sweeping the damping costs one factorisation each, not one Hessian each."""
        if damping < 0:
            raise ValueError(f"damping must be >= 0, got {damping}")
        other = copy.copy(self)
        other.damping, other._solver = float(damping), None
        return other

    # --- H⁻¹v ---------------------------------------------------------------------------------
    def _dense_hessian(self):
        if self._hessian is None:
            self._hessian = self.objective.hessian(self.theta)
        return self._hessian

    def _preconditioner(self, theta):
        """The factored Hessian for re-optimisation, when a dense one is affordable."""
        if self.objective.size > MAX_EXACT_PARAMS:
            return None
        if np.array_equal(theta, self.theta):
            return Preconditioner(self._dense_hessian())
        return Preconditioner(self.objective.hessian(theta))

    @property
    def solver(self):
        """The inverse-Hessian solver (built on first use; the exact one forms H once)."""
        if self._solver is None:
            if self.gradient_norm > 1e-3:
                warnings.warn(f"θ̂ is not a minimum of the training objective: ‖∇R(θ̂)‖ = "
                              f"{self.gradient_norm:.2e}. Influence functions assume one; call "
                              "fit() to re-optimise the chosen parameters, and check that l2 "
                              "matches the weight decay used in training", InfluenceWarning,
                              stacklevel=3)
            o, opts, theta = self.objective, self.options, self.theta
            if self.method == "exact":
                self._solver = ExactSolver(self._dense_hessian(), self.damping)
            elif self.method == "cg":
                self._solver = CGSolver(lambda v: o.hvp(theta, v), o.size, self.damping,
                                        opts["rtol"], opts["maxiter"])
            else:
                batch = opts["lissa_batch_size"]

                def batch_matvec(v, rng):
                    if batch is None or rng is None:
                        return o.hvp(theta, v)
                    return o.hvp(theta, v, rows=rng.choice(o.n, size=batch, replace=False))

                self._solver = LissaSolver(batch_matvec, o.size, self.damping, opts["scale"],
                                           opts["depth"], opts["repeats"], opts["seed"],
                                           stochastic=batch is not None, progress=self.progress)
        return self._solver

    def inverse_hvp(self, vectors):
        """(H + damping·I)⁻¹ v for one vector (P,) or the columns of a (P, m) matrix."""
        return self.solver.solve(vectors)

    def hessian_eigenvalues(self):
        """(smallest, largest) eigenvalue of the undamped Hessian at θ̂ (exact or Lanczos)."""
        return self.solver.eigenvalue_range()

    # --- the influence quantities -----------------------------------------------------------
    def _points(self, points, name):
        """(inputs, targets, single): an input with one axis fewer than the training inputs
        is a single unbatched point (as ``dataset[i]`` returns it)."""
        point_shape = self.objective.inputs.shape[1:]
        if isinstance(points, (tuple, list)) and len(points) == 2:
            inputs = np.asarray(points[0].numpy() if hasattr(points[0], "numpy") else points[0])
            if inputs.shape[max(inputs.ndim - len(point_shape), 0):] != point_shape \
                    or inputs.ndim not in (len(point_shape), len(point_shape) + 1):
                raise ValueError(f"{name}: an input of shape {inputs.shape} fits neither one "
                                 f"training point, of shape {point_shape}, nor a batch of them, "
                                 f"(N, {', '.join(map(str, point_shape))})")
            if inputs.ndim == len(point_shape):
                target = points[1].numpy() if hasattr(points[1], "numpy") else points[1]
                points = (inputs[None], np.asarray(target)[None])
                return (*as_arrays(points, name), True)
        elif isinstance(points, np.ndarray) or hasattr(points, "numpy"):
            raise TypeError(f"{name} must be a pair (inputs, targets) or a Dataset, got a lone "
                            f"array of shape {tuple(points.shape)}")
        return (*as_arrays(points, name), False)

    def _train_subset(self, train_idx):
        if train_idx is None:
            return None, np.arange(self.num_train)
        given = np.atleast_1d(np.asarray(train_idx))
        if given.size and (given.dtype == bool or not np.issubdtype(given.dtype, np.integer)):
            raise IndexError(f"train indices must be integers, got {given.ravel()[0]!r} "
                             f"(dtype {given.dtype})")   # 1.7 must not quietly become 1
        idx = given.astype(np.int64)
        bad = (idx < -self.num_train) | (idx >= self.num_train)
        if bad.any():
            raise IndexError(f"train index {idx[bad][0]} is out of range for {self.num_train} "
                             "training points")
        idx = idx % self.num_train
        return (self.objective.inputs[idx], self.objective.targets[idx]), idx

    def test_gradients(self, test_points):
        """∇θL(z_test, θ̂) for each test point, shape (T, P)."""
        inputs, targets, _ = self._points(test_points, "test_points")
        return self.objective.per_example_grads(self.theta, (inputs, targets))

    def s_test(self, test_points):
        """s_test = H⁻¹∇θL(z_test, θ̂), shape (T, P): one inverse-HVP per test point."""
        return self.inverse_hvp(self.test_gradients(test_points).T).T

    def influence_on_params(self, train_idx):
        """I_up,params = −H⁻¹∇θL(zᵢ, θ̂): rows (len, P), or (P,) for a single index."""
        data, idx = self._train_subset(train_idx)
        grads = self.objective.per_example_grads(self.theta, data)
        result = -self.inverse_hvp(grads.T).T
        return result[0] if np.ndim(train_idx) == 0 else result

    def influence_on_loss(self, test_points, train_idx=None):
        """I_up,loss(zᵢ, z_test) = −∇L(z_test)ᵀH⁻¹∇L(zᵢ), shape (T, n) ((n,) for one point)."""
        inputs, targets, single = self._points(test_points, "test_points")
        s_tests = self.s_test((inputs, targets))
        data, _ = self._train_subset(train_idx)
        rows = [-self.objective.loss_jvp(self.theta, s, data) for s in s_tests]
        result = np.array(rows).reshape(len(s_tests), -1)
        return result[0] if single else result

    def predicted_loss_change(self, test_points, train_idx=None):
        """The predicted change of each test loss when training point i is removed and the model
        retrained: ε = −1/N in the Taylor expansion, i.e. −I_up,loss / N."""
        return -self.influence_on_loss(test_points, train_idx) / self.num_train

    def self_influence(self, train_idx=None):
        """∇L(zᵢ)ᵀ H⁻¹ ∇L(zᵢ) = −I_up,loss(zᵢ, zᵢ) ≥ 0 for each training point: how much
        up-weighting zᵢ lowers its own loss. Large values flag outliers and mislabelled points."""
        data, idx = self._train_subset(train_idx)
        grads = self.objective.per_example_grads(self.theta, data)
        if self.method == "exact":
            solved = self.inverse_hvp(grads.T).T
        else:
            solved = np.array([self.inverse_hvp(g) for g in
                               progress_bar(grads, desc="self-influence", enabled=self.progress)])
        values = np.einsum("ij,ij->i", grads, solved)
        return values[0] if np.ndim(train_idx) == 0 else values

    def top_k(self, test_point, k=8):
        """The ``k`` most helpful and most harmful training points for one test point."""
        inputs, targets, _ = self._points(test_point, "test_point")
        if len(targets) != 1:
            raise ValueError(f"top_k explains one test point, got {len(targets)}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"top_k: k must be a positive integer, got {k!r}")
        scores = self.predicted_loss_change((inputs, targets))[0]
        order = np.argsort(scores, kind="stable")
        k = min(int(k), len(scores))
        helpful = [(int(i), float(scores[i])) for i in order[::-1][:k]]
        harmful = [(int(i), float(scores[i])) for i in order[:k]]
        return TopInfluences(helpful, harmful, scores)

    # --- verification -------------------------------------------------------------------------
    def validate_loo(self, test_point, k=50, png=None, indices=None):
        """Retrain without each of the ``k`` most influential points; see
        :func:`torchsorflow.influence.validation.validate_loo`."""
        from .validation import validate_loo
        return validate_loo(self, test_point, k, png, indices)

    def check_taylor(self, train_idx, eps_list=None, png=None):
        """Check θ̂(ε) ≈ θ̂ + ε dθ̂/dε to second order; see
        :func:`torchsorflow.influence.validation.check_taylor`."""
        from .validation import check_taylor
        return check_taylor(self, train_idx, eps_list, png)
