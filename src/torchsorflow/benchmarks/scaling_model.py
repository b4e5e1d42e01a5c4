"""Compute versus all-reduce time per data-parallel step, as ranks and model size grow.

Run: ``python -m torchsorflow.benchmarks.scaling_model [--fit benchmark-results.json]`` prints
the tables of docs/distributed.md. Nothing here is measured except, with ``--fit``, the latency
and bandwidth of this machine's all-reduce (from the rows ``tsf bench --only distributed``
wrote), shown beside the cluster networks the tables assume.

The model (per step, every rank the same; S = gradient bytes, R ranks, F = sustained FLOP/s of
one rank, B = examples per rank):

* compute ``T_c = 3 · FLOPs_forward(one example) · B / F`` (backward ≈ twice the forward);
* all-reduce of S bytes in buckets of 25 MB, each by MPICH's large-message algorithm
  (reduce-scatter + all-gather: 2⌈log₂R⌉ messages, each byte sent and received 2(R−1)/R times):
  ``T_ar = k · 2⌈log₂R⌉ · α + 2 (R−1)/R · S / β`` with k buckets, α the latency of one message and
  β the bandwidth of one link;
* DistributedDataParallel overlaps all but the last bucket with the backward pass (⅔ of T_c):
  ``T_step ≈ T_c + max(0, T_ar − ⅔ T_c)`` when the overlap is perfect, ``T_c + T_ar`` with none.
  Efficiency = T_c / T_step (1 = communication completely hidden).
"""
from __future__ import annotations

import argparse
import json
import math
import sys

BUCKET_BYTES = 25 * 2**20

# --- the models -----------------------------------------------------------------------------------


def gpt_parameters(layers, width, vocab, context):
    """Parameters of a GPT-2-style decoder with tied input/output embeddings: per layer the
    attention's QKV and output projections (4d² + 4d) and the 4d MLP (8d² + 5d) and two
    LayerNorms (4d); the token and position embeddings; a final LayerNorm."""
    per_layer = 12 * width**2 + 13 * width
    return layers * per_layer + vocab * width + context * width + 2 * width


def gpt_forward_flops_per_token(layers, width, vocab, context):
    """2 FLOPs per multiply-add on every non-embedding weight and the output projection, plus
    attention's scores and weighted sum over the context (Kaplan et al., 2020)."""
    weights = layers * 12 * width**2 + vocab * width
    return 2 * weights + 2 * layers * context * width


def models():
    """(name, parameters, forward FLOPs per example, examples per rank, what an example is)."""
    out = [("VGG11, 224×224 images", 132_863_336, 2 * 7_609_090_048, 32, "image")]
    for name, (layers, width, vocab, context, batch) in {
            "GPT 4 layers × 128 (char-level, vocab 65, context 256)": (4, 128, 65, 256, 32),
            "GPT-2 small (12 × 768, vocab 50257, context 1024)": (12, 768, 50257, 1024, 8)}.items():
        flops = gpt_forward_flops_per_token(layers, width, vocab, context) * context
        out.append((name, gpt_parameters(layers, width, vocab, context), flops, batch,
                    f"sequence of {context} tokens"))
    return out


NETWORKS = {
    "100 Gb/s InfiniBand": (2e-6, 12e9),        # α (s), β (bytes/s) as MPI achieves them
    "25 Gb/s Ethernet (TCP)": (30e-6, 2.8e9),
}
FLOPS_PER_RANK = 1e12   # one CPU node running TorchsorFlow's NumPy/BLAS kernels, sustained


# --- the formulas ----------------------------------------------------------------------------
def allreduce_seconds(nbytes, ranks, alpha, beta, bucket=BUCKET_BYTES):
    if ranks == 1:
        return 0.0
    buckets = max(1, math.ceil(nbytes / bucket))
    return buckets * 2 * math.ceil(math.log2(ranks)) * alpha + \
        2 * (ranks - 1) / ranks * nbytes / beta


def step(parameters, flops, batch, ranks, alpha, beta, flops_per_rank=FLOPS_PER_RANK):
    compute = 3 * flops * batch / flops_per_rank
    reduce = allreduce_seconds(4 * parameters, ranks, alpha, beta)
    overlapped = compute + max(0.0, reduce - 2 * compute / 3)
    return compute, reduce, compute / overlapped, compute / (compute + reduce)


def _ms(seconds):
    if seconds >= 1:
        return f"{seconds:.3g} s"
    return f"{seconds * 1e3:.3g} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.3g} µs"


