"""Reverse mode: record a graph going forward, sweep cotangents backward.

The same sweep (:func:`backpropagate`) serves PyTorch-style ``Tensor.backward()`` on the eager
graph (level 0) and the functional ``vjp``/``grad`` transforms (a :class:`ReverseTrace` level).
Cotangents are combined with the framework's own ``add`` and computed by rules written with
primitives, so when a lower level is tracing (``create_graph=True``, or ``jvp`` around ``grad``),
the backward sweep itself is recorded and can be differentiated again.
"""
from __future__ import annotations

import weakref
from collections import Counter

import numpy as np

from ..ops.creation import ones_like
from ..ops.shape import astype, sum_to
from .tracer import Box, LeafNode, Node, Trace, box, check_versions, set_grad_enabled, wrap

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
          "after they have already been freed). Saved intermediate values of the graph are freed "
          "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
          "backward through the graph a second time.")


class ReverseTrace(Trace):
    """A functional reverse-mode level: boxed results carry a graph :class:`Node`."""

    __slots__ = ()

    def process(self, prim, args, inner_args, out_inner, params):
        if prim.vjp is None:
            raise NotImplementedError(f"{prim.name}: no reverse-mode (vjp) rule")
        parents = tuple((i, a._node) for i, a in enumerate(args)
                        if isinstance(a, Box) and a._trace is self)
        node = Node(prim, tuple(inner_args), params, parents, out_inner)
        return box(out_inner, self, node=node)


def _parents_of(node):
    if isinstance(node, LeafNode):
        return iter(())
    if node.args is None:
        raise RuntimeError(_FREED)
    return (parent for _, parent in node.parents)


def _topological_order(roots):
    """Nodes reachable from ``roots``, each before all of its parents.

    Iterative depth-first search: a node is appended only once all of its parents are, and the
    reversed list puts every node before its parents, so a node's cotangent is complete before it
    is propagated further.
    """
    order, visited = [], set()
    for root in roots:
        if id(root) in visited:
            continue
        visited.add(id(root))
        stack = [(root, _parents_of(root))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if id(parent) not in visited:
                    visited.add(id(parent))
                    stack.append((parent, _parents_of(parent)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def fit_to(value, like):
    """Sum a cotangent over broadcast dimensions and cast it: the one place broadcasting is
    undone."""
    if value.shape != like.shape:
        value = sum_to(value, like.shape)
    if value.dtype != like.dtype:
        value = astype(value, like.dtype)
    return value


def _parent_cotangents(node, g):
    check_versions(node)
    prim, args, params, ans = node.prim, node.args, node.params, node.answer()
    if prim.joint_vjp:
        all_cts = prim.vjp(g, ans, *args, **params)
        return [(parent, all_cts[i], args[i]) for i, parent in node.parents]
    return [(parent, prim.vjp[i](g, ans, *args, **params), args[i]) for i, parent in node.parents]


def backpropagate(roots, seeds, retain_graph=True, on_leaf=None):
    """Sweep each seed from its root node back to the leaf nodes; return the leaves reached.

    Several roots (a function with several outputs) share one sweep, so shared parts of the graph
    are visited once.

    ``on_leaf(tensor, cotangent, last)``, when given, receives each leaf's cotangent the moment
    the sweep reaches its :class:`LeafNode` -- every consumer of the leaf comes before it, so the
    cotangent is complete there -- instead of it being stored on the node. A Tensor used by
    several operations has one LeafNode per use; ``last`` is true at its last one in this sweep
    (``cotangent`` is ``None`` where nothing flowed to that use).
    """
    order = _topological_order(roots)
    cotangents = {}
    for root, seed in zip(roots, seeds):
        previous = cotangents.get(id(root))
        cotangents[id(root)] = seed if previous is None else previous + seed
    if on_leaf is not None:
        uses = Counter(id(node.tensor) for node in order if isinstance(node, LeafNode))
    leaves = []
    for node in order:
        g = cotangents.pop(id(node), None)
        if on_leaf is not None and isinstance(node, LeafNode):
            uses[id(node.tensor)] -= 1
            on_leaf(node.tensor, g, uses[id(node.tensor)] == 0)
            continue
        if g is None:
            continue
        if isinstance(node, LeafNode):
            node.cotangent = g if node.cotangent is None else node.cotangent + g
            leaves.append(node)
            continue
        if node.ans_array is not None:  # eager node: honour hooks and Tensor.retain_grad()
            output = node.ans()
            if output is not None and _hooks:
                g = _run_grad_hooks(output, g)
            if output is not None and output._retains_grad:
                output.grad = g.detach() if output.grad is None else output.grad + g.detach()
        for parent, ct, arg in _parent_cotangents(node, g):
            if ct is None:
                continue
            ct = fit_to(ct, arg)
            key = id(parent)
            previous = cotangents.get(key)
            cotangents[key] = ct if previous is None else previous + ct
        if not retain_graph:
            node.free()
    return leaves


def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None, *,
             _post_accumulate=True):
    """``Tensor.backward`` with PyTorch's semantics; see :meth:`Tensor.backward`.

    Each leaf's gradient is accumulated into ``.grad`` as soon as the sweep has completed it, and
    its post-accumulate-grad hooks run right then (``torch.autograd.grad`` passes
    ``_post_accumulate=False``: it accumulates nothing, so those hooks must not run).
    """
    if tensor._trace is not None:
        raise RuntimeError("backward() called on a Tensor traced by a functional transformation; "
                           "use torchsorflow.func.grad/vjp inside transformations")
    if not tensor._requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if gradient is None:
        if tensor._array.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs (got a "
                               f"Tensor of shape {tuple(tensor.shape)})")
        gradient = ones_like(tensor)
    elif not isinstance(gradient, Box):
        gradient = wrap(np.asarray(gradient, dtype=tensor.dtype))
    if gradient.shape != tensor.shape:
        raise RuntimeError(f"backward: gradient of shape {tuple(gradient.shape)} does not match "
                           f"the output's shape {tuple(tensor.shape)}")
    if retain_graph is None:
        retain_graph = create_graph
    root = tensor._node if tensor._node is not None else LeafNode(tensor)
    wanted = None if inputs is None else {id(t) for t in inputs}
    pending = {}   # id(leaf) -> its cotangent summed over the uses swept so far

    def accumulate(target, g, last):
        key = id(target)
        if wanted is not None and key not in wanted:
            return
        if g is not None:
            previous = pending.get(key)
            pending[key] = g if previous is None else previous + g
        if not last or key not in pending:
            return
        g = pending.pop(key)
        if _hooks:
            g = _run_grad_hooks(target, g)
        if not create_graph:
            g = g.detach()
        target.grad = g if target.grad is None else target.grad + g
        if _post_accumulate and _hooks:
            _run_post_accumulate_hooks(target)

    with set_grad_enabled(create_graph):
        backpropagate([root], [gradient], retain_graph=retain_graph, on_leaf=accumulate)


def eager_grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
               allow_unused=False):
    """``torch.autograd.grad``: gradients of ``outputs`` w.r.t. ``inputs`` without touching
    ``.grad``."""
    single = isinstance(inputs, Box)
    inputs = (inputs,) if single else tuple(inputs)
    saved = [t.grad for t in inputs]
    for t in inputs:
        t.grad = None
    try:
        backward(outputs, grad_outputs, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs, _post_accumulate=False)
        grads = tuple(t.grad for t in inputs)
    finally:
        for t, g in zip(inputs, saved):
            t.grad = g
    for i, g in enumerate(grads):
        if g is None and not allow_unused:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to not have "
                               "been used in the graph. Set allow_unused=True if this is intended.")
    return grads


