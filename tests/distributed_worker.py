"""Checks that run inside ``mpiexec -n R python tests/distributed_worker.py OUT.json [GROUP ...]``.

Every rank runs the same checks in the same order (collectives must match across ranks). A check
does all its communication first and asserts afterwards, so that a failed assertion on one rank
cannot leave the others waiting in a collective; its error is recorded and the next check runs.
At the end rank 0 writes ``{check: {rank: error or null}}`` to OUT.json for pytest
(tests/test_distributed.py) to report one test per check.

Each rank builds its data from (rank, check) alone, so every rank can also compute the NumPy
reference -- what the result must be -- for all ranks locally.
"""
from __future__ import annotations

import contextlib
import json
import sys
import traceback
from datetime import timedelta

import numpy as np

import torchsorflow as tsf
import torchsorflow.distributed as dist
from torchsorflow import nn, optim
from torchsorflow.distributed.nn import functional as DF

CHECKS = {}
RANK = SIZE = None
DTYPES = ["float16", "float32", "float64", "int8", "uint8", "int32", "int64", "bool", "complex128"]
SIZES = [(0,), (1,), (7,), (1001,), (3, 5), (2, 0, 3)]


def check(group):
    def register(fn):
        CHECKS[fn.__name__] = (group, fn)
        return fn
    return register


def data(rank, shape, dtype, salt=0):
    """Rank ``rank``'s deterministic test values (small integers, exact in every dtype)."""
    rng = np.random.default_rng([rank, salt, len(shape), int(np.prod(shape))])
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    low = 1 if dtype.kind in "u" else -3
    values = rng.integers(low, 4, size=shape)
    if dtype.kind == "c":
        return (values + 1j * rng.integers(-3, 4, size=shape)).astype(dtype)
    return values.astype(dtype)


def reference(op, arrays):
    stack = np.stack(arrays)
    dtype = stack.dtype
    if dtype.kind == "b":
        table = {"SUM": np.any, "MAX": np.any, "PRODUCT": np.all, "MIN": np.all}
        return table[op](stack, axis=0)
    result = {"SUM": lambda s: s.sum(0), "AVG": lambda s: s.sum(0) / len(s),
              "PRODUCT": lambda s: s.prod(0), "MIN": lambda s: s.min(0),
              "MAX": lambda s: s.max(0)}[op](stack)
    return result.astype(dtype)


def close(actual, expected, what, rtol=1e-12, atol=1e-12):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.dtype.kind in "fc" or expected.dtype.kind in "fc":
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


# --- collectives ---------------------------------------------------------------------------------
@check("collectives")
def all_reduce_every_op_dtype_and_size():
    results = []
    for dtype in DTYPES:
        for salt, op in enumerate(("SUM", "AVG", "PRODUCT", "MIN", "MAX")):
            kind = np.dtype(dtype).kind
            if (op == "AVG" and kind not in "fc") or (op in ("MIN", "MAX") and kind == "c") or \
                    (kind == "b" and op == "AVG"):
                continue
            for shape in SIZES:
                x = tsf.tensor(data(RANK, shape, dtype, salt))
                dist.all_reduce(x, op=getattr(dist.ReduceOp, op))
                expected = reference(op, [data(r, shape, dtype, salt) for r in range(SIZE)])
                results.append((x.numpy().copy(), expected, f"{op} {dtype} {shape}"))
    for actual, expected, what in results:
        tol = 1e-3 if "float16" in what else 1e-12
        close(actual, expected, what, rtol=tol, atol=tol)
        assert actual.dtype == expected.dtype, what


@check("collectives")
def all_reduce_of_a_strided_tensor_and_async_work():
    base = tsf.tensor(data(RANK, (4, 6), "float64"))
    view = base[:, ::2]                                   # non-contiguous: reduced, copied back
    dist.all_reduce(view)
    x = tsf.tensor(data(RANK, (5,), "float32", 1))
    work = dist.all_reduce(x, op=dist.ReduceOp.AVG, async_op=True)
    done = work.wait()
    completed = work.is_completed()
    result = work.result()
    expected = reference("SUM", [data(r, (4, 6), "float64")[:, ::2] for r in range(SIZE)])
    close(view.numpy(), expected, "strided view")
    close(base.numpy()[:, 1::2], data(RANK, (4, 6), "float64")[:, 1::2], "untouched columns")
    close(x.numpy(), reference("AVG", [data(r, (5,), "float32", 1) for r in range(SIZE)]),
          "async AVG", rtol=1e-6)
    assert done is True and completed and result[0] is x


