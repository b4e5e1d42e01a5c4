"""The raw conv/pool kernels (``torchsorflow.ops.kernels``, no autodiff) beside PyTorch CPU.

Each convolution map is timed on its own against PyTorch's kernel for the same map
(``F.conv2d``, ``torch.nn.grad.conv2d_input`` / ``conv2d_weight``, which call the same oneDNN
backward kernels as autograd) at the same thread count, float32. Target: at most 1.5× PyTorch's
time on the three reference layers (goal 1.0×). The pools, a 1×1 and a depthwise layer are shown
without a target.

``--baseline`` adds a column with a textbook im2col (whole-batch ``sliding_window_view`` copy, one
GEMM, ``np.add.at`` col2im): the "before" of the optimisations described in
:mod:`torchsorflow.ops.kernels.im2col`.

Timing is the best of several interleaved repeats (TorchsorFlow, PyTorch, TorchsorFlow, ...), so
that load from other processes hits both sides alike, with a short pause before each so that
neither side runs while the other's threads are still spinning. Peak memory is the resident-set
rise of one call (:func:`.harness.peak_memory_mb`, same method for both sides); the note adds
``tracemalloc``'s peak of NumPy allocations in the TorchsorFlow call.

Run alone: ``python -m torchsorflow.benchmarks.bench_kernels [--quick] [--baseline] [--idle
SECONDS] [--json out.json]``; or in the common table: ``tsf bench kernels``. On a machine shared
with other jobs, ``--idle 60`` takes timings only in moments when the machine is idle.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from torchsorflow.ops.kernels import conv, pool

from .harness import (best_time, import_torch, peak_memory_mb, prepare_process, report, row,
                      survivors_frozen, tracemalloc_mb)

TARGET = 1.5
# (batch, in channels, size, out channels): 3×3 kernels, padding 1, stride 1.
REFERENCE_LAYERS = [(32, 64, 32, 64), (32, 128, 16, 128), (64, 3, 32, 64)]
ONE = (1, 1)
GEOMETRY = (ONE, ONE, ONE, 1)  # stride, padding, dilation, groups of the reference layers


def _idle_fraction(seconds=0.2):
    """Share of CPU time the whole machine spent idle over the next ``seconds`` (Linux)."""
    def sample():
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        return values[3] + values[4], sum(values)
    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return (idle1 - idle0) / max(1, total1 - total0)


def interleaved_best(fns, repeat, idle_seconds=0.0):
    """Seconds per call of each function: the best of ``repeat`` rounds taken in turn.

    With ``idle_seconds`` > 0 (a shared machine), rounds are taken only while the machine is
    at least 90% idle, as many as fit in that time (at least ``repeat`` are tried).
    """
    numbers = {}
    for name, fn in fns.items():
        fn()  # warm-up (and oneDNN's kernel choice on its first call)
        elapsed = best_time(fn, repeat=1, min_seconds=0.02)
        numbers[name] = max(1, int(0.05 / max(elapsed, 1e-9)))
    best = {name: float("inf") for name in fns}
    deadline, rounds = time.monotonic() + idle_seconds, 0
    while rounds < repeat or time.monotonic() < deadline:
        if idle_seconds and time.monotonic() < deadline and _idle_fraction() < 0.9:
            continue
        rounds += 1
        for name, fn in fns.items():
            # Let the previous library's worker threads stop spinning first: PyTorch's OpenMP
            # threads and OpenBLAS's busy-wait after each call and would steal cores.
            time.sleep(0.15)
            best[name] = min(best[name], best_time(fn, repeat=1, number=numbers[name]))
    return best


# --- the "before": a textbook im2col ------------------------------------------------------------
def naive_cols(x, kh, kw):
    """Whole-batch (N*OH*OW, C*kh*kw) matrix of a stride-1 'same'-padded input, one copy."""
    xp = np.pad(x, ((0, 0), (0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))  # N,C,OH,OW,kh,kw
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(-1, x.shape[1] * kh * kw)


def naive_conv(x, w):
    n, _, h, wd = x.shape
    y = naive_cols(x, *w.shape[2:]) @ w.reshape(w.shape[0], -1).T
    return np.ascontiguousarray(y.reshape(n, h, wd, -1).transpose(0, 3, 1, 2))


def naive_grad_weight(gy, x, kernel_hw):
    k = gy.shape[1]
    return (gy.transpose(1, 0, 2, 3).reshape(k, -1) @ naive_cols(x, *kernel_hw)).reshape(
        k, x.shape[1], *kernel_hw)


def naive_grad_input(gy, w, x_shape):
    n, c, h, wd = x_shape
    (kh, kw), k = w.shape[2:], w.shape[0]
    gcols = gy.transpose(0, 2, 3, 1).reshape(-1, k) @ w.reshape(k, -1)  # (N*H*W, C*kh*kw)
    gxp = np.zeros((n, c, h + kh - 1, wd + kw - 1), gy.dtype)
    b, oh, ow, ch, i, j = np.indices((n, h, wd, c, kh, kw), sparse=True)
    np.add.at(gxp, (b, ch, oh + i, ow + j), gcols.reshape(n, h, wd, c, kh, kw))
    return gxp[:, :, kh // 2:kh // 2 + h, kw // 2:kw // 2 + wd]


# --- workloads ----------------------------------------------------------------------------------
def conv_workloads(torch, baseline):
    """(name, tsf fn, torch fn or None, baseline fn or None, target) for the reference layers."""
    out = []
    for batch, cin, size, cout in REFERENCE_LAYERS:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, cin, size, size), dtype=np.float32)
        w = rng.standard_normal((cout, cin, 3, 3), dtype=np.float32)
        gy = rng.standard_normal((batch, cout, size, size), dtype=np.float32)
        label = f"N{batch} C{cin} {size}×{size} K{cout} 3×3 pad 1"
        tsf = {"forward": lambda x=x, w=w: conv.conv2d(x, w, *GEOMETRY),
               "grad input": lambda gy=gy, w=w, s=size: conv.conv2d_grad_input(gy, w, (s, s),
                                                                              *GEOMETRY),
               "grad weight": lambda gy=gy, x=x: conv.conv2d_grad_weight(gy, x, (3, 3),
                                                                         *GEOMETRY)}
        ref = dict.fromkeys(tsf)
        if torch:
            xt, wt, gyt = (torch.from_numpy(a) for a in (x, w, gy))
            ref = {"forward": lambda xt=xt, wt=wt: torch.nn.functional.conv2d(xt, wt, padding=1),
                   "grad input": lambda xt=xt, wt=wt, gyt=gyt: torch.nn.grad.conv2d_input(
                       xt.shape, wt, gyt, padding=1),
                   "grad weight": lambda xt=xt, wt=wt, gyt=gyt: torch.nn.grad.conv2d_weight(
                       xt, wt.shape, gyt, padding=1)}
        base = dict.fromkeys(tsf)
        if baseline:
            base = {"forward": lambda x=x, w=w: naive_conv(x, w),
                    "grad input": lambda gy=gy, w=w, x=x: naive_grad_input(gy, w, x.shape),
                    "grad weight": lambda gy=gy, x=x: naive_grad_weight(gy, x, (3, 3))}
        for name in tsf:
            out.append((f"conv2d {name}, {label}", tsf[name], ref[name], base[name], TARGET))
    return out


def other_workloads(torch):
    """Pools, a 1×1 and a depthwise layer (forward + both adjoints), no target."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 64, 32, 32), dtype=np.float32)
    y, idx = pool.max_pool2d(x, (2, 2), (2, 2), (0, 0), ONE, False)
    gy = rng.standard_normal(y.shape, dtype=np.float32)
    w1 = rng.standard_normal((128, 64, 1, 1), dtype=np.float32)
    wd = rng.standard_normal((64, 1, 3, 3), dtype=np.float32)
    gy1 = rng.standard_normal((32, 128, 32, 32), dtype=np.float32)
    geo_d = (ONE, ONE, ONE, 64)
    tsf = {
        "max_pool2d 2×2 + backward, N32 C64 32×32": lambda: pool.max_pool2d_backward(
            gy, pool.max_pool2d(x, (2, 2), (2, 2), (0, 0), ONE, False)[1], x.shape),
        "avg_pool2d 3×3 s2 pad 1 + backward, N32 C64 32×32": lambda: pool.avg_pool2d_backward(
            pool.avg_pool2d(x, (3, 3), (2, 2), ONE, False, True), x.shape, (3, 3), (2, 2), ONE),
        "adaptive_avg_pool2d 32×32→5×5 + backward, N32 C64": lambda:
            pool.adaptive_avg_pool2d_backward(pool.adaptive_avg_pool2d(x, (5, 5)), x.shape,
                                              (5, 5)),
        "conv2d 1×1 64→128 fwd + both grads, N32 32×32": lambda: (
            conv.conv2d(x, w1, ONE, (0, 0), ONE, 1),
            conv.conv2d_grad_input(gy1, w1, (32, 32), ONE, (0, 0), ONE, 1),
            conv.conv2d_grad_weight(gy1, x, ONE, ONE, (0, 0), ONE, 1)),
        "conv2d depthwise 3×3 C64 fwd + both grads, N32 32×32": lambda: (
            conv.conv2d(x, wd, *geo_d),
            conv.conv2d_grad_input(x, wd, (32, 32), *geo_d),
            conv.conv2d_grad_weight(x, x, (3, 3), *geo_d)),
    }
    ref = dict.fromkeys(tsf)
    if torch:
        F, tg = torch.nn.functional, torch.nn.grad
        xt, gyt, w1t, wdt, gy1t = (torch.from_numpy(a) for a in (x, gy, w1, wd, gy1))

        def max_pool():
            xr = xt.detach().requires_grad_()
            return torch.autograd.grad(F.max_pool2d(xr, 2), xr, gyt)

        def avg_pool():
            xr = xt.detach().requires_grad_()
            out = F.avg_pool2d(xr, 3, 2, 1)
            return torch.autograd.grad(out, xr, out)

        def adaptive():
            xr = xt.detach().requires_grad_()
            out = F.adaptive_avg_pool2d(xr, 5)
            return torch.autograd.grad(out, xr, out)

        ref = dict(zip(tsf, [
            max_pool, avg_pool, adaptive,
            lambda: (F.conv2d(xt, w1t), tg.conv2d_input(xt.shape, w1t, gy1t),
                     tg.conv2d_weight(xt, w1t.shape, gy1t)),
            lambda: (F.conv2d(xt, wdt, padding=1, groups=64),
                     tg.conv2d_input(xt.shape, wdt, xt, padding=1, groups=64),
                     tg.conv2d_weight(xt, wdt.shape, xt, padding=1, groups=64))]))
    return [(name, tsf[name], ref[name], None, None) for name in tsf]