def tables(ranks=(2, 8, 32, 128)):
    """Three tables: weak scaling (examples per rank fixed), strong scaling (global batch fixed)
    and the per-rank speed beyond which the all-reduce can no longer hide behind backward."""
    lines = ["Models (float32 gradients; forward + backward = 3 × forward FLOPs):", ""]
    for name, parameters, flops, batch, unit in models():
        lines.append(f"* {name}: {parameters / 1e6:.2f} M parameters, "
                     f"{4 * parameters / 2**20:.1f} MiB of gradients, {3 * flops / 1e9:.3g} GFLOP "
                     f"per {unit}; {batch} per rank: {_ms(3 * flops * batch / FLOPS_PER_RANK)} "
                     f"of compute per step at {FLOPS_PER_RANK / 1e12:g} TFLOP/s")
    lines += ["", "Weak scaling -- the same examples per rank, so compute per step stays fixed; "
              "all-reduce time per step (its ratio to compute):", "",
              "| model | network | " + " | ".join(f"R = {r}" for r in ranks) + " |",
              "|---|---|" + "---:|" * len(ranks)]
    for name, parameters, flops, batch, _ in models():
        for network, (alpha, beta) in NETWORKS.items():
            cells = []
            for r in ranks:
                compute, reduce, _, _ = step(parameters, flops, batch, r, alpha, beta)
                cells.append(f"{_ms(reduce)} ({reduce / compute:.2f})")
            lines.append(f"| {name.split(' (')[0].split(',')[0]} | {network} | "
                         + " | ".join(cells) + " |")
    lines += ["", "Strong scaling -- a fixed global batch split over R ranks (256 images, 256 "
              "short or 512 long sequences): efficiency T_c / T_step with perfect overlap / with "
              "none, and the speed-up over one rank:", "",
              "| model | network | " + " | ".join(f"R = {r}" for r in ranks) + " |",
              "|---|---|" + "---:|" * len(ranks)]
    for (name, parameters, flops, _, _), total in zip(models(), (256, 256, 512)):
        for network, (alpha, beta) in NETWORKS.items():
            cells = []
            alone = 3 * flops * total / FLOPS_PER_RANK
            for r in ranks:
                compute, reduce, eff, eff_none = step(parameters, flops, total / r, r, alpha, beta)
                speedup = alone / (compute + max(0.0, reduce - 2 * compute / 3))
                cells.append(f"{eff:.0%} / {eff_none:.0%}, {speedup:.1f}×")
            lines.append(f"| {name.split(' (')[0].split(',')[0]} | {network} | "
                         + " | ".join(cells) + " |")
    lines += ["", "Where communication takes over -- the per-rank speed F at which the all-reduce "
              "of a step equals its backward pass (⅔ T_c), for 32 ranks with the weak-scaling "
              "batch; a faster rank waits for the network:", "",
              "| model | " + " | ".join(NETWORKS) + " |", "|---|" + "---:|" * len(NETWORKS)]
    for name, parameters, flops, batch, _ in models():
        cells = []
        for alpha, beta in NETWORKS.values():
            reduce = allreduce_seconds(4 * parameters, 32, alpha, beta)
            cells.append(f"{2 * flops * batch / reduce / 1e12:.3g} TFLOP/s")
        lines.append(f"| {name.split(' (')[0].split(',')[0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fit(results_path):
    """α and β of this machine from the all-reduce rows of a ``tsf bench`` JSON (2 ranks): least
    squares of t = α' + bytes/β over the message sizes."""
    import re
    rows = json.load(open(results_path))["results"]
    points = []
    for r in rows:
        match = re.match(r"all_reduce (\d+) (KiB|MiB) float32, 2 ranks", r["workload"])
        if match and r.get("tsf_s"):
            nbytes = int(match.group(1)) * (2**10 if match.group(2) == "KiB" else 2**20)
            points.append((nbytes, r["tsf_s"]))
    if len(points) < 2:
        raise ValueError(f"{results_path}: fewer than two all_reduce rows to fit")
    n = len(points)
    mx = sum(b for b, _ in points) / n
    my = sum(t for _, t in points) / n
    slope = sum((b - mx) * (t - my) for b, t in points) / sum((b - mx) ** 2 for b, _ in points)
    return my - slope * mx, 1 / slope


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", metavar="JSON", help="fit α, β to this machine's all_reduce rows")
    args = parser.parse_args(argv)
    print(tables())
    if args.fit:
        alpha, beta = fit(args.fit)
        print(f"this machine (2 ranks, shared memory): α ≈ {_ms(max(alpha, 0))}, "
              f"β ≈ {beta / 1e9:.2f} GB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
