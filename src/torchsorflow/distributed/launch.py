"""Running a ``tsf`` command as one rank of an MPI job (``mpiexec -n N tsf CMD --distributed``).

:func:`run_command` joins the process group, runs the command, and turns every way a rank can
fail into the same clean end on every rank: the failing rank prints its error, the others print
``tsf CMD: rank R failed: ...`` naming it, and all leave within the timeout (see
:mod:`torchsorflow.distributed.process_group`). Exit status: 1 for the rank whose command raised,
2 for the ranks stopped by another rank's failure (a known failure, like every ``tsf`` error),
the command's own status if it returned one.
"""
from __future__ import annotations

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
    job failed (MPI cannot be finalized then)."""
    if args.timeout is not None and not args.timeout > 0:
        print(f"tsf {name}: --timeout must be positive, got {args.timeout:g}", file=sys.stderr)
        return 2
    try:
        pg.init_process_group("mpi", timeout=timedelta(seconds=args.timeout)
                              if args.timeout else None)
    except RuntimeError as error:   # mpi4py missing
        print(f"tsf {name}: {error}", file=sys.stderr)
        return 2
    if pg.get_rank() != 0:   # the ranks compute the same numbers: rank 0 speaks for them
        import warnings
        warnings.simplefilter("ignore")
    try:
        status = fn(args)
    except pg.DistError as error:
        print(f"tsf {name}: rank {pg.get_rank()}: {error}", file=sys.stderr)
        pg.abort(error, exit_code=2)
    except BaseException as error:  # noqa: BLE001 - this rank failed: tell the others, then leave
        traceback.print_exc()
        pg.abort(error, exit_code=1)
    if status:
        pg.abort(f"tsf {name} exited with status {status}", exit_code=int(status))
    try:
        pg.destroy_process_group()
    except pg.DistError as error:
        print(f"tsf {name}: rank {pg.get_rank() if pg.is_initialized() else '?'}: {error}",
              file=sys.stderr)
        pg.abort(error, exit_code=2)
    return 0


def is_main() -> bool:
    """Whether this process should print and write files: rank 0, or a run without a group."""
    return not pg.is_initialized() or pg.get_rank() == 0
