"""One tracer for both modes of automatic differentiation.

Every differentiable operation is a :class:`Primitive`: a NumPy forward function plus a
vector-Jacobian rule (reverse mode) and a Jacobian-vector rule (forward mode), declared together
in :mod:`torchsorflow.ops` and entered once in the :func:`registry`. Calling a primitive goes
through :func:`bind`.

*Boxes.* The tracer knows values only as :class:`Box`\\ es: a NumPy array plus what autodiff keeps
about it. :class:`torchsorflow.Tensor` subclasses Box with PyTorch's API and registers itself
(:func:`register_tensor_type`), so the tracer and the primitives never import the Tensor module,
and the Tensor module imports them at its top like any other client (as in HIPS autograd, where
the tracer knows ``Box`` and ``ArrayBox`` registers itself).

*Trace levels.* Each transformation (``grad``, ``jvp``, ...) opens a new :class:`Trace` one level
above the current one and wraps its inputs in boxes whose ``_inner`` is the value one level down.
``bind`` finds the highest level among the arguments, unwraps the arguments boxed at that level,
calls itself on the unwrapped values (so lower levels see the operation too), and lets the top
trace box the result: a forward trace attaches a tangent, a reverse trace attaches a graph node.
Because derivative rules are themselves written with primitives, the work a rule does is seen by
the lower traces, so any nesting (jvp of grad, grad of grad of jvp) works for every primitive with
no special code.

Level 0 is PyTorch's eager autograd: a plain Tensor with ``requires_grad=True`` gets a graph node
for each operation it takes part in (unless :func:`no_grad` is active), and ``Tensor.backward()``
walks those nodes.
"""
from __future__ import annotations

import contextlib
import threading
import types
import weakref

import numpy as np

from ..backend import as_array

__all__ = ["Box", "Primitive", "bind", "no_grad", "enable_grad", "is_grad_enabled",
           "set_grad_enabled", "Trace", "Node", "LeafNode", "new_trace", "is_constant",
           "register_tensor_type", "registry", "wrap", "to_box", "check_versions"]


# --- boxes -------------------------------------------------------------------------------------
class Box:
    """A value as the tracer sees it.

    ``_array`` is always the concrete innermost NumPy array, so shape, dtype and printing never
    unwrap anything. At level 0 (eager autograd) ``_requires_grad``, ``grad`` and ``_node`` hold
    PyTorch's state. Boxed by a transformation, ``_trace`` is that level, ``_inner`` the value one
    level down, and ``_node`` (reverse) or ``_tangent`` (forward) what the level attaches.
    ``_version`` counts in-place changes, so a graph can tell that a value it saved has changed.
    """

    __slots__ = ("_array", "_trace", "_inner", "_node", "_tangent", "_requires_grad", "grad",
                 "_retains_grad", "_version", "__weakref__")


_tensor_type = Box  # the concrete class boxes are made of; torchsorflow.tensor registers Tensor


def register_tensor_type(cls):
    """Make the tracer build its values as ``cls`` (a subclass of :class:`Box`)."""
    global _tensor_type
    if not issubclass(cls, Box):
        raise TypeError(f"register_tensor_type: {cls.__name__} is not a subclass of Box")
    _tensor_type = cls
    return cls


def wrap(array):
    """A constant Tensor around a NumPy array (no copy, no conversion, no autodiff state)."""
    t = object.__new__(_tensor_type)
    t._array = array if type(array) is np.ndarray else np.asarray(array)
    t._trace = t._inner = t._node = t._tangent = t.grad = None
    t._requires_grad = t._retains_grad = False
    t._version = 0
    return t


def box(inner, trace, node=None, tangent=None):
    """``inner`` boxed by ``trace``, carrying a graph ``node`` or a ``tangent``."""
    t = object.__new__(_tensor_type)
    t._array = inner._array
    t._inner = inner
    t._trace = trace
    t._node = node
    t._tangent = tangent
    t.grad = None
    t._requires_grad = t._retains_grad = False
    t._version = 0
    return t


def to_box(value):
    """``value`` itself if it is a Tensor, else a new Tensor made from it (PyTorch's dtype
    rules)."""
    return value if isinstance(value, Box) else wrap(as_array(value))


def primal(value):
    """The level-0 value under every transformation's box (no tangents, no graph levels)."""
    while value._trace is not None:
        value = value._inner
    return value


