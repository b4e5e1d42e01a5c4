"""The process group: MPI's world communicator, and how a job fails cleanly instead of hanging.

:func:`init_process_group` reads the rank and world size from MPI (``mpiexec -n N python ...``);
a plain ``python`` run is a world of one. Every collective goes through :meth:`ProcessGroup.wait`,
which never blocks inside MPI: it tests the request, then looks at a second communicator, the
*control channel*, where ranks tell each other about failures, and gives up after the timeout.
It spins on the request for up to 1 ms, then sleeps between tests (10 µs, doubling up to 1 ms);
when the machine runs more ranks than it has cores it sleeps after 50 µs already, so that a
waiting rank does not take the core the rank it waits for needs.

How a failure reaches every rank:

* A rank that raises (or exits through a failing ``tsf`` command) sends ``FAULT`` to every other
  rank, naming itself and the error. A rank waiting in a collective -- or arriving at its next
  one -- raises :class:`DistBackendError` ``"rank 1 failed: ValueError: ..."``; at exit it answers
  with its own ``FAULT``. The failing rank waits for those answers (at most the timeout), so every
  rank has printed its error before the first one leaves and the launcher tears the job down.
* A rank that leaves the program early sends ``EXIT`` with the number of collectives it joined; a
  rank waiting in a later collective then fails at once, naming it.
* A rank that is killed (SIGKILL, the OOM killer) can send nothing. MPICH's ``mpiexec`` then ends
  the whole job at once, printing the dead process's PID (rank 0's log names each rank's PID).
  Under a launcher that leaves the others running, or when a rank hangs, the waiting ranks reach
  the timeout, ask every rank where it is (``PING``/``PONG``) and fail naming the ranks that did
  not answer or were elsewhere.

Messages on the control channel are JSON; nothing is unpickled.
"""
from __future__ import annotations

import atexit
import json
import os
import socket
import sys
import time
from datetime import timedelta

import numpy as np

DEFAULT_TIMEOUT = timedelta(minutes=30)   # torch's default for CPU process groups
_FAULT, _EXIT, _PING, _PONG = 9101, 9102, 9103, 9104
_SPIN_SECONDS = 1e-3      # test a request this long before sleeping, with a core per rank ...
_SHARED_SPIN_SECONDS = 5e-5   # ... and this long when this machine has more ranks than cores
_MAX_SLEEP = 1e-3         # the longest pause between two tests of a request


class DistError(RuntimeError):
    """Base class of the errors of :mod:`torchsorflow.distributed`."""


class DistBackendError(DistError):
    """A collective could not complete: another rank failed, left, or did not answer in time.
    ``failed_ranks`` lists the ranks blamed."""

    def __init__(self, message, failed_ranks=()):
        super().__init__(message)
        self.failed_ranks = tuple(failed_ranks)


def _mpi():
    from .._optional import require
    return require("mpi4py.MPI", "torchsorflow.distributed (MPI)")


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def is_available() -> bool:
    """Whether distributed training can run here: mpi4py (and so MPI) can be imported."""
    return is_mpi_available()


def is_mpi_available() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


