"""The eager, PyTorch-like :class:`Tensor`.

A Tensor is a NumPy array plus what autodiff needs to know about it (the state is declared by
:class:`torchsorflow.autodiff.tracer.Box`, which this class extends with PyTorch's API):

* ``requires_grad``/``grad``/``_node`` for PyTorch-style eager reverse mode (level 0);
* ``_trace``/``_inner`` and either ``_node`` (reverse) or ``_tangent`` (forward) when the Tensor is
  *boxed* by a functional transformation such as ``grad`` or ``jvp``;
* ``_version``, the count of in-place changes, which lets a graph notice that a value it saved
  has changed since.

Methods and top-level functions are one implementation: ``x.sum(1)`` *is* ``torchsorflow.sum(x,
1)`` (the :data:`METHODS` table binds the functions of :mod:`torchsorflow.ops` as methods). What is
written here is what only a Tensor has: conversions, in-place updates, indexing, operators.

**In-place updates** (``x.add_(y)``, ``x[i] = v``, ``x += y``) follow PyTorch. Outside autograd they
write into the Tensor's memory, so views and NumPy arrays sharing it see the change. When the
update takes part in autograd (``x`` is part of a graph, or ``y`` requires grad), the new value is
computed out of place from a snapshot of the old one and the Tensor takes over the result's place
in the graph, as PyTorch's in-place ops rebase history. Either way ``_version`` grows, so a graph
that saved the old value refuses to use it (PyTorch's "modified by an inplace operation" error).

>>> import torchsorflow as tsf
>>> x = tsf.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from __future__ import annotations

import copy as _copy
import weakref

import numpy as np

from . import backend, ops
from .autodiff import tracer
from .autodiff.reverse import backward, register_hook
from .autodiff.tracer import Box, is_grad_enabled
from .backend import check_device, to_dtype
from .ops import creation, elementwise as ew, linalg, reductions, shape
from . import sparse
from .ops import (decompositions as dec, einsum as es, indexing, pointwise as pw, products,
                  random as rnd, scans, sorting, statistics as stats, structure)

_INT_FLOAT_ERROR = "only Tensors of floating point dtype can require gradients"
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


class Tensor(Box):
    """A multi-dimensional array with PyTorch's API and automatic differentiation.

    PyTorch's legacy constructor: ``Tensor(2, 3)`` is a new float32 Tensor of that size (zeros),
    ``Tensor(data)`` the data as float32 (``torch.Tensor`` is ``torch.FloatTensor``). Prefer
    :func:`torchsorflow.tensor`, which keeps the data's dtype.
    """

    __slots__ = ()
    __array_priority__ = 1000
    # make NumPy defer to our reflected operators: ndarray * Tensor -> Tensor
    __array_ufunc__ = None

    def __init__(self, *args, dtype=None, requires_grad=False, device=None):
        check_device(device, "Tensor")
        if args and all(type(a) is int for a in args):  # Tensor(2, 3): a size
            array = np.zeros(args, to_dtype(dtype) or backend.default_float)
        elif len(args) == 1:  # Tensor(data): the data in the default float dtype, as torch's
            data = args[0]._array if isinstance(args[0], Box) else args[0]
            array = backend.as_array(data, dtype or backend.default_float)
        elif not args:
            array = np.zeros((0,), to_dtype(dtype) or backend.default_float)
        else:
            raise TypeError(f"Tensor(): expected sizes (ints) or one data argument, got {args!r}")
        self._array = array
        self._trace = self._inner = self._node = self._tangent = self.grad = None
        self._retains_grad = self._requires_grad = False
        self._version = 0
        if requires_grad:
            self.requires_grad_(True)

    # --- construction used by the tracer (no conversion, no checks) -------------------------
    _wrap = staticmethod(tracer.wrap)

    @staticmethod
    def _box(inner, trace, node=None, tangent=None):
        return tracer.box(inner, trace, node=node, tangent=tangent)

    def primal(self) -> Tensor:
        """The level-0 Tensor under every transformation's box (no tangents, no graph levels)."""
        return tracer.primal(self)

    # --- basic properties ---------------------------------------------------------------------
    @property
    def shape(self):
        return self._array.shape

    @property
    def dtype(self):
        return self._array.dtype

    @property
    def ndim(self):
        return self._array.ndim

    @property
    def device(self):
        return backend.CPU

    is_cuda = is_sparse = is_quantized = is_meta = is_mps = False

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return None if self._node is None or self._trace is not None else self._node.prim

    @property
    def data(self):
        """A detached Tensor sharing this one's memory (PyTorch's ``.data``)."""
        return tracer.wrap(self._array)

    @data.setter
    def data(self, value):
        array = value._array if isinstance(value, Box) else np.asarray(value)
        self._array = array

    @property
    def T(self):  # noqa: N802 - PyTorch's name
        return shape.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):  # noqa: N802 - PyTorch's name
        return shape.transpose(self, -2, -1)

    @property
    def itemsize(self):
        return self._array.itemsize

    @property
    def nbytes(self):
        return self._array.nbytes

    def dim(self):
        return self._array.ndim

    ndimension = dim

    def size(self, dim=None):
        if dim is None:
            return self._array.shape
        return self._array.shape[shape._dim(dim, self.ndim)]

    def stride(self, dim=None):
        strides = tuple(s // self._array.itemsize for s in self._array.strides)
        return strides if dim is None else strides[shape._dim(dim, self.ndim)]

    def numel(self):
        return int(self._array.size)

    nelement = numel

    def element_size(self):
        return self._array.itemsize

    def is_contiguous(self, memory_format=None):
        return bool(self._array.flags.c_contiguous)

    def is_floating_point(self):
        return backend.is_floating(self.dtype)

    def is_complex(self):
        return self.dtype.kind == "c"

    def get_device(self):
        return -1

    def data_ptr(self):
        return self._array.ctypes.data

    def numpy(self, *, force=False):
        """The NumPy array this Tensor holds (shared memory, as in PyTorch)."""
        return self._array

    def item(self):
        if self._array.size != 1:
            raise RuntimeError(f"a Tensor with {self._array.size} elements cannot be converted "
                               "to Scalar")
        return self._array.item()

    def tolist(self):
        return self._array.tolist()

    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)

    def __dlpack__(self, *args, **kwargs):
        """Export this Tensor's memory by DLPack (``torch.from_dlpack(t)`` shares it). As in
        PyTorch, a Tensor that requires grad is refused. A view with negative strides (from
        ``flip``), which PyTorch cannot represent, is exported as a copy (unless ``copy=False``)."""
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        array = self._array
        if any(stride < 0 for stride in array.strides):
            if kwargs.get("copy") is False:
                raise BufferError("cannot export a view with negative strides by DLPack without "
                                  "a copy (copy=False); call .contiguous() first")
            array = array.copy()
        return array.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(shape.unbind(self, 0))

    def __contains__(self, element):
        return bool((self._array == (element._array if isinstance(element, Box) else element))
                    .any())

    def __bool__(self):
        if self._array.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._array)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self._array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec):
        return format(self.item(), spec) if self.ndim == 0 and spec else repr(self)

    __hash__ = object.__hash__

    def __repr__(self):
        body = np.array2string(self._array, separator=", ", prefix="tensor(")
        extras = []
        default = self.dtype in (backend.float32, backend.int64, backend.bool_)
        if not default or self._array.size == 0:
            extras.append(f"size={tuple(self.shape)}" if self._array.size == 0 and
                          self.ndim > 1 else "")
            if not default:
                extras.append(f"dtype={self.dtype}")
        if self._trace is not None:
            extras.append(f"traced=level {self._trace.level}")
        elif self._node is not None:
            extras.append(f"grad_fn=<{self._node.prim.name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras if e)})"

    def __deepcopy__(self, memo):
        if self._node is not None or self._trace is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        new = object.__new__(type(self))
        new._array = self._array.copy()
        new._trace = new._inner = new._node = new._tangent = None
        new._retains_grad = False
        new._requires_grad = self._requires_grad
        new._version = 0
        new.grad = None if self.grad is None else _copy.deepcopy(self.grad, memo)
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        if self._node is not None or self._trace is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) can "
                               "be pickled")
        return _rebuild, (type(self), self._array, self._requires_grad)

    # --- autograd -----------------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not backend.is_floating(self.dtype):
            raise RuntimeError(f"{_INT_FLOAT_ERROR} (got dtype {self.dtype})")
        if not requires_grad and self._node is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True

    @property
    def retains_grad(self):
        return self._retains_grad

    def detach(self):
        """The value with every derivative level stripped (like ``jax.lax.stop_gradient``)."""
        return tracer.wrap(self._array)

    def detach_(self):
        if self._trace is not None:
            raise RuntimeError("detach_: a Tensor traced by a transformation cannot be detached "
                               "in place; use detach()")
        self._node, self._requires_grad = None, False
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)

    def register_hook(self, hook):
        """Run ``hook(grad)`` whenever backward() computes this Tensor's gradient; a returned
        Tensor replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return register_hook(self, hook, "grad")

    def register_post_accumulate_grad_hook(self, hook):
        """Run ``hook(tensor)`` on this leaf right after backward() accumulated its ``.grad``
        (the gradient is then final for this backward; data-parallel training starts sending it)."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        return register_hook(self, hook, "post_accumulate")

    # --- conversions --------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; only the CPU."""
        dtype, copy = backend.to_arguments(args, kwargs, Box, "Tensor.to")
        dtype = to_dtype(dtype)
        if dtype is None or dtype == self.dtype:
            return shape.astype(self, self.dtype, copy=True) if copy else self
        return shape.astype(self, dtype)

    def cpu(self, memory_format=None):
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        check_device("cuda" if device is None else device if isinstance(device, str)
                     else f"cuda:{device}", "cuda")

    def type(self, dtype=None, non_blocking=False):
        """Without an argument the type's name (``'torch.FloatTensor'``), else a cast."""
        if dtype is None:
            return f"torch.{_TYPE_NAMES.get(self.dtype.name, self.dtype.name)}"
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            names = {v: k for k, v in _TYPE_NAMES.items()}
            dtype = names.get(dtype.removeprefix("torch."), dtype)
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def astype(self, dtype):
        return shape.astype(self, dtype)

    def float(self):
        return shape.astype(self, backend.float32)

    def double(self):
        return shape.astype(self, backend.float64)

    def half(self):
        return shape.astype(self, backend.float16)

    def long(self):
        return shape.astype(self, backend.int64)

    def int(self):
        return shape.astype(self, backend.int32)

    def short(self):
        return shape.astype(self, backend.int16)

    def byte(self):
        return shape.astype(self, backend.uint8)

    def char(self):
        return shape.astype(self, backend.int8)

    def bool(self):
        return shape.astype(self, backend.bool_)

    def clone(self, *, memory_format=None):
        return shape.astype(self, self.dtype, copy=True)

    def contiguous(self, memory_format=None):
        return self

    def pin_memory(self):
        return self

    def share_memory_(self):
        return self

    # --- shapes that only methods take ---------------------------------------------------------
    def view(self, *shape_or_dtype):
        """A reshaped view (``x.view(2, -1)``); ``x.view(dtype)`` reinterprets the bytes."""
        if len(shape_or_dtype) == 1 and not isinstance(shape_or_dtype[0], (int, tuple, list,
                                                                             Box)):
            return tracer.wrap(self._array.view(to_dtype(shape_or_dtype[0])))
        return shape.reshape(self, *shape_or_dtype)

    def view_as(self, other):
        return shape.reshape(self, other.shape)

    def reshape_as(self, other):
        return shape.reshape(self, other.shape)

    def expand_as(self, other):
        return shape.broadcast_to(self, other.shape)

    def where(self, condition, other):
        return ew.where(condition, self, other)

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` holds, else ``self`` (in ``self``'s dtype)."""
        if isinstance(value, Box) and value.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        value = value.item() if isinstance(value, Box) and not value.requires_grad else value
        if not isinstance(value, Box):
            value = np.asarray(value, dtype=self.dtype)
        return ew.where(mask, value, self)

    # --- new Tensors like this one --------------------------------------------------------------
    def _new(self, factory, size, dtype, device, requires_grad, *extra):
        return factory(size, *extra, dtype=dtype or self.dtype, device=device,
                       requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(creation.zeros, ops.arguments.sizes(size), dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(creation.ones, ops.arguments.sizes(size), dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(creation.empty, ops.arguments.sizes(size), dtype, device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return self._new(creation.full, size, dtype, device, requires_grad, fill_value)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return creation.tensor(data, dtype=dtype or self.dtype, device=device,
                               requires_grad=requires_grad)

    # --- in-place updates -------------------------------------------------------------------
    def _update(self, name, compute):
        """Replace this Tensor's value by ``compute(old)`` in place (see the module docstring)."""
        if self._requires_grad and self._node is None and self._trace is None and \
                is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               f"operation ({name}).")
        old = _snapshot(self)
        new = compute(old)
        new = new if isinstance(new, Box) else tracer.wrap(np.asarray(new))
        if new.shape != self.shape:
            raise RuntimeError(f"{name}: output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(new.shape)}")
        if new._node is not None or new._trace is not None:  # recorded: take the result's place
            if new.dtype != self.dtype:
                new = shape.astype(new, self.dtype)
            _take_over(self, old, new)
            return self
        try:
            np.copyto(self._array, new._array, casting="same_kind")
        except TypeError:
            raise RuntimeError(f"{name}: result type {new.dtype} can't be cast to the desired "
                               f"output type {self.dtype}") from None
        except ValueError as error:  # a read-only array (a broadcast view, say)
            raise RuntimeError(f"{name}: cannot write into this Tensor ({error})") from None
        self._version += 1
        return self

    def copy_(self, src, non_blocking=False):
        """Write ``src`` (broadcast, cast to this dtype) into this Tensor; gradients flow to
        ``src``, none to the value overwritten."""
        if not _differentiable(src):
            array = src._array if isinstance(src, Box) else np.asarray(src)
            return self._write("copy_", lambda a: np.copyto(a, array, casting="unsafe"))
        return self._update("copy_", lambda old: _replaced(old, shape.astype(
            shape.broadcast_to(src, self.shape), self.dtype, copy=True)))

    def fill_(self, value):
        if isinstance(value, Box) and value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        if _differentiable(value):
            return self._update("fill_", lambda old: _replaced(old, shape.astype(
                shape.broadcast_to(value, self.shape), self.dtype, copy=True)))
        return self._write("fill_", lambda a: a.fill(value.item() if isinstance(value, Box)
                                                     else value))

    def zero_(self):
        return self._write("zero_", lambda a: a.fill(0))

    def _write(self, name, write):
        """A change that depends on nothing differentiable: ``write(array)`` into the memory, or,
        when this Tensor is part of a graph, into a copy that takes its place."""
        if self._trace is not None or (self._node is not None and is_grad_enabled()):
            return self._update(name, lambda old: _replaced(old, _written(old, write)))
        if self._requires_grad and is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               f"operation ({name}).")
        write(self._array)
        self._version += 1
        return self

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        return self._write("uniform_", lambda arr: arr.__setitem__(
            ..., creation._rng(generator).uniform(a, b, arr.shape)))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return self._write("normal_", lambda arr: arr.__setitem__(
            ..., creation._rng(generator).normal(mean, std, arr.shape)))

    def bernoulli_(self, p=0.5, *, generator=None):
        p = p._array if isinstance(p, Box) else p
        return self._write("bernoulli_", lambda arr: arr.__setitem__(
            ..., creation._rng(generator).random(arr.shape) < p))

    def exponential_(self, lambd=1.0, *, generator=None):
        return self._write("exponential_", lambda arr: arr.__setitem__(
            ..., creation._rng(generator).exponential(1.0 / lambd, arr.shape)))

    def random_(self, from_=0, to=None, *, generator=None):
        if to is None:
            from_, to = 0, from_ if from_ else 2 ** 24
        return self._write("random_", lambda arr: arr.__setitem__(
            ..., creation._rng(generator).integers(from_, to, arr.shape)))

    def __setitem__(self, index, value):
        index = shape.as_index(index)
        if _differentiable(value) or self._trace is not None or (
                self._node is not None and is_grad_enabled()):
            self._update("__setitem__", lambda old: shape.index_put(old, index, value))
            return
        self._write("__setitem__", lambda a: a.__setitem__(
            index, value._array if isinstance(value, Box) else value))

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __imod__(self, other):
        return self.remainder_(other)

    def __iand__(self, other):
        return self.bitwise_and_(other)

    def __ior__(self, other):
        return self.bitwise_or_(other)

    def __ixor__(self, other):
        return self.bitwise_xor_(other)

    def __ilshift__(self, other):
        return self.bitwise_left_shift_(other)

    def __irshift__(self, other):
        return self.bitwise_right_shift_(other)

    # --- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other): return ew.add(self, other)
    def __radd__(self, other): return ew.add(other, self)
    def __sub__(self, other): return ew.sub(self, other)
    def __rsub__(self, other): return ew.sub(other, self)
    def __mul__(self, other): return ew.mul(self, other)
    def __rmul__(self, other): return ew.mul(other, self)
    def __truediv__(self, other): return ew.true_divide(self, other)
    def __rtruediv__(self, other): return ew.true_divide(other, self)
    def __floordiv__(self, other): return ew.floor_divide(self, other)
    def __rfloordiv__(self, other): return ew.floor_divide(other, self)
    def __pow__(self, other): return ew.power(self, other)
    def __rpow__(self, other): return ew.power(other, self)
    def __matmul__(self, other): return linalg.matmul(self, other)
    def __rmatmul__(self, other): return linalg.matmul(other, self)
    def __neg__(self): return ew.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ew.absolute(self)
    def __eq__(self, other): return ew.equal(self, other)
    def __ne__(self, other): return ew.not_equal(self, other)
    def __lt__(self, other): return ew.less(self, other)
    def __le__(self, other): return ew.less_equal(self, other)
    def __gt__(self, other): return ew.greater(self, other)
    def __ge__(self, other): return ew.greater_equal(self, other)
    def __getitem__(self, index): return shape.getitem(self, index)
    def __mod__(self, other): return pw.remainder(self, other)
    def __rmod__(self, other): return pw.remainder(other, self)
    def __invert__(self): return pw.bitwise_not(self)
    def __and__(self, other): return pw.bitwise_and(self, other)
    def __or__(self, other): return pw.bitwise_or(self, other)
    def __xor__(self, other): return pw.bitwise_xor(self, other)
    def __rand__(self, other): return pw.bitwise_and(other, self)
    def __ror__(self, other): return pw.bitwise_or(other, self)
    def __rxor__(self, other): return pw.bitwise_xor(other, self)
    def __lshift__(self, other): return pw.bitwise_left_shift(self, other)
    def __rshift__(self, other): return pw.bitwise_right_shift(self, other)
    def __rlshift__(self, other): return pw.bitwise_left_shift(other, self)
    def __rrshift__(self, other): return pw.bitwise_right_shift(other, self)


def _legacy_type(name, dtype):
    """``torch.FloatTensor(2, 3)`` / ``torch.LongTensor([1, 2])``: the legacy constructor with a
    fixed dtype."""
    def construct(*args, device=None):
        return Tensor(*args, dtype=dtype, device=device)
    construct.__name__ = construct.__qualname__ = name
    construct.__doc__ = f"``torch.{name}``: :class:`Tensor`'s legacy constructor, dtype {dtype}."
    return construct


FloatTensor = _legacy_type("FloatTensor", backend.float32)
DoubleTensor = _legacy_type("DoubleTensor", backend.float64)
HalfTensor = _legacy_type("HalfTensor", backend.float16)
LongTensor = _legacy_type("LongTensor", backend.int64)
IntTensor = _legacy_type("IntTensor", backend.int32)
ShortTensor = _legacy_type("ShortTensor", backend.int16)
CharTensor = _legacy_type("CharTensor", backend.int8)
ByteTensor = _legacy_type("ByteTensor", backend.uint8)
BoolTensor = _legacy_type("BoolTensor", backend.bool_)


def _rebuild(cls, array, requires_grad):
    t = tracer.wrap(array)
    t = t if cls is Tensor else cls(t, requires_grad=requires_grad)
    if cls is Tensor and requires_grad:
        t.requires_grad_(True)
    return t


def _snapshot(t):
    """A Tensor standing for ``t``'s current value and place in the graph (its old self)."""
    old = object.__new__(Tensor)
    old._array, old._trace, old._inner = t._array, t._trace, t._inner
    old._node, old._tangent, old.grad = t._node, t._tangent, None
    old._requires_grad, old._retains_grad, old._version = t._requires_grad, False, t._version
    return old


def _take_over(t, old, new):
    """Make ``t`` the Tensor ``new`` is (its value and its place in the graph), handing ``t``'s
    old place to its snapshot ``old``, which the new graph holds."""
    if t._node is not None and t._node.ans_array is not None:
        t._node.ans = weakref.ref(old)  # the op recorded before produced the old value
    t._array, t._trace, t._inner = new._array, new._trace, new._inner
    t._node, t._tangent, t._requires_grad = new._node, new._tangent, new._requires_grad
    t._version += 1
    if t._node is not None and t._node.ans_array is not None:
        t._node.ans = weakref.ref(t)
        t._node.ans_version = t._version


def _differentiable(value):
    """Whether autograd would record an operation on ``value``."""
    return isinstance(value, Box) and (value._trace is not None or (
        value._requires_grad and is_grad_enabled()))


def _written(old, write):
    """A constant: a copy of ``old``'s value changed by ``write``."""
    array = old._array.copy()
    write(array)
    return tracer.wrap(array)


def _replaced(old, value):
    """``value`` in ``old``'s place in the graph: no gradient reaches the value overwritten."""
    return ew.where(np.ones(old.shape, bool), value, old)


def _inplace(function, name):
    """``x.op_(...)``: ``op`` computed and written into ``x`` (see Tensor._update)."""
    def method(self, *args, **kwargs):
        return self._update(name, lambda old: function(old, *args, **kwargs))
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place version of :meth:`Tensor.{name[:-1]}`."
    return method


def _inplace_view(function, name):
    """``x.unsqueeze_(0)`` and friends: this Tensor becomes the reshaped view itself."""
    def method(self, *args, **kwargs):
        old = _snapshot(self)
        _take_over(self, old, function(old, *args, **kwargs))
        return self
    method.__name__ = method.__qualname__ = name
    return method


# Methods that are the top-level functions themselves: ``x.f(*a)`` is ``torchsorflow.f(x, *a)``.
METHODS = {
    # element-wise
    "abs": ew.absolute, "absolute": ew.absolute, "add": ew.add, "sub": ew.sub,
    "subtract": ew.sub, "mul": ew.mul, "multiply": ew.mul, "div": ew.div, "divide": ew.div,
    "true_divide": ew.true_divide, "floor_divide": ew.floor_divide, "pow": ew.power,
    "neg": ew.neg, "negative": ew.neg, "exp": ew.exp, "expm1": ew.expm1, "log": ew.log,
    "log1p": ew.log1p, "sqrt": ew.sqrt, "rsqrt": ew.rsqrt, "square": ew.square, "sin": ew.sin,
    "cos": ew.cos, "tanh": ew.tanh, "sigmoid": ew.sigmoid, "relu": ew.relu, "sign": ew.sign,
    "floor": ew.floor, "maximum": ew.maximum, "minimum": ew.minimum, "clamp": ew.clamp,
    "clip": ew.clamp, "eq": ew.equal, "ne": ew.not_equal, "lt": ew.less, "le": ew.less_equal,
    "gt": ew.greater, "ge": ew.greater_equal, "greater": ew.greater, "less": ew.less,
    "greater_equal": ew.greater_equal, "less_equal": ew.less_equal, "not_equal": ew.not_equal,
    "logical_and": ew.logical_and, "logical_or": ew.logical_or, "logical_not": ew.logical_not,
    "isnan": ew.isnan, "isfinite": ew.isfinite, "reciprocal": ew.reciprocal,
    "lgamma": ops.special.lgamma, "digamma": ops.special.digamma,
    # reductions
    "sum": reductions.sum, "mean": reductions.mean, "var": reductions.var,
    "std": reductions.std, "amax": reductions.amax, "amin": reductions.amin,
    "max": reductions.max, "min": reductions.min, "argmax": reductions.argmax,
    "argmin": reductions.argmin, "logsumexp": reductions.logsumexp,
    "softmax": reductions.softmax, "log_softmax": reductions.log_softmax,
    "norm": reductions.norm, "cumsum": reductions.cumsum, "all": reductions.all,
    "any": reductions.any,
    # shapes
    "reshape": shape.reshape, "permute": shape.permute, "transpose": shape.transpose,
    "swapaxes": shape.swapaxes, "swapdims": shape.swapdims, "t": shape.t,
    "movedim": shape.movedim, "moveaxis": shape.movedim, "expand": shape.expand,
    "broadcast_to": shape.broadcast_to, "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze,
    "flatten": shape.flatten, "unflatten": shape.unflatten, "flip": shape.flip,
    "fliplr": shape.fliplr, "flipud": shape.flipud, "gather": shape.gather,
    "scatter_add": shape.scatter_add, "repeat": shape.repeat, "tile": shape.tile,
    "narrow": shape.narrow, "split": shape.split, "chunk": shape.chunk, "unbind": shape.unbind,
    # linear algebra
    "matmul": linalg.matmul, "mm": linalg.mm, "bmm": linalg.bmm, "mv": linalg.mv,
    "dot": linalg.dot, "inverse": linalg.inv, "logdet": linalg.logdet,
}

# In-place variants: ``x.add_(y)`` writes ``x + y`` into ``x``.
INPLACE = ["abs", "add", "sub", "mul", "div", "pow", "neg", "exp", "expm1", "log", "log1p",
           "sqrt", "rsqrt", "square", "sin", "cos", "tanh", "sigmoid", "relu", "sign", "floor",
           "clamp", "clip", "reciprocal", "floor_divide", "true_divide", "subtract", "multiply",
           "divide", "negative", "absolute", "masked_fill", "scatter_add", "cumsum", "lgamma",
           "digamma", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
           "logical_not"]
# ... and those that change only the shape: ``x.unsqueeze_(0)``.
INPLACE_VIEWS = ["squeeze", "unsqueeze", "t", "transpose", "swapaxes", "swapdims"]

# Element-wise math (every public function of ops/pointwise.py is also a method, and those in
# its INPLACE list have an in-place variant), products and scans (ops/scans.py).
METHODS.update({name: getattr(pw, name) for name in pw.__all__})
METHODS.update({
    "erf": ops.nn_ops.erf, "erfinv": ops.special.erfinv,
    "prod": scans.prod, "cumprod": scans.cumprod, "logcumsumexp": scans.logcumsumexp,
    "cummax": scans.cummax, "cummin": scans.cummin, "diff": scans.diff,
})
INPLACE += pw.INPLACE + ["erf", "erfinv", "cumprod"]

# Sorting, statistics, indexing, structure, products, decompositions, sampling, sparse
# (ops/sorting.py, statistics.py, indexing.py, structure.py, einsum.py, products.py,
# decompositions.py, random.py; sparse.py).
METHODS.update({
    "sort": sorting.sort, "argsort": sorting.argsort, "msort": sorting.msort,
    "topk": sorting.topk, "kthvalue": sorting.kthvalue, "median": sorting.median,
    "nanmedian": sorting.nanmedian, "mode": sorting.mode, "unique": sorting.unique,
    "unique_consecutive": sorting.unique_consecutive, "quantile": stats.quantile,
    "nanquantile": stats.nanquantile, "nansum": stats.nansum, "nanmean": stats.nanmean,
    "count_nonzero": stats.count_nonzero, "aminmax": stats.aminmax,
    "scatter": indexing.scatter, "scatter_reduce": indexing.scatter_reduce,
    "index_select": indexing.index_select, "index_add": indexing.index_add,
    "index_copy": indexing.index_copy, "index_fill": indexing.index_fill,
    "index_put": indexing.index_put, "masked_select": indexing.masked_select,
    "masked_scatter": indexing.masked_scatter, "take": indexing.take,
    "take_along_dim": indexing.take_along_dim, "put": indexing.put,
    "nonzero": indexing.nonzero, "argwhere": indexing.argwhere, "tril": structure.tril,
    "triu": structure.triu, "diag": structure.diag, "diagonal": structure.diagonal,
    "diag_embed": structure.diag_embed, "diagflat": structure.diagflat,
    "trace": structure.trace, "roll": structure.roll, "rot90": structure.rot90,
    "repeat_interleave": structure.repeat_interleave, "outer": products.outer,
    "ger": products.ger, "addmm": products.addmm, "addmv": products.addmv,
    "addr": products.addr, "addbmm": products.addbmm, "baddbmm": products.baddbmm,
    "matrix_power": products.matrix_power, "kron": products.kron, "cross": products.cross,
    "inner": es.inner, "vdot": es.vdot, "det": dec.det, "slogdet": dec.slogdet,
    "pinverse": dec.pinverse, "svd": dec.svd_uv, "qr": dec.qr_reduced,
    "cholesky": dec.cholesky_factor, "multinomial": rnd.multinomial,
    "bernoulli": rnd.bernoulli, "geometric_": rnd.geometric_, "log_normal_": rnd.log_normal_,
    "cauchy_": rnd.cauchy_, "to_sparse": sparse.to_sparse, "to_dense": sparse.to_dense,
})
INPLACE += ["scatter", "scatter_reduce", "index_add", "index_copy", "index_fill", "index_put",
            "masked_scatter", "put", "tril", "triu", "addmm", "addmv", "addr", "addbmm",
            "baddbmm"]
Tensor.layout = sparse.strided


def _install_methods():
    for name, function in METHODS.items():
        setattr(Tensor, name, function)
    for name in INPLACE:
        setattr(Tensor, name + "_", _inplace(getattr(Tensor, name), name + "_"))
    for name in INPLACE_VIEWS:
        setattr(Tensor, name + "_", _inplace_view(getattr(Tensor, name), name + "_"))


_install_methods()
tracer.register_tensor_type(Tensor)
