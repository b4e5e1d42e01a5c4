"""The CPU runtime: the one owner of threads, BLAS thread limits, scratch workspaces, chunk sizes
and the memory allocator switch. Kernels ask it; nothing else changes these process-wide settings.

**Threads.** An im2col convolution is a big matrix product (BLAS would run it on every core) plus
copies that lay the input out as a matrix, which NumPy runs on one core. Cutting the batch into
chunks and giving each core its own chunks, each doing *its* copies and *its* single-threaded
product, keeps every core busy, and each chunk's buffers stay in the cache between the copy and
the product. NumPy releases the GIL in both, so plain Python threads run truly in parallel
(:func:`run_chunks`). Meanwhile BLAS must use one thread (two workers each asking OpenBLAS for two
threads would put four busy threads on two cores), and small products always run on one BLAS
thread (:func:`matmul`): waking and synchronising a second thread costs more than it saves. Both
go through :func:`blas_limited`, the only place that changes BLAS's thread count. The number of
workers is the BLAS thread count the caller set (``OPENBLAS_NUM_THREADS``,
``threadpoolctl.threadpool_limits`` or :func:`set_num_threads`), so "the same thread count as
PyTorch" keeps its meaning. Without ``threadpoolctl`` everything runs in the calling thread.

After a multi-threaded BLAS call, OpenBLAS's helper threads keep spinning for a while waiting for
more work (PyTorch's OpenMP threads do the same). Workers started then would compete with them
for the cores, so before going parallel :func:`others_running` checks whether another thread of
this process is running right now; if one is, the chunks run in the calling thread and BLAS keeps
its threads, which then do useful work.

Chunks go to *lanes* round-robin (lane ``i`` takes chunks ``i, i+L, ...``, one lane per BLAS
thread), so sums a lane accumulates (the weight gradient) are added in the same order on every
run, on workers or not: results are reproducible for a given thread count.

**Workspaces.** Each lane's scratch arrays are carved out of a :class:`Workspace` kept between
calls: fresh multi-megabyte buffers come from ``mmap`` and every first touch of a page faults,
which with two threads faulting at once dominates small layers.

**Memory.** glibc's malloc returns freed blocks of more than ~1 MiB to the kernel and serves large
arrays with fresh ``mmap``\\ s, so a training step, which frees and re-allocates the same
activation-sized arrays every time, page-faults on every touch. :func:`keep_freed_memory` raises
the two thresholds so that malloc keeps and reuses that memory, as PyTorch's caching allocators
do. It changes the whole process, so importing TorchsorFlow never does it: the ``tsf`` commands
and the benchmarks call it, a library user calls it or sets ``TORCHSORFLOW_MALLOC_TUNING=1``.

**Tuned constants.** Each says what it decides, why, and which benchmark tunes it
(``benchmarks/bench_kernels.py`` times the kernels layer by layer against PyTorch;
``benchmarks/bench_core.py`` the per-op overhead and small products).
"""
from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["Workspace", "blas_limited", "blas_threads", "get_num_threads", "keep_freed_memory",
           "malloc_tuned", "matmul", "others_running", "reference_kernels", "release_workspaces",
           "run_chunks", "set_num_threads", "split", "using_reference_kernels", "zero_row"]

