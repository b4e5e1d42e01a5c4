"""Arranging values into structures: triangles and diagonals (``tril``/``triu``, ``diag``,
``diagonal``, ``diag_embed``, ``diagflat``, ``trace``, ``tril_indices``/``triu_indices``),
rotations (``roll``, ``rot90``), repetition (``repeat_interleave``), grids and products of sets
(``meshgrid``, ``cartesian_prod``, ``combinations``), ``block_diag``, ``atleast_1d/2d/3d`` and the
``hstack``/``vstack``/``dstack``/``column_stack`` family.

All but ``roll`` are compositions of the shape primitives (``getitem``, ``index_put``, ``where``,
``pad``, ``concatenate``), so their gradients are those primitives' adjoints. ``roll`` is a
primitive of its own: a permutation whose adjoint rolls back.
"""
from __future__ import annotations

import builtins
import functools
import itertools
import warnings

from ..autodiff.tracer import Box, Primitive, to_box, wrap
from ..backend import to_dtype, xp
from .reductions import sum as reduce_sum
from .shape import (_dim, astype, broadcast_to, cat, flatten, flip, getitem, index_put, movedim,
                    pad, reshape, stack, transpose)
from .creation import _make

__all__ = ["tril", "triu", "diag", "diagonal", "diag_embed", "diagflat", "trace", "tril_indices",
           "triu_indices", "roll", "rot90", "repeat_interleave", "meshgrid", "cartesian_prod",
           "combinations", "block_diag", "atleast_1d", "atleast_2d", "atleast_3d", "hstack",
           "vstack", "row_stack", "dstack", "column_stack"]


# --- triangles and diagonals ---------------------------------------------------------------
def _matrices(op, input):
    input = to_box(input)
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got "
                           f"{input.ndim}")
    return input


@functools.lru_cache(maxsize=64)
def _triangle_mask(n, m, lower, k):
    """The constant mask of a triangle (cached: building it costs more than applying it)."""
    mask = xp.tri(n, m, k, dtype=bool) if lower else ~xp.tri(n, m, k - 1, dtype=bool)
    mask.flags.writeable = False
    return mask


def _triangle_impl(x, lower, k):
    return xp.where(_triangle_mask(*x.shape[-2:], lower, k), x, xp.zeros((), x.dtype))


# The triangle of a matrix is linear, and its adjoint is the same triangle of the cotangent.
_triangle = Primitive("triangle", _triangle_impl,
                      vjp=(lambda g, ans, x, lower, k: _triangle(g, lower=lower, k=k),),
                      linear=(0,))


def tril(input, diagonal=0):
    """The lower triangle (on and below the ``diagonal``-th diagonal) of the last two dims."""
    return _triangle(_matrices("tril", input), lower=True, k=int(diagonal))


def triu(input, diagonal=0):
    """The upper triangle (on and above the ``diagonal``-th diagonal) of the last two dims."""
    return _triangle(_matrices("triu", input), lower=False, k=int(diagonal))


def _diagonal_positions(n, m, offset):
    """Row and column indices of the ``offset``-th diagonal of an n×m matrix."""
    rows = xp.arange(builtins.max(0, -offset), n)
    cols = rows + offset
    keep = cols < m
    return rows[keep], cols[keep]


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The ``offset``-th diagonal of the matrices in ``dim1``×``dim2``, as a new last
    dimension."""
    input = _matrices("diagonal", input)
    a, b = _dim(dim1, input.ndim), _dim(dim2, input.ndim)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    moved = movedim(input, (a, b), (-2, -1))
    rows, cols = _diagonal_positions(*moved.shape[-2:], offset)
    return getitem(moved, (Ellipsis, rows, cols))


_diagonal = diagonal


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices whose ``offset``-th diagonals (in output dims ``dim1``×``dim2``) hold the last
    dimension of ``input``; zeros elsewhere."""
    input = to_box(input)
    if input.ndim == 0:
        raise RuntimeError("diag_embed: expected a Tensor with at least 1 dimension")
    n = input.shape[-1]
    size = n + abs(offset)
    a, b = _dim(dim1, input.ndim + 1), _dim(dim2, input.ndim + 1)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    rows, cols = _diagonal_positions(size, size, offset)
    zeros = wrap(xp.zeros(input.shape[:-1] + (size, size), input.dtype))
    return movedim(index_put(zeros, (Ellipsis, rows, cols), input), (-2, -1), (a, b))


def diag(input, diagonal=0):
    """A vector → the square matrix with it on the ``diagonal``-th diagonal; a matrix → that
    diagonal as a vector."""
    input = to_box(input)
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:
        return _diagonal(input, diagonal)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def diagflat(input, offset=0):
    """The flattened ``input`` on the ``offset``-th diagonal of a square matrix."""
    return diag_embed(flatten(to_box(input)), offset)


def trace(input):
    """The sum of the main diagonal of a matrix."""
    input = to_box(input)
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return reduce_sum(diagonal(input))


def _triangle_indices(positions, row, col, offset, dtype, device):
    array = xp.stack(positions(row, offset, col)).astype(to_dtype(dtype) or xp.int64)
    return _make(array.reshape(2, -1), device=device, op="tril_indices")


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) coordinates of the lower triangle of a row×col matrix, row by row."""
    return _triangle_indices(xp.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) coordinates of the upper triangle of a row×col matrix, row by row."""
    return _triangle_indices(xp.triu_indices, row, col, offset, dtype, device)


# --- rotations -------------------------------------------------------------------------------
_roll = Primitive("roll", lambda x, shifts, axes: xp.roll(x, shifts, axes),
                  vjp=(lambda g, ans, x, shifts, axes:
                       _roll(g, shifts=tuple(-s for s in shifts), axes=axes),),
                  linear=(0,))


