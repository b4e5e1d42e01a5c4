"""Functional transformations with torch.func / JAX names and argument order.

``vjp`` and ``jvp`` are the two building blocks: each opens one trace level. Everything else is
composed from them — ``grad`` is a ``vjp`` seeded with 1, ``jacrev`` one ``vjp`` per output
element, ``jacfwd`` one ``jvp`` per input element, ``hessian`` is ``jacfwd(jacrev(f))`` and ``hvp``
is forward-over-reverse, ``jvp(grad(f))``, which costs a small constant times one gradient.

>>> import torchsorflow as tsf
>>> from torchsorflow.func import grad, hvp
>>> f = lambda x: (x ** 3).sum()
>>> x = tsf.tensor([1.0, 2.0])
>>> grad(f)(x)
tensor([ 3., 12.])
>>> hvp(f, x, tsf.tensor([1.0, 0.0]))
tensor([6., 0.])
"""
from __future__ import annotations

import numpy as np

from ..ops.shape import reshape, stack
from . import pytree
from .forward import ForwardTrace
from .reverse import ReverseTrace, backpropagate
from .tracer import Box, LeafNode, box, new_trace, to_box, wrap

_to_tensor = to_box


def _is_boxed_by(x, trace):
    return isinstance(x, Box) and x._trace is trace


def _unbox(x, trace):
    return x._inner if _is_boxed_by(x, trace) else x


def _zeros_like(x):
    return wrap(np.zeros(x.shape, dtype=x.dtype))


def vjp(func, *primals, has_aux=False):
    """Evaluate ``func(*primals)`` and return ``(output, vjp_fn)`` (plus ``aux`` with ``has_aux``).

    ``vjp_fn(cotangent)`` returns a tuple with one cotangent per primal; it may be called many
    times (the graph is kept until ``vjp_fn`` is dropped).
    """
    leaves, spec = pytree.flatten(primals)
    leaves = [_to_tensor(x) for x in leaves]
    with new_trace(ReverseTrace) as trace:
        inputs = [LeafNode() for _ in leaves]
        boxed = [box(x, trace, node=n) for x, n in zip(leaves, inputs)]
        result = func(*pytree.unflatten(spec, boxed))
        out, aux = result if has_aux else (result, None)
        out_leaves, out_spec = pytree.flatten(out)
        out_nodes = [o._node if _is_boxed_by(o, trace) else None for o in out_leaves]
        out_values = [_to_tensor(_unbox(o, trace)) for o in out_leaves]
        aux = pytree.tree_map(lambda a: _unbox(a, trace), aux)

    def vjp_fn(cotangents):
        ct_leaves, _ = pytree.flatten(cotangents)
        if len(ct_leaves) != len(out_values):
            raise ValueError(f"vjp_fn: expected {len(out_values)} cotangents, got {len(ct_leaves)}")
        roots, seeds = [], []
        for node, ct, value in zip(out_nodes, ct_leaves, out_values):
            ct = _to_tensor(ct)
            if ct.shape != value.shape:
                raise ValueError(f"vjp_fn: cotangent of shape {ct.shape} for an output of shape "
                                 f"{value.shape}")
            if node is not None:
                roots.append(node)
                seeds.append(ct)
        for leaf in inputs:
            leaf.cotangent = None
        if roots:
            backpropagate(roots, seeds, retain_graph=True)
        grads = [leaf.cotangent if leaf.cotangent is not None else _zeros_like(x)
                 for leaf, x in zip(inputs, leaves)]
        for leaf in inputs:
            leaf.cotangent = None
        return tuple(pytree.unflatten(spec, grads))

    output = pytree.unflatten(out_spec, out_values)
    return (output, vjp_fn, aux) if has_aux else (output, vjp_fn)