class ProcessGroup:
    """All ranks of the job: the communicator for collectives, the control channel, the timeout
    and what each rank knows of the others' failures."""

    def __init__(self, comm, timeout: float):
        self.MPI = _mpi()
        self.comm = comm
        self.control = comm.Dup()
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.timeout = float(timeout)
        local = comm.Split_type(self.MPI.COMM_TYPE_SHARED)   # the ranks on this machine
        crowded = local.Get_size() > _cores()
        local.Free()
        self.spin = _SHARED_SPIN_SECONDS if crowded else _SPIN_SECONDS
        self.seq = 0                # collectives this rank has started
        self.doing = "idle"         # what this rank waits in, told to ranks that ask
        self.failure = None         # (ranks to blame, message) once a failure is known
        self.faulted = set()        # ranks that sent FAULT (they are failing too)
        self.exited = {}            # rank -> collectives it joined before it left
        self.silent = set()         # ranks that did not answer a PING: killed or hung
        self.aborted = False
        self._pongs = {}
        self._sends = []            # control messages in flight, with their buffers

    def __repr__(self):
        return f"ProcessGroup(backend='mpi', rank={self.rank}, size={self.size})"

    # --- the control channel -------------------------------------------------------------------
    def _tell(self, dest, tag, payload):
        data = np.frombuffer(json.dumps(payload).encode(), dtype=np.uint8).copy()
        request = self.control.Isend([data, self.MPI.BYTE], dest=dest, tag=tag)
        self._sends = [(r, d) for r, d in self._sends if not r.Test()]
        self._sends.append((request, data))

    def _tell_all(self, tag, payload, skip=()):
        for rank in range(self.size):
            if rank != self.rank and rank not in skip:
                self._tell(rank, tag, payload)

    def poll(self):
        """Read every control message that has arrived; answer PINGs."""
        MPI = self.MPI
        status = MPI.Status()
        while self.control.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status):
            source, tag = status.Get_source(), status.Get_tag()
            data = np.empty(status.Get_count(MPI.BYTE), dtype=np.uint8)
            self.control.Recv([data, MPI.BYTE], source=source, tag=tag)
            try:
                payload = json.loads(data.tobytes().decode())
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue   # not one of ours: ignore rather than guess
            if tag == _FAULT:
                self.faulted.add(source)
                self.silent.update(int(r) for r in payload.get("silent", ()))
                if self.failure is None:
                    self.failure = ([int(r) for r in payload["ranks"]], str(payload["message"]))
            elif tag == _EXIT:
                self.exited[source] = int(payload["seq"])
            elif tag == _PING:
                self._tell(source, _PONG, {"seq": self.seq, "doing": self.doing})
            elif tag == _PONG:
                self._pongs[source] = payload

    def check(self, what="", seq=None, peer=None):
        """Raise if a failure is known that stops the collective ``seq`` (or a message from
        ``peer``) from completing."""
        where = f" (rank {self.rank} was waiting in {what})" if what else ""
        if self.failure is not None:
            ranks, message = self.failure
            raise DistBackendError(message + where, ranks)
        for rank, joined in sorted(self.exited.items()):
            if (seq is not None and joined < seq) or rank == peer:
                raise DistBackendError(
                    f"rank {rank} left the program after {joined} collectives, so it will never "
                    f"join {what or 'the next collective'}, which rank {self.rank} waits in",
                    [rank])

    # --- waiting -------------------------------------------------------------------------------
    def start(self, name):
        """Number a new collective (all ranks start them in the same order) and check that no
        failure is already known."""
        self.seq += 1
        self.poll()
        self.check(f"{name} (collective #{self.seq})", self.seq)
        return self.seq

    def wait(self, requests, what, seq=None, peer=None, timeout=None, statuses=None):
        """Wait for MPI ``requests`` without ever blocking inside MPI: test them, read the
        control channel, back off, and after ``timeout`` seconds find out who is missing.
        ``statuses`` (a list of ``MPI.Status``, one per request) receives their statuses."""
        MPI = self.MPI
        requests = list(requests)
        if MPI.Request.Testall(requests, statuses):
            return
        timeout = self.timeout if timeout is None else float(timeout)
        previous, self.doing = self.doing, what if seq is None else f"{what} (collective #{seq})"
        started = time.monotonic()
        pause = 0.0
        try:
            while not MPI.Request.Testall(requests, statuses):
                elapsed = time.monotonic() - started
                if elapsed > self.spin:
                    self.poll()
                    if MPI.Request.Testall(requests, statuses):
                        break   # done meanwhile (data sent before a peer's EXIT, say)
                    self.check(self.doing, seq, peer)
                    if elapsed > timeout:
                        if self._diagnose(requests, seq, elapsed, statuses):
                            return
                    pause = min(max(pause * 2, 1e-5), _MAX_SLEEP)
                    time.sleep(pause)
        finally:
            self.doing = previous

    def _diagnose(self, requests, seq, elapsed, statuses=None):
        """The timeout passed: ask every rank where it is, then raise naming the culprits.
        Returns True if the collective completed meanwhile."""
        MPI = self.MPI
        self._pongs = {}
        asked = [r for r in range(self.size) if r != self.rank and r not in self.silent]
        for rank in asked:
            self._tell(rank, _PING, {})
        window = min(max(0.1 * self.timeout, 0.5), 5.0)
        deadline = time.monotonic() + window
        while time.monotonic() < deadline and len(self._pongs) < len(asked):
            if MPI.Request.Testall(requests, statuses):
                return True
            self.poll()
            self.check(self.doing, seq)
            time.sleep(1e-3)
        silent = [r for r in asked if r not in self._pongs]
        elsewhere = {r: p["doing"] for r, p in self._pongs.items()
                     if seq is None or int(p.get("seq", -1)) != seq}
        self.silent.update(silent)
        parts = []
        if silent:
            who = ", ".join(map(str, silent))
            parts.append(f"rank{'s' if len(silent) > 1 else ''} {who} did not respond (killed, "
                         "crashed, or busy outside torchsorflow.distributed for longer than the "
                         "timeout)")
        for rank, doing in sorted(elsewhere.items()):
            parts.append(f"rank {rank} is {'idle' if doing == 'idle' else 'in ' + doing}")
        culprits = silent + sorted(elsewhere)
        raise DistBackendError(
            f"{self.doing} timed out after {elapsed:.1f} s on rank {self.rank}: "
            + ("; ".join(parts) if parts else "every rank answered and waits in it too"),
            culprits)

    # --- leaving -------------------------------------------------------------------------------
    def abort(self, message, ranks=None):
        """Tell every rank that the job is failing -- with the failure already known, else
        ``message`` blaming ``ranks`` (default: this one) -- then wait until each live rank has
        said the same (at most the timeout), so that every rank gets to print its error before
        the launcher tears the job down."""
        if self.aborted:
            return
        self.aborted = True
        try:
            self.poll()
        except Exception:  # noqa: BLE001 - leaving anyway; tell the others what we know
            pass
        if self.failure is None:
            self.failure = (list(ranks) if ranks else [self.rank], message)
        ranks, message = self.failure
        self._tell_all(_FAULT, {"ranks": ranks, "message": message, "silent": sorted(self.silent)},
                       skip=self.silent)
        deadline = time.monotonic() + self.timeout
        others = set(range(self.size)) - {self.rank}
        while time.monotonic() < deadline:
            self.poll()
            if not others - self.faulted - self.silent:
                break
            time.sleep(1e-3)

    def leave(self):
        """The normal end: tell the others, then a barrier on the control channel (which still
        notices failures and the timeout)."""
        self.poll()
        self._tell_all(_EXIT, {"seq": self.seq})
        request = self.control.Ibarrier()
        self.wait([request], "destroy_process_group")
        self.MPI.Request.Waitall([r for r, _ in self._sends])
        self._sends = []


