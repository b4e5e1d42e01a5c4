"""Running a ``tsf`` command as one rank of an MPI job (``mpiexec -n N tsf CMD --distributed``).

:func:`run_command` joins the process group, runs the command, and turns every way a rank can
fail into the same clean end on every rank: the failing rank prints its error, the others print
``tsf CMD: rank R: rank 1 failed: ...`` naming it, and all leave within the timeout (see
:mod:`torchsorflow.distributed.process_group`). Exit status as for every ``tsf`` command (2 for a
known failure, the ranks stopped by another rank's failure included; 1 for a bug).
"""
from __future__ import annotations

import os
import sys
import traceback
from datetime import timedelta

from . import process_group as pg


def add_arguments(parser):
    """``--distributed`` and ``--timeout`` for a command that can run over MPI."""
    parser.add_argument("--distributed", action="store_true",
                        help="run as one rank of an MPI job: mpiexec -n N tsf ... --distributed "
                             "(needs pip install 'torchsorflow[distributed]')")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="with --distributed: how long a rank waits for the others before it "
                             "fails naming them (default 1800)")


def run_command(name, fn, args) -> int:
    """``fn(args)`` on this rank of the job; returns its status, or leaves the process if the
    job failed (MPI cannot be finalized then). Errors follow ``tsf``'s policy (see
    :mod:`torchsorflow.cli`): a known failure prints ``tsf CMD: message`` and exits with 2,
    anything else ``tsf CMD: internal error: ...`` and 1, an interrupt 130."""
    from ..cli import KNOWN_FAILURES, describe
    from ..commands import CommandError

    prefix = f"tsf {name}"
    if args.timeout is not None and not args.timeout > 0:
        raise CommandError(f"--timeout must be positive, got {args.timeout:g}")
    pg.init_process_group("mpi", timeout=timedelta(seconds=args.timeout)
                          if args.timeout else None)   # a missing mpi4py: an ImportError
    if pg.get_rank() != 0:   # the ranks compute the same numbers: rank 0 speaks for them
        import warnings
        warnings.simplefilter("ignore")
    try:
        status = fn(args)
    except pg.DistError as error:   # another rank failed
        print(f"{prefix}: rank {pg.get_rank()}: {error}", file=sys.stderr)
        pg.abort(error, exit_code=2)
    except KeyboardInterrupt as error:
        print(f"{prefix}: interrupted", file=sys.stderr)
        pg.abort(error, exit_code=130)
    except KNOWN_FAILURES as error:
        print(f"{prefix}: {describe(error, prefix)}", file=sys.stderr)
        pg.abort(error, exit_code=2)
    except BaseException as error:  # noqa: BLE001 - a bug on this rank: tell the others, leave
        if os.environ.get("TSF_TRACEBACK"):
            traceback.print_exc()
        print(f"{prefix}: internal error: {type(error).__name__}: {error} (a bug in "
              "TorchsorFlow; TSF_TRACEBACK=1 shows where)", file=sys.stderr)
        pg.abort(error, exit_code=1)
    if status:
        pg.abort(f"{prefix} exited with status {status}", exit_code=int(status))
    try:
        pg.destroy_process_group()
    except pg.DistError as error:
        print(f"{prefix}: rank {pg.get_rank()}: {error}", file=sys.stderr)
        pg.abort(error, exit_code=2)
    return 0


def is_main() -> bool:
    """Whether this process should print and write files: rank 0, or a run without a group."""
    return not pg.is_initialized() or pg.get_rank() == 0
