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

MPIEXEC = shutil.which("mpiexec") or shutil.which(
    "mpiexec", path=str(pathlib.Path(sys.executable).parent))


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


# --- faults: never a hang, always the failed rank's name -----------------------------------------
def fault_job(n, *args, timeout=90):
    import time
    started = time.monotonic()
    result = mpirun(n, [sys.executable, HERE / "distributed_faults.py", *args], timeout=timeout)
    return result, time.monotonic() - started


def test_a_rank_that_raises_stops_every_rank_naming_it():
    result, seconds = fault_job(3, "raise", 60)      # the 60 s timeout is not what ends the job
    assert result.returncode != 0
    assert "ValueError: boom on purpose" in result.stderr      # rank 1's own traceback
    for rank in (0, 2):
        assert (f"DistBackendError: rank 1 failed: ValueError: boom on purpose (rank {rank} was "
                f"waiting in all_reduce (collective #") in result.stderr, result.stderr
    assert "finished" not in result.stdout
    assert seconds < 30, seconds


def test_a_rank_that_leaves_early_is_named_at_once():
    result, seconds = fault_job(2, "exit", 60)
    assert result.returncode != 0
    assert ("rank 1 left the program after 3 collectives, so it will never join all_reduce "
            "(collective #") in result.stderr, result.stderr
    assert seconds < 30, seconds


def test_a_rank_that_stops_answering_is_named_after_the_timeout():
    result, seconds = fault_job(3, "hang", 2)
    assert result.returncode != 0
    assert ("timed out after 2.0 s on rank 0: rank 1 did not respond (killed, crashed, or busy "
            "outside torchsorflow.distributed") in result.stderr or \
           ("timed out after 2.0 s on rank 2: rank 1 did not respond") in result.stderr, \
        result.stderr
    assert "rank 2 finished" not in result.stdout and "rank 0 finished" not in result.stdout
    assert seconds < 40, seconds


def test_a_killed_rank_ends_the_job_and_its_pid_names_it():
    """SIGKILL leaves no chance to say anything: MPICH's mpiexec ends the job at once, naming
    the dead process's PID, which the rank table printed at start maps to rank 1."""
    import re
    result, seconds = fault_job(2, "kill", 60)
    assert result.returncode != 0
    table = dict((int(pid), int(rank)) for rank, pid in
                 re.findall(r"rank (\d+): pid (\d+)", result.stdout))
    killed = re.search(r"PID (\d+) RUNNING AT", result.stdout + result.stderr)
    assert killed and table.get(int(killed.group(1))) == 1, (result.stdout, result.stderr)
    assert seconds < 30, seconds


def test_tsf_train_reports_the_failed_rank_and_writes_no_checkpoint(tmp_path):
    result, seconds = fault_job(2, "train-raise", tmp_path)
    assert result.returncode != 0
    assert "RuntimeError: injected failure in the optimizer" in result.stderr
    assert ("tsf train: rank 0: rank 1 failed: RuntimeError: injected failure in the optimizer "
            "(rank 0 was waiting in") in result.stderr, result.stderr
    assert not (tmp_path / "checkpoint.safetensors").exists()
    assert seconds < 60, seconds


def test_a_rank_killed_while_saving_leaves_the_previous_checkpoint_whole(tmp_path):
    from torchsorflow import io
    previous = tmp_path / "checkpoint.safetensors"
    io.save({"model": {"w": np.arange(3.0)}, "config": {"epoch": 1}}, previous)
    before = previous.read_bytes()
    result, _ = fault_job(2, "train-kill-saving", tmp_path)
    assert result.returncode != 0 and "KILLED" in (result.stdout + result.stderr).upper()
    assert previous.read_bytes() == before              # never a half-written checkpoint
    assert io.load(previous)["config"] == {"epoch": 1}


# --- the commands --------------------------------------------------------------------------------
TRAIN = ["--epochs", "1", "--width", "4", "--batch-size", "32", "--no-progress"]


