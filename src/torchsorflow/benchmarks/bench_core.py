"""Core benchmarks: per-op eager overhead on small tensors and the cost of hvp relative to grad.

Run: ``tsf bench core`` or ``python -m torchsorflow.benchmarks.bench_core [--quick] [--json
out.json]``. PyTorch (if installed) is measured in the same run with the same thread count.
Targets: overhead ≤ 2× PyTorch's; hvp ≤ 3× grad.
"""
from __future__ import annotations

import sys

import numpy as np

import torchsorflow as tsf
from torchsorflow.func import grad, hvp

from .harness import best_time, import_torch, row, script_main


def op_workloads(lib, requires_grad):
    if lib == "tsf":
        x = tsf.tensor(np.random.rand(8, 8).astype(np.float32), requires_grad=requires_grad)
        y = tsf.tensor(np.random.rand(8, 8).astype(np.float32), requires_grad=requires_grad)
        mod = tsf
    else:
        import torch
        x = torch.rand(8, 8, requires_grad=requires_grad)
        y = torch.rand(8, 8, requires_grad=requires_grad)
        mod = torch
    return {
        "add": lambda: x + y,
        "mul": lambda: x * y,
        "matmul 8x8": lambda: x @ y,
        "exp": lambda: mod.exp(x),
        "sum": lambda: x.sum(),
        "getitem": lambda: x[1:3],
        # functions of torch's wider API (ops/pointwise.py, scans.py, sorting.py, einsum.py)
        "tan": lambda: mod.tan(x),
        "prod(dim)": lambda: x.prod(1),
        "sort(dim)": lambda: x.sort(1),
        "einsum ij,jk->ik": lambda: mod.einsum("ij,jk->ik", x, y),
    }


def mlp_problem(lib, hidden=64, batch=32):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) * 0.1 for s in [(20, hidden), (hidden,), (hidden, 10), (10,)]]
    x = rng.standard_normal((batch, 20))
    y = np.eye(10)[rng.integers(0, 10, batch)]
    if lib == "tsf":
        params = tuple(tsf.tensor(a) for a in arrays)
        tx, ty = tsf.tensor(x), tsf.tensor(y)

        def loss(*p):
            h = tsf.tanh(tx @ p[0] + p[1])
            return -(tsf.log_softmax(h @ p[2] + p[3], axis=1) * ty).sum() / batch

        argnums = tuple(range(4))
        tangents = tuple(tsf.tensor(rng.standard_normal(a.shape)) for a in arrays)
        return (lambda: grad(loss, argnums)(*params),
                lambda: hvp(loss, params, tangents))
    import torch
    from torch.func import grad as tgrad, jvp as tjvp
    params = tuple(torch.tensor(a) for a in arrays)
    tx, ty = torch.tensor(x), torch.tensor(y)

    def tloss(*p):
        h = torch.tanh(tx @ p[0] + p[1])
        return -(torch.log_softmax(h @ p[2] + p[3], 1) * ty).sum() / batch

    tangents = tuple(torch.tensor(rng.standard_normal(a.shape)) for a in arrays)
    g = tgrad(tloss, argnums=(0, 1, 2, 3))
    return (lambda: g(*params), lambda: tjvp(g, params, tangents))


def measure_all(torch, timer):
    """``[(workload, TorchsorFlow seconds, PyTorch seconds or None)]`` and hvp/grad's ratio."""
    rows = []
    for requires_grad in (False, True):
        ours = op_workloads("tsf", requires_grad)
        theirs = op_workloads("torch", requires_grad) if torch else {}
        for name, fn in ours.items():
            t_ours = timer(fn)
            t_theirs = timer(theirs[name]) if torch else None
            rows.append((f"op overhead: {name} (requires_grad={requires_grad})", t_ours, t_theirs))
    g_ours, h_ours = mlp_problem("tsf")
    tg, th = timer(g_ours), timer(h_ours)
    rows.append(("MLP loss grad", tg, None))
    rows.append(("MLP loss hvp (fwd-over-rev)", th, None))
    if torch:
        g_t, h_t = mlp_problem("torch")
        rows[-2] = ("MLP loss grad (torch.func.grad)", tg, timer(g_t))
        rows[-1] = ("MLP loss hvp (jvp of grad)", th, timer(h_t))
    return rows, th / tg


def run(quick=False):
    """Rows for ``tsf bench``: op overhead (target ≤ 2× PyTorch), the MLP gradient and hvp beside
    torch.func, and hvp against our own grad (target ≤ 3×)."""
    torch = import_torch()
    rows, hvp_over_grad = measure_all(
        torch, lambda fn: best_time(fn, repeat=3 if quick else 5,
                                    min_seconds=0.02 if quick else 0.2))
    out = [row(name, ours, theirs, "PyTorch" if torch else None,
               target=2.0 if name.startswith("op overhead") else None)
           for name, ours, theirs in rows]
    grad_s, hvp_s = rows[-2][1], rows[-1][1]
    out.append(row("hvp vs grad (MLP loss, TorchsorFlow's own grad)", hvp_s, grad_s,
                   "TorchsorFlow grad", target=3.0, note=f"hvp/grad = {hvp_over_grad:.2f}×"))
    return out


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.split("\n")[0]))
