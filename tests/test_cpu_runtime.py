"""The CPU runtime's process-level settings: BLAS threads for small products, malloc's tuning."""
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from torchsorflow.ops import blas


def test_small_products_run_on_one_blas_thread_and_restore_the_setting():
    """Products too small to share out run with BLAS held to one thread (its helper threads would
    cost more than they save); the thread count is restored afterwards, and large products keep
    all threads."""
    libs = blas._controllers()
    if not libs:
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
    re-allocation page-faults. TORCHSORFLOW_MALLOC_TUNING=0 opts out."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    code = "import torchsorflow.backend as b; print(b.MALLOC_TUNED)"
    for setting, expected in (("1", "True"), ("0", "False")):
        env = {**os.environ, "TORCHSORFLOW_MALLOC_TUNING": setting}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == expected
