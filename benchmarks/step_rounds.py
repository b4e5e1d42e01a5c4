"""The digits CNN+BN train step, TorchsorFlow against PyTorch, over many alternating rounds.

``bench_nn.py`` keeps each side's best loop out of 4 (``--quick``) or 9 rounds, which on a shared
VM whose speed drifts by tens of percent still moves the ratio by ±0.2 from run to run. This
script runs more rounds (``--rounds``, default 20) of ``--steps`` steps per side, pausing between
sides like :func:`common.measure_pair`, and prints both sides' minimum and median together with
two ratios: of the minima, and the median of the per-round ratios (each round's two loops ran a
second apart, so slow phases of the machine cancel in it). Not a ``bench_*`` script: ``tsf bench``
does not run it.

    python benchmarks/step_rounds.py --rounds 30 --batch 64
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import bench_nn
from common import import_torch


def timed_rounds(sides, rounds, steps, settle=0.3):
    """Per side, the seconds per step of each round; the sides alternate within every round."""
    times = [[] for _ in sides]
    for step in sides:  # warm up: first-call caches, workspaces, BLAS threads
        for _ in range(3):
            step()
    for _ in range(rounds):
        for side, step in enumerate(sides):
            time.sleep(settle)  # the other side's helper threads stop spinning
            step()
            started = time.perf_counter()
            for _ in range(steps):
                step()
            times[side].append((time.perf_counter() - started) / steps)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=20, help="steps per side and round")
    parser.add_argument("--batch", type=int, default=bench_nn.DIGITS_BATCH)
    args = parser.parse_args(argv)
    import torchsorflow

    torch = import_torch()
    if torch is None:
        print("PyTorch is not installed: nothing to compare with", file=sys.stderr)
        return 2
    bench_nn.DIGITS_BATCH = args.batch
    ours, theirs = timed_rounds([bench_nn.digits_step(torchsorflow), bench_nn.digits_step(torch)],
                                args.rounds, args.steps)
    paired = statistics.median(a / b for a, b in zip(ours, theirs))
    print(f"digits CNN+BN train step, batch {args.batch}, {args.rounds} rounds of {args.steps}:")
    print(f"  TorchsorFlow min {min(ours) * 1e3:.2f} ms, median {statistics.median(ours) * 1e3:.2f}"
          f" ms; PyTorch min {min(theirs) * 1e3:.2f} ms, median "
          f"{statistics.median(theirs) * 1e3:.2f} ms")
    print(f"  ratio of the minima {min(ours) / min(theirs):.2f}x, median paired ratio "
          f"{paired:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