@check("collectives")
def an_in_place_collective_on_a_saved_value_is_caught_in_backward():
    w = tsf.tensor([1.0, 2.0], requires_grad=True)
    x = tsf.tensor([3.0, 4.0])
    y = (x * w).sum()                                     # the graph saved x for w's gradient
    dist.all_reduce(x)
    message = None
    try:
        y.backward()
    except RuntimeError as error:
        message = str(error)
    assert message and "modified by an inplace operation" in message, message


@check("collectives")
def broadcast_and_reduce_from_every_rank():
    out = []
    for root in range(SIZE):
        for dtype in ("float32", "int64", "bool"):
            for shape in ((0,), (9,), (2, 3)):
                x = tsf.tensor(data(RANK, shape, dtype, root))
                dist.broadcast(x, src=root)
                out.append((x.numpy().copy(), data(root, shape, dtype, root), f"bcast {root}"))
                y = tsf.tensor(data(RANK, shape, dtype, root + 10))
                dist.reduce(y, dst=root, op=dist.ReduceOp.MAX)
                arrays = [data(r, shape, dtype, root + 10) for r in range(SIZE)]
                want = reference("MAX", arrays) if RANK == root else arrays[RANK]
                out.append((y.numpy().copy(), want, f"reduce to {root}"))
    for actual, expected, what in out:
        close(actual, expected, what)


@check("collectives")
def all_gather_and_all_gather_into_tensor():
    out = []
    for dtype in ("float64", "int32", "bool"):
        for shape in ((0,), (1,), (5,), (2, 3)):
            mine = data(RANK, shape, dtype, 3)
            everyone = [data(r, shape, dtype, 3) for r in range(SIZE)]
            lst = [tsf.zeros(*shape, dtype=dtype) for _ in range(SIZE)]
            dist.all_gather(lst, tsf.tensor(mine))
            out += [(t.numpy(), e, f"all_gather {dtype} {shape}") for t, e in zip(lst, everyone)]
            stacked = tsf.zeros(SIZE, *shape, dtype=dtype)
            dist.all_gather_into_tensor(stacked, tsf.tensor(mine))
            out.append((stacked.numpy(), np.stack(everyone), f"stacked {dtype} {shape}"))
            if len(shape):
                flat = tsf.zeros(SIZE * shape[0], *shape[1:], dtype=dtype)
                work = dist.all_gather_into_tensor(flat, tsf.tensor(mine), async_op=True)
                work.wait()
                out.append((flat.numpy(), np.concatenate(everyone), f"concat {dtype} {shape}"))
    for actual, expected, what in out:
        close(actual, expected, what)


@check("collectives")
def reduce_scatter_tensor_every_op():
    out = []
    for op, dtype in (("SUM", "float64"), ("AVG", "float32"), ("MAX", "int64"),
                      ("MIN", "int16"), ("PRODUCT", "float64"), ("SUM", "bool")):
        for shape in ((0,), (3,), (2, 5)):
            big = [data(r, (SIZE,) + shape, dtype, 7) for r in range(SIZE)]
            reduced = reference(op, big)
            output = tsf.zeros(*shape, dtype=dtype)
            dist.reduce_scatter_tensor(output, tsf.tensor(big[RANK]),
                                       op=getattr(dist.ReduceOp, op))
            out.append((output.numpy().copy(), reduced[RANK], f"stacked {op} {dtype} {shape}"))
            if len(shape):
                output = tsf.zeros(*shape, dtype=dtype)
                flat = big[RANK].reshape((SIZE * shape[0],) + shape[1:])
                dist.reduce_scatter_tensor(output, tsf.tensor(flat), op=getattr(dist.ReduceOp, op))
                out.append((output.numpy().copy(), reduced[RANK], f"concat {op} {shape}"))
    for actual, expected, what in out:
        close(actual, expected, what, rtol=1e-6)


