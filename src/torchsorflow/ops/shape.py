"""Shape primitives: reshape, permute, broadcast and its adjoint ``sum_to``, indexing and its
adjoint, gather/scatter along a dimension, concatenation, tiling, flipping, padding and dtype
casts; and the public functions over them with PyTorch's signatures (``view``-style sizes as
varargs, ``dim`` arguments, ``split``/``chunk``/``unbind``/``narrow``/``movedim`` ...).

Each shape primitive's derivative is another shape primitive (reshape ↔ reshape, broadcast_to ↔
sum_to, getitem ↔ index_scatter_add, gather ↔ scatter_add, tile ↔ a sum, pad ↔ getitem), so
derivatives of any order stay in this file.
"""
from __future__ import annotations

import builtins
import math
import numbers

from ..autodiff.tracer import Box, Primitive, to_box
from ..backend import is_floating, to_dtype, xp
from .arguments import sizes
from .kernels.reduce import sum_axes

__all__ = ["ShapeError", "zeros_like_tensor", "ones_like_tensor", "reshape", "permute",
           "transpose", "swapaxes", "swapdims", "t", "movedim", "moveaxis", "broadcast_to",
           "expand", "broadcast_tensors", "sum_to", "squeeze", "unsqueeze", "flatten",
           "unflatten", "flip", "fliplr", "flipud", "as_index", "getitem", "index_put", "gather",
           "scatter_add", "tile", "repeat", "cat", "concat", "concatenate", "stack", "narrow",
           "split", "chunk", "unbind", "pad", "astype"]

_reshape = Primitive("reshape", lambda x, shape: xp.reshape(x, shape),
                     vjp=(lambda g, ans, x, shape: _reshape(g, shape=x.shape),), linear=(0,))


def _inverse_permutation(axes):
    inverse = [0] * len(axes)
    for i, a in enumerate(axes):
        inverse[a] = i
    return tuple(inverse)


_permute = Primitive("permute", lambda x, axes: xp.transpose(x, axes),
                     vjp=(lambda g, ans, x, axes: _permute(g, axes=_inverse_permutation(axes)),),
                     linear=(0,))


def _sum_to_impl(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and x.shape[lead + i] != 1)
    out = sum_axes(x, axes, keepdims=True) if axes else x
    return xp.reshape(out, shape)


_broadcast_to = Primitive("broadcast_to", lambda x, shape: xp.broadcast_to(x, shape),
                          vjp=(lambda g, ans, x, shape: _sum_to(g, shape=x.shape),), linear=(0,))
_sum_to = Primitive("sum_to", _sum_to_impl,
                    vjp=(lambda g, ans, x, shape: _broadcast_to(g, shape=x.shape),), linear=(0,))


def _has_advanced(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (xp.ndarray, list)) for i in items)


def _scatter_add_impl(g, index, shape):
    out = xp.zeros(shape, dtype=g.dtype)
    if _has_advanced(index):
        xp.add.at(out, index, g)  # repeated indices must add up, which out[index] += g would not
    else:
        out[index] = g
    return out


_getitem = Primitive("getitem", lambda x, index: x[index],
                     vjp=(lambda g, ans, x, index: _scatter_add(g, index=index, shape=x.shape),),
                     linear=(0,))
_scatter_add = Primitive("index_scatter_add", _scatter_add_impl,
                         vjp=(lambda g, ans, x, index, shape: _getitem(g, index=index),),
                         linear=(0,))


def _concat_vjp(g, ans, *xs, axis):
    bounds, start = [], 0
    for x in xs:
        bounds.append((start, start + x.shape[axis]))
        start += x.shape[axis]
    lead = (slice(None),) * axis
    return tuple(_getitem(g, index=lead + (slice(a, b),)) for a, b in bounds)


def _concat_jvp(tangents, ans, *xs, axis):
    """Concatenation is linear in all its arguments together: the tangents concatenated, with
    zeros for arguments that have none."""
    parts = [t if t is not None else zeros_like_tensor(x) for t, x in zip(tangents, xs)]
    return _concatenate(*parts, axis=axis)


_concatenate = Primitive("concatenate", lambda *xs, axis: xp.concatenate(xs, axis=axis),
                         vjp=_concat_vjp, jvp=_concat_jvp, joint_vjp=True, joint_jvp=True)


def _interior(x_shape, pad_width):
    return tuple(slice(before, before + n) for n, (before, _) in zip(x_shape, pad_width))


