"""The cost of gradient synchronisation: all-reduce over message sizes, and a data-parallel
training step with and without its communication, beside PyTorch's gloo backend.

Run: ``tsf bench distributed [--quick]`` (or
``python -m torchsorflow.benchmarks.bench_distributed``).
Needs mpi4py and mpiexec (``pip install 'torchsorflow[distributed]'``); PyTorch for the
incumbent column. Each side runs as its own MPI job (:mod:`.distributed_job`), every rank
with one thread, all ranks on this machine, so the all-reduce moves data through shared memory
(without ``--quick`` the jobs run twice, the two libraries alternating, and each figure is the
better of its two runs):

* **all_reduce**: seconds per ``dist.all_reduce`` of a float32 tensor, two ranks, beside
  ``torch.distributed.all_reduce`` with gloo; the note gives raw ``mpi4py`` ``Allreduce`` on the
  same buffer (what the wait loop of torchsorflow.distributed adds) and the bus bandwidth
  2(R-1)/R · bytes / time;
* **DDP step**: the digits CNN with BatchNorm (width 32, 64 examples per rank, Adam). On one rank
  DistributedDataParallel against the plain model (the cost of the hooks and buckets); on two
  ranks DDP against the same DDP step inside ``no_sync()`` -- the communication-free step with the
  same two processes competing for the cores -- and against PyTorch's DDP over gloo.

docs/distributed.md turns these measurements into a model of compute versus communication for
larger models on a cluster network.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from .harness import format_seconds, row, script_main

# the folder that holds the torchsorflow package, for the jobs' PYTHONPATH (a source checkout)
PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _mpiexec():
    return shutil.which("mpiexec") or shutil.which(
        "mpiexec", path=str(pathlib.Path(sys.executable).parent))


def job(library, ranks, quick):
    """Run one side as an MPI job; returns rank 0's JSON (None if it failed or is missing)."""
    mpiexec = _mpiexec()
    if mpiexec is None:
        return None
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_ROOT)]
                                        + [p for p in [env.get("PYTHONPATH")] if p])
    with tempfile.TemporaryDirectory() as folder:
        out = pathlib.Path(folder) / "result.json"
        command = [mpiexec, "-n", str(ranks), sys.executable, "-m",
                   "torchsorflow.benchmarks.distributed_job", library, str(out)] + \
            (["--quick"] if quick else [])
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        if result.returncode != 0 or not out.exists():
            print(f"distributed_job.py {library} on {ranks} ranks failed:\n{result.stderr[-2000:]}",
                  file=sys.stderr)
            return None
        return json.loads(out.read_text())


def _best(old, new):
    """The smaller of each figure of two runs' results (nested dicts of seconds)."""
    if old is None or new is None:
        return old or new
    return {k: _best(old[k], new[k]) if isinstance(old[k], dict) else min(old[k], new[k])
            for k in old if k in new}


def _size(nbytes):
    return f"{nbytes // 2**20} MiB" if nbytes >= 2**20 else f"{nbytes // 2**10} KiB"


def run(quick=False):
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return [row("distributed: skipped", None, incumbent=None,
                    note="mpi4py is not installed (pip install 'torchsorflow[distributed]')")]
    if _mpiexec() is None:
        return [row("distributed: skipped", None, incumbent=None, note="no mpiexec on PATH")]
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    one = two = theirs = None
    for _ in range(1 if quick else 2):   # alternate the sides; keep each figure's best
        one = _best(one, job("tsf", 1, quick))
        two = _best(two, job("tsf", 2, quick))
        if have_torch:
            theirs = _best(theirs, job("torch", 2, quick))
    if one is None or two is None:
        raise RuntimeError("the torchsorflow side of the distributed benchmark failed (see above)")
    rows = []
    for key, seconds in two["allreduce"].items():
        nbytes = int(key)
        ref = theirs["allreduce"].get(key) if theirs else None
        raw = two["allreduce_mpi4py"][key]
        rows.append(row(f"all_reduce {_size(nbytes)} float32, 2 ranks", seconds, ref,
                        "PyTorch gloo",
                        note=f"mpi4py Allreduce {format_seconds(raw)}; bus bandwidth "
                             f"{nbytes / seconds / 1e9:.2f} GB/s"))
    s1, s2 = one["step"], two["step"]
    rows.append(row("DDP step cnn-bn 64/rank, 1 rank", s1["ddp"], s1["plain"],
                    "same model without DDP", note="hooks and buckets, no peer"))
    overhead = s2["ddp"] - s2["no_sync"]
    alone = s2.get("gradient_allreduce")
    hidden = "" if not alone else \
        f" of the {format_seconds(alone)} one all-reduce of all gradients takes"
    rows.append(row("DDP step cnn-bn 64/rank, 2 ranks", s2["ddp"], s2["no_sync"],
                    "same step in no_sync()",
                    note=f"communication adds {format_seconds(overhead)}{hidden}; "
                         f"1 rank plain {format_seconds(s1['plain'])}"))
    if "lockstep" in s2:
        rows.append(row("no_sync step + barrier, 2 ranks", s2["lockstep"], s2["no_sync"],
                        "same step in no_sync()",
                        note="no data exchanged: the cost of waiting for the slower rank"))
    rows.append(row("DDP + SyncBatchNorm step, 2 ranks", s2["ddp_syncbn"], s2["no_sync"],
                    "DDP step in no_sync()", note="what tsf train --distributed runs"))
    if theirs is not None:
        t2 = theirs["step"]
        rows.append(row("DDP step cnn-bn 64/rank, 2 ranks vs PyTorch", s2["ddp"], t2["ddp"],
                        "PyTorch DDP (gloo)",
                        note=f"PyTorch: no_sync {format_seconds(t2['no_sync'])}, plain "
                             f"{format_seconds(t2['plain'])}"))
    return rows


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.splitlines()[0]))