# --- grad mode -------------------------------------------------------------------------------
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
        if isinstance(v, Box) and (v._trace is not None or (
                v._requires_grad and _state.grad_enabled)):
            return False
    return True


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn eager autograd on or off, as a context manager, decorator or plain call (torch's)."""

    def __init__(self, mode: bool):
        self._previous = _state.grad_enabled
        self.mode = bool(mode)
        _state.grad_enabled = self.mode

    def __call__(self, func):  # used as a decorator: leave the mode as it was until called
        _state.grad_enabled = self._previous
        return super().__call__(func)

    def __enter__(self):
        _state.grad_enabled = self.mode

    def __exit__(self, *exc):
        _state.grad_enabled = self._previous
        return False


class no_grad(contextlib.ContextDecorator):
    """Stop eager (level-0) autograd from recording, like ``torch.no_grad``.

    Functional transformations (``grad``, ``jvp`` ...) are unaffected: they are explicit requests
    for derivatives, so turning them off implicitly would only hide bugs.
    """

    mode = False

    def __enter__(self):
        self._previous = _state.grad_enabled
        _state.grad_enabled = self.mode

    def __exit__(self, *exc):
        _state.grad_enabled = self._previous
        return False


class enable_grad(no_grad):
    mode = True


class inference_mode(no_grad):
    """``torch.inference_mode``: here the same as :class:`no_grad`."""

    def __init__(self, mode=True):
        self.mode = not mode


# --- primitives and their registry ------------------------------------------------------------
_REGISTRY: dict[str, Primitive] = {}


def registry() -> dict[str, Primitive]:
    """Every primitive by name, in the order they were declared (a copy)."""
    return dict(_REGISTRY)


class Primitive:
    """An operation with its forward function and both derivative rules side by side.

    ``impl(*arrays, **params)`` computes on NumPy arrays. ``vjp`` is either a tuple with one rule
    per argument, ``rule(g, ans, *args, **params) -> cotangent``, or (``joint_vjp=True``) one
    function returning a tuple of cotangents for all arguments. ``jvp`` likewise: per-argument rules
    ``rule(t, ans, *args, **params) -> output tangent`` whose results are summed, or one joint rule
    ``rule(tangents, ans, *args, **params)`` with ``None`` for arguments without a tangent. A rule
    may be ``None`` for an argument that is never differentiable (an index, a condition). Rules see
    Tensors and must compute with primitives, never with NumPy directly, so that they can be
    differentiated again.

    Two declarations spare writing a derivative twice:

    * ``linear=(i, j, ...)``: the primitive is linear in each of those arguments, the others held
      fixed (``matmul`` is ``linear=(0, 1)``; a layer with a bias is affine, not linear), so its
      forward rule is the primitive applied to the tangent in place of the argument (autograd's
      ``def_linear``); only ``vjp`` is written.
    * ``symmetric=True``: each argument's Jacobian is symmetric (element-wise maps, up to
      broadcasting; softmax), so the vjp rules serve as jvp rules (autograd's
      ``defjvp(f, "same")`` idea). Element-wise primitives are declared from one partial
      derivative per argument (:func:`torchsorflow.ops.elementwise.elementwise`).

    A cotangent or tangent may come back with a broadcast shape or another dtype: the tracer (not
    each rule) sums it back to the argument's shape and casts it, in one place.

    Every primitive enters the :func:`registry` under its ``name``, which must be new.
    """

    __slots__ = ("name", "impl", "vjp", "jvp", "joint_vjp", "joint_jvp", "differentiable",
                 "linear", "__weakref__")

    def __init__(self, name, impl, vjp=None, jvp=None, *, joint_vjp=False, joint_jvp=False,
                 differentiable=True, linear=(), symmetric=False):
        if name in _REGISTRY:
            raise ValueError(f"Primitive: the name {name!r} is already registered")
        if symmetric and (linear or jvp is not None):
            raise ValueError(f"Primitive {name}: symmetric=True takes its jvp rules from vjp")
        self.name = name
        self.impl = impl
        self.vjp = vjp
        self.linear = tuple(linear)
        if linear:
            jvp = _linear_jvp(self, jvp)
        elif symmetric:
            jvp, joint_jvp = vjp, joint_vjp
        self.jvp = jvp
        self.joint_vjp = joint_vjp
        self.joint_jvp = joint_jvp
        self.differentiable = differentiable
        _REGISTRY[name] = self

    def __call__(self, *args, **params):
        for a in args:  # bind()'s first step, inlined: most calls are eager
            if isinstance(a, Box) and a._trace is not None:
                return bind(self, args, params)
        return _eval_eager(self, args, params)

    def __get__(self, instance, owner=None):
        """As a class attribute of Tensor, a primitive is a method: ``x.exp()`` is ``exp(x)``."""
        return self if instance is None else types.MethodType(self, instance)

    def __repr__(self):
        return f"<primitive {self.name}>"


def _linear_jvp(prim, others):
    """Forward rules for the arguments ``prim`` is linear in, f(.., ṫ, ..), next to the
    explicit rules ``others`` for its remaining arguments (a bias, say)."""
    def rule_for(i):
        def rule(t, ans, *args, **params):
            return prim(*args[:i], t, *args[i + 1:], **params)
        return rule

    rules = list(others or ())
    rules += [None] * (max(prim.linear) + 1 - len(rules))
    for i in prim.linear:
        if rules[i] is not None:
            raise ValueError(f"Primitive {prim.name}: argument {i} is declared linear and also "
                             "has a jvp rule")
        rules[i] = rule_for(i)
    return tuple(rules)


# --- traces and graphs -------------------------------------------------------------------------
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
    gradient; ``versions`` the in-place version of each Tensor argument when it was recorded. At
    level 0 the output Tensor is kept through a weak reference plus its array, so a Tensor and its
    own node never form a reference cycle and graphs are freed as soon as they are dropped; at
    higher levels ``ans`` is the (lower-level) output itself.
    """

    __slots__ = ("prim", "args", "params", "parents", "ans", "ans_array", "versions",
                 "ans_version", "__weakref__")

    def __init__(self, prim, args, params, parents, ans, ans_array=None):
        self.prim = prim
        self.args = args
        self.params = params
        self.parents = parents
        self.ans = ans
        self.ans_array = ans_array
        self.versions = tuple([a._version if isinstance(a, Box) else None for a in args])
        self.ans_version = 0

    def answer(self):
        if self.ans_array is None:
            return self.ans
        tensor = self.ans()
        return tensor if tensor is not None else wrap(self.ans_array)

    def free(self):
        self.args = None
        self.ans = None
        self.ans_array = None


def _modified(node, value, what, version):
    kind = {"f": "Float", "i": "Long", "u": "Byte", "b": "Bool"}.get(value.dtype.kind, "")
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{kind}Tensor {list(value.shape)}], which is {what} of {node.prim.name}, "
        f"is at version {value._version}; expected version {version} instead. Hint: the "
        "operation that changed it ran after the graph was recorded; change a copy "
        "(x.clone()) or record the graph after the change.")


def check_versions(node):
    """Raise PyTorch's error when a value ``node`` saved (an argument, or its output) was changed
    in place since it was recorded."""
    for i, (arg, version) in enumerate(zip(node.args, node.versions)):
        if version is not None and arg._version != version:
            raise _modified(node, arg, f"argument {i}", version)
    if node.ans_array is not None:
        out = node.ans()
        if out is not None and out._version != node.ans_version:
            raise _modified(node, out, "the output", node.ans_version)


def _eval_eager(prim, args, params):
    """Level 0: compute on the arrays and, if autograd records it, attach a graph node. The hot
    path of every eager operation, so written for speed (one pass over the arguments, ``wrap``
    inlined)."""
    arrays, record = [], False
    for a in args:
        if isinstance(a, Box):
            arrays.append(a._array)
            record = record or a._requires_grad
        else:
            arrays.append(a)
    try:
        out = prim.impl(*arrays, **params)
    except ValueError as error:
        shapes = " and ".join(str(getattr(a, "shape", type(a).__name__)) for a in arrays)
        raise ValueError(f"{prim.name}: cannot apply to shapes {shapes}: {error}") from None
    result = object.__new__(_tensor_type)
    result._array = out if type(out) is np.ndarray else np.asarray(out)
    result._trace = result._inner = result._node = result._tangent = result.grad = None
    result._requires_grad = result._retains_grad = False
    result._version = 0
    if record and prim.differentiable and _state.grad_enabled:
        parents = tuple((i, a._node if a._node is not None else LeafNode(a))
                        for i, a in enumerate(args) if isinstance(a, Box) and a._requires_grad)
        result._node = Node(prim, args, params, parents, weakref.ref(result), result._array)
        result._requires_grad = True
    return result


def bind(prim, args, params):
    """Apply ``prim`` to ``args``, letting every active trace that sees an argument record it."""
    top = None
    for a in args:
        if isinstance(a, Box):
            trace = a._trace
            if trace is not None and (top is None or trace.level > top.level):
                top = trace
    if top is None:
        return _eval_eager(prim, args, params)
    if not prim.differentiable:
        return _eval_eager(prim, [primal(a) if isinstance(a, Box) else a for a in args], params)
    if not top.active:
        raise RuntimeError(
            f"{prim.name}: a Tensor boxed by a finished transformation (level {top.level}) was "
            "used after that transformation returned; did a traced value escape through a "
            "closure or global?")
    inner_args = []
    for a in args:
        if isinstance(a, Box) and a._trace is not None:
            if a._trace is top:
                a = a._inner
            elif a._trace.level == top.level:
                raise RuntimeError(f"{prim.name}: Tensors from two different transformations at "
                                   f"level {top.level} met; a traced value escaped its "
                                   "transformation")
        inner_args.append(a)
    out_inner = bind(prim, inner_args, params)
    return top.process(prim, args, inner_args, out_inner, params)