@check("collectives")
def gather_and_scatter_at_every_rank():
    out = []
    for root in range(SIZE):
        mine = data(RANK, (3,), "float32", root)
        targets = [tsf.zeros(3) for _ in range(SIZE)] if RANK == root else None
        dist.gather(tsf.tensor(mine), targets, dst=root)
        if RANK == root:
            out += [(t.numpy(), data(r, (3,), "float32", root), f"gather to {root}")
                    for r, t in enumerate(targets)]
        received = tsf.zeros(2, 2, dtype="int64")
        pieces = [tsf.tensor(data(100 + r, (2, 2), "int64", root)) for r in range(SIZE)]
        dist.scatter(received, pieces if RANK == root else None, src=root)
        out.append((received.numpy(), data(100 + RANK, (2, 2), "int64", root), f"scatter {root}"))
    for actual, expected, what in out:
        close(actual, expected, what)


@check("collectives")
def send_recv_around_a_ring():
    right, left = (RANK + 1) % SIZE, (RANK - 1) % SIZE
    payload = tsf.tensor(data(RANK, (4,), "float64", 5))
    box = tsf.zeros(4, dtype="float64")
    receive = dist.irecv(box, src=left, tag=3)
    sending = dist.isend(payload, dst=right, tag=3)
    receive.wait()
    sending.wait()
    senders = []
    if RANK == 0:
        for _ in range(SIZE - 1):
            t = tsf.zeros(1)
            senders.append((dist.recv(t), float(t.item())))
    else:
        dist.send(tsf.tensor([float(RANK) * 10]), dst=0)
    empty = tsf.zeros(0)
    if RANK == 0:
        for r in range(1, SIZE):
            dist.send(tsf.zeros(0), dst=r)
    else:
        dist.recv(empty, src=0)
    close(box.numpy(), data(left, (4,), "float64", 5), "ring")
    if RANK == 0:
        assert sorted(senders) == [(r, 10.0 * r) for r in range(1, SIZE)], senders


@check("collectives")
def object_collectives_without_pickle():
    obj = {"rank": RANK, "nested": [1.5, float("inf"), None, True, "text", b"\x00\xff"],
           (RANK, "tuple-key"): {3, 4}, "array": np.arange(RANK + 2.0),
           "tensor": tsf.tensor([RANK, 2 * RANK]), "big": 2**70 + RANK,
           "scalar": np.float32(0.5), "__tuple__": "a key that looks like a marker"}
    gathered = [None] * SIZE
    dist.all_gather_object(gathered, obj)
    listed = [None, None]
    if RANK == SIZE - 1:
        listed = [{"from": "last"}, (1, [2, 3])]
    dist.broadcast_object_list(listed, src=SIZE - 1)
    at_zero = [None] * SIZE if RANK == 0 else None
    dist.gather_object(("g", RANK), at_zero, dst=0)
    scattered = [None]
    dist.scatter_object_list(scattered, [f"for {r}" for r in range(SIZE)] if RANK == 0 else None,
                             src=0)
    refused = None
    try:
        dist.all_gather_object([None] * SIZE, object())
    except TypeError as error:
        refused = str(error)
    for r, got in enumerate(gathered):
        assert got["rank"] == r and got["nested"][:5] == [1.5, float("inf"), None, True, "text"]
        assert got["nested"][5] == b"\x00\xff" and got[(r, "tuple-key")] == {3, 4}
        close(got["array"], np.arange(r + 2.0), "array")
        assert isinstance(got["tensor"], tsf.Tensor) and got["tensor"].tolist() == [r, 2 * r]
        assert got["big"] == 2**70 + r and got["scalar"] == np.float32(0.5)
        assert got["scalar"].dtype == np.float32 and got["__tuple__"].startswith("a key")
    assert listed == [{"from": "last"}, (1, [2, 3])], listed
    if RANK == 0:
        assert at_zero == [("g", r) for r in range(SIZE)], at_zero
    assert scattered == [f"for {RANK}"]
    assert refused and "never pickle" in refused and "object" in refused, refused


