"""The ``tsf`` command line.

Every sub-command lives in its own module under :mod:`torchsorflow.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the function that runs it.
Modules are discovered, not listed, so adding a command never touches this file. Heavy imports
(models, data, plotting) happen inside the command functions, which keeps ``tsf --help`` fast.

One error policy for every command: a known failure -- :class:`~torchsorflow.commands.
CommandError`, a bad value (``ValueError``, including the file-format errors), a file that cannot
be read or written (``OSError``), an unknown key or word (``KeyError``), a checkpoint that does not
fit its model (``RuntimeError``), a diverging computation (``ArithmeticError``), a missing optional
package (``ImportError``) -- prints ``tsf COMMAND: message`` on stderr and exits with status 2,
never a traceback. Anything else is a bug: it prints ``tsf COMMAND: internal error: ...`` and
exits with 1 (``TSF_TRACEBACK=1`` shows the traceback). Python warnings raised while a command
runs print as ``tsf COMMAND: warning: message``; an interrupt exits with 130.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import sys
import warnings

from . import __version__, commands, runtime
from .commands import CommandError

KNOWN_FAILURES = (CommandError, ValueError, OSError, KeyError, RuntimeError, ArithmeticError,
                  ImportError, MemoryError)


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
    prefix = f"tsf {args.command}"
    with _warnings_as_messages(prefix):
        try:
            result = args.func(args)
        except KeyboardInterrupt:
            print(f"{prefix}: interrupted", file=sys.stderr)
            return 130
        except KNOWN_FAILURES as error:
            print(f"{prefix}: {describe(error, prefix)}", file=sys.stderr)
            return 2
        except Exception as error:
            if os.environ.get("TSF_TRACEBACK"):
                raise
            print(f"{prefix}: internal error: {type(error).__name__}: {error} (a bug in "
                  "TorchsorFlow; TSF_TRACEBACK=1 shows where)", file=sys.stderr)
            return 1
    return int(result or 0)


def describe(error: BaseException, prefix: str = "") -> str:
    """The message of a known failure, as a person should read it."""
    if isinstance(error, OSError) and error.strerror:
        message = error.strerror
        if error.filename is not None and os.fspath(error.filename) not in message:
            message = f"{os.fspath(error.filename)}: {message}"
    elif isinstance(error, KeyError) and len(error.args) == 1 and isinstance(error.args[0], str):
        message = str(error) if type(error).__str__ is not KeyError.__str__ else error.args[0]
    elif isinstance(error, MemoryError):
        message = f"out of memory{': ' + str(error) if str(error) else ''}"
    else:
        message = str(error) or type(error).__name__
    command = prefix.removeprefix("tsf ")
    for stale in (f"{prefix}: error: ", f"{prefix}: ", f"{command}: "):   # already naming us
        message = message.removeprefix(stale) if prefix else message
    return message


@contextlib.contextmanager
def _warnings_as_messages(prefix):
    """Print warnings as one line each, ``tsf COMMAND: warning: ...``, not as source excerpts."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{prefix}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


if __name__ == "__main__":
    sys.exit(main())
