"""L-BFGS: a quasi-Newton method that re-evaluates the loss itself, through a ``closure``.

BFGS builds an approximation of the inverse Hessian from the changes of the gradient along the
steps taken; the *limited-memory* variant keeps only the last ``history_size`` pairs
``s = step, y = change of gradient`` and applies the approximation with the two-loop recursion,
never forming a matrix. One ``step(closure)`` runs up to ``max_iter`` iterations, each a
direction from the two-loop recursion followed by either a fixed step of ``lr`` or, with
``line_search_fn="strong_wolfe"``, a line search for a step that decreases the loss enough
(Armijo) and flattens the slope enough (curvature), bracketing and zooming with cubic
interpolation. The rules, stopping tests and state are PyTorch's (after minFunc), so iterates
and ``state_dict`` agree with ``torch.optim.LBFGS``.

All parameters form one flat vector; there is one parameter group and the state lives under the
first parameter (``state[0]`` of the state dict, as in PyTorch).

>>> import torchsorflow as tsf
>>> from torchsorflow.optim import LBFGS
>>> w = tsf.tensor([3.0, -1.0], dtype="float64", requires_grad=True)
>>> opt = LBFGS([w], line_search_fn="strong_wolfe")
>>> def closure():
...     opt.zero_grad()
...     loss = ((w - tsf.tensor([1.0, 2.0], dtype="float64")) ** 2).sum()
...     loss.backward()
...     return loss
>>> _ = opt.step(closure)
>>> w.numpy().round(6)   # a quadratic: exact after two iterations
array([1., 2.])
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tracer import enable_grad
from ..tensor import Tensor
from .optimizer import Optimizer
from ..ops.creation import as_tensor


class LBFGS(Optimizer):
    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"line_search_fn={line_search_fn!r} is not supported: only "
                             "'strong_wolfe' or None")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _state_shape(self, param):
        return (sum(p.numel() for p in self._params),)

    # --- the parameters as one flat vector ----------------------------------------------------
    def _flat_grad(self) -> np.ndarray:
        return np.concatenate([np.zeros(p.numel(), p.dtype) if p.grad is None
                               else p.grad.numpy().ravel() for p in self._params])

    def _add_to_params(self, step_size, direction: np.ndarray):
        offset = 0
        for p in self._params:
            array = p.primal().numpy()
            array += step_size * direction[offset:offset + array.size].reshape(array.shape)
            p.primal()._version += 1
            offset += array.size

    def _set_params(self, arrays):
        for p, array in zip(self._params, arrays):
            p.primal().numpy()[...] = array
            p.primal()._version += 1

    def _evaluate(self, closure) -> tuple:
        """Run the closure with gradients on: ``(its return value, the flat gradient)``."""
        with enable_grad():
            loss = closure()
        return loss, self._flat_grad()

    # --- one step: up to max_iter L-BFGS iterations ---------------------------------------------
    def step(self, closure):
        """Minimise ``closure()`` for up to ``max_iter`` iterations; returns its first value.

        ``closure`` must zero the gradients, compute the loss, call ``backward()`` and return the
        loss; it is called several times per step.
        """
        self._opt_called = True
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]

        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss, flat_grad = self._evaluate(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        if np.abs(flat_grad).max() <= tolerance_grad:   # already at a stationary point
            return orig_loss

        d, prev_flat_grad = _array(state.get("d")), _array(state.get("prev_flat_grad"))
        old_dirs = [_array(v) for v in state.get("old_dirs", [])]
        old_stps = [_array(v) for v in state.get("old_stps", [])]
        ro, t, H_diag = list(state.get("ro", [])), state.get("t"), state.get("H_diag")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:    # steepest descent; the history is empty
                d = -flat_grad
                old_dirs, old_stps, ro, H_diag = [], [], [], 1
            else:
                y = flat_grad - prev_flat_grad     # change of gradient along the last step s
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:                      # keep the pair only where curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)         # scale of the initial inverse Hessian
                d = _two_loop_direction(flat_grad, old_dirs, old_stps, ro, H_diag,
                                        state.setdefault("al", [None] * history_size))
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # the first step of all is scaled down so that it moves by at most lr in L1 norm
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)                 # directional derivative
            if gtd > -tolerance_change:
                break

            ls_func_evals, converged = 0, False
            if group["line_search_fn"] == "strong_wolfe":
                start = [p.primal().numpy().copy() for p in self._params]

                def along(x, step_size, direction):
                    self._add_to_params(step_size, direction)
                    value, gradient = self._evaluate(closure)
                    self._set_params(x)
                    return float(value), gradient

                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    along, start, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_to_params(t, d)
                converged = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_to_params(t, d)
                if n_iter != max_iter:  # the last iteration's loss is left for the caller
                    value, flat_grad = self._evaluate(closure)
                    loss, ls_func_evals = float(value), 1
                    converged = np.abs(flat_grad).max() <= tolerance_grad
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if (n_iter == max_iter or current_evals >= max_eval or converged
                    or np.abs(d * t).max() <= tolerance_change
                    or abs(loss - prev_loss) < tolerance_change):
                break

        state.update(d=_tensor(d), t=t, old_dirs=[as_tensor(v) for v in old_dirs],
                     old_stps=[as_tensor(v) for v in old_stps], ro=ro, H_diag=H_diag,
                     prev_flat_grad=_tensor(prev_flat_grad), prev_loss=prev_loss)
        return orig_loss


def _array(value):
    if value is None:
        return None
    return np.array(value.numpy() if isinstance(value, Tensor) else value)


def _tensor(array):
    return None if array is None else as_tensor(array)


def _two_loop_direction(flat_grad, old_dirs, old_stps, ro, H_diag, al):
    """``-H g`` for the L-BFGS inverse-Hessian approximation ``H`` of the stored pairs
    (Nocedal & Wright, algorithm 7.4); ``al`` receives the first loop's coefficients."""
    q = -flat_grad
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = old_stps[i].dot(q) * ro[i]
        q -= al[i] * old_dirs[i]
    r = q * H_diag
    for i in range(len(old_dirs)):
        be_i = old_dirs[i].dot(r) * ro[i]
        r += (al[i] - be_i) * old_stps[i]
    return r


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through ``(x1, f1)``, ``(x2, f2)`` with slopes ``g1``, ``g2``,
    clipped to ``bounds`` (default: between ``x1`` and ``x2``); their midpoint if it has none."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        minimiser = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        minimiser = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(minimiser, low), high)


def strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_ls=25):
    """Line search along ``d`` from ``x`` for a step satisfying the strong Wolfe conditions.

    ``obj_func(x, t, d)`` returns the loss and flat gradient at ``x + t d``. First *bracket*: grow
    the step (cubic extrapolation between ``t`` and ``10 t``) until the loss stops decreasing
    enough or the slope turns; then *zoom* into the bracket by cubic interpolation, nudged away
    from its ends when progress stalls. Returns ``(loss, gradient, t, evaluations)`` at the best
    step found.
    """
    d_norm = np.abs(d).max()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):   # not enough decrease
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:                                         # strong Wolfe holds
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:                                                      # the slope turned
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                         bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:   # out of evaluations: the better of the start and the last step
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])
        # a step too close to an end of the bracket makes little progress: move it inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) \
                    else min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        # the new step replaces the high end
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:  # keep the minimum inside
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], ls_func_evals
