"""Matrix multiplication throughput: TorchsorFlow's ``matmul`` against NumPy's own (the machine's
ceiling, since TorchsorFlow calls it) and PyTorch, in GFLOP/s.

Run: ``tsf bench matmul`` or ``python -m torchsorflow.benchmarks.bench_matmul [--quick] [--json
out.json]``.
A product of (n×k)(k×m) costs 2·n·k·m floating-point operations. The wrapper's overhead should
vanish for large matrices (target: within 10% of NumPy); forward+backward (three products) is
compared with PyTorch's autograd at the same thread count.
"""
from __future__ import annotations

import sys

import numpy as np

import torchsorflow as tsf

from .harness import import_torch, measure, row, script_main


def _gflops(n, seconds, products=1):
    return 2.0 * n ** 3 * products / seconds / 1e9


def run(quick=False):
    torch = import_torch()
    rng = np.random.default_rng(0)
    rows = []
    for n in ((256, 1024) if quick else (256, 1024, 2048)):
        a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
        ta, tb = tsf.tensor(a), tsf.tensor(b)
        ours_s, ours_mb = measure(lambda ta=ta, tb=tb: ta @ tb, quick)
        numpy_s, numpy_mb = measure(lambda a=a, b=b: a @ b, quick)
        note = f"GFLOP/s: TorchsorFlow {_gflops(n, ours_s):.1f}, NumPy {_gflops(n, numpy_s):.1f}"
        if torch is not None:
            xa, xb = torch.from_numpy(a), torch.from_numpy(b)
            torch_s, _ = measure(lambda xa=xa, xb=xb: xa @ xb, quick)
            note += f", PyTorch {_gflops(n, torch_s):.1f}"
        rows.append(row(f"matmul {n}×{n} float32 (GFLOP/s vs NumPy's)", ours_s, numpy_s, "NumPy",
                        tsf_mb=ours_mb, ref_mb=numpy_mb, target=1.1, note=note))
    n = 512 if quick else 1024
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))

    def ours_step():
        ta, tb = tsf.tensor(a, requires_grad=True), tsf.tensor(b, requires_grad=True)
        (ta @ tb).sum().backward()

    ours_s, ours_mb = measure(ours_step, quick)
    ref_s = ref_mb = None
    if torch is not None:
        def torch_step():
            xa = torch.from_numpy(a).requires_grad_()
            xb = torch.from_numpy(b).requires_grad_()
            (xa @ xb).sum().backward()

        ref_s, ref_mb = measure(torch_step, quick)
    rows.append(row(f"matmul {n}×{n} float32 forward+backward", ours_s, ref_s,
                    "PyTorch" if torch is not None else None, tsf_mb=ours_mb, ref_mb=ref_mb,
                    target=1.5, note=f"TorchsorFlow {_gflops(n, ours_s, 3):.1f} GFLOP/s"))
    return rows


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.split("\n")[0]))
