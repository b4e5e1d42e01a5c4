"""``tsf bench`` from an installed, non-editable wheel, run in another directory.

The wheel is built from a copy of the sources (so the checkout gets no build/ or egg-info folder),
installed into a folder of its own and run with only that folder on ``PYTHONPATH``: the installed
package, not this checkout, is what runs.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _pip(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pip", *args, "--no-deps", "--no-index",
                           "--disable-pip-version-check", "--quiet"],
                          capture_output=True, text=True, timeout=180, cwd=cwd)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(wheel, site)``: the built wheel and the folder it is installed into."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = _pip("wheel", "--no-build-isolation", "-w", str(work / "dist"), str(source))
    if built.returncode != 0:
        reason = (built.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"cannot build a wheel offline here (pip wheel --no-build-isolation needs "
                    f"setuptools in this environment): {reason}")
    wheel = next((work / "dist").glob("torchsorflow-*.whl"))
    site = work / "site"
    done = _pip("install", "--target", str(site), str(wheel))
    assert done.returncode == 0, done.stderr
    return wheel, site


def tsf(site, *args, cwd):
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, str(site / "bin" / "tsf"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_wheel_ships_the_benchmarks_and_the_type_marker(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("harness", "bench_core", "bench_nn", "bench_stats", "torch_models"):
        assert f"torchsorflow/benchmarks/{module}.py" in names
    assert "torchsorflow/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/"))]


def test_tsf_bench_runs_the_installed_benchmarks_from_another_directory(installed, tmp_path):
    _, site = installed
    elsewhere = tmp_path / "elsewhere"
    planted = "import pathlib\npathlib.Path(__file__).with_suffix('.ran').touch()\n"
    for folder in (elsewhere, elsewhere / "benchmarks"):  # where an old version looked
        folder.mkdir(parents=True)
        for name in ("common.py", "bench_stats.py", "bench_planted.py"):
            (folder / name).write_text(planted)

    listed = tsf(site, "bench", "--list", cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [name for name, _ in rows] == ["attention", "core", "distributed", "distributions",
                                          "embeddings", "influence", "kernels", "matmul",
                                          "models", "nn", "optim", "sequence", "stats"]
    assert all(pathlib.Path(path).is_relative_to(site) for _, path in rows)

    ran = tsf(site, "bench", "stats", "--quick", "--json", "out.json", cwd=elsewhere)
    assert ran.returncode == 0, ran.stderr
    payload = json.loads((elsewhere / "out.json").read_text())
    assert payload["results"] and all(r["script"] == "bench_stats" for r in payload["results"])
    assert all(r["tsf_s"] > 0 for r in payload["results"])
    assert not list(elsewhere.rglob("*.ran"))  # nothing of the current directory was executed

    where = subprocess.run([sys.executable, "-c",
                            "import torchsorflow; print(torchsorflow.__file__)"],
                           cwd=elsewhere, env={**os.environ, "PYTHONPATH": str(site)},
                           capture_output=True, text=True, timeout=60)
    assert pathlib.Path(where.stdout.strip()).is_relative_to(site)