@pytest.fixture(scope="module")
def one_process_run(tmp_path_factory):
    """``tsf train`` in one process (in this one: no second start-up), the reference."""
    from torchsorflow.cli import main
    out = tmp_path_factory.mktemp("one-process")
    assert main(["train", *TRAIN, "--out", str(out)]) == 0
    return out


def test_tsf_train_distributed_equals_one_process(one_process_run, tmp_path):
    """Three ranks split each global batch of 32 unevenly (11, 11, 10), SyncBatchNorm sees the
    whole batch and DDP averages the weighted gradients: the weights of one process, and one log,
    from rank 0."""
    from torchsorflow import io
    result = mpirun(3, [sys.executable, "-m", "torchsorflow", "train", "--distributed", *TRAIN,
                        "--out", tmp_path], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("epoch 1/1") == 1 and "data-parallel over 3 ranks" in result.stdout
    assert result.stdout.count("wrote ") == 1
    one = io.load(one_process_run / "checkpoint.safetensors")
    three = io.load(tmp_path / "checkpoint.safetensors")
    assert three["config"]["world_size"] == 3 and set(one["model"]) == set(three["model"])
    for name, value in one["model"].items():
        np.testing.assert_allclose(three["model"][name].numpy(), value.numpy(), rtol=2e-4,
                                   atol=2e-5, err_msg=name)
    assert abs(one["history"][0]["test_accuracy"] - three["history"][0]["test_accuracy"]) < 0.01


@pytest.mark.filterwarnings("ignore:θ̂ is not a minimum")   # --no-refit: the layer as trained
def test_tsf_explain_distributed_prints_the_one_process_ranking(one_process_run, tmp_path, capsys):
    from torchsorflow.cli import main
    args = ["explain", one_process_run / "checkpoint.safetensors", "--test-index", "5", "--top",
            "6", "--method", "cg", "--no-refit", "--out", tmp_path]
    assert main([str(a) for a in args] + ["--no-progress"]) == 0
    alone = capsys.readouterr().out
    result = mpirun(2, [sys.executable, "-m", "torchsorflow", *args, "--distributed"],
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = [line for line in alone.splitlines() if not line.startswith("wrote")]
    assert len(table) == 9 and [line for line in result.stdout.splitlines()
                                if not line.startswith("wrote")] == table, result.stdout


def test_bench_distributed_rows(monkeypatch):
    """The benchmark's table from canned job results (the jobs themselves run in tsf bench)."""
    from torchsorflow.benchmarks import bench_distributed
    canned = {
        ("tsf", 1): {"allreduce": {}, "allreduce_mpi4py": {}, "step": {"plain": 0.010,
                                                                       "ddp": 0.011}},
        ("tsf", 2): {"allreduce": {"1024": 2e-5, "4194304": 4e-3},
                     "allreduce_mpi4py": {"1024": 1e-5, "4194304": 3e-3},
                     "step": {"ddp": 0.013, "no_sync": 0.012, "ddp_syncbn": 0.014}},
        ("torch", 2): {"allreduce": {"1024": 4e-5, "4194304": 5e-3},
                       "step": {"plain": 0.008, "ddp": 0.010, "no_sync": 0.009}}}
    monkeypatch.setattr(bench_distributed, "job", lambda lib, n, quick: canned[lib, n])
    rows = {r["workload"]: r for r in bench_distributed.run(quick=True)}
    assert rows["all_reduce 4 MiB float32, 2 ranks"]["ratio"] == pytest.approx(0.8)
    assert "1.05 GB/s" in rows["all_reduce 4 MiB float32, 2 ranks"]["note"]
    assert rows["DDP step cnn-bn 64/rank, 2 ranks"]["ratio"] == pytest.approx(13 / 12)
    assert rows["DDP step cnn-bn 64/rank, 1 rank"]["ref_s"] == 0.010
    assert rows["DDP step cnn-bn 64/rank, 2 ranks vs PyTorch"]["ref_s"] == 0.010