@check("collectives")
def bad_arguments_fail_with_clear_errors():
    errors = {}

    def expect(name, fn):
        try:
            fn()
        except (ValueError, TypeError, RuntimeError) as error:
            errors[name] = str(error)

    expect("avg-int", lambda: dist.all_reduce(tsf.tensor([1, 2]), op=dist.ReduceOp.AVG))
    expect("complex-max", lambda: dist.all_reduce(tsf.tensor(np.ones(2, complex)),
                                                  op=dist.ReduceOp.MAX))
    expect("gather-size", lambda: dist.all_gather_into_tensor(tsf.zeros(SIZE + 1), tsf.zeros(1)))
    expect("list-length", lambda: dist.all_gather([tsf.zeros(1)], tsf.zeros(1)))
    expect("src", lambda: dist.broadcast(tsf.zeros(1), src=SIZE))
    expect("readonly", lambda: dist.all_reduce(tsf.ones(3).expand(2, 3)))
    expect("group", lambda: dist.all_reduce(tsf.zeros(1), group="other"))
    dist.barrier()
    assert "AVG needs a floating point" in errors["avg-int"] and "int64" in errors["avg-int"]
    assert "does not support ReduceOp.MAX on complex" in errors["complex-max"]
    assert f"world_size ({SIZE}) times input_tensor of shape (1,)" in errors["gather-size"]
    assert f"must be a list of {SIZE} Tensors" in errors["list-length"]
    assert f"src={SIZE} is not a rank of this group of {SIZE}" in errors["src"]
    assert "read-only" in errors["readonly"]
    assert "only the default group" in errors["group"]


# --- differentiable collectives ------------------------------------------------------------------
def _value(rank, shape, salt):
    return np.random.default_rng([rank, salt, 99]).normal(size=shape)


def _adjoint_residual(fn, in_shape, out_shape, salt):
    """Σ_r ⟨ḡ_r, J t⟩_r − Σ_r ⟨Jᵀ ḡ, t_r⟩ over all ranks (zero for a correct pair of rules),
    relative to the size of the terms."""
    x = tsf.tensor(_value(RANK, in_shape, salt), dtype=tsf.float64)
    t = tsf.tensor(_value(RANK, in_shape, salt + 1), dtype=tsf.float64)
    g = tsf.tensor(_value(RANK, out_shape, salt + 2), dtype=tsf.float64)
    _, forward = tsf.func.jvp(fn, (x,), (t,))
    _, pullback = tsf.func.vjp(fn, x)
    backward, = pullback(g)
    total = tsf.tensor([float((g * forward).sum()), float((backward * t).sum())],
                       dtype=tsf.float64)
    dist.all_reduce(total)
    lhs, rhs = total.numpy()
    return abs(lhs - rhs) / max(abs(lhs), abs(rhs), 1e-300)


@check("functional")
def functional_collectives_forward_and_reverse_rules_agree():
    residuals = {
        "all_reduce sum": _adjoint_residual(lambda x: DF.all_reduce(x * x), (5,), (5,), 1),
        "all_reduce avg": _adjoint_residual(lambda x: DF.all_reduce(x.sin(), "avg"), (4,), (4,), 2),
        "all_reduce max": _adjoint_residual(lambda x: DF.all_reduce(x, "max") * x, (6,), (6,), 3),
        "all_gather": _adjoint_residual(lambda x: DF.all_gather_tensor(x, 1), (2, 3),
                                        (2, 3 * SIZE), 4),
        "reduce_scatter": _adjoint_residual(lambda x: DF.reduce_scatter_tensor(x, "sum", 0),
                                            (2 * SIZE, 3), (2, 3), 5),
        "reduce_scatter avg": _adjoint_residual(lambda x: DF.reduce_scatter_tensor(x, "avg"),
                                                (SIZE,), (1,), 6),
        "broadcast": _adjoint_residual(lambda x: DF.broadcast(x, src=SIZE - 1) ** 2, (3,), (3,), 7),
    }
    bad = {k: v for k, v in residuals.items() if not v < 1e-12}
    assert not bad, bad