# Products below this many multiply-adds run on one BLAS thread: a second thread's wake-up and
# synchronisation cost more than it saves (bench_core: linear layers of a training step).
SMALL_PRODUCT_WORK = 2_000_000
# OpenBLAS runs products below this size on one thread by itself (its GEMM_MULTITHREAD_THRESHOLD),
# so switching the thread count for them would only add its cost (bench_core: tiny matmuls).
BLAS_SINGLE_THREAD_WORK = 4 * 65536
# A kernel call below this many multiply-adds runs in one lane: handing chunks to a worker costs
# more than the second core saves (bench_kernels: the small CNN layers).
MIN_PARALLEL_WORK = 40_000_000
# Bytes of im2col ``cols`` per chunk: small enough to stay in the L2/L3 cache between the copy
# that writes it and the product that reads it, big enough for BLAS (bench_kernels).
IM2COL_CHUNK_BYTES = 2 << 20
# ...but at least this many output pixels (rows of the product) per chunk, since each product
# re-reads the whole weight matrix (bench_kernels: layers on 4x4 and 8x8 maps).
IM2COL_MIN_PIXELS = 512
# Chunk size of the pointwise (1x1) and depthwise engines, whose products are thinner
# (bench_kernels: 1x1 layers).
POINTWISE_CHUNK_BYTES = 1 << 20
# Bound on one chunk's tap products in the flat-shift input gradient: fewer, taller products win
# over cache-sized ones there (bench_kernels: 512-channel layers on 4x4 maps).
SHIFT_CHUNK_BYTES = 16 << 20
# Fewest input channels per group for the flat-shift input gradient; below it the products have
# too few columns and col2im wins (bench_kernels: the RGB input layer).
SHIFT_MIN_CHANNELS = 16
# Fewest input channels per group for computing a stride-1 input gradient as a transposed
# convolution; below it col2im is cheaper (bench_kernels).
TRANSPOSED_MIN_CHANNELS = 16
# Bytes of attention scores per chunk of (batch × head) matrices: small enough that a chunk's
# scores stay in the L2 cache between the product that writes them and the softmax passes that
# read them (bench_attention: scaled_dot_product_attention forward+backward).
ATTENTION_CHUNK_BYTES = 1 << 19
# Fewest values for which sum_axes sums through BLAS: below it the products' set-up costs more than
# NumPy's reduction saves (bench_nn: the digits step's small bias gradients; bench_attention:
# LayerNorm's row sums).
SUM_BLAS_MIN_SIZE = 1 << 15
# Longest trailing run summed through BLAS in sum_axes: its dot products accumulate in the
# input's precision in a few lanes, so longer runs are left to NumPy's pairwise summation
# (accuracy, not speed: tests/test_kernels.py checks it).
SUM_MAX_RUN = 4096
# Tiled max pooling moves window rows at most this many bytes wide as single void elements; on
# wider maps the rows are long runs anyway (bench_kernels: max-pool rows).
VOID_ROW_BYTES = 16
# Bytes of input per chunk of the pooling kernels, and what one pass over a tap is worth in
# multiply-adds when comparing a pooling call with MIN_PARALLEL_WORK (bench_kernels: pools).
POOL_CHUNK_BYTES = 1 << 20
POOL_TAP_WORK = 50
# Longest row of zeros kept for relu's two-array maximum (bench_core: relu forward).
ZERO_ROW_MAX = 1 << 16
# Freed memory malloc keeps at the top of the heap, and the largest allocation it serves from the
# heap (glibc's own maximum), when keep_freed_memory() is on (bench_nn: the digits train step).
KEEP_FREED_BYTES = 256 << 20
HEAP_ARRAY_BYTES = 32 << 20

_local = threading.local()
_blas_lock = threading.Lock()  # one change of BLAS's thread count at a time
_pool_lock = threading.Lock()  # one parallel section at a time
_state = {"libs": None, "pool": None, "pool_size": 0, "malloc_tuned": False, "reference": False}


@contextlib.contextmanager
def reference_kernels(on=True):
    """Run convolution and pooling on the plain reference engines (:mod:`.reference`) inside
    the block: slower, but the textbook algorithm, to tell a kernel bug from a model bug."""
    previous, _state["reference"] = _state["reference"], bool(on)
    try:
        yield
    finally:
        _state["reference"] = previous


def using_reference_kernels() -> bool:
    return _state["reference"]


# --- BLAS threads -------------------------------------------------------------------------------
def _blas_libraries():
    """threadpoolctl's controllers of the loaded BLAS libraries ([] without threadpoolctl)."""
    if _state["libs"] is None:
        try:
            from threadpoolctl import ThreadpoolController
            _state["libs"] = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # noqa: BLE001 - not installed or no BLAS found: never switch
            _state["libs"] = []
    return _state["libs"]


def blas_threads() -> int:
    """Threads BLAS would use right now (1 when this cannot be found out)."""
    return max((lib.get_num_threads() or 1 for lib in _blas_libraries()), default=1)


def get_num_threads() -> int:
    """The threads kernels use (``torch.get_num_threads``): BLAS's thread count."""
    return blas_threads()


