"""``tsf bench`` and the shared benchmark helpers (benchmarks/common.py).

Benchmarks are never timed asserts; these tests check the machinery: discovery, the table, the
JSON, missing incumbents shown as "–", a broken script reported without hiding the others, and that
peak memory really measures an allocation.
"""
import gc
import importlib.util
import json
import pathlib
import shutil
import sys

import numpy as np
import pytest

from torchsorflow.cli import main
from torchsorflow.commands.bench import find_benchmarks

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def _load_common():
    spec = importlib.util.spec_from_file_location("bench_common_under_test",
                                                  BENCHMARKS / "common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = _load_common()

FAKE_SCRIPT = '''
import common

def run(quick=False):
    torch = common.import_torch()
    ours = common.best_time(lambda: sum(range(100)), repeat=2, min_seconds=0.001)
    return [common.row("fake workload", ours, 2 * ours if torch else None,
                       "PyTorch" if torch else None, target=1.5, note=f"quick={quick}"),
            common.row("slow workload", 3.0, 1.0, "NumPy", target=1.5, tsf_mb=12.5, ref_mb=3.0)]
'''


@pytest.fixture
def bench_folder(tmp_path):
    """A benchmarks folder with the real runner and three scripts: good, broken, no entry point."""
    shutil.copy(BENCHMARKS / "common.py", tmp_path / "common.py")
    (tmp_path / "bench_fake.py").write_text(FAKE_SCRIPT)
    (tmp_path / "bench_broken.py").write_text("def run(quick=False):\n    raise KeyError('x')\n")
    (tmp_path / "bench_plain.py").write_text("if __name__ == '__main__':\n    print('main only')\n")
    return tmp_path


def test_tsf_bench_finds_the_repository_benchmarks_from_an_editable_install():
    assert find_benchmarks() == BENCHMARKS.resolve()
    assert (BENCHMARKS / "bench_core.py") in common.discover(BENCHMARKS)


def test_missing_benchmarks_folder_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="not the wheel"):
        find_benchmarks(tmp_path)
    assert main(["bench", "--dir", str(tmp_path)]) == 2
    assert "pip install -e" in capsys.readouterr().err


def test_unknown_script_name_lists_the_available_ones(bench_folder, capsys):
    assert main(["bench", "--dir", str(bench_folder), "--only", "nope"]) == 2
    err = capsys.readouterr().err
    assert "bench_nope" in err and "fake" in err and "broken" in err


def test_bench_prints_one_table_writes_json_and_reports_failures(bench_folder, tmp_path, capsys):
    out_json = tmp_path / "out" / "results.json"
    code = main(["bench", "--dir", str(bench_folder), "--quick", "--json", str(out_json)])
    assert code == 1  # bench_broken failed, and says so
    out = capsys.readouterr().out
    assert out.startswith("Machine: ") and "Versions: torchsorflow" in out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| workload | TorchsorFlow | incumbent | incumbent time | ratio")
    by_name = {line.split(" | ")[0][2:]: line for line in table[1:]}
    assert "bench_broken: failed" in by_name and "KeyError" in by_name["bench_broken: failed"]
    assert "defines no run(quick)" in by_name["bench_plain: not in the common table"]
    slow = by_name["slow workload"]
    assert "| 3 s | NumPy | 1 s | 3× | ≤ 1.5× ✗ | 12.5 / 3.0 |" in slow
    assert "quick=True" in by_name["fake workload"]
    payload = json.loads(out_json.read_text())
    assert payload["environment"]["quick"] is True
    assert payload["environment"]["versions"]["numpy"] == np.__version__
    names = [r["workload"] for r in payload["results"]]
    assert names == ["bench_broken: failed", "fake workload", "slow workload",
                     "bench_plain: not in the common table"]
    assert payload["results"][2]["ratio"] == 3.0 and payload["results"][2]["meets_target"] is False