@check("functional")
def functional_gradients_match_analytic_values():
    x = tsf.tensor(_value(RANK, (4,), 10), dtype=tsf.float64, requires_grad=True)
    (DF.all_reduce(x * x) * (RANK + 1)).sum().backward()
    weight = SIZE * (SIZE + 1) / 2                  # Σ_q (q + 1)
    sum_grad = x.grad.numpy().copy()
    x.grad = None
    DF.all_reduce(x, "max").sum().backward()        # the gradient goes to the rank(s) with the max
    everyone = np.stack([_value(r, (4,), 10) for r in range(SIZE)])
    max_grad = x.grad.numpy().copy()
    x.grad = None
    parts = DF.all_gather(x)
    sum(p.sum() * (i + 1) for i, p in enumerate(parts)).backward()
    gather_grad = x.grad.numpy().copy()
    y = tsf.tensor(_value(RANK, (3,), 11), dtype=tsf.float64, requires_grad=True)
    z = DF.all_reduce(y ** 3)                       # second derivative through create_graph
    g, = tsf.autograd.grad(z.sum(), y, create_graph=True)
    gg, = tsf.autograd.grad(g.sum(), y)
    close(sum_grad, 2 * x.numpy() * weight, "d/dx all_reduce(x²)")
    close(max_grad, SIZE * (everyone.max(0) == everyone[RANK]), "d/dx all_reduce max")
    close(gather_grad, np.full(4, SIZE * (RANK + 1.0)), "d/dx all_gather")
    close(gg.numpy(), SIZE * 6 * y.numpy(), "second derivative")


# --- DistributedDataParallel ---------------------------------------------------------------------
def _mlp():
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 13), nn.Tanh(), nn.Linear(13, 3))


def _bn_cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.Flatten(),
                         nn.Linear(3 * 4 * 4, 3), nn.BatchNorm1d(3))


def _batches(steps, per_rank, shape, salt):
    rng = np.random.default_rng(salt)
    x = rng.normal(size=(steps, SIZE * per_rank) + shape)
    y = rng.integers(0, 3, size=(steps, SIZE * per_rank))
    return x, y


def _train(model, batches, ddp, steps, per_rank, make_optimizer):
    """``steps`` SGD steps; with ``ddp`` each rank takes its slice of every global batch."""
    optimizer = make_optimizer(model.parameters())
    x, y = batches
    for step in range(steps):
        rows = slice(RANK * per_rank, (RANK + 1) * per_rank) if ddp else slice(None)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(tsf.tensor(x[step, rows])),
                                           tsf.tensor(y[step, rows]))
        loss.backward()
        optimizer.step()
    return model


def _reference_and_ddp(build, batches, steps, per_rank, make_optimizer, **ddp_options):
    tsf.manual_seed(123)
    reference = _train(build().double(), batches, False, steps, per_rank, make_optimizer)
    tsf.manual_seed(1000 + RANK)                      # other ranks start elsewhere: DDP broadcasts
    model = build().double()
    if ddp_options.pop("sync_bn", False):
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    tsf.manual_seed(123)
    rank0_init = build().double()
    if RANK == 0:
        model.load_state_dict(rank0_init.state_dict())
    ddp = nn.parallel.DistributedDataParallel(model, **ddp_options)
    _train(ddp, batches, True, steps, per_rank, make_optimizer)
    return reference, model, ddp


def _sgd(params):
    return optim.SGD(params, lr=0.2, momentum=0.9)


@check("ddp")
def ddp_k_steps_equal_one_process_with_the_whole_batch():
    batches = _batches(4, 3, (5,), 1)
    results = []
    for options in ({}, {"bucket_cap_mb": 0.0004}, {"bucket_cap_mb": 1e-9}):
        reference, model, ddp = _reference_and_ddp(_mlp, batches, 4, 3, _sgd, **options)
        results.append((reference.state_dict(), model.state_dict(), len(ddp.reducer.buckets),
                        options))
    for ref, got, _, options in results:
        for name in ref:
            close(got[name].numpy(), ref[name].numpy(), f"{name} {options}", rtol=1e-10,
                  atol=1e-12)
    assert [r[2] for r in results] == [1, 3, 6], [r[2] for r in results]