def set_num_threads(threads: int):
    """Use ``threads`` threads for BLAS and the kernels' lanes (``torch.set_num_threads``)."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {threads!r}")
    with _blas_lock:
        for lib in _blas_libraries():
            lib.set_num_threads(threads)


@contextlib.contextmanager
def blas_limited(threads=1, wait=False):
    """BLAS on at most ``threads`` threads inside the block; the only place that changes its count.

    Nested or concurrent requests never fight: inside a limited block (or on a worker lane, which
    runs inside one) nothing changes, and a thread that finds another thread changing the count
    leaves it alone rather than wait, unless ``wait`` (a parallel section, which needs the limit).
    """
    libs = _blas_libraries()
    if getattr(_local, "limited", False) or not libs:
        yield
        return
    if not _blas_lock.acquire(blocking=wait):
        yield
        return
    try:
        previous = [lib.get_num_threads() for lib in libs]
        changed = [(lib, n) for lib, n in zip(libs, previous) if n > threads]
        for lib, _ in changed:
            lib.set_num_threads(threads)
        _local.limited = True
        try:
            yield
        finally:
            _local.limited = False
            for lib, n in changed:
                lib.set_num_threads(n)
    finally:
        _blas_lock.release()


def _work(a, b):
    """Multiply-adds of ``a @ b`` (an upper bound when ``b`` broadcasts over a batch of ``a``)."""
    columns = b.shape[-1] if b.ndim > 1 else 1
    batch = b.size // max(1, b.shape[-1] * b.shape[-2]) if b.ndim > 2 else 1
    return a.size * columns * batch


def matmul(a, b):
    """``numpy.matmul``, on one BLAS thread when the product is small.

    >>> a = np.ones((2, 3), np.float32)
    >>> matmul(a, a.T)
    array([[3., 3.],
           [3., 3.]], dtype=float32)
    """
    if a.ndim == 0 or b.ndim == 0:
        return np.matmul(a, b)
    if a.ndim > 2 and b.ndim == 2:
        # A stack of matrices times one matrix is one product of all their rows: NumPy would
        # loop over the stack with a small product each, several times slower (a Linear layer
        # on (steps, batch, features)).
        rows = matmul(np.reshape(a, (-1, a.shape[-1])), b)
        return rows.reshape(a.shape[:-1] + (b.shape[-1],))
    work = _work(a, b)
    if work >= SMALL_PRODUCT_WORK or work < BLAS_SINGLE_THREAD_WORK:
        return np.matmul(a, b)
    with blas_limited(1):
        return np.matmul(a, b)


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


# --- workspaces ---------------------------------------------------------------------------------
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


_zero_rows = {}  # dtype -> read-only zeros, grown to the longest row asked for


def zero_row(length, dtype):
    """A read-only row of ``length`` zeros (``None`` beyond :data:`ZERO_ROW_MAX`), kept for
    reuse."""
    if length > ZERO_ROW_MAX:
        return None
    zeros = _zero_rows.get(dtype)
    if zeros is None or zeros.size < length:
        zeros = _zero_rows[dtype] = np.zeros(length, dtype)
        zeros.flags.writeable = False
    return zeros[:length]


# --- chunks over lanes -------------------------------------------------------------------------
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
    of the whole call, lets small calls use one lane). Each lane builds its scratch once with
    ``make_scratch(workspace)`` (buffers, partial sums; see :class:`Workspace`) and passes it to
    each of its calls; the caller reduces the returned scratches (e.g. adds partial gradients) in
    lane order. Lanes run on worker threads when the cores are free, one after the other in the
    calling thread when they are not (:func:`others_running`); either way every partial sum is
    formed in the same order, so results do not depend on which happened. ``parallel=False``
    keeps one lane, whose products then get all of BLAS's threads: for callers whose per-lane
    state is costly (a weight-sized partial sum per lane).
    """
    chunks = list(chunks)
    lanes = 1
    if parallel and len(chunks) > 1 and not getattr(_local, "limited", False) and (
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
        _local.limited = True  # BLAS is already on one thread, and this lane must not change it
        try:
            return run_lane(index)
        finally:
            _local.limited = False

    with _pool_lock, blas_limited(1, wait=True):
        others = [_pool(lanes - 1).submit(worker, index) for index in range(1, lanes)]
        first = run_lane(0)  # the calling thread runs lane 0 itself
        return [first] + [future.result() for future in others]


# --- memory -------------------------------------------------------------------------------------
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse (see the module docstring).

    Returns whether it was done: ``False`` on other C libraries and platforms, or when
    ``TORCHSORFLOW_MALLOC_TUNING=0`` says to leave the C library's defaults alone.
    """
    if _state["malloc_tuned"]:
        return True
    if os.environ.get("TORCHSORFLOW_MALLOC_TUNING") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no tunable thresholds)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _state["malloc_tuned"] = bool(mallopt(_M_MMAP_THRESHOLD, HEAP_ARRAY_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES))
    return _state["malloc_tuned"]


def malloc_tuned() -> bool:
    """Whether :func:`keep_freed_memory` has changed malloc's thresholds in this process."""
    return _state["malloc_tuned"]


if os.environ.get("TORCHSORFLOW_MALLOC_TUNING") == "1":
    keep_freed_memory()