_pad = Primitive("pad", lambda x, pad_width, value: xp.pad(x, pad_width, constant_values=value),
                 vjp=(lambda g, ans, x, pad_width, value:
                      _getitem(g, index=_interior(x.shape, pad_width)),),
                 jvp=(lambda t, ans, x, pad_width, value: _pad(t, pad_width=pad_width, value=0),))

_astype = Primitive("astype", lambda x, dtype, copy: x.astype(dtype, copy=copy),
                    vjp=(lambda g, ans, x, dtype, copy: _astype(g, dtype=x.dtype, copy=False),),
                    linear=(0,))
_astype_constant = Primitive("astype_constant", lambda x, dtype, copy: x.astype(dtype, copy=copy),
                             differentiable=False)
_zeros_like = Primitive("zeros_like", lambda x: xp.zeros_like(x), differentiable=False)
_ones_like = Primitive("ones_like", lambda x: xp.ones_like(x), differentiable=False)

# flip is its own adjoint (a permutation matrix that is symmetric).
_flip = Primitive("flip", lambda x, axes: xp.flip(x, axes),
                  vjp=(lambda g, ans, x, axes: _flip(g, axes=axes),), linear=(0,))


# --- gather along a dimension and its adjoint ----------------------------------------------------
def _along(index, axis):
    """A full NumPy index that picks ``index`` along ``axis`` and its own position elsewhere
    (broadcasting ranges: far cheaper than ``np.ogrid`` on small arrays)."""
    ndim = index.ndim
    grids = []
    for k, n in enumerate(index.shape):
        if k == axis:
            grids.append(index)
        else:
            grids.append(xp.arange(n).reshape((1,) * k + (n,) + (1,) * (ndim - k - 1)))
    return tuple(grids)


def _gather_impl(x, index, axis):
    return x[_along(index, axis)]   # as fast as take_along_axis on large arrays, 2x on small


def _scatter_add_along_impl(base, src, index, axis):
    out = base.copy()
    xp.add.at(out, _along(index, axis), src)  # repeated indices add up
    return out


_gather = Primitive(
    "gather", _gather_impl,
    vjp=(lambda g, ans, x, index, axis: _scatter_add_along(zeros_like_tensor(x), g, index,
                                                          axis=axis), None),
    linear=(0,))
# out = base + (src added at index along axis): linear in base and src together.
_scatter_add_along = Primitive(
    "scatter_add", _scatter_add_along_impl,
    vjp=(lambda g, ans, base, src, index, axis: g,
         lambda g, ans, base, src, index, axis: _gather(g, index, axis=axis), None),
    jvp=(lambda t, ans, base, src, index, axis: t,
         lambda t, ans, base, src, index, axis: _scatter_add_along(zeros_like_tensor(ans), t, index,
                                                                   axis=axis), None))


# --- writing into a copy: x[index] = v --------------------------------------------------------
def _index_put_impl(x, v, index):
    out = x.copy()
    out[index] = v
    return out


def _index_put_jvp(tangents, ans, x, v, index):
    """Jointly linear in (x, v): the tangents written the same way, zeros where one is missing."""
    tx, tv = tangents
    return _index_put(tx if tx is not None else zeros_like_tensor(x),
                      tv if tv is not None else 0.0, index=index)


_index_put = Primitive(
    "index_put", _index_put_impl,
    vjp=lambda g, ans, x, v, index: (_index_put(g, 0.0, index=index), _getitem(g, index=index)),
    jvp=_index_put_jvp, joint_vjp=True, joint_jvp=True)

# tile's adjoint sums the copies back: reshape to (reps, size) pairs and sum the reps.
def _untile(g, ans, x, reps):
    shape = []
    for r, n in zip(reps, x.shape):
        shape += [r, n]
    return _sum_axes_of(_reshape(g, shape=tuple(shape)), tuple(range(0, 2 * x.ndim, 2)), x.shape)


def _sum_axes_of(g, axes, shape):
    return _reshape(_sum_to(g, shape=tuple(1 if i in axes else n for i, n in enumerate(g.shape))),
                    shape=shape)


_tile = Primitive("tile", lambda x, reps: xp.tile(x, reps), vjp=(_untile,), linear=(0,))


# --- public functions ------------------------------------------------------------------------
class ShapeError(ValueError, RuntimeError):
    """A shape that does not fit: PyTorch raises RuntimeError, NumPy code expects ValueError."""


