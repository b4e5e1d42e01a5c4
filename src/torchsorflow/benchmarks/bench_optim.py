"""Optimizer benchmarks: one ``optimizer.step()`` of every torch.optim update rule on the
parameters of a small CNN (about 0.4 M floats in 8 tensors, gradients already in place), and one
L-BFGS ``step(closure)`` of 10 iterations on a least-squares problem whose closure only sets the
gradient, so that the optimizer's own work is timed. Each is timed beside PyTorch CPU's default
(single-tensor) implementation at the same thread count. Target: at most 1.5× PyTorch's time.

Run: ``tsf bench optim`` or ``python -m torchsorflow.benchmarks.bench_optim [--quick] [--json
out.json]``.
"""
from __future__ import annotations

import sys

import numpy as np

from .harness import rows_beside_torch, script_main

TARGET = 1.5
SHAPES = [(64, 3, 3, 3), (64,), (128, 64, 3, 3), (128,), (256, 128, 3, 3), (256,), (10, 4096),
          (10,)]
OPTIMIZERS = [
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)),
    ("Adam", dict(lr=1e-3)),
    ("AdamW", dict(lr=1e-3, amsgrad=True)),
    ("RMSprop", dict(lr=1e-3, momentum=0.9, centered=True)),
    ("Adagrad", dict(lr=1e-2)),
    ("Adadelta", dict()),
    ("Adamax", dict(lr=2e-3)),
    ("NAdam", dict(lr=2e-3)),
    ("RAdam", dict(lr=1e-3)),
    ("ASGD", dict(lr=1e-2)),
    ("Rprop", dict(lr=1e-2)),
]
QUICK = {"SGD", "Adam"}


def update_step(lib, name, options):
    """A closure taking one step of ``name`` on CNN-shaped float32 parameters."""
    rng = np.random.default_rng(0)
    params = [lib.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in SHAPES]
    for p, shape in zip(params, SHAPES):
        p.grad = lib.tensor(rng.standard_normal(shape).astype(np.float32) * 1e-2)
    optimizer = getattr(lib.optim, name)(params, **options)
    optimizer.step()   # creates the state outside the timed calls
    return optimizer.step


def lbfgs_step(lib, line_search_fn=None):
    """One L-BFGS step of 10 iterations (tolerances off) on 0.5 |A x - b|^2 in float64."""
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((300, 200)) / 10, rng.standard_normal(300)
    x = lib.tensor(np.zeros(200), requires_grad=True)
    optimizer = lib.optim.LBFGS([x], max_iter=10, history_size=10, tolerance_grad=-1,
                                tolerance_change=-1, line_search_fn=line_search_fn)

    def closure():
        residual = A @ x.detach().numpy() - b
        x.grad = lib.tensor(A.T @ residual)
        return lib.tensor(0.5 * residual @ residual)
    return lambda: optimizer.step(closure)


def run(quick=False):
    """Rows for ``tsf bench``."""
    workloads = [(f"{name} step, 0.4 M params in 8 tensors",
                  lambda lib, name=name, options=options: update_step(lib, name, options))
                 for name, options in OPTIMIZERS if not quick or name in QUICK]
    workloads.append(("LBFGS step, 10 iterations, 200 params", lbfgs_step))
    if not quick:
        workloads.append(("LBFGS strong_wolfe step, 10 iterations, 200 params",
                          lambda lib: lbfgs_step(lib, "strong_wolfe")))
    return rows_beside_torch(workloads, quick, TARGET)


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.split("\n")[0]))
