"""Differential fuzzing of linear algebra (batched, broadcasting matmul; solve, inv, logdet) and
of random compositions of primitives to second order (grad and forward-over-reverse hvp)
against PyTorch and torch.func."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from fuzz_support import F64, assert_close, compare, fuzz, seeds, values  # noqa: E402

@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                   max_side=3)).input_shapes
    a = draw(st.sampled_from([(k,), batch[0] + (n, k)]))
    b = draw(st.sampled_from([(k,), batch[1] + (k, m)]))
    return a, b


@fuzz(200, shapes=matmul_shapes(), seed=seeds)
def test_matmul_with_batching_and_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    compare(lambda a, b: a @ b, lambda a, b: a @ b,
            [values("normal", shapes[0], rng), values("normal", shapes[1], rng)], rng)


def _well_conditioned(batch, n, rng):
    a = rng.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@fuzz(100, n=st.integers(1, 4), batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
      seed=seeds, rhs=st.sampled_from(["vector", "matrix"]), op=st.sampled_from(["solve", "inv",
                                                                                  "logdet"]))
def test_solve_inv_logdet(n, batch, seed, rhs, op):
    rng = np.random.default_rng(seed)
    a = _well_conditioned(batch, n, rng)
    if op == "inv":
        compare(tsf.inv, torch.linalg.inv, [a], rng)
    elif op == "logdet":
        compare(tsf.logdet, torch.logdet, [a], rng)
    else:
        b = rng.standard_normal(batch + ((n,) if rhs == "vector" else (n, 2)))
        compare(tsf.solve, torch.linalg.solve, [a, b], rng)


@fuzz(60, n=st.integers(1, 4), batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
      seed=seeds)
def test_cholesky_of_a_symmetric_positive_definite_function(n, batch, seed):
    """cholesky(A Aᵀ + nI): symmetric inputs and tangents, where both libraries' rules apply."""
    from torchsorflow.ops.special import cholesky
    rng = np.random.default_rng(seed)
    eye = np.eye(n)
    compare(lambda a: cholesky(a @ a.mT + tsf.tensor(n * eye.astype(a.dtype))),
            lambda a: torch.linalg.cholesky(a @ a.mT + torch.tensor(n * eye, dtype=a.dtype)),
            [values("normal", batch + (n, n), rng)], rng)


# --- compositions, to second order ---------------------------------------------------------------
PROGRAM_UNARY = {"tanh": (tsf.tanh, torch.tanh), "sin": (tsf.sin, torch.sin),
                 "sigmoid": (tsf.sigmoid, torch.sigmoid), "softplus": (tsf.softplus,
                                                                       torch.nn.functional.softplus),
                 "square": (tsf.square, torch.square), "exp_neg_sq": (
                     lambda x: tsf.exp(-x * x), lambda x: torch.exp(-x * x))}
PROGRAM_BINARY = {"add": (lambda a, b: a + b,) * 2, "mul": (lambda a, b: a * b,) * 2,
                  "matmul": (lambda a, b: a @ b,) * 2, "sub_mean": (
                      lambda a, b: a - tsf.mean(b, axis=0, keepdims=True),
                      lambda a, b: a - torch.mean(b, 0, keepdim=True))}


@st.composite
def programs(draw):
    """A random straight-line program over n×n matrices: each line applies a unary op to an
    earlier value or a binary op to two earlier values; the loss sums the last value's
    log-softmax."""
    lines = []
    for i in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            op = draw(st.sampled_from(sorted(PROGRAM_UNARY)))
            lines.append((op, draw(st.integers(0, i + 1))))
        else:
            lines.append((draw(st.sampled_from(sorted(PROGRAM_BINARY))),
                          draw(st.integers(0, i + 1)), draw(st.integers(0, i + 1))))
    return lines


def _execute(program, x, y, lib):
    log_softmax = tsf.log_softmax if lib == 0 else torch.log_softmax
    vals = [x, y]
    for op, *operands in program:
        table = PROGRAM_UNARY if len(operands) == 1 else PROGRAM_BINARY
        vals.append(table[op][lib](*(vals[k] for k in operands)))
    return log_softmax(vals[-1], 1).sum()


@fuzz(100, program=programs(), n=st.integers(1, 3), seed=seeds)
def test_grad_and_hvp_of_random_programs(program, n, seed):
    """Reverse mode (grad) and forward-over-reverse (hvp) of compositions against torch.func."""
    rng = np.random.default_rng(seed)
    x, y, vx, vy = (rng.standard_normal((n, n)) * 0.7 for _ in range(4))
    ours = lambda a, b: _execute(program, a, b, 0)  # noqa: E731
    theirs = lambda a, b: _execute(program, a, b, 1)  # noqa: E731
    to_t, to_o = (lambda a: torch.tensor(a)), (lambda a: tsf.tensor(a))
    grads = tsf.func.grad(ours, argnums=(0, 1))(to_o(x), to_o(y))
    ref = torch.func.grad(theirs, argnums=(0, 1))(to_t(x), to_t(y))
    for k in range(2):
        assert_close(grads[k], ref[k], f"grad of argument {k}", **F64)
    hv = tsf.func.hvp(ours, (to_o(x), to_o(y)), (to_o(vx), to_o(vy)))
    _, ref_hv = torch.func.jvp(torch.func.grad(theirs, argnums=(0, 1)), (to_t(x), to_t(y)),
                               (to_t(vx), to_t(vy)))
    for k in range(2):
        assert_close(hv[k], ref_hv[k], f"hvp, argument {k}", **F64)
