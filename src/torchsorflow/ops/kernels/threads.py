"""Spread independent chunks of a kernel over the cores, with BLAS kept to one thread per chunk.

Why not just let BLAS use the cores? An im2col convolution is a big matrix product (BLAS runs it
on every core) *plus* copies that lay the input out as a matrix, pad it and transpose the result.
NumPy runs those copies on one core, so with two cores the copies are a serial tail that can cost
a third of the time. Cutting the batch into chunks and giving each core its own chunks, each doing
*its* copies and *its* (single-threaded) matrix product, keeps every core busy all the time, and
each chunk's buffers stay in the cache between the copy and the product. NumPy releases the GIL in
both, so plain Python threads run truly in parallel.

BLAS must be told to use one thread meanwhile (``threadpoolctl``, a dependency of scikit-learn):
two workers each asking OpenBLAS for two threads would put four busy-waiting threads on two
cores, which is several times slower. The worker count is the BLAS thread count the caller set
(``OPENBLAS_NUM_THREADS``, ``threadpoolctl.threadpool_limits``), so "the same thread count as
PyTorch" keeps its meaning. Without ``threadpoolctl`` everything runs in the calling thread and
BLAS threads the products on its own.

There is one catch. After a multi-threaded BLAS call (any ``np.matmul`` big enough, e.g. a Linear
layer), OpenBLAS's own helper thread keeps spinning for about 0.1 s waiting for more work;
PyTorch's OpenMP threads do the same for a few milliseconds. Two workers plus a spinning thread
on two cores made a convolution 1.6× slower than on an idle machine. So before going parallel,
:func:`others_running` looks in ``/proc/self/task`` for another thread of this process that is
running right now (20 µs); if there is one, the chunks run in the calling thread and BLAS keeps
its threads, which then do useful work instead of competing (measured on the 64-channel 32×32
layer: 16 ms with workers on a quiet process, 27 ms with workers right after a matmul, 19 ms
either way without workers).

Chunks go to *lanes* round-robin (lane ``i`` takes chunks ``i, i+L, i+2L, ...``, one lane per
BLAS thread), so sums that a lane accumulates (the weight gradient) are added in the same order on
every run, on workers or not: results are reproducible for a given thread count.

Each lane's scratch arrays are carved out of a :class:`Workspace` that is kept between calls.
Fresh multi-megabyte ``np.empty`` buffers come from ``mmap`` and every first touch of a page is a
page fault; with two threads faulting at once that halved the speed of small layers (a 64×32×4×4
convolution on two workers: 0.87 ms with fresh buffers, 0.45 ms with kept ones).
"""
from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["Workspace", "blas_threads", "others_running", "release_workspaces", "run_chunks",
           "split"]

_lock = threading.Lock()
_local = threading.local()
_state = {"controller": None, "pool": None, "pool_size": 0}

# Below this many multiply-adds (about 0.5 ms on one core) waking a worker costs more than it saves:
# the hand-over takes ~0.15 ms and two threads touching small buffers slow each other down.
MIN_PARALLEL_WORK = 40_000_000


def _controller():
    if _state["controller"] is None:
        try:
            from threadpoolctl import ThreadpoolController
            _state["controller"] = ThreadpoolController().select(user_api="blas")
        except Exception:  # noqa: BLE001 - not installed or no BLAS found: stay sequential
            _state["controller"] = False
    return _state["controller"]


def blas_threads() -> int:
    """Threads BLAS would use right now (1 when this cannot be found out)."""
    ctl = _controller()
    if not ctl:
        return 1
    counts = [lib.get("num_threads") or 1 for lib in ctl.info()]
    return max(counts, default=1)


def others_running() -> bool:
    """Whether another thread of this process is running or runnable right now (Linux only;
    elsewhere ``False``). Busy-waiting BLAS or OpenMP helper threads show up here."""
    me = threading.get_native_id()
    try:
        for tid in os.listdir("/proc/self/task"):
            if int(tid) == me:
                continue
            with open(f"/proc/self/task/{tid}/stat", "rb") as fh:
                stat = fh.read()
            end_of_name = stat.rindex(b")")  # the thread name may contain spaces or ')'
            if stat[end_of_name + 2:end_of_name + 3] == b"R":
                return True
    except (OSError, ValueError):
        return False
    return False