def jvp(func, primals, tangents, has_aux=False):
    """Push ``tangents`` forward through ``func`` in one pass: returns ``(output, output_tangent)``."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples, as in torch.func.jvp")
    leaves, spec = pytree.flatten(tuple(primals))
    t_leaves, _ = pytree.flatten(tuple(tangents))
    if len(t_leaves) != len(leaves):
        raise ValueError(f"jvp: {len(leaves)} primals but {len(t_leaves)} tangents")
    leaves = [_to_tensor(x) for x in leaves]
    t_leaves = [_to_tensor(t) for t in t_leaves]
    for i, (x, t) in enumerate(zip(leaves, t_leaves)):
        if x.shape != t.shape:
            raise ValueError(f"jvp: tangent {i} has shape {t.shape} but its primal has shape {x.shape}")
    with new_trace(ForwardTrace) as trace:
        boxed = [box(x, trace, tangent=t if t.dtype == x.dtype else t.astype(x.dtype))
                 for x, t in zip(leaves, t_leaves)]
        result = func(*pytree.unflatten(spec, boxed))
        out, aux = result if has_aux else (result, None)
        out_leaves, out_spec = pytree.flatten(out)
        values = [_to_tensor(_unbox(o, trace)) for o in out_leaves]
        out_tangents = [o._tangent if _is_boxed_by(o, trace) else _zeros_like(v)
                        for o, v in zip(out_leaves, values)]
        aux = pytree.tree_map(lambda a: _unbox(a, trace), aux)
    pair = (pytree.unflatten(out_spec, values), pytree.unflatten(out_spec, out_tangents))
    return pair + (aux,) if has_aux else pair


def _select(args, argnums):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not -len(args) <= n < len(args):
            raise ValueError(f"argnums {n} is out of range for a function called with {len(args)} "
                             "positional arguments")
    nums = tuple(n % len(args) for n in nums)

    def call_with(func, diff_args):
        full = list(args)
        for n, value in zip(nums, diff_args):
            full[n] = value
        return func(*full)

    return nums, call_with


def value_and_grad(func, argnums=0, has_aux=False):
    """Return a function computing ``(func(*args), gradient)`` for a scalar-valued ``func``."""
    def wrapper(*args):
        nums, call_with = _select(args, argnums)
        result = vjp(lambda *d: call_with(func, d), *(args[n] for n in nums), has_aux=has_aux)
        out, vjp_fn = result[0], result[1]
        if not isinstance(out, Box) or out._array.size != 1:
            shape = getattr(out, "shape", type(out).__name__)
            raise RuntimeError(f"grad requires a function returning a scalar Tensor, got {shape}")
        grads = vjp_fn(wrap(np.ones(out.shape, dtype=out.dtype)))
        grads = grads[0] if isinstance(argnums, int) else grads
        return ((out, result[2]) if has_aux else out), grads

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of a scalar-valued ``func`` with respect to argument(s) ``argnums``."""
    value_and_grad_func = value_and_grad(func, argnums, has_aux)

    def wrapper(*args):
        (value, grads) = value_and_grad_func(*args)
        return (grads, value[1]) if has_aux else grads

    return wrapper


def hvp(func, primals, tangents):
    """Hessian-vector product by forward-over-reverse: ``jvp(grad(func), primals, tangents)``.

    ``primals``/``tangents`` may be single Tensors or tuples (one entry per argument of ``func``).
    """
    single = not isinstance(primals, (tuple, list))
    primals = (primals,) if single else tuple(primals)
    tangents = (tangents,) if single else tuple(tangents)
    argnums = tuple(range(len(primals)))
    _, product = jvp(grad(func, argnums=argnums), primals, tangents)
    return product[0] if single else product


def _one_hot(index, shape, dtype):
    basis = np.zeros(int(np.prod(shape)), dtype=dtype)
    basis[index] = 1
    return wrap(basis.reshape(shape))


def jacrev(func, argnums=0):
    """Jacobian by reverse mode: one ``vjp`` per output element. Shape: output.shape + input.shape."""
    def wrapper(*args):
        nums, call_with = _select(args, argnums)
        out, vjp_fn = vjp(lambda *d: call_with(func, d), *(args[n] for n in nums))
        rows = [vjp_fn(_one_hot(k, out.shape, out.dtype)) for k in range(out._array.size)]
        jacobians = []
        for i, n in enumerate(nums):
            x = _to_tensor(args[n])
            if rows:
                stacked = stack([r[i] for r in rows])
            else:
                stacked = _zeros_like(wrap(np.zeros((0,) + x.shape, x.dtype)))
            jacobians.append(reshape(stacked, out.shape + x.shape))
        return jacobians[0] if isinstance(argnums, int) else tuple(jacobians)

    return wrapper


def jacfwd(func, argnums=0):
    """Jacobian by forward mode: one ``jvp`` per input element. Shape: output.shape + input.shape."""
    def wrapper(*args):
        nums, call_with = _select(args, argnums)
        diff_args = [_to_tensor(args[n]) for n in nums]
        jacobians = []
        for i, x in enumerate(diff_args):
            columns, out = [], None
            for k in range(x._array.size):
                tangents = [_one_hot(k, x.shape, x.dtype) if j == i else _zeros_like(a)
                            for j, a in enumerate(diff_args)]
                out, column = jvp(lambda *d: call_with(func, d), tuple(diff_args), tuple(tangents))
                columns.append(column)
            if out is None:
                out = call_with(func, diff_args)
                jacobians.append(_zeros_like(wrap(np.zeros(out.shape + x.shape, out.dtype))))
                continue
            stacked = stack(columns, dim=-1)
            jacobians.append(reshape(stacked, out.shape + x.shape))
        return jacobians[0] if isinstance(argnums, int) else tuple(jacobians)

    return wrapper


def hessian(func, argnums=0):
    """The Hessian as ``jacfwd(jacrev(func))``, as in torch.func and JAX."""
    return jacfwd(jacrev(func, argnums), argnums)
