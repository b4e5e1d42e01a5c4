"""Differentiable collectives: ``torch.distributed.nn.functional`` (and the functional
collectives' ``all_gather_tensor``/``reduce_scatter_tensor``), each one primitive with its rules.

Each rank holds its own copy of the computation, so the derivative of a collective is another
collective, run by every rank in the same order during the backward (or forward-mode) sweep:

========================  =====================================  ===============================
forward  y                 reverse: cotangent of the input        forward: tangent of y
========================  =====================================  ===============================
all_reduce SUM            all_reduce(ḡ, SUM)                     all_reduce(ẋ, SUM)
all_reduce AVG            all_reduce(ḡ, AVG)                     all_reduce(ẋ, AVG)
all_reduce MAX / MIN      [x = y] · all_reduce(ḡ, SUM) / #ties   all_reduce([x = y] ẋ, SUM) / #ties
all_gather (concatenate)  reduce_scatter(ḡ, SUM)                 all_gather(ẋ)
reduce_scatter SUM / AVG  all_gather(ḡ) (/ world size for AVG)   reduce_scatter(ẋ)
broadcast from src        all_reduce(ḡ, SUM) on src, 0 elsewhere broadcast(ẋ)
========================  =====================================  ===============================

The rules are written with these same primitives, so they can be differentiated again.
Ties of MAX/MIN share the gradient equally, as ``amax`` does.
"""
from __future__ import annotations

from ... import ops
from ...autodiff.tracer import Primitive
from ...tensor import Tensor
from ..collectives import (
    ReduceOp,
    _reduce_op,
    all_gather_array,
    all_reduce_array,
    broadcast_array,
    reduce_scatter_array,
)
from ..process_group import _default_group
from ...ops.creation import as_tensor

__all__ = ["ReduceOp", "all_reduce", "all_gather", "all_gather_tensor", "reduce_scatter",
           "reduce_scatter_tensor", "broadcast"]


def _differentiable(op, name):
    if op not in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX, ReduceOp.MIN):
        raise RuntimeError(f"{name} with ReduceOp.{op.name} is not differentiable (SUM, AVG, MAX "
                           "and MIN are)")


# --- all_reduce ------------------------------------------------------------------------------
def _share_of_extreme(x, y):
    """[x = y] / (number of ranks holding the extreme), elementwise."""
    mask = ops.astype(ops.equal(x, y), x.dtype)
    return ops.div(mask, _all_reduce(mask, op=ReduceOp.SUM))


def _all_reduce_vjp(g, ans, x, op):
    _differentiable(op, "all_reduce")
    if op in (ReduceOp.SUM, ReduceOp.AVG):
        return _all_reduce(g, op=op)
    return ops.mul(_share_of_extreme(x, ans), _all_reduce(g, op=ReduceOp.SUM))


def _all_reduce_jvp(t, ans, x, op):
    _differentiable(op, "all_reduce")
    if op in (ReduceOp.SUM, ReduceOp.AVG):
        return _all_reduce(t, op=op)
    return _all_reduce(ops.mul(_share_of_extreme(x, ans), t), op=ReduceOp.SUM)


_all_reduce = Primitive("dist_all_reduce", lambda x, op: all_reduce_array(x, op),
                        vjp=(_all_reduce_vjp,), jvp=(_all_reduce_jvp,))


def all_reduce(tensor, op=ReduceOp.SUM, group=None):
    """``op`` over every rank's ``tensor``, as a new Tensor (the input is unchanged)."""
    _default_group(group, "all_reduce")
    return _all_reduce(_as_tensor(tensor), op=_reduce_op(op))


# --- all_gather / reduce_scatter ----------------------------------------------------------------
def _scatter_op(op):
    if op not in (ReduceOp.SUM, ReduceOp.AVG):
        raise RuntimeError(f"reduce_scatter with ReduceOp.{op.name} is not differentiable (SUM and "
                           "AVG are)")
    return op


_all_gather = Primitive(
    "dist_all_gather", lambda x, dim: all_gather_array(x, dim),
    vjp=(lambda g, ans, x, dim: _reduce_scatter(g, op=ReduceOp.SUM, dim=dim),), linear=(0,))


def _reduce_scatter_vjp(g, ans, x, op, dim):
    gathered = _all_gather(g, dim=dim)
    if _scatter_op(op) is ReduceOp.AVG:
        gathered = ops.div(gathered, float(_default_group().size))
    return gathered


_reduce_scatter = Primitive(
    "dist_reduce_scatter", lambda x, op, dim: reduce_scatter_array(x, op, dim),
    vjp=(_reduce_scatter_vjp,),
    jvp=(lambda t, ans, x, op, dim: _reduce_scatter(t, op=_scatter_op(op), dim=dim),))


def all_gather_tensor(tensor, gather_dim=0, group=None):
    """Every rank's ``tensor`` concatenated along ``gather_dim`` in rank order."""
    _default_group(group, "all_gather_tensor")
    tensor = _as_tensor(tensor)
    return _all_gather(tensor, dim=_dim(gather_dim, tensor.ndim))


def all_gather(tensor, group=None):
    """A tuple with every rank's ``tensor`` (``torch.distributed.nn.functional.all_gather``)."""
    pg = _default_group(group, "all_gather")
    stacked = _all_gather(ops.unsqueeze(_as_tensor(tensor), 0), dim=0)
    return tuple(stacked[r] for r in range(pg.size))


def reduce_scatter_tensor(tensor, reduceOp="sum", scatter_dim=0, group=None):  # noqa: N803
    """``reduceOp`` over every rank's ``tensor``; rank r gets the r-th of world-size equal chunks
    along ``scatter_dim``."""
    _default_group(group, "reduce_scatter_tensor")
    tensor = _as_tensor(tensor)
    return _reduce_scatter(tensor, op=_reduce_op(reduceOp), dim=_dim(scatter_dim, tensor.ndim))


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None):
    """``op`` over every rank's ``input_list``; rank r gets the reduced ``input_list[r]`` (a new
    Tensor shaped like ``output``, as torch's)."""
    pg = _default_group(group, "reduce_scatter")
    if len(input_list) != pg.size:
        raise ValueError(f"reduce_scatter: input_list must hold {pg.size} Tensors (one per rank), "
                         f"got {len(input_list)}")
    stacked = ops.stack([_as_tensor(t) for t in input_list], 0)
    result = _reduce_scatter(stacked, op=_reduce_op(op), dim=0)
    return ops.reshape(result, tuple(output.shape))


# --- broadcast -------------------------------------------------------------------------------
def _broadcast_vjp(g, ans, x, src):
    total = _all_reduce(g, op=ReduceOp.SUM)
    return total if _default_group().rank == src else ops.mul(total, 0.0)


_broadcast = Primitive("dist_broadcast", lambda x, src: broadcast_array(x, src),
                       vjp=(_broadcast_vjp,), linear=(0,))


def broadcast(tensor, src, group=None):
    """Rank ``src``'s ``tensor`` on every rank, as a new Tensor."""
    _default_group(group, "broadcast")
    return _broadcast(_as_tensor(tensor), src=int(src))


def _as_tensor(x):
    return x if isinstance(x, Tensor) else as_tensor(x)


def _dim(dim, ndim):
    if not -ndim <= dim < max(ndim, 1):
        raise IndexError(f"dim {dim} is out of range for a Tensor with {ndim} dimensions")
    return dim % max(ndim, 1)
