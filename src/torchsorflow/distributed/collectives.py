"""Collectives on Tensors with ``torch.distributed``'s names and semantics, over MPI.

Like torch's, these work in place on the memory of the Tensors given and record nothing for
autograd (the differentiable versions are in :mod:`torchsorflow.distributed.nn.functional`).
Each one starts a non-blocking MPI operation; with ``async_op=True`` it returns a :class:`Work`
handle at once, otherwise it waits through :meth:`ProcessGroup.wait` (failures of other ranks and
the timeout are noticed there).

Reductions map to MPI's operations; ``ReduceOp.AVG`` is a sum divided by the world size (floating
point and complex only). On bool tensors SUM and MAX are logical or, PRODUCT and MIN logical and,
as in torch.
"""
from __future__ import annotations

import enum

import numpy as np

from ..tensor import Tensor
from .process_group import _default_group


class ReduceOp(enum.Enum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7

    def __repr__(self):
        return f"<ReduceOp.{self.name}>"


def _reduce_op(op) -> ReduceOp:
    if isinstance(op, ReduceOp):
        return op
    if isinstance(op, str) and op.upper() in ReduceOp.__members__:
        return ReduceOp[op.upper()]
    raise ValueError(f"unknown reduction {op!r}; use one of "
                     f"{', '.join('ReduceOp.' + m for m in ReduceOp.__members__)}")


def mpi_op(MPI, op: ReduceOp, dtype, name="all_reduce"):
    """The MPI operation computing ``op`` on arrays of ``dtype`` (AVG: the sum)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        table = {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR,
                 ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND,
                 ReduceOp.BXOR: MPI.LXOR}
        if op not in table:
            raise ValueError(f"{name}: ReduceOp.{op.name} is not defined on bool tensors")
        return table[op]
    if op is ReduceOp.AVG and dtype.kind not in "fc":
        raise ValueError(f"{name}: ReduceOp.AVG needs a floating point or complex tensor (got "
                         f"{dtype}); sum, then divide")
    if op in (ReduceOp.MIN, ReduceOp.MAX) and dtype.kind == "c":
        raise ValueError(f"{name} does not support ReduceOp.{op.name} on complex tensors")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind not in "iu":
        raise ValueError(f"{name}: ReduceOp.{op.name} needs an integer or bool tensor (got "
                         f"{dtype})")
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
            ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]


class Work:
    """The handle of a collective started with ``async_op=True`` (torch's ``Work``)."""

    def __init__(self, pg, requests, what, seq=None, finish=None, result=(), peer=None):
        self._pg, self._requests, self._what, self._seq = pg, list(requests), what, seq
        self._finish, self._result, self._peer = finish, list(result), peer
        self._done = False
        self._value = None

    def _complete(self):
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._value = self._finish()

    def is_completed(self) -> bool:
        """Whether the operation has finished (tests it; never waits)."""
        if not self._done and self._pg.MPI.Request.Testall(self._requests):
            self._complete()
        return self._done

    def wait(self, timeout=None) -> bool:
        """Wait until the operation has finished (at most ``timeout`` seconds or a
        ``timedelta``; default: the process group's)."""
        if not self._done:
            seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else timeout
            self._pg.wait(self._requests, self._what, self._seq, self._peer, seconds)
            self._complete()
        return True

    def result(self):
        """The output Tensors of the operation."""
        self.wait()
        return self._result

    def __repr__(self):
        return f"<Work {self._what}{' done' if self._done else ''}>"


def _run(pg, requests, what, seq, async_op, finish=None, result=(), peer=None):
    work = Work(pg, requests, what, seq, finish, result, peer)
    if async_op:
        return work
    work.wait()
    return work._value


def _tensor(x, name, argument="tensor"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {argument} must be a Tensor, got {type(x).__name__}")
    if x._trace is not None:
        raise RuntimeError(f"{name}: {argument} is traced by a functional transformation; "
                           "in-place collectives cannot be differentiated, use "
                           "torchsorflow.distributed.nn.functional")
    return x


def _writable(x, name, argument="tensor"):
    """(contiguous writable array, finish) for a collective that writes into ``x``: ``finish``
    copies the result back if the array had to be made contiguous, and counts the in-place
    change (a graph that saved ``x`` then refuses to use the new value, as for ``x.add_``)."""
    array = _tensor(x, name, argument)._array
    if not array.flags.writeable:
        raise ValueError(f"{name}: {argument} is read-only memory (a broadcast view or a "
                         "protected array); clone() it first")
    buffer = array if array.flags.c_contiguous else np.ascontiguousarray(array)

    def finish():
        if buffer is not array:
            np.copyto(array, buffer)
        x._version += 1
    return buffer, finish


def _readable(x, name, argument="tensor"):
    return np.ascontiguousarray(_tensor(x, name, argument)._array)


def _check_rank(pg, rank, name, argument):
    if not isinstance(rank, (int, np.integer)) or not 0 <= rank < pg.size:
        raise ValueError(f"{name}: {argument}={rank!r} is not a rank of this group of "
                         f"{pg.size} (0..{pg.size - 1})")
    return int(rank)


def _after(*steps):
    steps = [s for s in steps if s is not None]
    if not steps:
        return None

    def run():
        for step in steps:
            step()
    return run


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks in place: every rank ends with the same result."""
    pg = _default_group(group, "all_reduce")
    op = _reduce_op(op)
    array, finish = _writable(tensor, "all_reduce")
    mop = mpi_op(pg.MPI, op, array.dtype, "all_reduce")
    seq = pg.start("all_reduce")
    request = pg.comm.Iallreduce(pg.MPI.IN_PLACE, array, op=mop)
    scale = None
    if op is ReduceOp.AVG:
        def scale():
            array[...] /= pg.size
    return _run(pg, [request], "all_reduce", seq, async_op, _after(scale, finish), [tensor])


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    pg = _default_group(group, "broadcast")
    src = _check_rank(pg, src, "broadcast", "src")
    array, finish = _writable(tensor, "broadcast")
    seq = pg.start("broadcast")
    request = pg.comm.Ibcast(array, root=src)
    return _run(pg, [request], "broadcast", seq, async_op, finish, [tensor])


def reduce(tensor, dst=0, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks into ``tensor`` on rank ``dst`` (others keep theirs)."""
    pg = _default_group(group, "reduce")
    dst = _check_rank(pg, dst, "reduce", "dst")
    op = _reduce_op(op)
    if pg.rank == dst:
        array, finish = _writable(tensor, "reduce")
        send = pg.MPI.IN_PLACE
    else:
        array = send = _readable(tensor, "reduce")
        finish = None   # the other ranks' tensors are only read
    mop = mpi_op(pg.MPI, op, array.dtype, "reduce")
    seq = pg.start("reduce")
    request = pg.comm.Ireduce(send, array if pg.rank == dst else None, op=mop, root=dst)
    scale = None
    if op is ReduceOp.AVG and pg.rank == dst:
        def scale():
            array[...] /= pg.size
    return _run(pg, [request], "reduce", seq, async_op, _after(scale, finish), [tensor])


def _same_kind(name, tensors, like, what):
    for i, t in enumerate(tensors):
        _tensor(t, name, f"{what}[{i}]")
        if t.shape != like.shape or t.dtype != like.dtype:
            raise ValueError(f"{name}: {what}[{i}] has shape {tuple(t.shape)} and dtype "
                             f"{t.dtype}, but the input has shape {tuple(like.shape)} and dtype "
                             f"{like.dtype}; every entry must match it")


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list`` (one Tensor per rank) with every rank's ``tensor``."""
    pg = _default_group(group, "all_gather")
    source = _readable(tensor, "all_gather")
    if not isinstance(tensor_list, list) or len(tensor_list) != pg.size:
        raise ValueError(f"all_gather: tensor_list must be a list of {pg.size} Tensors (one per "
                         f"rank), got {_count(tensor_list)}")
    _same_kind("all_gather", tensor_list, tensor, "tensor_list")
    gathered = np.empty((pg.size,) + source.shape, dtype=source.dtype)
    seq = pg.start("all_gather")
    request = pg.comm.Iallgather(source, gathered)

    def finish():
        for i, t in enumerate(tensor_list):
            target, done = _writable(t, "all_gather", f"tensor_list[{i}]")
            np.copyto(target, gathered[i])
            done()
    return _run(pg, [request], "all_gather", seq, async_op, finish, tensor_list)


def _count(value):
    return f"{len(value)} entries" if isinstance(value, (list, tuple)) else type(value).__name__


def _stacked_or_concatenated(name, big, small, size, big_name, small_name):
    """Check that ``big`` holds ``size`` copies of ``small``'s shape: stacked (size, *shape) or
    concatenated along dim 0 (size·d0, ...)."""
    stacked = (size,) + tuple(small.shape)
    concatenated = ((size * small.shape[0],) + tuple(small.shape[1:])) if small.ndim else None
    if tuple(big.shape) not in (stacked, concatenated) or big.dtype != small.dtype:
        raise ValueError(f"{name}: {big_name} of shape {tuple(big.shape)} ({big.dtype}) must be "
                         f"world_size ({size}) times {small_name} of shape {tuple(small.shape)} "
                         f"({small.dtype}): shape {stacked}"
                         + (f" or {concatenated}" if concatenated else "")
                         + f", dtype {small.dtype}")


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's ``input_tensor``, in rank order, in ``output_tensor`` (concatenated along
    dim 0 or stacked on a new first dim)."""
    pg = _default_group(group, "all_gather_into_tensor")
    _tensor(output_tensor, "all_gather_into_tensor", "output_tensor")
    _stacked_or_concatenated("all_gather_into_tensor", output_tensor,
                             _tensor(input_tensor, "all_gather_into_tensor", "input_tensor"),
                             pg.size, "output_tensor", "input_tensor")
    source = _readable(input_tensor, "all_gather_into_tensor", "input_tensor")
    array, finish = _writable(output_tensor, "all_gather_into_tensor", "output_tensor")
    seq = pg.start("all_gather_into_tensor")
    request = pg.comm.Iallgather(source, array.reshape(pg.size, -1) if source.size else array)
    return _run(pg, [request], "all_gather_into_tensor", seq, async_op, finish,
                [output_tensor])


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (world_size chunks along dim 0, or stacked) over all ranks; rank r gets
    the r-th chunk of the result in ``output``."""
    pg = _default_group(group, "reduce_scatter_tensor")
    op = _reduce_op(op)
    _tensor(input, "reduce_scatter_tensor", "input")
    _stacked_or_concatenated("reduce_scatter_tensor", input,
                             _tensor(output, "reduce_scatter_tensor", "output"), pg.size,
                             "input", "output")
    source = _readable(input, "reduce_scatter_tensor", "input")
    array, finish = _writable(output, "reduce_scatter_tensor", "output")
    mop = mpi_op(pg.MPI, op, array.dtype, "reduce_scatter_tensor")
    seq = pg.start("reduce_scatter_tensor")
    request = pg.comm.Ireduce_scatter_block(source, array, op=mop)
    scale = None
    if op is ReduceOp.AVG:
        def scale():
            array[...] /= pg.size
    return _run(pg, [request], "reduce_scatter_tensor", seq, async_op, _after(scale, finish),
                [output])


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (None elsewhere)."""
    pg = _default_group(group, "gather")
    dst = _check_rank(pg, dst, "gather", "dst")
    source = _readable(tensor, "gather")
    if pg.rank == dst:
        if not isinstance(gather_list, list) or len(gather_list) != pg.size:
            raise ValueError(f"gather: gather_list on the destination rank {dst} must be a list "
                             f"of {pg.size} Tensors, got {_count(gather_list)}")
        _same_kind("gather", gather_list, tensor, "gather_list")
        gathered = np.empty((pg.size,) + source.shape, dtype=source.dtype)
    else:
        if gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on "
                             "non-destination ranks.")
        gathered = None
    seq = pg.start("gather")
    request = pg.comm.Igather(source, gathered, root=dst)

    def finish():
        if gathered is not None:
            for i, t in enumerate(gather_list):
                target, done = _writable(t, "gather", f"gather_list[{i}]")
                np.copyto(target, gathered[i])
                done()
    return _run(pg, [request], "gather", seq, async_op, finish, gather_list or [])


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Rank ``src``'s ``scatter_list[r]`` into ``tensor`` on rank r."""
    pg = _default_group(group, "scatter")
    src = _check_rank(pg, src, "scatter", "src")
    array, finish = _writable(tensor, "scatter")
    if pg.rank == src:
        if not isinstance(scatter_list, list) or len(scatter_list) != pg.size:
            raise ValueError(f"scatter: scatter_list on the source rank {src} must be a list of "
                             f"{pg.size} Tensors, got {_count(scatter_list)}")
        _same_kind("scatter", scatter_list, tensor, "scatter_list")
        source = np.stack([np.asarray(t._array) for t in scatter_list]) if pg.size else None
    else:
        if scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on "
                             "non-source ranks.")
        source = None
    seq = pg.start("scatter")
    request = pg.comm.Iscatter(source, array, root=src)
    return _run(pg, [request], "scatter", seq, async_op, finish, [tensor])


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached this barrier."""
    pg = _default_group(group, "barrier")
    seq = pg.start("barrier")
    return _run(pg, [pg.comm.Ibarrier()], "barrier", seq, async_op)


# --- point to point -------------------------------------------------------------------------------
def isend(tensor, dst, group=None, tag=0):
    """Start sending ``tensor`` to rank ``dst``; returns a :class:`Work`."""
    pg = _default_group(group, "isend")
    dst = _check_rank(pg, dst, "isend", "dst")
    if dst == pg.rank:
        raise ValueError(f"isend: rank {dst} cannot send to itself")
    pg.poll()
    pg.check("isend", peer=dst)
    data = _readable(tensor, "isend")
    return Work(pg, [pg.comm.Isend(data, dest=dst, tag=tag)], f"send to rank {dst}", peer=dst,
                result=[tensor])


def irecv(tensor, src=None, group=None, tag=0):
    """Start receiving into ``tensor`` from rank ``src`` (any rank if None); returns a
    :class:`Work` whose ``wait()`` completes the receive."""
    pg = _default_group(group, "irecv")
    MPI = pg.MPI
    if src is not None:
        src = _check_rank(pg, src, "irecv", "src")
    pg.poll()
    pg.check("irecv", peer=src)
    array, finish = _writable(tensor, "irecv")
    request = pg.comm.Irecv(array, source=MPI.ANY_SOURCE if src is None else src, tag=tag)
    return Work(pg, [request], "recv" + ("" if src is None else f" from rank {src}"),
                finish=finish, result=[tensor], peer=src)


def send(tensor, dst, group=None, tag=0):
    """Send ``tensor`` to rank ``dst`` (returns when the data has left this rank's buffer)."""
    isend(tensor, dst, group, tag).wait()


def recv(tensor, src=None, group=None, tag=0) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank if None); returns the sender's rank."""
    pg = _default_group(group, "recv")
    MPI = pg.MPI
    if src is not None:
        src = _check_rank(pg, src, "recv", "src")
    pg.poll()
    pg.check("recv", peer=src)
    array, finish = _writable(tensor, "recv")
    request = pg.comm.Irecv(array, source=MPI.ANY_SOURCE if src is None else src, tag=tag)
    status = MPI.Status()
    pg.wait([request], "recv" + ("" if src is None else f" from rank {src}"), peer=src,
            statuses=[status])
    finish()
    return status.Get_source() if src is None else src


# --- on arrays, returning new arrays (for the differentiable collectives, SyncBatchNorm, DDP) ---
def _to_front(array, axis):
    return np.ascontiguousarray(np.moveaxis(array, axis, 0))


def all_reduce_array(array, op=ReduceOp.SUM, name="all_reduce"):
    """``op`` over every rank's ``array``: a new array, the same on every rank."""
    pg = _default_group(None, name)
    op = _reduce_op(op)
    out = np.array(array, copy=True, order="C")
    seq = pg.start(name)
    pg.wait([pg.comm.Iallreduce(pg.MPI.IN_PLACE, out, op=mpi_op(pg.MPI, op, out.dtype, name))],
            name, seq)
    if op is ReduceOp.AVG:
        out /= pg.size
    return out


def all_gather_array(array, axis=0, name="all_gather"):
    """Every rank's ``array`` concatenated along ``axis`` in rank order (same shapes needed)."""
    pg = _default_group(None, name)
    source = _to_front(array, axis)
    out = np.empty((pg.size,) + source.shape, dtype=source.dtype)
    seq = pg.start(name)
    pg.wait([pg.comm.Iallgather(source, out)], name, seq)
    out = out.reshape((pg.size * source.shape[0],) + source.shape[1:]) if source.ndim else out
    return np.moveaxis(out, 0, axis) if source.ndim else out


def reduce_scatter_array(array, op=ReduceOp.SUM, axis=0, name="reduce_scatter_tensor"):
    """``op`` over every rank's ``array``; rank r keeps the r-th of world_size equal chunks
    along ``axis``."""
    pg = _default_group(None, name)
    op = _reduce_op(op)
    source = _to_front(array, axis)
    if source.shape[0] % pg.size:
        raise ValueError(f"{name}: dimension {axis} of size {source.shape[0]} does not split "
                         f"into {pg.size} equal chunks (one per rank)")
    out = np.empty((source.shape[0] // pg.size,) + source.shape[1:], dtype=source.dtype)
    seq = pg.start(name)
    pg.wait([pg.comm.Ireduce_scatter_block(source, out, op=mpi_op(pg.MPI, op, out.dtype, name))],
            name, seq)
    if op is ReduceOp.AVG:
        out /= pg.size
    return np.moveaxis(out, 0, axis)


def broadcast_array(array, src=0, name="broadcast"):
    """Rank ``src``'s ``array`` on every rank (a new array)."""
    pg = _default_group(None, name)
    out = np.array(array, copy=True, order="C")
    seq = pg.start(name)
    pg.wait([pg.comm.Ibcast(out, root=_check_rank(pg, src, name, "src"))], name, seq)
    return out