def zeros_like_tensor(x):
    return _zeros_like(x)


def ones_like_tensor(x):
    return _ones_like(x)


def _resolve_shape(shape, size, op="reshape"):
    if shape.count(-1) > 1:
        raise ShapeError(f"{op}: only one dimension can be inferred (-1), got {list(shape)}")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or size % known:
            raise ShapeError(f"shape '{list(shape)}' is invalid for input of size {size}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    if math.prod(shape) != size or any(s < 0 for s in shape):
        raise ShapeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return shape


def reshape(input, *shape):
    """``reshape(x, (2, 3))`` or ``x.reshape(2, 3)``; one size may be -1."""
    input = to_box(input)
    shape = _resolve_shape(sizes(shape, "reshape"), input._array.size)
    return input if shape == input.shape else _reshape(input, shape=shape)


def _dim(d, ndim, op="dim"):
    """One dimension index, made non-negative; PyTorch's message when out of range."""
    rank = max(ndim, 1)
    if isinstance(d, bool) or not isinstance(d, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {d!r}")
    if not -rank <= d < rank:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-rank}, "
                         f"{rank - 1}], but got {d})")
    return int(d) % rank


def permute(input, *dims):
    input = to_box(input)
    dims = tuple(_dim(d, input.ndim) for d in sizes(dims, "permute"))
    if sorted(dims) != list(range(input.ndim)):
        raise ShapeError(f"permute(sparse_coo): number of dimensions in the tensor input does not "
                         f"match the length of the desired ordering of dimensions i.e. input.dim() "
                         f"= {input.ndim} is not equal to len(dims) = {len(dims)}"
                         if len(dims) != input.ndim else
                         f"permute: {dims} is not a permutation of the {input.ndim} dims of "
                         f"shape {input.shape} (repeated dim)")
    return input if dims == tuple(range(input.ndim)) else _permute(input, axes=dims)


def transpose(input, dim0, dim1):
    """Swap two dimensions (``torch.transpose``); ``swapaxes``/``swapdims`` are the same."""
    input = to_box(input)
    axes = list(range(input.ndim))
    a, b = _dim(dim0, input.ndim), _dim(dim1, input.ndim)
    if a == b or input.ndim < 2:
        return input
    axes[a], axes[b] = axes[b], axes[a]
    return _permute(input, axes=tuple(axes))


swapaxes = swapdims = transpose