@check("ddp")
def ddp_with_sync_batchnorm_equals_batchnorm_on_the_whole_batch():
    batches = _batches(3, 2, (2, 4, 4), 2)
    reference, model, ddp = _reference_and_ddp(
        _bn_cnn, batches, 3, 2, lambda p: optim.Adam(p, lr=0.01), sync_bn=True, bucket_cap_mb=1e-3)
    ref, got = reference.state_dict(), model.state_dict()
    kinds = {type(m).__name__ for m in model.modules()}
    assert "SyncBatchNorm" in kinds and "BatchNorm2d" not in kinds, kinds
    assert set(ref) == set(got)
    for name in ref:
        close(got[name].numpy(), ref[name].numpy(), name, rtol=1e-8, atol=1e-10)


@check("ddp")
def ddp_no_sync_accumulates_then_averages():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2, SIZE * 2, 5)), rng.integers(0, 3, size=(2, SIZE * 2))
    tsf.manual_seed(5)
    reference = _mlp().double()
    tsf.manual_seed(5)
    model = _mlp().double()
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=1e-3)
    for micro in range(2):
        loss = nn.functional.cross_entropy(reference(tsf.tensor(x[micro])), tsf.tensor(y[micro]))
        loss.backward()
    rows = slice(2 * RANK, 2 * RANK + 2)
    with ddp.no_sync():
        nn.functional.cross_entropy(ddp(tsf.tensor(x[0, rows])), tsf.tensor(y[0, rows])).backward()
        local_after_first = model[0].weight.grad.numpy().copy()
    nn.functional.cross_entropy(ddp(tsf.tensor(x[1, rows])), tsf.tensor(y[1, rows])).backward()
    everyone = [None] * SIZE
    dist.all_gather_object(everyone, local_after_first)
    for name, p in reference.named_parameters():
        close(dict(model.named_parameters())[name].grad.numpy(), p.grad.numpy(), name,
              rtol=1e-10, atol=1e-13)
    assert not all(np.allclose(everyone[0], e) for e in everyone[1:]), "no_sync communicated"


class _Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk, self.left, self.right, self.never = (nn.Linear(3, 3), nn.Linear(3, 2),
                                                         nn.Linear(3, 2), nn.Linear(3, 2))

    def forward(self, x, use_left):
        h = self.trunk(x).tanh()
        return self.left(h) if use_left else self.right(h)


@check("ddp")
def ddp_find_unused_parameters():
    tsf.manual_seed(2)
    model = _Branchy().double()
    ddp = nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    x = tsf.tensor(_value(RANK, (4, 3), 20))
    ddp(x, use_left=RANK == 0).sum().backward()       # left only on rank 0, right elsewhere
    tsf.manual_seed(2)
    alone = _Branchy().double()
    alone(x, use_left=RANK == 0).sum().backward()
    local = {n: (None if p.grad is None else p.grad.numpy()) for n, p in alone.named_parameters()}
    everyone = [None] * SIZE
    dist.all_gather_object(everyone, local)
    got = {n: p.grad for n, p in model.named_parameters()}
    for name in got:
        if name.startswith("never"):
            assert got[name] is None, f"{name} is used on no rank but got a gradient"
            continue
        parts = [e[name] for e in everyone if e[name] is not None]
        close(got[name].numpy(), sum(parts) / SIZE, name, rtol=1e-10, atol=1e-13)


@check("ddp")
def ddp_unused_parameter_without_detection_is_reported():
    tsf.manual_seed(2)
    ddp = nn.parallel.DistributedDataParallel(_Branchy().double(), bucket_cap_mb=1e-9)
    x = tsf.tensor(_value(RANK, (4, 3), 21))
    ddp(x, use_left=True).sum().backward()            # right and never get no gradient
    message = None
    try:
        ddp(x, use_left=True)
    except RuntimeError as error:
        message = str(error)
    assert message and "Expected to have finished reduction in the prior iteration" in message
    assert "find_unused_parameters=True" in message and "never.weight" in message, message


@check("ddp")
def ddp_broadcasts_rank0_and_rejects_different_models():
    tsf.manual_seed(40 + RANK)                        # every rank starts from other weights
    model = _mlp()
    nn.parallel.DistributedDataParallel(model)
    everyone = [None] * SIZE
    dist.all_gather_object(everyone, model.state_dict())
    message = None
    try:
        nn.parallel.DistributedDataParallel(nn.Linear(4, 3 if RANK == 1 else 2))
    except RuntimeError as error:
        message = str(error)
    for other in everyone[1:]:
        for name in everyone[0]:
            close(other[name].numpy(), everyone[0][name].numpy(), name, rtol=0, atol=0)
    assert message == ("DistributedDataParallel: every rank must build the same model, but "
                       "parameter 'weight' has shape (3, 4) (float32) on rank 1 and shape (2, 4) "
                       "(float32) on rank 0"), message


