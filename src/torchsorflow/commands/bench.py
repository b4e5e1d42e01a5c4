"""``tsf bench``: every benchmark in one table, TorchsorFlow beside the incumbents.

The benchmark scripts live in the repository's ``benchmarks/`` folder rather than in the package:
they need the incumbents (PyTorch, gensim, torch-influence), which are no runtime dependencies, and
they are meant to be run from a source checkout (``pip install -e ".[bench]"``). This command finds
that folder next to the package's source (an editable install), in the current directory, or where
``--dir`` points, and hands over to its runner (``benchmarks/common.py``).
"""
from __future__ import annotations

import pathlib


def add_arguments(parser):
    """The options of ``tsf bench`` (shared with ``python benchmarks/common.py``)."""
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="run only these scripts, like --only (e.g. 'tsf bench nn stats')")
    parser.add_argument("--quick", action="store_true",
                        help="a reduced set of smaller workloads (about a minute in all)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only these scripts (e.g. 'core nn' for bench_core.py and "
                             "bench_nn.py)")
    parser.add_argument("--json", default="benchmark-results.json", metavar="PATH",
                        help="where to write the results as JSON (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="list the benchmark scripts and exit")


def register(subparsers):
    parser = subparsers.add_parser(
        "bench", help="run the benchmarks against PyTorch, NumPy, SciPy and gensim; print one table",
        description="Runs every benchmarks/bench_*.py script and prints one markdown table: "
                    "TorchsorFlow's time, the incumbent's time measured in the same run (PyTorch "
                    "CPU with the same thread count, NumPy, SciPy, gensim, torch-influence), the "
                    "ratio, the target ratio and peak memory, with the machine and library "
                    "versions above it. Missing incumbents show as '–'.")
    add_arguments(parser)
    parser.add_argument("--dir", type=pathlib.Path, metavar="FOLDER",
                        help="the benchmarks folder (default: found from the source checkout)")
    parser.set_defaults(func=run)


def find_benchmarks(explicit=None) -> pathlib.Path:
    """The folder holding ``common.py`` and the ``bench_*.py`` scripts."""
    import torchsorflow
    if explicit is not None:
        candidates = [pathlib.Path(explicit)]
    else:
        source_root = pathlib.Path(torchsorflow.__file__).resolve().parents[2]
        candidates = [source_root / "benchmarks", pathlib.Path.cwd() / "benchmarks"]
    for folder in candidates:
        if (folder / "common.py").is_file():
            return folder.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"tsf bench: no benchmarks folder with common.py found (looked in {tried}). The benchmarks "
        "ship with the source repository, not the wheel: install from a checkout with "
        "pip install -e \".[bench]\", run from the repository root, or pass --dir FOLDER.")


def run(args):
    import importlib.util
    import sys

    try:
        folder = find_benchmarks(args.dir)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location("tsf_benchmarks.common", folder / "common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    try:
        return common.run_all(args, folder)
    except ValueError as error:  # e.g. --only names a script that does not exist
        print(f"tsf bench: {error}", file=sys.stderr)
        return 2