_group: ProcessGroup | None = None
_hooks_installed = False


class _World:
    """``torchsorflow.distributed.group.WORLD``: the default group (the only one for now)."""

    def __repr__(self):
        return "group.WORLD"


class group:  # noqa: N801 - torch's name
    WORLD = _World()


def _default_group(group_arg=None, name="this function") -> ProcessGroup:
    if _group is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    if group_arg is not None and group_arg is not group.WORLD and group_arg is not _group:
        raise ValueError(f"{name}: only the default group (group=None or group.WORLD) is "
                         f"supported, got {group_arg!r}")
    return _group


def _seconds(timeout):
    if timeout is None:
        return DEFAULT_TIMEOUT.total_seconds()
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    if not seconds > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    return seconds


def init_process_group(backend: str | None = "mpi", init_method=None, timeout=None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "",
                       pg_options=None, device_id=None):
    """Join the job's process group. Run under ``mpiexec -n N``; MPI assigns ranks, so
    ``world_size``/``rank`` may be left at -1 or must agree with MPI's. ``timeout`` (a
    ``timedelta`` or seconds; default 30 minutes as torch) bounds every collective wait."""
    global _group
    if backend not in (None, "mpi"):
        raise ValueError(f"backend {backend!r} is not available in TorchsorFlow: use "
                         "backend='mpi' and start the job with mpiexec -n N")
    if init_method not in (None, "env://") or store is not None:
        raise ValueError("init_method/store: the MPI backend takes ranks from mpiexec; leave "
                         "them unset")
    if _group is not None:
        raise ValueError("trying to initialize the default process group twice!")
    seconds = _seconds(timeout)
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    if world_size not in (-1, comm.Get_size()) or rank not in (-1, comm.Get_rank()):
        raise ValueError(f"init_process_group: world_size={world_size}, rank={rank} disagree with "
                         f"MPI's world of {comm.Get_size()} (this is rank {comm.Get_rank()}); "
                         "start the job with mpiexec -n N and leave them at -1")
    _group = ProcessGroup(comm, seconds)
    _install_hooks()


