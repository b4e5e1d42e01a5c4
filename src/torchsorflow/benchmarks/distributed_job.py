"""One side of the distributed benchmark, run as an MPI job by :mod:`.bench_distributed`:

    mpiexec -n R python -m torchsorflow.benchmarks.distributed_job LIBRARY OUT.json [--quick]

LIBRARY is ``tsf`` (torchsorflow.distributed over MPI, with raw mpi4py ``Allreduce`` beside it)
or ``torch`` (torch.distributed with the gloo backend, its CPU backend; the rank and world size
come from MPI's environment). Rank 0 writes the seconds per operation to OUT.json:

* ``allreduce``: {bytes: seconds} for one all-reduce of a float32 tensor of that size;
* ``step``: seconds per training step of the digits CNN with BatchNorm (width 32, 64 examples per
  rank, Adam): plain (no DDP), DDP, DDP inside ``no_sync()`` (the same step without the gradient
  all-reduce), and for tsf also: the no_sync step followed by a barrier (the ranks move in
  lockstep without exchanging data: what waiting for the slower rank costs), DDP with
  SyncBatchNorm (what ``tsf train --distributed`` runs), and one all-reduce of all the gradients
  as a single flat tensor.

Each figure is the best of several timed loops; every loop starts after a barrier.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

SIZES_QUICK = [2**10, 2**14, 2**18, 2**22]
SIZES = SIZES_QUICK + [2**24]


QUICK = False


def best(fn, barrier, repeat=None, seconds=None):
    """Best seconds per call over ``repeat`` loops of about ``seconds`` each (the count agreed
    by all ranks: rank 0's first estimate is broadcast through the first loop's length)."""
    repeat = repeat or (3 if QUICK else 5)
    seconds = seconds or (0.05 if QUICK else 0.15)
    fn()
    barrier()
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = max(1, min(1000, int(seconds / max(once, 1e-6))))
    number = barrier(number)
    results = []
    for _ in range(repeat):
        barrier()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        results.append((time.perf_counter() - start) / number)
    return min(results)


def tsf_side(quick):
    import torchsorflow as tsf
    import torchsorflow.distributed as dist
    from mpi4py import MPI

    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD

    def barrier(value=None):
        if value is None:
            return dist.barrier()
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    out = {"allreduce": {}, "allreduce_mpi4py": {}, "step": {}}
    for size in SIZES_QUICK if quick else SIZES:
        x = tsf.ones(size // 4)
        out["allreduce"][size] = best(lambda x=x: dist.all_reduce(x), barrier)
        raw = np.ones(size // 4, dtype=np.float32)
        out["allreduce_mpi4py"][size] = best(
            lambda raw=raw: comm.Allreduce(MPI.IN_PLACE, raw), barrier)
    out["step"] = _tsf_steps(tsf, dist, barrier, quick)
    dist.destroy_process_group()
    return out


def _digits_batch(rank, n=64):
    from torchsorflow.data import datasets
    images, labels = datasets.digits("train").tensors
    rows = np.arange(rank * n, (rank + 1) * n) % len(labels)
    return images.numpy()[rows], labels.numpy()[rows]


def _tsf_steps(tsf, dist, barrier, quick):
    from torchsorflow import nn, optim
    from torchsorflow.models import digits
    x, y = (tsf.tensor(a) for a in _digits_batch(dist.get_rank()))
    results = {}
    for name in ("plain", "ddp", "no_sync", "lockstep", "ddp_syncbn"):
        tsf.manual_seed(0)
        model = digits.build("cnn-bn")
        if name == "ddp_syncbn":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        trained = model if name == "plain" else nn.parallel.DistributedDataParallel(model)
        optimizer = optim.Adam(model.parameters(), lr=1e-3)

        def step(trained=trained, optimizer=optimizer, name=name):
            optimizer.zero_grad()
            nn.functional.cross_entropy(trained(x), y).backward()
            optimizer.step()
            if name == "lockstep":   # no data exchanged, but the ranks wait for each other
                dist.barrier()

        if name in ("no_sync", "lockstep"):
            with trained.no_sync():
                results[name] = best(step, barrier)
        else:
            results[name] = best(step, barrier)
    flat = tsf.zeros(sum(p.numel() for p in model.parameters()))
    results["gradient_allreduce"] = best(lambda: dist.all_reduce(flat), barrier)
    return results


def torch_side(quick):
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)
    rank, size = int(os.environ["PMI_RANK"]), int(os.environ["PMI_SIZE"])
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", os.environ.get("TSF_BENCH_PORT", "29517"))
    dist.init_process_group("gloo", rank=rank, world_size=size)
    holder = torch.zeros(1, dtype=torch.int64)

    def barrier(value=None):
        if value is None:
            dist.barrier()
            return None
        holder[0] = value
        dist.broadcast(holder, src=0)
        return int(holder[0])

    out = {"allreduce": {}, "step": {}}
    for nbytes in SIZES_QUICK if quick else SIZES:
        x = torch.ones(nbytes // 4)
        out["allreduce"][nbytes] = best(lambda x=x: dist.all_reduce(x), barrier)
    tnn = torch.nn
    xs, ys = _digits_batch(rank)
    x, y = torch.from_numpy(xs), torch.from_numpy(ys)

    def build():
        torch.manual_seed(0)
        return tnn.Sequential(
            tnn.Conv2d(1, 32, 3, padding=1, bias=False), tnn.BatchNorm2d(32), tnn.ReLU(),
            tnn.Conv2d(32, 64, 3, padding=1, bias=False), tnn.BatchNorm2d(64), tnn.ReLU(),
            tnn.MaxPool2d(2), tnn.Conv2d(64, 64, 3, padding=1, bias=False), tnn.BatchNorm2d(64),
            tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(256, 10))

    for name in ("plain", "ddp", "no_sync"):
        model = build()
        trained = model if name == "plain" else tnn.parallel.DistributedDataParallel(model)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step(trained=trained, optimizer=optimizer):
            optimizer.zero_grad()
            tnn.functional.cross_entropy(trained(x), y).backward()
            optimizer.step()

        if name == "no_sync":
            with trained.no_sync():
                out["step"][name] = best(step, barrier)
        else:
            out["step"][name] = best(step, barrier)
    dist.destroy_process_group()
    return out


def main(argv):
    global QUICK
    library, path, quick = argv[0], argv[1], "--quick" in argv
    QUICK = quick
    result = tsf_side(quick) if library == "tsf" else torch_side(quick)
    if int(os.environ.get("PMI_RANK", "0")) == 0:
        with open(path, "w") as fh:
            json.dump(result, fh)


if __name__ == "__main__":
    main(sys.argv[1:])
