"""``tsf bench`` and the benchmark harness (torchsorflow/benchmarks/harness.py).

Benchmarks are never timed asserts; these tests check the machinery: discovery, the table, the
JSON and markdown outputs, missing incumbents shown as "–", a broken script reported without
hiding the others, that only the package's benchmarks run unless --dir names a folder, and that
peak memory really measures an allocation.
"""
import gc
import json
import pathlib
import sys

import numpy as np
import pytest

from torchsorflow import benchmarks
from torchsorflow.benchmarks import harness as common
from torchsorflow.benchmarks import step_rounds
from torchsorflow.cli import main

BENCHMARKS = pathlib.Path(benchmarks.__file__).resolve().parent
SHIPPED = ["attention", "core", "distributed", "distributions", "embeddings", "influence",
           "kernels", "matmul", "models", "nn", "optim", "sequence", "stats"]

FAKE_SCRIPT = '''
from torchsorflow.benchmarks import harness as common

def run(quick=False):
    torch = common.import_torch()
    ours = common.best_time(lambda: sum(range(100)), repeat=2, min_seconds=0.001)
    return [common.row("fake workload", ours, 2 * ours if torch else None,
                       "PyTorch" if torch else None, target=1.5, note=f"quick={quick}"),
            common.row("slow workload", 3.0, 1.0, "NumPy", target=1.5, tsf_mb=12.5, ref_mb=3.0)]
'''


@pytest.fixture
def bench_folder(tmp_path):
    """A folder of the user's own scripts for --dir: good, broken, no entry point."""
    (tmp_path / "bench_fake.py").write_text(FAKE_SCRIPT)
    (tmp_path / "bench_broken.py").write_text("def run(quick=False):\n    raise KeyError('x')\n")
    (tmp_path / "bench_plain.py").write_text("if __name__ == '__main__':\n    print('main only')\n")
    return tmp_path


def test_tsf_bench_lists_the_benchmarks_shipped_in_the_package(capsys):
    assert main(["bench", "--list"]) == 0
    listed = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [name for name, _ in listed] == SHIPPED
    assert all(pathlib.Path(path).parent == BENCHMARKS for _, path in listed)


def test_benchmarks_in_the_current_directory_are_never_run(tmp_path, monkeypatch, capsys):
    """Scripts where an old checkout kept them (./benchmarks/) or beside the user are ignored
    unless --dir names their folder."""
    planted = "import pathlib\npathlib.Path(__file__).with_suffix('.ran').touch()\n" + FAKE_SCRIPT
    for folder in (tmp_path, tmp_path / "benchmarks"):
        folder.mkdir(exist_ok=True)
        (folder / "common.py").write_text(planted)
        (folder / "bench_stats.py").write_text(planted)
        (folder / "bench_planted.py").write_text(planted)
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--list"]) == 0
    assert "planted" not in capsys.readouterr().out
    assert main(["bench", "planted"]) == 2
    assert "no benchmark script bench_planted" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.ran"))
    assert main(["bench", "--dir", "benchmarks", "planted", "--json", "r.json"]) == 0
    assert [p.name for p in tmp_path.rglob("*.ran")] == ["bench_planted.ran"]


def test_a_missing_benchmarks_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["bench", "--dir", str(tmp_path / "nowhere")]) == 2
    assert "tsf bench: --dir" in capsys.readouterr().err


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
    line = next(text for text in capsys.readouterr().out.splitlines()
                if text.startswith("| fake"))
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
    """Each bench_* module defines run(quick=False) -> rows, so `tsf bench` runs it."""
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


def test_step_rounds_alternates_the_sides_round_by_round():
    """step_rounds: after a warm-up, every round times side 0 then side 1, each in its own loop,
    and returns one time per round and side."""
    module = step_rounds
    log = []
    times = module.timed_rounds([lambda: log.append(0), lambda: log.append(1)], rounds=3, steps=4,
                                settle=0)
    assert [len(t) for t in times] == [3, 3]
    assert log[:6] == [0, 0, 0, 1, 1, 1]  # three warm-up calls each
    assert log[6:] == ([0] * 5 + [1] * 5) * 3  # per round: one untimed call, then four timed