def destroy_process_group(group=None):
    """Leave the process group (a barrier with every other rank, which still notices failures)."""
    global _group
    pg = _default_group(group, "destroy_process_group")
    pg.leave()   # on failure the group stays, so that abort() can still tell the others
    _group = None


def is_initialized() -> bool:
    return _group is not None


def get_rank(group=None) -> int:
    return _default_group(group, "get_rank").rank


def get_world_size(group=None) -> int:
    return _default_group(group, "get_world_size").size


def get_backend(group=None) -> str:
    _default_group(group, "get_backend")
    return "mpi"


def process_table() -> str:
    """``"rank 0: pid 123 on host, rank 1: ..."`` for every rank (a collective): what to look up
    when ``mpiexec`` reports a killed process by its PID."""
    from .objects import all_gather_object
    entries = [None] * get_world_size()
    all_gather_object(entries, [os.getpid(), socket.gethostname()])
    return ", ".join(f"rank {r}: pid {pid} on {host}" for r, (pid, host) in enumerate(entries))


# --- failing cleanly -----------------------------------------------------------------------------
def abort(error, exit_code: int | None = None):
    """Tell every rank that the job fails because of ``error`` (an exception raised on this rank,
    or a message) and wait for their answers; with ``exit_code``, then leave the process at once
    (MPI cannot be finalized once a job has failed: that would wait for the ranks that are
    gone)."""
    if _group is not None:
        if isinstance(error, DistBackendError):
            _group.abort(error.args[0] if error.args else str(error), error.failed_ranks)
        elif isinstance(error, BaseException):
            _group.abort(f"rank {_group.rank} failed: {describe(error)}")
        else:
            _group.abort(f"rank {_group.rank} failed: {error}")
    if exit_code is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)


def describe(error: BaseException) -> str:
    """The one-line reason another rank is given: the exception's own message for a
    :class:`DistError`, else ``"TypeName: message"``."""
    if isinstance(error, DistError):
        return str(error)
    return f"{type(error).__name__}: {error}".strip()


def _excepthook(kind, value, traceback):
    """An exception nothing caught ends this rank's program: print it, tell the others, leave.
    (An interactive session keeps running instead: its errors end nothing.)"""
    _previous_excepthook(kind, value, traceback)
    if _group is not None and not _group.aborted and not _interactive():
        abort(value, exit_code=1)


def _interactive():
    return hasattr(sys, "ps1") or bool(sys.flags.interactive)


def _at_exit():
    """A script that ends without destroy_process_group(): leave like it would, or, if the job
    failed meanwhile, report and leave without finalizing MPI."""
    pg = _group
    if pg is None or pg.aborted:
        return
    try:
        pg.leave()
    except DistError as error:
        print(f"torchsorflow.distributed: rank {pg.rank}: {error}", file=sys.stderr)
        abort(error, exit_code=1)


_previous_excepthook = sys.excepthook


def _install_hooks():
    global _hooks_installed, _previous_excepthook
    if _hooks_installed:
        return
    _hooks_installed = True
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    atexit.register(_at_exit)
