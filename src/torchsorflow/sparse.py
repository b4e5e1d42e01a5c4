"""Sparse COO tensors (``torch.sparse_coo_tensor``, ``torch.sparse``): a list of coordinates and
the values there, with SciPy's sparse matrices doing the products.

A :class:`SparseTensor` holds ``indices`` (an int64 Tensor of shape (sparse_dim, nnz)) and
``values`` (a Tensor of shape (nnz, *dense_dims)); it takes part in autograd through its values.
``torch.sparse.mm(S, D)`` (``torch.spmm``, ``S @ D``) is one primitive, linear in the values of S
and in D: the cotangent of D is Sᵀ·Ḡ (another sparse product) and that of each stored value
S[i, j] is Σₖ Ḡ[i, k]·D[j, k]. ``to_dense()`` scatters the values into zeros (its gradient gathers
them back), and ``Tensor.to_sparse()`` gathers the non-zero entries of a dense Tensor, so
gradients flow both ways.

>>> import torchsorflow as tsf
>>> s = tsf.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
>>> s.to_dense()
tensor([[0., 0., 3.],
        [4., 0., 5.]])
>>> tsf.sparse.mm(s, tsf.ones(3, 1))
tensor([[3.],
        [9.]])
"""
from __future__ import annotations

import numpy as np
import scipy.sparse

from . import backend
from .autodiff.tracer import Box, Primitive, is_constant, to_box, wrap
from .ops.creation import tensor as _tensor
from .ops.elementwise import mul
from .ops.reductions import sum as _reduce_sum
from .ops.shape import _scatter_add, astype, getitem, swapaxes

__all__ = ["SparseTensor", "sparse_coo_tensor", "mm", "spmm", "sum", "layout", "strided",
           "sparse_coo", "addmm"]