class Workspace:
    """Scratch arrays for one lane, carved from a byte buffer kept between calls.

    Arrays handed out are views of the shared buffer, valid until the next call of the same
    thread: kernels must copy anything they return. A buffer that turns out too small serves
    this call with ordinary allocations and is enlarged for the next one.

    >>> ws = Workspace([], 0)
    >>> a = ws.zeros((2, 3), np.float32); ws.release()
    >>> b = Workspace(ws.buffers, 0).empty((2, 3), np.float32)
    >>> np.shares_memory(b, ws.buffers[0])
    True
    """

    ALIGN = 64  # cache-line aligned arrays

    def __init__(self, buffers, lane):
        self.buffers, self.lane, self.used = buffers, lane, 0
        while len(buffers) <= lane:
            buffers.append(None)

    def empty(self, shape, dtype):
        dtype = np.dtype(dtype)
        start = -(-self.used // self.ALIGN) * self.ALIGN
        count = shape if isinstance(shape, int) else math.prod(shape)
        self.used = start + count * dtype.itemsize
        buffer = self.buffers[self.lane]
        if buffer is not None and self.used <= buffer.size:
            return np.ndarray(shape, dtype, buffer, start)
        return np.empty(shape, dtype)

    def zeros(self, shape, dtype):
        array = self.empty(shape, dtype)
        array[...] = 0
        return array

    def release(self):
        """End of the call: grow the kept buffer if this call needed more."""
        buffer = self.buffers[self.lane]
        if buffer is None or self.used > buffer.size:
            self.buffers[self.lane] = np.empty(self.used, np.uint8)


def _workspaces():
    """The calling thread's kept buffers, one per lane."""
    if not hasattr(_local, "buffers"):
        _local.buffers = []
    return _local.buffers


def release_workspaces():
    """Free the calling thread's kept scratch buffers (the next call allocates them again).

    They hold about a chunk of ``cols`` plus a padded chunk of input per lane: a few MiB for
    CIFAR-sized layers, more for large images. Call this after a large one-off convolution.
    """
    _local.buffers = []


def _pool(size):
    if _state["pool_size"] < size:
        if _state["pool"] is not None:
            _state["pool"].shutdown(wait=False)
        _state["pool"] = ThreadPoolExecutor(size, thread_name_prefix="tsf-kernel")
        _state["pool_size"] = size
    return _state["pool"]


def split(total, most, work=None, parallel=True):
    """``(start, stop)`` ranges covering ``range(total)``, none longer than ``most``, as even as
    possible and, where there are enough items, a multiple of the worker count in number: with
    round-robin assignment, 4 chunks of 19, 19, 19 and 7 images would leave one of two workers
    with 38 images and the other with 26, so 4 chunks of 16 are made instead. A call too small to
    go parallel (``work`` below :data:`MIN_PARALLEL_WORK`, see :func:`run_chunks`) is cut only as
    the cache requires: two half-size products on one thread cost more than one full one.

    >>> split(64, 19)
    [(0, 16), (16, 32), (32, 48), (48, 64)]
    >>> split(64, 64, work=1000)
    [(0, 64)]
    >>> split(64, 22, parallel=False)  # one lane: 3 chunks, not rounded up to 4 for 2 workers
    [(0, 22), (22, 44), (44, 64)]
    """
    most = max(1, int(most))
    count = -(-total // most)
    workers = 1 if not parallel or (work is not None and work < MIN_PARALLEL_WORK) else \
        blas_threads()
    if workers > 1 and count < total:
        count = min(total, -(-count // workers) * workers)
    size = -(-total // max(1, count))
    return [(start, min(total, start + size)) for start in range(0, total, max(1, size))]


def run_chunks(task, chunks, make_scratch, work=None, parallel=True):
    """Call ``task(scratch, chunk)`` for every chunk; return the list of scratch objects used.

    Chunks are dealt round-robin into *lanes*, one per BLAS thread (``work``, the multiply-adds
    of the whole call, lets tiny calls use one lane). Each lane builds its scratch once with
    ``make_scratch(workspace)`` (buffers, partial sums; see :class:`Workspace`) and passes it to
    each of its calls; the caller reduces the returned scratches (e.g. adds partial gradients) in
    lane order. Lanes run on worker threads when the cores are free, one after the other in the
    calling thread when they are not (:func:`others_running`); either way every partial sum is
    formed in the same order, so results do not depend on which happened. ``parallel=False``
    keeps one lane, whose products then get all of BLAS's threads: for callers whose per-lane
    state is costly (a weight-sized partial sum per lane, see ``Im2col.weight_grad``).
    """
    chunks = list(chunks)
    lanes = 1
    if parallel and len(chunks) > 1 and not getattr(_local, "inside", False) and (
            work is None or work >= MIN_PARALLEL_WORK):
        lanes = min(blas_threads(), len(chunks))
    buffers = _workspaces()
    while len(buffers) < lanes:  # grown here, not concurrently by the lanes
        buffers.append(None)

    def run_lane(index):
        workspace = Workspace(buffers, index)
        scratch = make_scratch(workspace)
        for chunk in chunks[index::lanes]:
            task(scratch, chunk)
        workspace.release()
        return scratch

    if lanes == 1 or others_running():  # one lane, or the cores are taken: BLAS's own threads
        return [run_lane(index) for index in range(lanes)]  # will do the products meanwhile

    def worker(index):
        _local.inside = True  # a kernel called from a worker must not wait on the busy pool
        try:
            return run_lane(index)
        finally:
            _local.inside = False

    with _lock:  # one parallel section at a time: the BLAS limit below is process-wide
        with _controller().limit(limits=1):
            others = [_pool(lanes - 1).submit(worker, index) for index in range(1, lanes)]
            first = worker(0)  # the calling thread runs lane 0 itself
            return [first] + [future.result() for future in others]
