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


def test_small_products_run_on_one_blas_thread_and_restore_the_setting():
    import numpy as np
    from torchsorflow.ops import blas

    libs = blas._controllers()
    if not libs:
        import pytest
        pytest.skip("no BLAS controller (threadpoolctl) available")
    before = [lib.get_num_threads() for lib in libs]
    seen = []
    original = np.matmul

    class Spy:
        def __getattr__(self, name):
            return getattr(np, name)

        def matmul(self, a, b):
            seen.append([lib.get_num_threads() for lib in libs])
            return original(a, b)

    saved, blas.xp = blas.xp, Spy()
    try:
        tiny = np.ones((4, 5), np.float32)  # OpenBLAS keeps these on one thread by itself
        np.testing.assert_array_equal(blas.matmul(tiny, tiny.T), original(tiny, tiny.T))
        small = np.ones((100, 100), np.float32)  # 1 M multiply-adds
        np.testing.assert_array_equal(blas.matmul(small, small), original(small, small))
        big = np.ones((200, 200), np.float32)
        blas.matmul(big, big)
    finally:
        blas.xp = saved
    assert seen[0] == before
    assert seen[1] == [1] * len(libs)
    assert seen[2] == before
    assert [lib.get_num_threads() for lib in libs] == before


def test_malloc_keeps_freed_memory_unless_told_not_to():
    """A train step re-allocates the same activation-sized arrays; with glibc's defaults each
    re-allocation page-faulted (~1,100 faults per digits CNN step). TORCHSORFLOW_MALLOC_TUNING=0
    opts out."""
    import os
    import platform
    import subprocess
    import sys

    import pytest
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    code = "import torchsorflow.backend as b; print(b.MALLOC_TUNED)"
    for setting, expected in (("1", "True"), ("0", "False")):
        env = {**os.environ, "TORCHSORFLOW_MALLOC_TUNING": setting}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == expected