def test_step_rounds_conv_option_parses_and_rejects_shapes(capsys):
    """``--conv BATCH,IN,OUT,SIZE`` gives the four integers; anything else is refused by argparse
    with a message that quotes the bad value."""
    module = step_rounds
    assert module.conv_shape("32,64,64,32") == (32, 64, 64, 32)
    for bad in ("32,64,64", "32,64,x,32", "32,0,64,32"):
        with pytest.raises(SystemExit):
            module.main(["--conv", bad])
        assert f"expected four positive integers BATCH,IN,OUT,SIZE, got {bad!r}" in \
            capsys.readouterr().err


def test_markdown_writes_the_table_between_the_markers_and_nothing_else(bench_folder, tmp_path,
                                                                        capsys):
    readme = tmp_path / "README.md"
    before, after = "# Title\n\nResults:\n\n", "\n\nMore text.\n"
    readme.write_text(before + f"{common.BEGIN_MARK}\nold table\n{common.END_MARK}" + after)
    for _ in range(2):  # a second run replaces the first run's table
        assert main(["bench", "fake", "--dir", str(bench_folder), "--quick", "--json",
                     str(tmp_path / "r.json"), "--markdown", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(before + common.BEGIN_MARK + "\n`tsf bench --quick`:\n")
    assert text.endswith(common.END_MARK + after)
    inside = text[len(before):-len(after)]
    assert "old table" not in inside and inside.count("| fake workload |") == 1
    assert "- Machine: " in inside and "ratio = TorchsorFlow time / incumbent time" in inside
    assert "table written into" in capsys.readouterr().out

    fresh = tmp_path / "results.md"
    assert main(["bench", "fake", "--dir", str(bench_folder), "--json", str(tmp_path / "r.json"),
                 "--markdown", str(fresh)]) == 0
    assert fresh.read_text().startswith(common.BEGIN_MARK + "\n`tsf bench`:\n")


def test_markdown_refuses_a_file_without_markers_before_running_anything(bench_folder, tmp_path,
                                                                         capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# A README without markers\n")
    out_json = tmp_path / "r.json"
    assert main(["bench", "--dir", str(bench_folder), "--json", str(out_json),
                 "--markdown", str(readme)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tsf bench: {readme} needs exactly one pair of lines")
    assert readme.read_text() == "# A README without markers\n" and not out_json.exists()


def test_kernel_ab_alternates_the_trees_and_reports_best_and_median_ratios(monkeypatch):
    """The trees are timed in alternating order, one process per call; the table gives each
    tree's best time, the ratio of the bests and the median of the per-round ratios."""
    from torchsorflow.benchmarks import kernel_ab
    calls = []
    times = {"old": iter([4.0, 2.0, 3.0]), "new": iter([1.0, 3.0, 6.0])}

    def fake_run(src):
        calls.append(src)
        return {"conv": next(times[src])}

    monkeypatch.setattr(kernel_ab, "_run_tree", fake_run)
    table = kernel_ab.compare("old", "new", rounds=3, pause=0)
    assert calls == ["old", "new", "new", "old", "old", "new"]
    # per-round new/old: 0.25, 1.5, 2.0 -> median 1.5; bests 2.0 (old) and 1.0 (new)
    assert table == {"conv": (2.0, 1.0, 0.5, 1.5)}


def test_kernel_ab_refuses_a_folder_without_the_package(tmp_path, capsys):
    from torchsorflow.benchmarks import kernel_ab
    with pytest.raises(SystemExit) as stop:
        kernel_ab.main([str(tmp_path)])
    assert stop.value.code == 2
    assert f"{tmp_path} holds no torchsorflow package" in capsys.readouterr().err


def test_kernel_ab_times_a_tree_in_its_own_process(tmp_path):
    """One real timing process on the installed tree (the smallest layer only, to stay quick)."""
    from torchsorflow.benchmarks import kernel_ab
    result = kernel_ab._run_tree(None, layers=[(2, 1, 4, 2)])
    assert {"conv fwd N2 C1 4x4 K2", "conv grad input N2 C1 4x4 K2",
            "conv grad weight N2 C1 4x4 K2", "max_pool2d 2x2, 64x32x8x8"} <= set(result)
    assert all(value > 0 for value in result.values())
