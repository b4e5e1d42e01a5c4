"""torchsorflow.distributed, DistributedDataParallel, SyncBatchNorm and distributed influence,
run for real under ``mpiexec -n 2`` and ``-n 3``.

Launching MPI jobs costs about a second each, so the checks are grouped: one job per world size
runs every check of tests/distributed_worker.py and reports each one, and pytest shows one test
per (world size, check). Fault tests need a job each. Everything skips, with the reason, where
mpi4py or mpiexec is missing.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

HERE = pathlib.Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(HERE))
import distributed_worker  # noqa: E402

MPIEXEC = shutil.which("mpiexec") or shutil.which("mpiexec", path=str(pathlib.Path(sys.executable).parent))


def _missing():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install 'torchsorflow[distributed]')"
    if MPIEXEC is None:
        return "mpiexec is not on PATH (pip install mpich)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


def environment():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("OMP_NUM_THREADS", "1")          # ranks share the cores: no BLAS threads each
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def mpirun(n, args, timeout=180, cwd=None, **kwargs):
    """``mpiexec -n n`` running ``args`` (a list, after the program); returns the result."""
    return subprocess.run([MPIEXEC, "-n", str(n)] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=timeout, env=environment(), cwd=cwd, **kwargs)


_reports = {}


def session_folder(tmp_path_factory):
    """A folder of this test session shared by pytest-xdist's workers (so that one job per world
    size serves them all)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def report(n, tmp_path_factory):
    import fcntl
    if n not in _reports:
        folder = session_folder(tmp_path_factory)
        out = folder / f"distributed-report-{n}.json"
        with open(folder / f"distributed-report-{n}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not out.exists():
                result = mpirun(n, [sys.executable, HERE / "distributed_worker.py", out])
                if result.returncode != 0 or not out.exists():
                    pytest.fail(f"mpiexec -n {n} distributed_worker.py failed "
                                f"({result.returncode}):\n{result.stdout[-3000:]}\n"
                                f"{result.stderr[-6000:]}")
        _reports[n] = json.loads(out.read_text())
    return _reports[n]


@pytest.mark.parametrize("name", list(distributed_worker.CHECKS))
@pytest.mark.parametrize("ranks", [2, 3])
def test_check_on_every_rank(ranks, name, tmp_path_factory):
    outcome = report(ranks, tmp_path_factory)[name]
    failures = {rank: error for rank, error in outcome.items() if error}
    assert not failures, "\n".join(f"rank {r}:\n{e}" for r, e in failures.items())
    assert len(outcome) == ranks
