"""Sparse COO products (torchsorflow/sparse.py)."""
import numpy as np

import torchsorflow as tsf

from . import row

# a (3, 4) sparse matrix with a duplicate coordinate (1, 0), which adds up
INDICES = np.array([[0, 1, 1, 2, 1], [1, 0, 3, 2, 0]])


def _product(lib, dense_first=False):
    def f(values, dense):
        s = lib.sparse_coo_tensor(lib.tensor(INDICES), values, (3, 4))
        return lib.sparse.mm(dense, s.t()) if dense_first else lib.sparse.mm(s, dense)
    return f


NO_FORWARD = ("rev",)  # PyTorch has no forward mode for sparse products
row("sparse_mm", _product(tsf), lambda t, v, d: _product(t)(v, d), domains=("normal", "normal"),
    shapes=[((5,), (4, 2))], torch_modes=NO_FORWARD)
row("sparse_mm", _product(tsf, True), lambda t, v, d: _product(t, True)(v, d),
    domains=("normal", "normal"), shapes=[((5,), (2, 4))], torch_modes=NO_FORWARD)
row("sparse_mm", lambda v, d: tsf.sparse_coo_tensor(INDICES, v, (3, 4)) @ d,
    lambda t, v, d: t.sparse_coo_tensor(t.tensor(INDICES), v, (3, 4)) @ d,
    domains=("normal", "normal"), shapes=[((5,), (4, 3))], torch_modes=NO_FORWARD)
