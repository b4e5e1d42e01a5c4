"""Indexing and selection with torch's signatures: ``scatter``/``scatter_reduce``, the ``index_*``
family, ``masked_select``/``masked_scatter``, ``take``/``take_along_dim``/``put``,
``index_put``, ``nonzero``/``argwhere`` and the one-argument ``where``.

Most are compositions of the indexing primitives of :mod:`torchsorflow.ops.shape` (``getitem``
and its adjoint ``index_scatter_add``, ``index_put``, ``gather`` and ``scatter_add``), so their
gradients need no new rule. Two are primitives of their own:

* ``scatter`` writes ``src`` into a copy of ``input`` along a dimension. It is linear in
  (input, src) together: the cotangent of ``input`` is the incoming one with the overwritten
  positions zeroed, that of ``src`` the incoming one gathered at ``index`` (torch's rule, also
  when an index repeats and only one write survives).
* ``scatter_reduce`` with ``amax``/``amin`` sends the gradient of each result evenly to every
  contributor equal to it (``input`` included when ``include_self``), as torch does.

``scatter_reduce`` with ``prod`` groups the contributions of each target into the rows of a
matrix (padded with ones) and takes :func:`torchsorflow.ops.scans.prod` along the rows, whose
gradient is exact with zeros.
"""
from __future__ import annotations

from ..autodiff.tracer import Box, Primitive, to_box, wrap
from ..backend import xp
from .elementwise import add, div, mul
from .elementwise import where as _select
from .scans import _prod
from .shape import (_along, _dim, _gather, _gather_index, _getitem, _scatter_add,
                    _scatter_add_along,
                    as_index, broadcast_to, gather, getitem, index_put as _index_put_copy,
                    reshape, zeros_like_tensor)

__all__ = ["scatter", "scatter_reduce", "index_select", "index_add", "index_copy", "index_fill",
           "index_put", "masked_fill", "masked_select", "masked_scatter", "take",
           "take_along_dim", "put", "nonzero", "argwhere", "where"]


# --- scatter -----------------------------------------------------------------------------------
def _outside(index, size):
    """An entry of ``index`` outside [-size, size), or None."""
    if index.size:
        low, high = index.min(), index.max()
        if high >= size or low < -size:
            return high if high >= size else low
    return None


def _within(op, index, d, size):
    bad = _outside(index, size)
    if bad is not None:
        raise IndexError(f"{op}(): index {bad} is out of bounds for dimension {d} with size "
                         f"{size}")


def _scatter_impl(base, src, index, axis):
    out = base.copy()
    out[_along(index, axis)] = src
    return out


def _scatter_vjp(g, ans, base, src, index, axis):
    return (_scatter(g, zeros_like_tensor(src), index, axis=axis), _gather(g, index, axis=axis),
            None)


def _scatter_jvp(tangents, ans, base, src, index, axis):
    tb, ts = tangents[0], tangents[1]
    return _scatter(tb if tb is not None else zeros_like_tensor(base),
                    ts if ts is not None else zeros_like_tensor(src), index, axis=axis)


_scatter = Primitive("scatter", _scatter_impl, vjp=_scatter_vjp, jvp=_scatter_jvp,
                     joint_vjp=True, joint_jvp=True)


def _check_scatter(op, input, d, index, src):
    """The index array, and ``src`` cut to its shape (torch reads only that corner of src)."""
    index = _gather_index(input, d, index)
    if src is not None and src.ndim != index.ndim:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as src "
                           f"tensor (index {index.ndim}-D, src {src.ndim}-D)")
    for k, n in enumerate(index.shape):
        if (k != d and n > input.shape[k]) or (src is not None and n > src.shape[k]):
            against = f" and to be smaller size than src {list(src.shape)}" if src is not None \
                else ""
            raise RuntimeError(f"{op}(): Expected index {list(index.shape)} to be smaller than "
                               f"self {list(input.shape)} apart from dimension {d}{against}")
    _within(op, index, d, input.shape[d])
    index = index % input.shape[d] if input.shape[d] else index
    if src is not None and src.shape != index.shape:
        src = getitem(src, tuple(slice(0, n) for n in index.shape))
    return index, src


