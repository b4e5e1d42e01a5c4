"""``tsf bench``: every benchmark in one table, TorchsorFlow beside the incumbents.

The benchmarks ship in the package (:mod:`torchsorflow.benchmarks`), so an installed wheel runs
them from any directory; ``pip install "torchsorflow[bench]"`` adds the incumbents they compare
with. Only the package's own modules are imported, never a file of the current directory:
``--dir FOLDER`` is the one way to run other ``bench_*.py`` scripts (your own, or a checkout's
work in progress).
"""
from __future__ import annotations

import pathlib


def add_arguments(parser):
    """The options of ``tsf bench``."""
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="run only these benchmarks, like --only (e.g. 'tsf bench nn stats')")
    parser.add_argument("--quick", action="store_true",
                        help="a reduced set of smaller workloads (about a minute in all)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only these benchmarks (e.g. 'core nn' for bench_core and "
                             "bench_nn)")
    parser.add_argument("--json", default="benchmark-results.json", metavar="PATH",
                        help="where to write the results as JSON (default: %(default)s)")
    parser.add_argument("--markdown", type=pathlib.Path, metavar="FILE",
                        help="also write the table into FILE between its two marker lines "
                             "(<!-- tsf bench: begin ... --> and <!-- tsf bench: end -->), "
                             "e.g. README.md; a new FILE holds just the table")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--dir", type=pathlib.Path, metavar="FOLDER",
                        help="run the bench_*.py scripts of FOLDER instead of the installed "
                             "benchmarks (this runs their code)")


def register(subparsers):
    parser = subparsers.add_parser(
        "bench",
        help="run the benchmarks against PyTorch, NumPy, SciPy and gensim; print one table",
        description="Runs the benchmarks shipped in torchsorflow.benchmarks and prints one "
                    "markdown table: TorchsorFlow's time, the incumbent's time measured in the "
                    "same run (PyTorch CPU with the same thread count, NumPy, SciPy, gensim, "
                    "torch-influence), the ratio, the target ratio and peak memory, with the "
                    "machine and library versions above it. Missing incumbents show as '–' "
                    "(pip install 'torchsorflow[bench]' installs them).")
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args):
    import sys

    from ..benchmarks.harness import run_all

    try:
        return run_all(args)
    except (ValueError, OSError) as error:  # unknown names, a bad --dir or --markdown file
        print(f"tsf bench: {error}", file=sys.stderr)
        return 2