# --- Tensor hooks: torch's Tensor.register_hook and register_post_accumulate_grad_hook ----------
# Kept here, keyed by the Tensor's id and dropped when the Tensor dies, rather than on the Tensor:
# a copy of a Tensor (deepcopy of a model) must not inherit hooks, and backward() pays nothing
# while no Tensor has any.
_hooks = {}   # id(tensor) -> _TensorHooks


class _TensorHooks:
    __slots__ = ("grad", "post_accumulate", "ref")

    def __init__(self, tensor):
        key, table = id(tensor), _hooks   # the table itself: at shutdown the global is None
        self.ref = weakref.ref(tensor, lambda _: table.pop(key, None))
        self.grad = {}
        self.post_accumulate = {}


class RemovableHandle:
    """Returned by the ``register_*hook`` methods; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_hook(tensor, hook, kind="grad"):
    """Register ``hook`` on ``tensor``: ``kind="grad"`` runs ``hook(grad)`` when the tensor's
    gradient has been computed (a returned Tensor replaces it); ``"post_accumulate"`` runs
    ``hook(tensor)`` on a leaf right after its gradient was accumulated into ``.grad``."""
    entry = _hooks.get(id(tensor))
    if entry is None or entry.ref() is not tensor:
        entry = _hooks[id(tensor)] = _TensorHooks(tensor)
    table = getattr(entry, kind)
    handle = RemovableHandle(table)
    table[handle.id] = hook
    return handle


def _run_grad_hooks(tensor, g):
    entry = _hooks.get(id(tensor))
    if entry is None or entry.ref() is not tensor:
        return g
    for hook in tuple(entry.grad.values()):
        result = hook(g)
        if result is not None:
            if not isinstance(result, Box) or result.shape != g.shape:
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} returned "
                                   f"{_describe(result)}; a gradient hook must return None or a "
                                   f"Tensor of the gradient's shape {tuple(g.shape)}")
            g = result
    return g


def _run_post_accumulate_hooks(tensor):
    entry = _hooks.get(id(tensor))
    if entry is not None and entry.ref() is tensor:
        for hook in tuple(entry.post_accumulate.values()):
            hook(tensor)


def _describe(value):
    return f"a Tensor of shape {tuple(value.shape)}" if isinstance(value, Box) else \
        f"a {type(value).__name__}"
