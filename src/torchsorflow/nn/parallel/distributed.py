"""``DistributedDataParallel``: one model per rank, gradients averaged while backward runs.

Every rank holds a replica of the model and a different slice of each batch. At construction
the replicas are made identical (rank 0's parameters and buffers are broadcast, after checking
that every rank built the same model). Then, in each ``loss.backward()``:

1. parameters are grouped into *buckets* of about ``bucket_cap_mb`` (25 MB by default; the first
   bucket at most 1 MB so that communication starts early), in reverse order of ``parameters()``
   -- the order in which backward finishes their gradients;
2. a hook on each parameter (``Tensor.register_post_accumulate_grad_hook``) copies its gradient
   into its bucket the moment backward has completed it;
3. a complete bucket is summed over all ranks with a non-blocking ``Iallreduce`` while backward
   goes on computing the gradients of earlier layers (buckets start in the same order on every
   rank, as MPI requires; each later hook tests the requests in flight, which is what moves
   MPI's non-blocking operations forward);
4. when the last bucket has started, the hook waits for all of them and sets each
   ``parameter.grad`` to its share of the bucket divided by the world size: the average
   gradient, the same on every rank, so the optimizers keep the replicas identical.

``no_sync()`` skips the exchange (gradients accumulate locally) for gradient accumulation;
``find_unused_parameters=True`` walks the autograd graph from the outputs after each forward and
counts the parameters that backward will not reach as ready at once.
"""
from __future__ import annotations

import contextlib
import weakref

import numpy as np

from ...autodiff.tracer import LeafNode, is_grad_enabled
from ...distributed.collectives import ReduceOp, mpi_op
from ...distributed.objects import all_gather_object
from ...distributed.process_group import _default_group
from ...tensor import Tensor
from ..module import Module

FIRST_BUCKET_BYTES = 1024 * 1024   # torch's dist._DEFAULT_FIRST_BUCKET_BYTES


class DistributedDataParallel(Module):
    """Data-parallel training of ``module`` over the ranks of the default process group."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        pg = _default_group(process_group, "DistributedDataParallel")
        if dim != 0:
            raise ValueError(f"DistributedDataParallel: dim={dim}; only dim=0 is supported")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        megabytes = 25 if bucket_cap_mb is None else bucket_cap_mb
        if not megabytes > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.bucket_bytes_cap = max(1, int(megabytes * 1024 * 1024))
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        _check_same_model(pg, module)
        self._buffers_to_sync = [b for _, b in module.named_buffers() if b is not None]
        _broadcast_arrays(pg, [p for _, p in module.named_parameters()] + self._buffers_to_sync)
        object.__setattr__(self, "reducer", _Reducer(pg, named, self.bucket_bytes_cap,
                                                     find_unused_parameters))

    def forward(self, *inputs, **kwargs):
        grad_sync = is_grad_enabled() and self.require_backward_grad_sync
        reducer = self.reducer
        reducer.check_finished()
        if grad_sync and self.broadcast_buffers and self._buffers_to_sync:
            _broadcast_arrays(reducer.pg, self._buffers_to_sync, "DDP buffer broadcast")
        output = self.module(*inputs, **kwargs)
        if grad_sync:
            reducer.prepare(output if self.find_unused_parameters else None)
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate gradients locally, without communication; the first
        backward after it averages the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    @property
    def bucket_sizes(self):
        """The parameters in each bucket, by name (in the order the buckets are all-reduced)."""
        return [[self.reducer.names[i] for i in b.members] for b in self.reducer.buckets]

    def extra_repr(self):
        return f"world_size={self.reducer.pg.size}, buckets={len(self.reducer.buckets)}"


def _specs(module):
    return [[kind, name, list(t.shape), str(t.dtype)]
            for kind, items in (("parameter", module.named_parameters()),
                                ("buffer", module.named_buffers()))
            for name, t in items if t is not None]


def _check_same_model(pg, module):
    """Every rank must build the same model: compare names, shapes and dtypes with rank 0's."""
    everyone = [None] * pg.size
    all_gather_object(everyone, _specs(module))
    reference = everyone[0]
    for rank, specs in enumerate(everyone[1:], start=1):
        if specs == reference:
            continue
        mine = {(k, n): (s, d) for k, n, s, d in specs}
        theirs = {(k, n): (s, d) for k, n, s, d in reference}
        keys = [(k, n) for k, n, _, _ in reference] + [(k, n) for k, n, _, _ in specs]
        for key in dict.fromkeys(keys):
            kind, name = key
            if key not in mine or key not in theirs:
                where = f"rank {rank}" if key not in mine else "rank 0"
                raise RuntimeError(f"DistributedDataParallel: every rank must build the same "
                                   f"model, but {kind} '{name}' is missing on {where}")
            if mine[key] != theirs[key]:
                (s1, d1), (s0, d0) = mine[key], theirs[key]
                raise RuntimeError(f"DistributedDataParallel: every rank must build the same "
                                   f"model, but {kind} '{name}' has shape {tuple(s1)} ({d1}) on "
                                   f"rank {rank} and shape {tuple(s0)} ({d0}) on rank 0")
        raise RuntimeError(f"DistributedDataParallel: every rank must build the same model, but "
                           f"rank {rank} registers its parameters and buffers in another order "
                           "than rank 0")