def test_a_missing_incumbent_shows_a_dash_and_no_ratio(bench_folder, tmp_path, capsys,
                                                       monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    main(["bench", "fake", "--dir", str(bench_folder), "--json", str(tmp_path / "r.json")])
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("| fake"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2:5] == ["–", "–", "–"] and cells[5] == "≤ 1.5×"  # no ✓/✗ without a ratio


def test_bench_core_runs_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    rows = common.run_script(BENCHMARKS / "bench_core.py", quick=True)
    assert len(rows) > 5 and all(r["tsf_s"] > 0 for r in rows)
    assert all(r["ref_s"] is None for r in rows if r["workload"].startswith("op overhead"))
    hvp_row = rows[-1]
    assert hvp_row["ratio"] == pytest.approx(hvp_row["tsf_s"] / hvp_row["ref_s"])


def test_peak_memory_sees_a_numpy_allocation():
    def allocate():
        a = np.ones(40 * 2**20 // 8)  # 40 MiB, touched
        return float(a.sum())

    mb = common.peak_memory_mb(allocate)
    assert 35 <= mb <= 80
    assert common.peak_memory_mb(lambda: None) < 10


def test_survivors_are_frozen_only_within_a_run():
    """peak_memory_mb's collections freeze their survivors inside survivors_frozen() (a run) and
    nowhere else, and the run leaves the collector as it found it."""
    gc.unfreeze()
    common.peak_memory_mb(lambda: None)
    assert gc.get_freeze_count() == 0
    with common.survivors_frozen():
        frozen = gc.get_freeze_count()
        survivors = [[i] for i in range(1000)]  # tracked containers made after the run began
        common.peak_memory_mb(lambda: None)
        assert gc.get_freeze_count() >= frozen + len(survivors)
    assert gc.get_freeze_count() == 0


def test_formatting_helpers():
    assert common.format_seconds(2.5e-6) == "2.5 µs"
    assert common.format_seconds(0.25) == "250 ms"
    assert common.format_seconds(12.0) == "12 s"
    fast = common.row("analogy", 1.0, 60.0, "gensim", target=0.05)
    assert fast["meets_target"] is True
    line = common.markdown_table([fast]).splitlines()[-1]
    assert "| ≥ 20× faster ✓ |" in line and "0.0167×" in line


def test_every_benchmark_script_joins_the_common_table():
    """Each benchmarks/bench_*.py defines run(quick=False) -> rows, so `tsf bench` runs it."""
    import ast
    for script in common.discover(BENCHMARKS):
        tree = ast.parse(script.read_text())
        runs = [node for node in tree.body if isinstance(node, ast.FunctionDef)
                and node.name == "run"]
        assert runs, f"{script.name} has no top-level run(quick=False)"
        args = runs[0].args
        names = [a.arg for a in args.args + args.kwonlyargs]
        assert "quick" in names, f"{script.name}: run() takes no quick argument"


def test_the_header_warns_when_the_machine_is_busy():
    env = common.environment()
    cores = env["machine"]["threads"]
    assert "WARNING: the machine was busy" in common.header({**env, "load_average": cores + 1.5})
    quiet = common.header({**env, "load_average": cores / 4})
    assert f"load average {cores / 4:g} on {cores} cores" in quiet and "WARNING" not in quiet


def test_measure_pair_alternates_the_two_and_keeps_each_side_apart():
    """Each side is timed in its own loops (the slow side is not charged to the fast one) and the
    two alternate: the call log interleaves them after the warm-up and calibration."""
    log = []

    def fast():
        log.append("fast")

    def slow():
        log.append("slow")
        sum(range(20000))

    (fast_s, fast_mb), (slow_s, slow_mb) = common.measure_pair(fast, slow, quick=True,
                                                                        settle=0.001)
    assert fast_s < slow_s / 5
    assert fast_mb is not None and slow_mb is not None
    switches = sum(a != b for a, b in zip(log, log[1:]))
    assert switches >= 2 * 4  # at least one switch each way per round, 4 rounds quick


def _step_rounds(monkeypatch):
    """benchmarks/step_rounds.py as a module (it imports bench_nn and common from its folder)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("step_rounds_under_test",
                                                  BENCHMARKS / "step_rounds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_step_rounds_alternates_the_sides_round_by_round(monkeypatch):
    """benchmarks/step_rounds.py: after a warm-up, every round times side 0 then side 1, each in
    its own loop, and returns one time per round and side."""
    module = _step_rounds(monkeypatch)
    log = []
    times = module.timed_rounds([lambda: log.append(0), lambda: log.append(1)], rounds=3, steps=4,
                                settle=0)
    assert [len(t) for t in times] == [3, 3]
    assert log[:6] == [0, 0, 0, 1, 1, 1]  # three warm-up calls each
    assert log[6:] == ([0] * 5 + [1] * 5) * 3  # per round: one untimed call, then four timed


def test_step_rounds_conv_option_parses_and_rejects_shapes(monkeypatch, capsys):
    """``--conv BATCH,IN,OUT,SIZE`` gives the four integers; anything else is refused by argparse
    with a message that quotes the bad value."""
    module = _step_rounds(monkeypatch)
    assert module.conv_shape("32,64,64,32") == (32, 64, 64, 32)
    for bad in ("32,64,64", "32,64,x,32", "32,0,64,32"):
        with pytest.raises(SystemExit):
            module.main(["--conv", bad])
        assert f"expected four positive integers BATCH,IN,OUT,SIZE, got {bad!r}" in \
            capsys.readouterr().err