def roll(input, shifts, dims=None):
    """Entries shifted cyclically by ``shifts`` along ``dims`` (the flattened Tensor when
    ``dims`` is None)."""
    input = to_box(input)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: with dims=None, shifts must be one int, got {shifts}")
        return reshape(_roll(flatten(input), shifts=shifts, axes=(0,)), input.shape)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(dims) != len(shifts):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                           f"{len(dims)}")
    return _roll(input, shifts=shifts, axes=tuple(_dim(d, input.ndim) for d in dims))


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90° ``k`` times in the plane ``dims`` (from the first axis toward the second)."""
    input = to_box(input)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    a, b = (_dim(d, input.ndim) for d in dims)
    if a == b:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {a} and "
                           f"dim1 = {b}")
    k %= 4
    if k == 1:
        return transpose(flip(input, b), a, b)
    if k == 2:
        return flip(input, (a, b))
    if k == 3:
        return transpose(flip(input, a), a, b)
    return input


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each entry (or slice along ``dim``) repeated ``repeats`` times in place; with only a
    Tensor of counts, the indices repeated by those counts."""
    input = to_box(input)
    if repeats is None:  # repeat_interleave(counts)
        counts = input._array
        return wrap(xp.repeat(xp.arange(counts.size), counts.reshape(-1)).astype(xp.int64))
    if dim is None:
        input, d = flatten(input), 0
    else:
        d = _dim(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    counts = repeats._array.reshape(-1) if isinstance(repeats, Box) else xp.asarray([repeats])
    if counts.size not in (1, n):
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {counts.size} and input.size({d}) = {n}")
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    index = xp.repeat(xp.arange(n), counts)
    if output_size is not None and output_size != index.size:
        raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match the "
                           f"{index.size} entries the repeats give")
    return getitem(input, (slice(None),) * d + (index,))


# --- grids and products of sets -----------------------------------------------------------------
def _tensor_list(tensors, op):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    tensors = [to_box(t) for t in tensors]
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"{op}: Expected 0D or 1D tensor in the tensor list but got: "
                               f"{t.ndim}D")
    return [reshape(t, (-1,)) for t in tensors]


def meshgrid(*tensors, indexing=None):
    """Coordinate grids of the given vectors: ``indexing='ij'`` (matrix, torch's default) or
    ``'xy'`` (Cartesian: the first two dimensions swapped)."""
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    vectors = _tensor_list(tensors, "torch.meshgrid")
    order = list(range(len(vectors)))
    if indexing == "xy" and len(vectors) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(vectors[i].shape[0] for i in order)
    grids = []
    for i, v in enumerate(vectors):
        axis = order.index(i)
        view = [1] * len(vectors)
        view[axis] = -1
        grids.append(broadcast_to(reshape(v, view), shape))
    return tuple(grids)


def cartesian_prod(*tensors):
    """Every combination of one entry from each vector, one row each (like itertools.product)."""
    vectors = _tensor_list(tensors, "cartesian_prod")
    if len(vectors) == 1:
        return vectors[0]
    grids = meshgrid(*vectors, indexing="ij")
    return stack([flatten(g) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a vector's entries, one row each (itertools order)."""
    input = to_box(input)
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return wrap(xp.zeros((0,), input.dtype))
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = xp.array(list(pick(range(input.shape[0]), r)), dtype=xp.int64).reshape(-1, r)
    return getitem(input, rows)


def block_diag(*tensors):
    """The given matrices on the diagonal of one block matrix (scalars and vectors count as one
    row), zeros elsewhere."""
    blocks = [to_box(t) for t in tensors]
    if not blocks:
        return wrap(xp.zeros((1, 0), xp.float32))
    dtype = xp.result_type(*(b.dtype for b in blocks))
    matrices = []
    for i, b in enumerate(blocks):
        if b.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {b.ndim} dimensions")
        matrices.append(astype(reshape(b, (1, -1)) if b.ndim < 2 else b, dtype))
    width = builtins.sum(m.shape[1] for m in matrices)
    rows, left = [], 0
    for m in matrices:
        rows.append(pad(m, ((0, 0), (left, width - left - m.shape[1]))))
        left += m.shape[1]
    return cat(rows, 0)


# --- at least n dimensions; stacking ---------------------------------------------------------
def _at_least(tensors, shape_of):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = tuple(reshape(t, shape_of(t.shape)) for t in map(to_box, tensors))
    return out[0] if len(out) == 1 else out


def atleast_1d(*tensors):
    return _at_least(tensors, lambda s: s if len(s) >= 1 else (1,))


def atleast_2d(*tensors):
    return _at_least(tensors, lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s)


def atleast_3d(*tensors):
    def shape_of(s):
        return {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s)
    return _at_least(tensors, shape_of)


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def hstack(tensors):
    """Join along the second dimension (the first for vectors)."""
    parts = _as_tuple(atleast_1d(*tensors))
    return cat(parts, 0 if parts[0].ndim == 1 else 1)


def vstack(tensors):
    """Join along the first dimension, vectors becoming rows."""
    return cat(_as_tuple(atleast_2d(*tensors)), 0)


row_stack = vstack


def dstack(tensors):
    """Join along the third dimension."""
    return cat(_as_tuple(atleast_3d(*tensors)), 2)


def column_stack(tensors):
    """Join as columns: vectors (and scalars) become columns, matrices are joined as they are."""
    parts = [to_box(t) for t in tensors]
    return cat([reshape(t, (-1, 1)) if t.ndim < 2 else t for t in parts], 1)

