"""Regression tests for bugs in the autodiff core found by the differential fuzz suite."""
import numpy as np

import torchsorflow as tsf
from torchsorflow.autodiff import check_grads


def test_matmul_gradient_of_a_vector_right_operand_under_a_batched_left_operand():
    # (..., n, k) @ (k,): the vector's cotangent is Σ_batch aᵀg. It used to be computed as
    # aᵀ @ g with g taken for a matrix, which failed (or had the wrong shape) for batched a.
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 2, 4)), rng.standard_normal(4)
    check_grads(tsf.matmul, [a, b], order=2)
    check_grads(tsf.matmul, [rng.standard_normal((1, 2, 1)), rng.standard_normal(1)], order=2)
    ta, tb = tsf.tensor(a, requires_grad=True), tsf.tensor(b, requires_grad=True)
    (ta @ tb).sum().backward()
    np.testing.assert_allclose(tb.grad.numpy(), a.sum(axis=(0, 1)), rtol=1e-12)