class layout:  # noqa: N801 - torch.layout
    """A memory layout: ``torch.strided`` (dense) or ``torch.sparse_coo``."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


strided = layout("strided")
sparse_coo = layout("sparse_coo")


def _csr(values, rows, cols, shape):
    return scipy.sparse.csr_matrix((values, (rows, cols)), shape=shape)


def _spmm_impl(values, dense, rows, cols, shape):
    out = _csr(values, rows, cols, shape) @ dense
    return np.asarray(out, dtype=np.result_type(values.dtype, dense.dtype))


def _spmm_vjp_values(g, ans, values, dense, rows, cols, shape):
    picked = mul(getitem(g, rows), getitem(dense, cols))
    return picked if dense.ndim == 1 else _reduce_sum(picked, -1)


def _spmm_vjp_dense(g, ans, values, dense, rows, cols, shape):
    return _spmm(values, g, rows=cols, cols=rows, shape=(shape[1], shape[0]))


_spmm = Primitive("sparse_mm", _spmm_impl, vjp=(_spmm_vjp_values, _spmm_vjp_dense),
                  linear=(0, 1))


class SparseTensor:
    """A sparse COO tensor: ``values[k]`` sits at coordinates ``indices[:, k]``; duplicate
    coordinates add up (``coalesce()`` merges them)."""

    is_sparse = True
    is_cuda = False
    layout = sparse_coo

    def __init__(self, indices, values, size, coalesced=False):
        self._indices_t = indices
        self._values_t = values
        self._size = tuple(int(s) for s in size)
        self._coalesced = bool(coalesced)

    # --- what it is -----------------------------------------------------------------------
    @property
    def shape(self):
        return self._size

    def size(self, dim=None):
        return self._size if dim is None else self._size[dim]

    def dim(self):
        return len(self._size)

    @property
    def ndim(self):
        return len(self._size)

    @property
    def dtype(self):
        return self._values_t.dtype

    @property
    def device(self):
        return backend.CPU

    def sparse_dim(self):
        return self._indices_t.shape[0]

    def dense_dim(self):
        return self._values_t.ndim - 1

    def _nnz(self):
        return self._indices_t.shape[1]

    def numel(self):
        return int(np.prod(self._size))

    def is_coalesced(self):
        return self._coalesced

    def _indices(self):
        return self._indices_t

    def _values(self):
        return self._values_t

    def indices(self):
        self._require_coalesced("indices")
        return self._indices_t

    def values(self):
        self._require_coalesced("values")
        return self._values_t

    def _require_coalesced(self, what):
        if not self._coalesced:
            raise RuntimeError(f"Cannot get {what} on an uncoalesced tensor, please call "
                               ".coalesce() first")

    def __repr__(self):
        return (f"tensor(indices={self._indices_t!r},\n       values={self._values_t!r},\n"
                f"       size={self._size}, nnz={self._nnz()}, layout=torch.sparse_coo)")

    # --- autograd through the values ---------------------------------------------------------
    @property
    def requires_grad(self):
        return self._values_t.requires_grad

    def requires_grad_(self, requires_grad=True):
        self._values_t.requires_grad_(requires_grad)
        return self

    @property
    def grad(self):
        """The gradient at each stored coordinate, as a coalesced sparse tensor (the gradient
        reaches the stored values only, as with ``torch.sparse.mm``)."""
        g = self._values_t.grad
        if g is None:
            return None
        coords = self._indices_t._array
        flat = np.ravel_multi_index(tuple(coords), self._size[:coords.shape[0]])
        unique, first = np.unique(flat, return_index=True)  # duplicates share one gradient
        indices = np.stack(np.unravel_index(unique, self._size[:coords.shape[0]]))
        return SparseTensor(wrap(indices.astype(np.int64).reshape(coords.shape[0], -1)),
                            wrap(g._array[first]), self._size, coalesced=True)

    def detach(self):
        return SparseTensor(self._indices_t, self._values_t.detach(), self._size,
                            self._coalesced)

    # --- conversions -------------------------------------------------------------------------
    def coalesce(self):
        """The same tensor with sorted, unique coordinates (duplicates summed)."""
        if self._coalesced:
            return self
        coords = self._indices_t._array
        if coords.shape[1] == 0:
            return SparseTensor(self._indices_t, self._values_t, self._size, True)
        flat = np.ravel_multi_index(tuple(coords), self._size[:coords.shape[0]])
        unique, inverse = np.unique(flat, return_inverse=True)
        values = _scatter_add(self._values_t, index=inverse,
                              shape=(unique.size,) + self._values_t.shape[1:])
        indices = np.stack(np.unravel_index(unique, self._size[:coords.shape[0]]))
        return SparseTensor(wrap(indices.astype(np.int64)), values, self._size, True)

    def to_dense(self, dtype=None):
        """The dense Tensor (differentiable in the values)."""
        coords = tuple(self._indices_t._array)
        dense = _scatter_add(self._values_t, index=coords, shape=self._size)
        return dense if dtype is None else astype(dense, dtype)

    def to_sparse(self, sparse_dim=None):
        return self

    def to(self, *args, **kwargs):
        dtype = kwargs.pop("dtype", None)
        rest = [a for a in args if not (isinstance(a, str) and a.split(":")[0] == "cpu")]
        backend.check_device(kwargs.pop("device", None), "to")
        if rest:
            dtype = rest[0]
        if dtype is None:
            return self
        return SparseTensor(self._indices_t, astype(self._values_t, dtype), self._size,
                            self._coalesced)

    def double(self):
        return self.to(backend.float64)

    def float(self):
        return self.to(backend.float32)

    def cpu(self):
        return self

    def t(self):
        """The transpose of a sparse matrix."""
        if self.sparse_dim() != 2 or self.dense_dim():
            raise RuntimeError("t() expects a 2-D sparse matrix")
        flipped = wrap(self._indices_t._array[::-1].copy())
        return SparseTensor(flipped, self._values_t, self._size[::-1])

    # --- arithmetic -----------------------------------------------------------------------
    def _scaled(self, factor):
        return SparseTensor(self._indices_t, mul(self._values_t, factor), self._size,
                            self._coalesced)

    def __mul__(self, other):
        if isinstance(other, (int, float)) or (isinstance(other, Box) and other.ndim == 0):
            return self._scaled(other)
        raise NotImplementedError("sparse * Tensor: only multiplication by a scalar is "
                                  "supported; use to_dense()")

    __rmul__ = __mul__

    def __neg__(self):
        return self._scaled(-1)

    def __truediv__(self, other):
        if isinstance(other, (int, float)) or (isinstance(other, Box) and other.ndim == 0):
            return self._scaled(1 / other if not isinstance(other, Box) else other.reciprocal())
        raise NotImplementedError("sparse / Tensor: only division by a scalar is supported")

    def __matmul__(self, other):
        return mm(self, other)

    def __rmatmul__(self, other):
        return mm(other, self)

    def mm(self, mat2):
        return mm(self, mat2)

    matmul = mm

    def sum(self, dim=None, keepdim=False):
        return sum(self, dim) if not keepdim else self.to_dense().sum(dim, keepdim=True)


def _matrix(op, s):
    if s.sparse_dim() != 2 or s.dense_dim():
        raise RuntimeError(f"{op}: expected a 2-D sparse matrix (sparse_dim 2, no dense "
                           f"dimensions), got sparse_dim {s.sparse_dim()} and dense_dim "
                           f"{s.dense_dim()}")
    rows, cols = s._indices_t._array
    return rows, cols


def _sparse_times_dense(s, dense, op):
    rows, cols = _matrix(op, s)
    dense = to_box(dense)
    if dense.ndim not in (1, 2) or dense.shape[0] != s.shape[1]:
        raise RuntimeError(f"{op}: mat1 and mat2 shapes cannot be multiplied ({s.shape[0]}x"
                           f"{s.shape[1]} and {'x'.join(map(str, dense.shape))})")
    if dense.dtype != s.dtype:
        raise RuntimeError(f"{op}: expected mat1 and mat2 to have the same dtype, but got: "
                           f"{s.dtype} != {dense.dtype}")
    return _spmm(s._values_t, dense, rows=rows, cols=cols, shape=s.shape)


def mm(mat1, mat2):
    """``mat1 @ mat2`` with either or both sparse: sparse @ dense and dense @ sparse give dense
    results (differentiable in both the dense matrix and the sparse values); sparse @ sparse a
    sparse one."""
    sparse1, sparse2 = isinstance(mat1, SparseTensor), isinstance(mat2, SparseTensor)
    if sparse1 and sparse2:
        if not is_constant(mat1._values_t, mat2._values_t):
            raise NotImplementedError("sparse.mm(sparse, sparse): gradients are not supported; "
                                      "convert one operand with to_dense()")
        product = (_csr(mat1._values_t._array, *_matrix("mm", mat1), mat1.shape)
                   @ _csr(mat2._values_t._array, *_matrix("mm", mat2), mat2.shape)).tocoo()
        indices = np.stack([product.row, product.col]).astype(np.int64)
        return SparseTensor(wrap(indices), wrap(product.data.astype(mat1.dtype)),
                            (mat1.shape[0], mat2.shape[1])).coalesce()
    if sparse1:
        return _sparse_times_dense(mat1, mat2, "mm")
    if sparse2:  # D S = (Sᵀ Dᵀ)ᵀ
        dense = to_box(mat1)
        vector = dense.ndim == 1
        product = _sparse_times_dense(mat2.t(), dense if vector else swapaxes(dense, 0, 1), "mm")
        return product if vector else swapaxes(product, 0, 1)
    from .ops.linalg import mm as dense_mm
    return dense_mm(mat1, mat2)


def spmm(input, mat2):
    """``torch.spmm``: sparse @ dense."""
    return mm(input, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """beta·mat + alpha·(mat1 @ mat2) with a sparse ``mat1``."""
    from .ops.products import _scaled_sum
    return _scaled_sum(mat, mm(mat1, mat2), beta, alpha)


def sum(input, dim=None, dtype=None):  # noqa: A001 - torch.sparse.sum
    """The sum of a sparse tensor: of all entries (a 0-d Tensor), or over ``dim`` (sparse unless
    every sparse dimension is summed)."""
    if not isinstance(input, SparseTensor):
        return _reduce_sum(input, dim, dtype=dtype)
    if dim is None:
        return _reduce_sum(input._values_t, dtype=dtype)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dense = _reduce_sum(input.to_dense(), dims, dtype=dtype)
    covered = {d % input.ndim for d in dims}
    if all(d in covered for d in range(input.sparse_dim())):
        return dense
    return to_sparse(dense, input.sparse_dim() - len([d for d in covered
                                                      if d < input.sparse_dim()]))


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      requires_grad=False, check_invariants=None, is_coalesced=None):
    """A sparse COO tensor with ``values[k]`` at coordinates ``indices[:, k]`` (duplicates add
    up); the size is inferred from the largest index when not given."""
    backend.check_device(device, "sparse_coo_tensor")
    index = indices if isinstance(indices, Box) else _tensor(np.asarray(indices, np.int64))
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"indices must be an int64 tensor, got {index.dtype}")
    index = astype(index, np.int64)
    if index.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(index.shape)}")
    values = values if isinstance(values, Box) else _tensor(values)
    if dtype is not None:
        values = astype(values, dtype)
    if values.ndim == 0 or values.shape[0] != index.shape[1]:
        raise RuntimeError(f"number of dimensions must be sparse_dim ({index.shape[0]}) + "
                           f"dense_dim, and indices.size(1) ({index.shape[1]}) must match "
                           f"values.size(0) ({values.shape[0] if values.ndim else 'scalar'})")
    coords = index._array
    if size is None:
        size = tuple(int(c) + 1 for c in coords.max(1)) if coords.size else (0,) * len(coords)
        size = size + values.shape[1:]
    size = tuple(int(s) for s in size)
    if len(size) != coords.shape[0] + values.ndim - 1:
        raise RuntimeError(f"number of dimensions must be sparse_dim ({coords.shape[0]}) + "
                           f"dense_dim ({values.ndim - 1}), but got {len(size)}")
    for d in range(coords.shape[0]):
        if coords.shape[1] and (coords[d].max() >= size[d] or coords[d].min() < 0):
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is "
                               f"{size[d]} but found index {coords[d].max()}")
    if requires_grad:
        values = values.detach() if values.requires_grad else values
        values.requires_grad_(True)
    return SparseTensor(index, values, size, coalesced=bool(is_coalesced))


def to_sparse(dense, sparse_dim=None):
    """``Tensor.to_sparse()``: the non-zero entries of a dense Tensor (the slices that are not all
    zero over the first ``sparse_dim`` dimensions), differentiable in those entries."""
    dense = to_box(dense)
    sparse_dim = dense.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 < sparse_dim <= dense.ndim:
        raise RuntimeError(f"sparse_dim must be in (0, {dense.ndim}], got {sparse_dim}")
    array = dense._array
    present = array != 0
    if sparse_dim < dense.ndim:
        present = present.any(axis=tuple(range(sparse_dim, dense.ndim)))
    coords = np.nonzero(present)
    values = getitem(dense, coords)
    return SparseTensor(wrap(np.stack(coords).astype(np.int64).reshape(sparse_dim, -1)), values,
                        dense.shape, coalesced=True)


def to_dense(tensor, dtype=None):
    """``Tensor.to_dense()`` of a dense Tensor: the Tensor itself."""
    return tensor if dtype is None else astype(tensor, dtype)