@check("ddp")
def ddp_starts_all_reduce_during_backward():
    """The first bucket is all-reduced while backward still computes earlier layers."""
    tsf.manual_seed(3)
    model = _mlp()
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=1e-9)
    reducer = ddp.reducer
    started_when_first_layer_ready = []
    model[0].weight.register_post_accumulate_grad_hook(
        lambda t: started_when_first_layer_ready.append(reducer.next_bucket))
    ddp(tsf.randn(4, 5)).sum().backward()
    buckets = ddp.bucket_sizes
    assert buckets[0] == ["4.bias"] and buckets[-1] == ["0.weight"], buckets
    assert started_when_first_layer_ready[0] >= len(buckets) - 2, started_when_first_layer_ready


# --- SyncBatchNorm -------------------------------------------------------------------------------
@check("syncbn")
def sync_batchnorm_equals_batchnorm_on_the_concatenated_batch():
    results = []
    for shape, cls in (((3,), nn.BatchNorm1d), ((3, 4, 5), nn.BatchNorm2d),
                       ((3, 6), nn.BatchNorm1d)):
        counts = [r + 2 for r in range(SIZE)]          # uneven batches: rank r holds r + 2 rows
        everyone = [np.random.default_rng([r, 30]).normal(2.0, 3.0, size=(counts[r],) + shape)
                    for r in range(SIZE)]
        upstream = [np.random.default_rng([r, 31]).normal(size=(counts[r],) + shape)
                    for r in range(SIZE)]
        whole = tsf.tensor(np.concatenate(everyone), requires_grad=True)
        bn = cls(shape[0], momentum=0.3).double()
        bn.weight.data = tsf.tensor(np.linspace(0.5, 1.5, shape[0]))
        y_ref = bn(whole)
        (y_ref * tsf.tensor(np.concatenate(upstream))).sum().backward()
        sbn = nn.SyncBatchNorm(shape[0], momentum=0.3).double()
        sbn.weight.data = tsf.tensor(np.linspace(0.5, 1.5, shape[0]))
        x = tsf.tensor(everyone[RANK], requires_grad=True)
        y = sbn(x)
        (y * tsf.tensor(upstream[RANK])).sum().backward()
        grads = tsf.tensor(np.concatenate([sbn.weight.grad.numpy(), sbn.bias.grad.numpy()]))
        dist.all_reduce(grads)
        lo = sum(counts[:RANK])
        results.append((y.numpy(), y_ref.numpy()[lo:lo + counts[RANK]], f"output {shape}"))
        results.append((x.grad.numpy(), whole.grad.numpy()[lo:lo + counts[RANK]],
                        f"input gradient {shape}"))
        results.append((grads.numpy(), np.concatenate([bn.weight.grad.numpy(),
                                                       bn.bias.grad.numpy()]), f"γ, β {shape}"))
        for name in ("running_mean", "running_var"):
            results.append((getattr(sbn, name).numpy(), getattr(bn, name).numpy(), name))
    for actual, expected, what in results:
        close(actual, expected, what, rtol=1e-11, atol=1e-12)


