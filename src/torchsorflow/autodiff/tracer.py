"""One tracer for both modes of automatic differentiation.

Every differentiable operation is a :class:`Primitive`: a NumPy forward function plus a
vector-Jacobian rule (reverse mode) and a Jacobian-vector rule (forward mode), written next to each
other in :mod:`torchsorflow.ops`. Calling a primitive goes through :func:`bind`.

*Trace levels.* Each transformation (``grad``, ``jvp``, ...) opens a new :class:`Trace` one level
above the current one and wraps its inputs in *boxed* Tensors whose ``_inner`` is the value one level
down (as in HIPS autograd). ``bind`` finds the highest level among the arguments, unwraps the
arguments boxed at that level, calls itself on the unwrapped values (so lower levels see the
operation too), and lets the top trace box the result: a forward trace attaches a tangent, a reverse
trace attaches a graph node. Because derivative rules are themselves written with primitives, the
work a rule does is seen by the lower traces, so any nesting (jvp of grad, grad of grad of jvp)
works for every primitive with no special code.

Level 0 is PyTorch's eager autograd: a plain Tensor with ``requires_grad=True`` gets a graph node
for each operation it takes part in (unless :func:`no_grad` is active), and ``Tensor.backward()``
walks those nodes.
"""
from __future__ import annotations

import contextlib
import threading
import weakref

from ..tensor import Tensor

__all__ = ["Primitive", "bind", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled",
           "Trace", "Node", "LeafNode", "new_trace", "is_constant"]


class _State(threading.local):
    def __init__(self):
        self.grad_enabled = True
        self.trace_stack = []


_state = _State()


def is_grad_enabled() -> bool:
    return _state.grad_enabled


def is_constant(*values) -> bool:
    """Whether nothing will differentiate a computation on ``values``: no transformation traces
    them and eager autograd would not record them (grad disabled, as in a plain ``backward()``,
    or no Tensor requires grad). Derivative rules use it to take a fused NumPy shortcut, and
    fall back to differentiable primitives under ``create_graph=True`` or nested transforms."""
    for v in values:
        if isinstance(v, Tensor) and (v._trace is not None or (
                v.requires_grad and _state.grad_enabled)):
            return False
    return True


@contextlib.contextmanager
def set_grad_enabled(mode: bool):
    previous = _state.grad_enabled
    _state.grad_enabled = bool(mode)
    try:
        yield
    finally:
        _state.grad_enabled = previous


class no_grad(contextlib.ContextDecorator):
    """Stop eager (level-0) autograd from recording, like ``torch.no_grad``.

    Functional transformations (``grad``, ``jvp`` ...) are unaffected: they are explicit requests
    for derivatives, so turning them off implicitly would only hide bugs.
    """

    def __enter__(self):
        self._previous = _state.grad_enabled
        _state.grad_enabled = False

    def __exit__(self, *exc):
        _state.grad_enabled = self._previous
        return False


class enable_grad(no_grad):
    def __enter__(self):
        self._previous = _state.grad_enabled
        _state.grad_enabled = True


class Primitive:
    """An operation with its forward function and both derivative rules side by side.

    ``impl(*arrays, **params)`` computes on NumPy arrays. ``vjp`` is either a tuple with one rule per
    argument, ``rule(g, ans, *args, **params) -> cotangent``, or (``joint_vjp=True``) one function
    returning a tuple of cotangents for all arguments. ``jvp`` likewise: per-argument rules
    ``rule(t, ans, *args, **params) -> output tangent`` whose results are summed, or one joint rule
    ``rule(tangents, ans, *args, **params)`` with ``None`` for arguments without a tangent. A rule
    may be ``None`` for an argument that is never differentiable (an index, a condition). Rules see
    Tensors and must compute with primitives, never with NumPy directly, so that they can be
    differentiated again.

    A cotangent or tangent may come back with a broadcast shape or another dtype: the tracer (not
    each rule) sums it back to the argument's shape and casts it, in one place.
    """

    __slots__ = ("name", "impl", "vjp", "jvp", "joint_vjp", "joint_jvp", "differentiable")

    def __init__(self, name, impl, vjp=None, jvp=None, *, joint_vjp=False, joint_jvp=False,
                 differentiable=True):
        self.name = name
        self.impl = impl
        self.vjp = vjp
        self.jvp = jvp
        self.joint_vjp = joint_vjp
        self.joint_jvp = joint_jvp
        self.differentiable = differentiable

    def __call__(self, *args, **params):
        return bind(self, args, params)

    def __repr__(self):
        return f"<primitive {self.name}>"


