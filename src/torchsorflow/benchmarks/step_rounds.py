"""The digits CNN+BN train step, TorchsorFlow against PyTorch, over many alternating rounds.

``bench_nn.py`` keeps each side's best loop out of 4 (``--quick``) or 9 rounds, which on a shared
VM whose speed drifts by tens of percent still moves the ratio by ±0.2 from run to run. This
script runs more rounds (``--rounds``, default 20) of ``--steps`` steps per side, pausing between
sides like :func:`.harness.measure_pair`, and prints both sides' minimum and median together with
two ratios: of the minima, and the median of the per-round ratios (each round's two loops ran a
second apart, so slow phases of the machine cancel in it). Not a ``bench_*`` module: ``tsf bench``
does not run it.

``--conv BATCH,IN,OUT,SIZE`` (repeatable) times the Conv2d layer step of ``bench_nn.conv_step``
(3×3, padding 1, bias, forward and both gradients) instead of the digits step.

    python -m torchsorflow.benchmarks.step_rounds --rounds 30 --batch 64
    python -m torchsorflow.benchmarks.step_rounds --rounds 12 --steps 5 --conv 32,64,64,32
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

from . import bench_nn
from .harness import import_torch, prepare_process


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
    parser.add_argument("--conv", type=conv_shape, action="append", default=[],
                        metavar="BATCH,IN,OUT,SIZE", help="time this Conv2d layer step instead")
    args = parser.parse_args(argv)
    import torchsorflow

    prepare_process()
    torch = import_torch()
    if torch is None:
        print("PyTorch is not installed: nothing to compare with", file=sys.stderr)
        return 2
    bench_nn.DIGITS_BATCH = args.batch
    workloads = [(f"Conv2d 3×3 fwd+bwd, N={b} {ci}→{co} ch, {s}×{s}",
                  lambda lib, shape=(b, ci, co, s): bench_nn.conv_step(lib, *shape))
                 for b, ci, co, s in args.conv]
    if not workloads:
        workloads = [(f"digits CNN+BN train step, batch {args.batch}", bench_nn.digits_step)]
    for name, make in workloads:
        ours, theirs = timed_rounds([make(torchsorflow), make(torch)], args.rounds, args.steps)
        report(f"{name}, {args.rounds} rounds of {args.steps}:", ours, theirs)
    return 0


def conv_shape(text):
    """``"32,64,64,32"`` -> (32, 64, 64, 32): batch, in channels, out channels, size."""
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 4 or min(shape) < 1:
        raise argparse.ArgumentTypeError(
            f"expected four positive integers BATCH,IN,OUT,SIZE, got {text!r}")
    return shape


def report(title, ours, theirs):
    paired = statistics.median(a / b for a, b in zip(ours, theirs))
    print(title)
    print(f"  TorchsorFlow min {min(ours) * 1e3:.2f} ms, median {statistics.median(ours) * 1e3:.2f}"
          f" ms; PyTorch min {min(theirs) * 1e3:.2f} ms, median "
          f"{statistics.median(theirs) * 1e3:.2f} ms")
    print(f"  ratio of the minima {min(ours) / min(theirs):.2f}x, median paired ratio "
          f"{paired:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
