"""Shape primitives: reshape, permute, broadcast and its adjoint ``sum_to``, indexing and its
adjoint ``scatter_add``, concatenation, padding and dtype casts.

Each shape primitive's derivative is another shape primitive (reshape ↔ reshape, broadcast_to ↔
sum_to, getitem ↔ scatter_add, pad ↔ getitem), so derivatives of any order stay in this file.
"""
from __future__ import annotations

import math

from ..autodiff.tracer import Box, Primitive, to_box
from ..backend import is_floating, xp
from .kernels.reduce import sum_axes

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


# --- public functions ------------------------------------------------------------------------
def zeros_like_tensor(x):
    return _zeros_like(x)


def ones_like_tensor(x):
    return _ones_like(x)


def _resolve_shape(shape, size, op="reshape"):
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise ValueError(f"{op}: only one dimension can be -1, got {shape}")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or size % known:
            raise ValueError(f"{op}: shape {shape} is invalid for input of size {size}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    if math.prod(shape) != size:
        raise ValueError(f"{op}: shape {shape} is invalid for input of size {size}")
    return shape


def reshape(x, shape):
    x = to_box(x)
    shape = _resolve_shape(shape, x._array.size)
    return x if shape == x.shape else _reshape(x, shape=shape)


def permute(x, axes):
    x = to_box(x)
    axes = tuple(a % x.ndim for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} dims of shape {x.shape}")
    return _permute(x, axes=axes)


def transpose(x, axes=None):
    x = to_box(x)
    return permute(x, tuple(reversed(range(x.ndim))) if axes is None else axes)


def swapaxes(x, axis0, axis1):
    x = to_box(x)
    axes = list(range(x.ndim))
    axes[axis0], axes[axis1] = axes[axis1], axes[axis0]
    return _permute(x, axes=tuple(axes))


def broadcast_to(x, shape):
    x = to_box(x)
    shape = tuple(shape)
    if shape == x.shape:
        return x
    try:
        xp.broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    return _broadcast_to(x, shape=shape)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the adjoint of broadcasting, used for every cotangent."""
    x = to_box(x)
    shape = tuple(shape)
    return x if shape == x.shape else _sum_to(x, shape=shape)


def squeeze(x, axis=None):
    x = to_box(x)
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = {a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))


def unsqueeze(x, axis):
    x = to_box(x)
    axis = axis % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def flatten(x, start_dim=0, end_dim=-1):
    x = to_box(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = start_dim % x.ndim, end_dim % x.ndim
    return reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:])


def _index_arrays(index):
    """Replace Tensors inside an index by their arrays (indices are never differentiated)."""
    if isinstance(index, Box):
        return index._array
    if isinstance(index, tuple):
        return tuple(i._array if isinstance(i, Box) else i for i in index)
    return index


def getitem(x, index):
    if type(index) in (int, slice):  # the common fast path: no conversion needed
        return _getitem(x, index=index)
    x = to_box(x)
    index = _index_arrays(index)
    if isinstance(index, list):
        index = xp.asarray(index)
    elif isinstance(index, tuple):
        index = tuple(xp.asarray(i) if isinstance(i, list) else i for i in index)
    return _getitem(x, index=index)


def concatenate(tensors, axis=0):
    tensors = [to_box(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: expected a non-empty sequence of Tensors")
    ref = tensors[0].shape
    axis = axis % max(len(ref), 1)
    for i, t in enumerate(tensors):
        if t.ndim != len(ref) or any(a != b for d, (a, b) in enumerate(zip(t.shape, ref)) if d != axis):
            raise ValueError(f"concatenate: Tensor {i} has shape {t.shape}, which does not match "
                             f"shape {ref} of Tensor 0 outside dimension {axis}")
    return _concatenate(*tensors, axis=axis)


def stack(tensors, axis=0):
    tensors = [to_box(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of Tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: Tensor {i} has shape {t.shape} but Tensor 0 has {tensors[0].shape}")
    return concatenate([unsqueeze(t, axis) for t in tensors], axis=axis % (tensors[0].ndim + 1))


def pad(x, pad_width, value=0.0):
    """Constant padding with NumPy's ``pad_width`` convention ((before, after) per dimension)."""
    x = to_box(x)
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    pad_width = tuple((int(a), int(b)) for a, b in pad_width)
    if len(pad_width) != x.ndim:
        raise ValueError(f"pad: pad_width has {len(pad_width)} entries for a {x.ndim}-d Tensor of "
                         f"shape {x.shape}")
    return _pad(x, pad_width=pad_width, value=value)


def astype(x, dtype, copy=False):
    x = to_box(x)
    dtype = xp.dtype(dtype)
    if dtype == x.dtype and not copy:
        return x
    if is_floating(dtype) and is_floating(x.dtype):
        return _astype(x, dtype=dtype, copy=copy)
    return _astype_constant(x, dtype=dtype, copy=copy)
