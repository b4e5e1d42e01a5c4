"""Matrix products that keep small problems on one BLAS thread.

OpenBLAS splits every product across all its threads. For the many small products of a training
step (a 64×256 by 256×64 linear layer is 1 M multiply-adds, tens of microseconds) waking and
synchronising a second thread costs more than it saves, and on a busy machine the spinning
threads make such a product several times slower. Below ``SMALL_WORK`` multiply-adds the product
runs on one thread (switching costs about a microsecond through the BLAS library's own
``set_num_threads``); large products keep every thread.

>>> import numpy as np
>>> a = np.ones((2, 3), np.float32)
>>> matmul(a, a.T)
array([[3., 3.],
       [3., 3.]], dtype=float32)
"""
from __future__ import annotations

from ..backend import xp

SMALL_WORK = 2_000_000
# OpenBLAS itself runs products below 4 × 65536 multiply-adds (GEMM_MULTITHREAD_THRESHOLD) on
# one thread; switching the thread count (~5 µs) would only slow those down (8×8: 1 → 6.6 µs).
BLAS_OWN_SINGLE_THREAD = 4 * 65536
_blas = {}


def _controllers():
    if "libs" not in _blas:
        try:
            from threadpoolctl import ThreadpoolController
            _blas["libs"] = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # noqa: BLE001 - no threadpoolctl or no BLAS found: never switch
            _blas["libs"] = []
    return _blas["libs"]


def _work(a, b):
    """Multiply-adds of ``a @ b`` (an upper bound when ``b`` broadcasts over a batch of ``a``)."""
    columns = b.shape[-1] if b.ndim > 1 else 1
    batch = b.size // max(1, b.shape[-1] * b.shape[-2]) if b.ndim > 2 else 1
    return a.size * columns * batch


def matmul(a, b):
    """``numpy.matmul``, on one BLAS thread when the product is small."""
    if a.ndim == 0 or b.ndim == 0:
        return xp.matmul(a, b)
    work = _work(a, b)  # first: most products of a step are tiny, and this is cheap
    if work >= SMALL_WORK or work < BLAS_OWN_SINGLE_THREAD:
        return xp.matmul(a, b)
    libs = _controllers()
    if not libs:
        return xp.matmul(a, b)
    previous = [lib.get_num_threads() for lib in libs]
    if all(n == 1 for n in previous):
        return xp.matmul(a, b)
    for lib in libs:
        lib.set_num_threads(1)
    try:
        return xp.matmul(a, b)
    finally:
        for lib, n in zip(libs, previous):
            lib.set_num_threads(n)