def _broadcast_arrays(pg, tensors, what="DDP broadcast of rank 0's parameters and buffers"):
    """Rank 0's values into ``tensors`` on every rank: one broadcast per dtype."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        flat = np.concatenate([t._array.ravel() for t in group]) if group else None
        seq = pg.start(what)
        pg.wait([pg.comm.Ibcast(flat, root=0)], what, seq)
        offset = 0
        for t in group:
            t._array[...] = flat[offset:offset + t._array.size].reshape(t.shape)
            t._version += 1
            offset += t._array.size


class _Bucket:
    __slots__ = ("dtype", "members", "offsets", "size", "buffer", "pending", "request")

    def __init__(self, dtype):
        self.dtype, self.members, self.offsets, self.size = dtype, [], [], 0
        self.buffer = self.request = None
        self.pending = 0


class _Reducer:
    """Buckets, hooks and the per-backward bookkeeping of one DistributedDataParallel."""

    def __init__(self, pg, named, cap, find_unused):
        self.pg, self.find_unused = pg, find_unused
        self.names = [n for n, _ in named]
        self.params = [weakref.ref(p) for _, p in named]
        self.shapes = [tuple(p.shape) for _, p in named]
        self.buckets = _assign_buckets([p for _, p in named], cap)
        self.where = {}
        for b, bucket in enumerate(self.buckets):
            for i, offset in zip(bucket.members, bucket.offsets):
                self.where[i] = (b, offset)
        self.expecting = False      # a forward prepared a backward that has not finished yet
        self.started = False        # that backward has made at least one gradient ready
        me = weakref.ref(self)      # hooks must not keep the reducer (and so the model) alive
        self.handles = [p.register_post_accumulate_grad_hook(
            lambda tensor, i=i: (me() or _Gone).mark_ready(i)) for i, (_, p) in enumerate(named)]
        weakref.finalize(self, _remove_hooks, self.handles)

    # --- one iteration ---------------------------------------------------------------------------
    def check_finished(self):
        if self.expecting and self.started:
            missing = [self.names[i] for i in range(len(self.names)) if not self.ready[i]]
            self.expecting = False
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a "
                "new one. This error indicates that your module has parameters that were not "
                "used in producing loss. You can enable unused parameter detection by passing "
                "the keyword argument `find_unused_parameters=True` to "
                "`torchsorflow.nn.parallel.DistributedDataParallel`, and by making sure all "
                "`forward` function outputs participate in calculating loss. Parameters that "
                f"did not receive a gradient on rank {self.pg.rank}: {', '.join(missing)}")

    def prepare(self, outputs=None):
        """Arm the hooks for the coming backward; with ``outputs`` (find_unused_parameters),
        count the parameters that backward cannot reach as ready now."""
        self.expecting, self.started, self.next_bucket = True, False, 0
        self.ready = [False] * len(self.names)
        self.used = np.zeros(len(self.names), dtype=np.int32)
        for bucket in self.buckets:
            bucket.buffer = np.zeros(bucket.size, dtype=bucket.dtype)
            bucket.pending = len(bucket.members)
            bucket.request = None
        if outputs is not None:
            reached = _reachable_leaves(outputs)
            unused = [i for i, ref in enumerate(self.params) if id(ref()) not in reached]
            for i in unused:
                self._ready(i)
            if unused and len(unused) == len(self.names):
                self._launch()   # nothing will run a hook: exchange now (all zeros)

    def mark_ready(self, i):
        if not self.expecting:
            return   # no_sync(), a forward without grad, or a backward not prepared by forward
        if self.ready[i]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. Parameter '{self.names[i]}' got a "
                "gradient twice in one iteration: it was used outside forward(), or backward ran "
                "twice on the same forward; call backward once per forward")
        self.started = True
        grad = self.params[i]().grad
        b, offset = self.where[i]
        bucket = self.buckets[b]
        size = int(np.prod(self.shapes[i], dtype=np.int64))
        bucket.buffer[offset:offset + size] = grad._array.reshape(-1)
        self.used[i] = 1
        self._ready(i)
        self._launch()

    def _ready(self, i):
        self.ready[i] = True
        self.buckets[self.where[i][0]].pending -= 1

    def _launch(self):
        """Start every complete bucket whose predecessors have started (the same order on every
        rank), test those in flight, and finish once all have started."""
        pg, MPI = self.pg, self.pg.MPI
        while self.next_bucket < len(self.buckets) and \
                self.buckets[self.next_bucket].pending == 0:
            bucket = self.buckets[self.next_bucket]
            pg.start("DDP gradient all-reduce")
            bucket.request = pg.comm.Iallreduce(MPI.IN_PLACE, bucket.buffer,
                                                op=mpi_op(MPI, ReduceOp.SUM, bucket.dtype))
            self.next_bucket += 1
        in_flight = [b.request for b in self.buckets if b.request is not None]
        MPI.Request.Testall(in_flight)   # moves MPI's progress engine along
        if self.next_bucket == len(self.buckets):
            self._finish()

    def _finish(self):
        pg, MPI = self.pg, self.pg.MPI
        used = None
        if self.find_unused:
            used = self.used.copy()
            seq = pg.start("DDP unused-parameter map")
            request = pg.comm.Iallreduce(MPI.IN_PLACE, used, op=MPI.MAX)
            pg.wait([request], "DDP unused-parameter map", seq)
        requests = [b.request for b in self.buckets if b.request is not None]
        pg.wait(requests, "DDP gradient all-reduce", pg.seq)
        for bucket in self.buckets:
            bucket.buffer /= pg.size
            for i, offset in zip(bucket.members, bucket.offsets):
                if used is not None and not used[i]:
                    continue   # unused on every rank: the gradient stays as it was (None)
                size = int(np.prod(self.shapes[i], dtype=np.int64))
                self.params[i]().grad = Tensor._wrap(
                    bucket.buffer[offset:offset + size].reshape(self.shapes[i]))
            bucket.request = None
        self.expecting = self.started = False


class _Gone:
    """Stands in for a reducer that was garbage-collected: its hooks do nothing."""

    @staticmethod
    def mark_ready(i):
        return None


def _remove_hooks(handles):
    for handle in handles:
        handle.remove()


def _assign_buckets(params, cap):
    """Buckets in reverse parameter order, one dtype each: the first closes at 1 MB (or ``cap``
    if smaller), the rest at ``cap`` bytes (a parameter larger than that gets a bucket of its
    own)."""
    buckets, open_buckets = [], {}
    for i in reversed(range(len(params))):
        p = params[i]
        bucket = open_buckets.get(p.dtype)
        if bucket is None:
            bucket = open_buckets[p.dtype] = _Bucket(p.dtype)
        bucket.members.append(i)
        bucket.offsets.append(bucket.size)
        bucket.size += p.numel()
        limit = min(FIRST_BUCKET_BYTES, cap) if not buckets else cap
        if bucket.size * p.dtype.itemsize >= limit:
            buckets.append(open_buckets.pop(p.dtype))
    buckets.extend(b for b in open_buckets.values())
    return buckets


def _reachable_leaves(outputs):
    """ids of the leaf Tensors the autograd graph of ``outputs`` reaches."""
    found, stack, seen = set(), [], set()

    def collect(value):
        if isinstance(value, Tensor):
            if value._node is not None:
                stack.append(value._node)
            elif value.requires_grad:
                found.add(id(value))
        elif isinstance(value, (list, tuple)):
            for v in value:
                collect(v)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)

    collect(outputs)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, LeafNode):
            found.add(id(node.tensor))
        elif node.parents is not None:
            stack.extend(parent for _, parent in node.parents)
    return found