def t(input):
    """The transpose of a matrix (a 0-D or 1-D Tensor is returned as it is)."""
    input = to_box(input)
    if input.ndim > 2:
        raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def movedim(input, source, destination):
    input = to_box(input)
    source = [_dim(d, input.ndim) for d in ((source,) if isinstance(source, int) else source)]
    destination = [_dim(d, input.ndim)
                   for d in ((destination,) if isinstance(destination, int) else destination)]
    order = [d for d in range(input.ndim) if d not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return permute(input, order)


moveaxis = movedim


def broadcast_to(input, size):
    input = to_box(input)
    shape = sizes((size,), "broadcast_to")
    shape = tuple(input.shape[i - len(shape) + input.ndim] if s == -1 else s
                  for i, s in enumerate(shape))
    if shape == input.shape:
        return input
    try:
        xp.broadcast_shapes(input.shape, shape)
    except ValueError:
        raise ShapeError(f"The expanded size of the tensor must match the existing size at "
                         f"non-singleton dimensions: cannot broadcast shape {input.shape} to "
                         f"{shape}") from None
    if len(shape) < input.ndim:
        raise ShapeError(f"expand: the number of sizes provided ({len(shape)}) must be greater or "
                         f"equal to the number of dimensions in the tensor ({input.ndim})")
    return _broadcast_to(input, shape=shape)


def expand(input, *size):
    """``x.expand(2, -1, 3)``: a broadcast view; -1 keeps a size."""
    return broadcast_to(input, sizes(size, "expand"))


def broadcast_tensors(*tensors):
    tensors = [to_box(t) for t in tensors]
    shape = xp.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(broadcast_to(t, shape) for t in tensors)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the adjoint of broadcasting, used for every cotangent."""
    x = to_box(x)
    shape = tuple(shape)
    return x if shape == x.shape else _sum_to(x, shape=shape)


def squeeze(input, dim=None):
    """Drop size-1 dimensions: all of them, or those in ``dim`` (an int or a tuple)."""
    input = to_box(input)
    if dim is None:
        return reshape(input, tuple(n for n in input.shape if n != 1))
    dims = {_dim(d, input.ndim) for d in ((dim,) if isinstance(dim, int) else dim)}
    return reshape(input, tuple(n for i, n in enumerate(input.shape)
                                if not (i in dims and n == 1)))


def unsqueeze(input, dim):
    input = to_box(input)
    d = _dim(dim, input.ndim + 1)
    return reshape(input, input.shape[:d] + (1,) + input.shape[d:])


def flatten(input, start_dim=0, end_dim=-1):
    input = to_box(input)
    if input.ndim == 0:
        return reshape(input, (1,))
    start, end = _dim(start_dim, input.ndim), _dim(end_dim, input.ndim)
    if start > end:
        raise ShapeError("flatten() has invalid args: start_dim cannot come after end_dim")
    return reshape(input, input.shape[:start] + (-1,) + input.shape[end + 1:])


def unflatten(input, dim, sizes):
    input = to_box(input)
    d = _dim(dim, input.ndim)
    inner = _resolve_shape(tuple(sizes), input.shape[d], "unflatten")
    return reshape(input, input.shape[:d] + inner + input.shape[d + 1:])


def flip(input, dims):
    input = to_box(input)
    dims = tuple(_dim(d, input.ndim) for d in ((dims,) if isinstance(dims, int) else dims))
    return _flip(input, axes=dims) if dims and input.ndim else input


def fliplr(input):
    return flip(input, 1)


def flipud(input):
    return flip(input, 0)


def _index_arrays(index):
    """Replace Tensors inside an index by their arrays (indices are never differentiated)."""
    if isinstance(index, Box):
        return index._array
    if isinstance(index, tuple):
        return tuple(i._array if isinstance(i, Box) else i for i in index)
    return index


def as_index(index):
    """A NumPy index from a PyTorch one: Tensors and lists of ints become arrays."""
    index = _index_arrays(index)
    if isinstance(index, list):
        return xp.asarray([i._array if isinstance(i, Box) else i for i in index])
    if isinstance(index, tuple):
        return tuple(xp.asarray(i) if isinstance(i, list) else i for i in index)
    return index


def getitem(input, index):
    if type(index) in (int, slice):  # the common fast path: no conversion needed
        return _getitem(input, index=index)
    return _getitem(to_box(input), index=as_index(index))


def index_put(input, index, values):
    """A copy of ``input`` with ``values`` written at ``index`` (the value of ``x[index] = v``)."""
    return _index_put(to_box(input), values, index=as_index(index))


def _gather_index(input, dim, index):
    index = to_box(index)
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"gather(): Expected dtype int64 for index, got {index.dtype}")
    if index.ndim != input.ndim:
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input "
                           f"tensor (index {index.ndim}-D, input {input.ndim}-D)")
    return index._array


def gather(input, dim, index):
    """``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (and so on): values picked along
    ``dim``; the gradient is added back where each value came from."""
    input = to_box(input)
    d = _dim(dim, input.ndim)
    index = _gather_index(input, d, index)
    for k, (i, n) in enumerate(zip(index.shape, input.shape)):
        if k != d and i > n:
            raise RuntimeError(f"Size does not match at dimension {k} expected index "
                               f"{index.shape} to be smaller than self {input.shape} apart from "
                               f"dimension {d}")
    if any(i != n for k, (i, n) in enumerate(zip(index.shape, input.shape)) if k != d):
        # index may cover only part of the other dimensions
        input = getitem(input, tuple(slice(0, n) if k != d else slice(None)
                                     for k, n in enumerate(index.shape)))
    return _gather(input, index, axis=d)




def scatter_add(input, dim, index, src):
    """``input`` plus ``src`` added at ``index`` along ``dim`` (repeated indices add up)."""
    input, src = to_box(input), to_box(src)
    d = _dim(dim, input.ndim)
    index = _gather_index(input, d, index)
    if src.shape != index.shape:
        src = getitem(src, tuple(slice(0, n) for n in index.shape))
    return _scatter_add_along(input, src, index, axis=d)


def tile(input, dims):
    input = to_box(input)
    reps = sizes((dims,), "tile")
    if len(reps) < input.ndim:
        reps = (1,) * (input.ndim - len(reps)) + reps
    elif len(reps) > input.ndim:
        input = reshape(input, (1,) * (len(reps) - input.ndim) + input.shape)
    return _tile(input, reps=reps)


def repeat(input, *sizes_):
    """``x.repeat(2, 3)``: tile ``x`` that many times along each dimension."""
    reps = sizes(sizes_, "repeat")
    input = to_box(input)
    if len(reps) < input.ndim:
        raise ShapeError("Number of dimensions of repeat dims can not be smaller than number of "
                         "dimensions of tensor")
    return tile(input, reps)


def cat(tensors, dim=0, *, axis=None):
    """Join Tensors along an existing dimension (``concat``/``concatenate`` are the same)."""
    if axis is not None:
        dim = axis
    if isinstance(tensors, Box):
        raise TypeError("cat(): argument 'tensors' must be a tuple or list of Tensors, not Tensor")
    tensors = [to_box(t) for t in tensors]
    if not tensors:
        raise ShapeError("torch.cat(): expected a non-empty list of Tensors")
    ref = tensors[0].shape
    d = _dim(dim, len(ref))
    for i, t in enumerate(tensors):
        mismatch = any(a != b for k, (a, b) in enumerate(zip(t.shape, ref)) if k != d)
        if t.ndim != len(ref) or mismatch:
            raise ShapeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                             f"{ref} but got size {t.shape} for tensor number {i} in the list.")
    if len(tensors) == 1:
        return tensors[0]
    return _concatenate(*tensors, axis=d)


concat = concatenate = cat


def stack(tensors, dim=0, *, axis=None):
    if axis is not None:
        dim = axis
    tensors = [to_box(t) for t in tensors]
    if not tensors:
        raise ShapeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack expects each tensor to be equal size, but got "
                             f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at entry "
                             f"{i}")
    d = _dim(dim, tensors[0].ndim + 1)
    return _concatenate(*[unsqueeze(t, d) for t in tensors], axis=d)


def narrow(input, dim, start, length):
    input = to_box(input)
    d = _dim(dim, input.ndim)
    start = int(start) % input.shape[d] if start < 0 else int(start)
    if start + length > input.shape[d]:
        raise IndexError(f"start ({start}) + length ({length}) exceeds dimension size "
                         f"({input.shape[d]}).")
    return getitem(input, (slice(None),) * d + (slice(start, start + length),))


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed sizes."""
    tensor = to_box(tensor)
    d = _dim(dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        if step <= 0 and n:
            raise ShapeError(f"split_size can only be 0 if dimension size is 0, but got "
                             f"dimension size of {n}")
        lengths = [min(step, n - s) for s in range(0, n, max(step, 1))] or [0]
    else:
        lengths = [int(s) for s in split_size_or_sections]
        if builtins.sum(lengths) != n:
            raise ShapeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                             f"(input tensor's size at dimension {d}), but got split_sizes="
                             f"{lengths}")
    out, start = [], 0
    for length in lengths:
        out.append(getitem(tensor, (slice(None),) * d + (slice(start, start + length),)))
        start += length
    return tuple(out)


def chunk(input, chunks, dim=0):
    """``chunks`` pieces of equal size along ``dim`` (the last may be smaller, as in torch)."""
    input = to_box(input)
    n = input.shape[_dim(dim, input.ndim)]
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    return split(input, max(1, -(-n // chunks)), dim)


def unbind(input, dim=0):
    input = to_box(input)
    d = _dim(dim, input.ndim)
    return tuple(getitem(input, (slice(None),) * d + (i,)) for i in range(input.shape[d]))


def pad(x, pad_width, value=0.0):
    """Constant padding with NumPy's ``pad_width`` convention ((before, after) per dimension);
    :func:`torchsorflow.nn.functional.pad` takes PyTorch's convention."""
    x = to_box(x)
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    pad_width = tuple((int(a), int(b)) for a, b in pad_width)
    if len(pad_width) != x.ndim:
        raise ShapeError(f"pad: pad_width has {len(pad_width)} entries for a {x.ndim}-d Tensor of "
                         f"shape {x.shape}")
    return _pad(x, pad_width=pad_width, value=value)


def astype(x, dtype, copy=False):
    x = to_box(x)
    dtype = to_dtype(dtype)
    if dtype == x.dtype and not copy:
        return x
    if is_floating(dtype) and is_floating(x.dtype):
        return _astype(x, dtype=dtype, copy=copy)
    return _astype_constant(x, dtype=dtype, copy=copy)

