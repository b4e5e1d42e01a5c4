"""The ``tsf`` command line.

Every sub-command lives in its own module under :mod:`torchsorflow.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the function that runs it.
Modules are discovered, not listed, so adding a command never touches this file. Heavy imports
(models, data, plotting) happen inside the command functions, which keeps ``tsf --help`` fast.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands, runtime


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsf",
        description="TorchsorFlow: a readable deep-learning framework on NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"tsf (torchsorflow) {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    runtime.keep_freed_memory()  # a tsf process trains and evaluates: reuse freed memory
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0 if args.command is None else 2
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