def run(quick=False, baseline=False, idle_seconds=0.0):
    """Rows for ``tsf bench``."""
    torch = import_torch()
    workloads = conv_workloads(torch, baseline) + ([] if quick else other_workloads(torch))
    rows = []
    for name, ours, theirs, naive, target in workloads:
        fns = {"tsf": ours, **({"torch": theirs} if theirs else {}),
               **({"naive": naive} if naive else {})}
        best = interleaved_best(fns, repeat=2 if quick else 7, idle_seconds=idle_seconds)
        note = "" if quick else f"tracemalloc {tracemalloc_mb(ours):.1f} MiB"
        if naive:
            note += f"{'; ' if note else ''}textbook im2col {best['naive'] * 1e3:.1f} ms"
        rows.append(row(name, best["tsf"], best.get("torch"), "PyTorch" if theirs else None,
                        tsf_mb=peak_memory_mb(ours),
                        ref_mb=peak_memory_mb(theirs) if theirs else None,
                        target=target, note=note))
        print(f"  {name}: done", file=sys.stderr, flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="reference layers only, fewer repeats")
    parser.add_argument("--baseline", action="store_true",
                        help="also time a textbook im2col (the 'before' column)")
    parser.add_argument("--idle", type=float, default=0.0, metavar="SECONDS",
                        help="per workload, time only while the machine is >= 90%% idle, for "
                             "up to this long (for shared machines)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    prepare_process()
    with survivors_frozen():
        rows = run(args.quick, args.baseline, args.idle)
    report(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