@check("syncbn")
def sync_batchnorm_forward_mode_and_second_derivatives():
    counts = [3 + r for r in range(SIZE)]
    everyone = [np.random.default_rng([r, 40]).normal(size=(counts[r], 2, 3)) for r in range(SIZE)]
    tangents = [np.random.default_rng([r, 41]).normal(size=(counts[r], 2, 3)) for r in range(SIZE)]
    lo = sum(counts[:RANK])
    sbn, bn = nn.SyncBatchNorm(2).double(), nn.BatchNorm1d(2).double()
    for layer in (sbn, bn):
        layer.weight.data = tsf.tensor([0.7, 1.3])

    def local(x):
        return (sbn(x) ** 3).sum()

    def whole(x):
        return (bn(x) ** 3).sum()

    _, tangent = tsf.func.jvp(lambda x: sbn(x), (tsf.tensor(everyone[RANK]),),
                              (tsf.tensor(tangents[RANK]),))
    _, tangent_ref = tsf.func.jvp(lambda x: bn(x), (tsf.tensor(np.concatenate(everyone)),),
                                  (tsf.tensor(np.concatenate(tangents)),))
    hvp = tsf.func.jvp(tsf.func.grad(local), (tsf.tensor(everyone[RANK]),),
                       (tsf.tensor(tangents[RANK]),))[1]
    hvp_ref = tsf.func.jvp(tsf.func.grad(whole), (tsf.tensor(np.concatenate(everyone)),),
                           (tsf.tensor(np.concatenate(tangents)),))[1]
    close(tangent.numpy(), tangent_ref.numpy()[lo:lo + counts[RANK]], "jvp", rtol=1e-10)
    close(hvp.numpy(), hvp_ref.numpy()[lo:lo + counts[RANK]], "Hessian-vector product",
          rtol=1e-9, atol=1e-10)


# --- influence -----------------------------------------------------------------------------------
@check("influence")
def distributed_influence_equals_single_process():
    """Rank 0 computes the single-process reference (the others would only repeat it); then
    every rank computes the sharded result and compares."""
    from torchsorflow.influence import InfluenceModel
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(61, 4)), rng.integers(0, 3, size=61)   # 61 rows: uneven shards
    tests = (rng.normal(size=(2, 4)), np.array([0, 2]))
    methods = (("exact", {}), ("cg", {"rtol": 1e-12}),
               ("lissa", {"depth": 30, "lissa_batch_size": 20, "scale": 10.0}))

    def run(distributed):
        results, fitted = {}, None
        for method, extra in methods:
            tsf.manual_seed(0)
            model = fitted or nn.Linear(4, 3)
            influence = InfluenceModel(model, None, (X, y), l2=0.05, damping=0.01, method=method,
                                       progress=False, distributed=distributed, **extra)
            if method == "exact":      # re-optimise first (sharded sums when distributed)
                influence = influence.fit()
                fitted = influence.model
            top = influence.top_k((tests[0][0], tests[1][0]), k=5)
            results[method] = {
                "scores": influence.predicted_loss_change(tests),
                "helpful": [i for i, _ in top.helpful], "harmful": [i for i, _ in top.harmful],
                "self": influence.self_influence([3, 30, 60]) if method != "lissa" else None,
                "losses": influence.objective.losses(influence.theta), "theta": influence.theta}
        return results

    alone = [run(False) if RANK == 0 else None]
    dist.broadcast_object_list(alone, src=0)
    shared = run(True)
    for method, _ in methods:
        want, got = alone[0][method], shared[method]
        close(got["scores"], want["scores"], f"{method} scores", rtol=1e-9, atol=1e-13)
        assert got["helpful"] == want["helpful"] and got["harmful"] == want["harmful"], method
        if want["self"] is not None:
            close(got["self"], want["self"], f"{method} self-influence", rtol=1e-9)
        close(got["losses"], want["losses"], f"{method} losses", rtol=1e-12)
        close(got["theta"], want["theta"], f"{method} fitted θ", rtol=1e-9, atol=1e-12)


# --- the runner ----------------------------------------------------------------------------------
def main(argv):
    global RANK, SIZE
    out, groups = argv[0], set(argv[1:])
    dist.init_process_group("mpi", timeout=timedelta(seconds=60))
    RANK, SIZE = dist.get_rank(), dist.get_world_size()
    outcome = {}
    for name, (group, fn) in CHECKS.items():
        if groups and group not in groups:
            continue
        try:
            with contextlib.redirect_stdout(sys.stderr):
                fn()
            outcome[name] = None
        except AssertionError:
            outcome[name] = traceback.format_exc(limit=-3)
        except Exception:  # noqa: BLE001 - recorded, then the next check runs
            outcome[name] = traceback.format_exc()
        dist.barrier()
    everyone = [None] * SIZE
    dist.all_gather_object(everyone, outcome)
    if RANK == 0:
        report = {name: {str(r): everyone[r].get(name) for r in range(SIZE)} for name in outcome}
        with open(out, "w") as fh:
            json.dump(report, fh, indent=1)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1:])
