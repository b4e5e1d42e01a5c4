"""The conv and pool kernels of two source trees, timed in alternating processes.

``python -m torchsorflow.benchmarks.kernel_ab OLD_SRC [NEW_SRC] [--rounds N]`` times the same
kernel calls (forward, input gradient and weight gradient of 3x3 convolutions on the digits and
CIFAR-sized layers, max and average pooling) with the ``torchsorflow`` found under each ``src``
folder (``NEW_SRC`` defaults to the installed one). Each round runs one process per tree, the
order alternating and a pause between them, so that neither tree runs beside the other's
still-spinning BLAS threads; the table gives each tree's best time, their ratio and the median of
the per-round ratios. It is how a kernel change shows that the tuned engines are at least as fast
as before (a git worktree of the old commit gives ``OLD_SRC``).
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

# (batch, in channels, map size, out channels) of 3x3 convolutions with padding 1
LAYERS = [(32, 64, 32, 64), (32, 128, 16, 128), (64, 3, 32, 64), (64, 1, 8, 32), (64, 32, 4, 64)]


def _time_kernels():
    """Best time of each kernel call (seconds) with the torchsorflow on sys.path."""
    import numpy as np

    from torchsorflow.ops.kernels import conv, pool
    try:
        from torchsorflow.ops.kernels import runtime
        runtime.keep_freed_memory()   # as tsf bench does
    except ImportError:               # older trees tuned malloc on import
        pass
    one = (1, 1)
    rng = np.random.default_rng(0)
    work = {}
    for b, c, s, k in LAYERS:
        x = rng.standard_normal((b, c, s, s), dtype=np.float32)
        w = rng.standard_normal((k, c, 3, 3), dtype=np.float32)
        gy = rng.standard_normal((b, k, s, s), dtype=np.float32)
        label = f"N{b} C{c} {s}x{s} K{k}"
        work[f"conv fwd {label}"] = lambda x=x, w=w: conv.conv2d(x, w, one, one, one, 1)
        work[f"conv grad input {label}"] = \
            lambda gy=gy, w=w, s=s: conv.conv2d_grad_input(gy, w, (s, s), one, one, one, 1)
        work[f"conv grad weight {label}"] = \
            lambda gy=gy, x=x: conv.conv2d_grad_weight(gy, x, (3, 3), one, one, one, 1)
    xp = rng.standard_normal((64, 32, 8, 8), dtype=np.float32)
    work["max_pool2d 2x2, 64x32x8x8"] = \
        lambda: pool.max_pool2d(xp, (2, 2), (2, 2), (0, 0), one, False)
    work["avg_pool2d 3x3 stride 2, 64x32x8x8"] = \
        lambda: pool.avg_pool2d(xp, (3, 3), (2, 2), one, False, True)
    best = {}
    for name, call in work.items():
        call()
        repeats = 3 if "32x32" in name else 10
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                call()
            times.append((time.perf_counter() - start) / repeats)
        best[name] = min(times)
    return best


def _run_tree(src, layers=LAYERS):
    """One timing process with ``src`` first on its path (None: the installed package)."""
    code = "import json, sys, time\n"
    if src is not None:
        code += f"sys.path.insert(0, {str(Path(src).resolve())!r})\n"
    # the timing function's own source, since the old tree may not have this module
    code += f"LAYERS = {layers!r}\n" + inspect.getsource(_time_kernels)
    code += "print(json.dumps(_time_kernels()))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"kernel_ab: timing the tree {src or '(installed)'} failed:\n"
                         f"{done.stderr.strip()}")
    return json.loads(done.stdout)


def compare(old_src, new_src=None, rounds=4, pause=1.0):
    """Per kernel: (old best, new best, new/old of the bests, median per-round new/old)."""
    old, new = [], []
    for index in range(rounds):
        order = [(old_src, old), (new_src, new)]
        for src, results in order if index % 2 == 0 else order[::-1]:
            results.append(_run_tree(src))
            time.sleep(pause)
    table = {}
    for name in old[0]:
        best_old = min(r[name] for r in old)
        best_new = min(r[name] for r in new)
        median = statistics.median(n[name] / o[name] for o, n in zip(old, new))
        table[name] = (best_old, best_new, best_new / best_old, median)
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old_src", help="the src folder of the tree to compare against")
    parser.add_argument("new_src", nargs="?", help="the src folder of the new tree "
                        "(default: the installed torchsorflow)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (default 4)")
    args = parser.parse_args(argv)
    if not (Path(args.old_src) / "torchsorflow").is_dir():
        parser.error(f"{args.old_src} holds no torchsorflow package")
    table = compare(args.old_src, args.new_src, max(1, args.rounds))
    print(f"| kernel | old ms | new ms | new/old (best) | new/old (median of {args.rounds}) |")
    print("|---|---:|---:|---:|---:|")
    for name, (old, new, ratio, median) in table.items():
        print(f"| {name} | {old * 1e3:.2f} | {new * 1e3:.2f} | {ratio:.3f} | {median:.3f} |")
    mean = math.exp(statistics.fmean(math.log(row[2]) for row in table.values()))
    print(f"\ngeometric mean of new/old (best): {mean:.3f}")


if __name__ == "__main__":
    main()