def _source(input, index, src, value):
    """``src`` as a Tensor, or ``value`` filled into the index's shape in the input's dtype."""
    if src is not None and value is not None:
        raise TypeError("scatter(): give src or value, not both")
    if src is None:
        src = value
    if isinstance(src, Box):
        return src
    if src is None:
        raise TypeError("scatter(): missing the src or value argument")
    return wrap(xp.full(index.shape, src, dtype=input.dtype))


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of ``input`` with ``src`` (a Tensor, or a number ``value``) written at ``index``
    along ``dim``: ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``. ``reduce='add'`` or
    ``'multiply'`` combines with the value there instead."""
    input = to_box(input)
    d = _dim(dim, input.ndim)
    index_array = to_box(index)._array
    src = _source(input, index_array, src, value)
    if reduce is not None:
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce!r}")
        return scatter_reduce(input, d, index, src, modes[reduce])
    index_array, src = _check_scatter("scatter", input, d, index, src)
    return _scatter(input, src, index_array, axis=d)


def _scatter_extreme_impl(base, src, index, axis, reduce, include_self):
    out = base.copy()
    where_ = _along(index, axis)
    if not include_self:  # the targets start from the identity of the reduction
        limits = xp.finfo(out.dtype) if out.dtype.kind == "f" else xp.iinfo(out.dtype)
        lowest = -xp.inf if out.dtype.kind == "f" else limits.min
        highest = xp.inf if out.dtype.kind == "f" else limits.max
        out[where_] = lowest if reduce == "amax" else highest
    (xp.maximum if reduce == "amax" else xp.minimum).at(out, where_, src)
    return out


def _extreme_hits(ans, base, src, index, axis, include_self):
    """Constant masks of who attains each result, and how many share it."""
    a, b, s = ans._array, base._array, src._array
    target = xp.zeros(a.shape, bool)
    target[_along(index, axis)] = True
    self_hit = (b == a) & (include_self | ~target)
    src_hit = s == a[_along(index, axis)]
    count = self_hit.astype(a.dtype)
    xp.add.at(count, _along(index, axis), src_hit)
    dtype = a.dtype
    return (wrap(self_hit.astype(dtype)), wrap(src_hit.astype(dtype)),
            wrap(xp.maximum(count, 1)))


def _scatter_extreme_vjp(g, ans, base, src, index, axis, reduce, include_self):
    self_hit, src_hit, count = _extreme_hits(ans, base, src, index, axis, include_self)
    share = div(g, count)
    return mul(share, self_hit), mul(_gather(share, index, axis=axis), src_hit), None


def _scatter_extreme_jvp(tangents, ans, base, src, index, axis, reduce, include_self):
    self_hit, src_hit, count = _extreme_hits(ans, base, src, index, axis, include_self)
    total = zeros_like_tensor(ans)
    if tangents[0] is not None:
        total = add(total, mul(tangents[0], self_hit))
    if tangents[1] is not None:
        total = _scatter_add_along(total, mul(tangents[1], src_hit), index, axis=axis)
    return div(total, count)


_scatter_extreme = Primitive("scatter_reduce_extreme", _scatter_extreme_impl,
                             vjp=_scatter_extreme_vjp, jvp=_scatter_extreme_jvp,
                             joint_vjp=True, joint_jvp=True)


def _targets(input, index, d):
    """A constant bool mask of the positions some index points at."""
    mask = xp.zeros(input.shape, bool)
    mask[_along(index, d)] = True
    return mask


def _scatter_prod(input, src, index, d, include_self):
    """Products per target, from a matrix whose rows hold each target's contributions."""
    flat_targets = xp.ravel_multi_index(tuple(xp.broadcast_to(i, index.shape)
                                              for i in _along(index, d)), input.shape).ravel()
    targets, group, counts = xp.unique(flat_targets, return_inverse=True, return_counts=True)
    order = xp.argsort(group, kind="stable")
    starts = xp.concatenate([[0], xp.cumsum(counts)[:-1]])
    rank = xp.empty_like(order)
    rank[order] = xp.arange(order.size) - starts[group[order]]
    width = int(counts.max(initial=0)) + (1 if include_self else 0)
    table = wrap(xp.ones((targets.size, width), dtype=input.dtype))
    table = _index_put_copy(table, (group, rank), reshape(src, (-1,)))
    flat = reshape(input, (-1,))
    if include_self:
        table = _index_put_copy(table, (xp.arange(targets.size), xp.full(targets.size, width - 1)),
                                getitem(flat, targets))
    products = _prod(table, axis=1, keepdims=False)
    return reshape(_index_put_copy(flat, (targets,), products), input.shape)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """``input`` with the values of ``src`` at ``index`` along ``dim`` reduced into it:
    ``'sum'``, ``'prod'``, ``'mean'``, ``'amax'`` or ``'amin'`` (``include_self=False``: the
    targets' own values are left out of the reduction)."""
    input = to_box(input)
    d = _dim(dim, input.ndim)
    index_array, src = _check_scatter("scatter_reduce", input, d, index, to_box(src))
    if reduce in ("amax", "amin"):
        return _scatter_extreme(input, src, index_array, axis=d, reduce=reduce,
                                include_self=bool(include_self))
    if reduce == "prod":
        return _scatter_prod(input, src, index_array, d, include_self)
    if reduce not in ("sum", "mean"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    base = input if include_self else _scatter(input, zeros_like_tensor(src), index_array, axis=d)
    total = _scatter_add_along(base, src, index_array, axis=d)
    if reduce == "sum":
        return total
    counts = xp.zeros(input.shape, dtype=xp.int64)
    xp.add.at(counts, _along(index_array, d), 1)
    counts = counts + (1 if include_self else 0)
    counts = xp.maximum(counts, 1).astype(input.dtype)
    if input.dtype.kind in "iu":
        return wrap(xp.floor_divide(total._array, counts))
    return div(total, wrap(counts))


# --- index_* along one dimension ------------------------------------------------------------
def _index_vector(op, index, input, d):
    array = to_box(index)._array
    if array.dtype.kind not in "iu":
        raise IndexError(f"{op}(): Expected dtype int32/int64 for index, got {array.dtype}")
    if array.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, got {array.ndim}-D")
    array = array.reshape(-1)
    _within(op, array, d, input.shape[d] if input.ndim else 1)
    return array


def _along_dim(d, index):
    return (slice(None),) * d + (index,)


def index_select(input, dim, index):
    """The slices of ``input`` at ``index`` (a vector) along ``dim``."""
    input = to_box(input)
    d = _dim(dim, input.ndim)
    index = _index_vector("index_select", index, input, d)
    if input.ndim == 0:
        return getitem(reshape(input, (1,)), index)[0] if index.size else input
    return _getitem(input, index=_along_dim(d, index))


def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha·source`` added at ``index`` along ``dim`` (repeated indices add
    up)."""
    input, source = to_box(input), to_box(source)
    d = _dim(dim, input.ndim)
    index = _index_vector("index_add", index, input, d)
    if alpha != 1:
        source = mul(source, alpha)
    return add(input, _scatter_add(source, index=_along_dim(d, index), shape=input.shape))


def index_copy(input, dim, index, source):
    """``input`` with the slices of ``source`` written at ``index`` along ``dim``."""
    input = to_box(input)
    d = _dim(dim, input.ndim)
    index = _index_vector("index_copy", index, input, d)
    return _index_put_copy(input, _along_dim(d, index), source)


def index_fill(input, dim, index, value):
    """``input`` with ``value`` (a number or a 0-d Tensor) written at ``index`` along ``dim``."""
    input = to_box(input)
    d = _dim(dim, input.ndim)
    index = _index_vector("index_fill", index, input, d)
    if isinstance(value, Box) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    if not isinstance(value, Box):
        value = xp.asarray(value, dtype=input.dtype)
    return _index_put_copy(input, _along_dim(d, index), value)


def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``values`` at ``indices`` (a tuple of index Tensors);
    ``accumulate=True`` adds them instead (repeated indices add up)."""
    input = to_box(input)
    index = as_index(tuple(indices))
    if not accumulate:
        return _index_put_copy(input, index, values)
    picked_shape = input._array[index].shape
    values = broadcast_to(to_box(values), picked_shape)
    return add(input, _scatter_add(values, index=index, shape=input.shape))


# --- masks -------------------------------------------------------------------------------------
def _mask(op, mask):
    mask = to_box(mask)
    if mask.dtype != xp.bool_:
        raise RuntimeError(f"{op}: expected a bool mask, got dtype {mask.dtype}")
    return mask._array


def masked_fill(input, mask, value):
    """``value`` where ``mask`` holds, ``input`` elsewhere (the Tensor method, as a function)."""
    return to_box(input).masked_fill(mask, value)


def masked_select(input, mask):
    """The entries of ``input`` where ``mask`` holds (both broadcast), as a vector."""
    input = to_box(input)
    mask = _mask("masked_select", mask)
    shape = xp.broadcast_shapes(input.shape, mask.shape)
    return getitem(broadcast_to(input, shape), xp.broadcast_to(mask, shape))


def masked_scatter(input, mask, source):
    """``input`` with the first entries of ``source``, in order, written where ``mask``
    holds."""
    input, source = to_box(input), to_box(source)
    mask = xp.broadcast_to(_mask("masked_scatter", mask), input.shape)
    count = int(mask.sum())
    if source.numel() < count:
        raise RuntimeError(f"masked_scatter: expected source to have at least {count} elements "
                           f"(the number of True entries in mask), got {source.numel()}")
    return _index_put_copy(input, xp.nonzero(mask), getitem(reshape(source, (-1,)),
                                                            slice(0, count)))


# --- flat indices ---------------------------------------------------------------------------------
def _flat_index(op, index, size):
    array = to_box(index)._array
    if array.dtype.kind not in "iu":
        raise IndexError(f"{op}(): Expected a long tensor for index, but got {array.dtype}")
    bad = _outside(array, size)
    if bad is not None:
        raise IndexError(f"{op}(): out of range: tried to access index {bad} on a tensor of "
                         f"{size} elements.")
    return array


def take(input, index):
    """The entries of ``input`` at flat ``index`` (as if it were one vector), in the index's
    shape."""
    input = to_box(input)
    return getitem(reshape(input, (-1,)), _flat_index("take", index, input.numel()))


def take_along_dim(input, indices, dim=None):
    """Values at ``indices`` along ``dim`` (``input`` and ``indices`` broadcast elsewhere); the
    flat entries when ``dim`` is None."""
    input = to_box(input)
    if dim is None:
        return take(input, reshape(to_box(indices), (-1,)))
    indices = to_box(indices)._array
    d = _dim(dim, input.ndim)
    if indices.ndim != input.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")
    shape_in, shape_ix = list(input.shape), list(indices.shape)
    shape_in[d] = shape_ix[d] = 1
    common = xp.broadcast_shapes(tuple(shape_in), tuple(shape_ix))
    wanted_in = common[:d] + (input.shape[d],) + common[d + 1:]
    wanted_ix = common[:d] + (indices.shape[d],) + common[d + 1:]
    return gather(broadcast_to(input, wanted_in), d, xp.broadcast_to(indices, wanted_ix))


def put(input, index, source, accumulate=False):
    """``input`` with ``source`` written (``accumulate=True``: added) at flat ``index``."""
    input = to_box(input)
    flat = _flat_index("put", index, input.numel()).reshape(-1)
    source = reshape(to_box(source), (-1,))
    if source.shape[0] != flat.size:
        raise RuntimeError(f"put_(): Expected source and index to have the same number of "
                           f"elements, but got source.numel() = {source.shape[0]}, "
                           f"index.numel() = {flat.size}")
    return reshape(index_put(reshape(input, (-1,)), (flat,), source, accumulate), input.shape)


# --- where the entries are non-zero ---------------------------------------------------------------
def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero entries: an (n, ndim) int64 Tensor, or (``as_tuple``) one
    vector per dimension."""
    array = to_box(input)._array
    if as_tuple:
        if array.ndim == 0:
            return (wrap(xp.zeros(int(array != 0), xp.int64)),)
        return tuple(wrap(i.astype(xp.int64)) for i in xp.nonzero(array))
    return wrap(xp.argwhere(array).astype(xp.int64))


def argwhere(input):
    """The indices of the non-zero entries, one row each."""
    return nonzero(input)


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other``; with only ``condition``, its
    non-zero indices (``nonzero(condition, as_tuple=True)``)."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where(): expected where(condition) or where(condition, input, other)")
    return _select(condition, input, other)