class Trace:
    """A level of differentiation. Subclasses decide what a boxed result carries."""

    __slots__ = ("level", "active")

    def __init__(self, level):
        self.level = level
        self.active = True

    def process(self, prim, args, inner_args, out_inner, params):  # pragma: no cover - abstract
        raise NotImplementedError


@contextlib.contextmanager
def new_trace(trace_class):
    """Open a trace one level above the innermost active one."""
    stack = _state.trace_stack
    trace = trace_class(len(stack) + 1)
    stack.append(trace)
    try:
        yield trace
    finally:
        stack.pop()
        trace.active = False


class LeafNode:
    """Where a reverse sweep deposits the cotangent of an input.

    For an eager leaf Tensor it accumulates into ``tensor.grad``; for a functional transform's
    input it simply stores the total cotangent in ``self.cotangent``.
    """

    __slots__ = ("tensor", "cotangent", "__weakref__")

    def __init__(self, tensor=None):
        self.tensor = tensor
        self.cotangent = None


class Node:
    """One recorded application of a primitive in a reverse-mode graph.

    ``parents`` holds ``(argument index, parent node)`` pairs for the arguments that need a
    gradient. At level 0 the output Tensor is kept through a weak reference plus its array, so a
    Tensor and its own node never form a reference cycle and graphs are freed as soon as they are
    dropped; at higher levels ``ans`` is the (lower-level) output itself.
    """

    __slots__ = ("prim", "args", "params", "parents", "ans", "ans_array", "__weakref__")

    def __init__(self, prim, args, params, parents, ans, ans_array=None):
        self.prim = prim
        self.args = args
        self.params = params
        self.parents = parents
        self.ans = ans
        self.ans_array = ans_array

    def answer(self):
        if self.ans_array is None:
            return self.ans
        tensor = self.ans()
        return tensor if tensor is not None else Tensor._wrap(self.ans_array)

    def free(self):
        self.args = None
        self.ans = None
        self.ans_array = None


def _eval_eager(prim, args, params):
    arrays = [a._array if isinstance(a, Tensor) else a for a in args]
    try:
        result = Tensor._wrap(prim.impl(*arrays, **params))
    except ValueError as error:
        shapes = " and ".join(str(getattr(a, "shape", type(a).__name__)) for a in arrays)
        raise ValueError(f"{prim.name}: cannot apply to shapes {shapes}: {error}") from None
    if not (_state.grad_enabled and prim.differentiable):
        return result
    parents = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad:
            parents.append((i, a._node if a._node is not None else LeafNode(a)))
    if parents:
        result._node = Node(prim, tuple(args), params, tuple(parents),
                            weakref.ref(result), result._array)
        result.requires_grad = True
    return result


def bind(prim, args, params):
    """Apply ``prim`` to ``args``, letting every active trace that sees an argument record it."""
    top = None
    for a in args:
        if isinstance(a, Tensor):
            trace = a._trace
            if trace is not None and (top is None or trace.level > top.level):
                top = trace
    if top is None:
        return _eval_eager(prim, args, params)
    if not prim.differentiable:
        return _eval_eager(prim, [a.primal() if isinstance(a, Tensor) else a for a in args], params)
    if not top.active:
        raise RuntimeError(
            f"{prim.name}: a Tensor boxed by a finished transformation (level {top.level}) was used "
            "after that transformation returned; did a traced value escape through a closure or global?")
    inner_args = []
    for a in args:
        if isinstance(a, Tensor) and a._trace is not None:
            if a._trace is top:
                a = a._inner
            elif a._trace.level == top.level:
                raise RuntimeError(f"{prim.name}: Tensors from two different transformations at "
                                   f"level {top.level} met; a traced value escaped its transformation")
        inner_args.append(a)
    out_inner = bind(prim, inner_args, params)
    return top.process(prim, args, inner_args, out_inner, params)

