"""The eager, PyTorch-like :class:`Tensor`.

A Tensor is a NumPy array plus what autodiff needs to know about it:

* ``requires_grad``/``grad``/``_node`` for PyTorch-style eager reverse mode (level 0);
* ``_trace``/``_inner`` and either ``_node`` (reverse) or ``_tangent`` (forward) when the Tensor is
  *boxed* by a functional transformation such as ``grad`` or ``jvp`` (see
  :mod:`torchsorflow.autodiff.tracer`). ``_array`` is always the concrete innermost array, so shape,
  dtype and printing never need to unwrap anything.

Every operator and method forwards to a primitive or a composite in :mod:`torchsorflow.ops`.

>>> import torchsorflow as tsf
>>> x = tsf.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from __future__ import annotations

import numpy as np

from . import backend
from .autodiff import tracer
from .autodiff.reverse import backward
from .autodiff.tracer import Box, is_grad_enabled
from .ops import (
    absolute, add, amax, amin, argmax, argmin, astype, broadcast_to, clip, cos, div, equal, exp,
    flatten, getitem, greater, greater_equal, less, less_equal, log, log_softmax, logical_and,
    logical_not, logical_or, logsumexp, matmul, maximum, mean, minimum, mul, neg, norm, not_equal,
    permute, power, relu, reshape, sigmoid, sign, sin, softmax, sqrt, squeeze, std, sub, sum,
    swapaxes, tanh, unsqueeze, var, where)
from .ops.shape import _index_arrays

_INT_FLOAT_ERROR = "only Tensors of floating point dtype can require gradients"


class Tensor(Box):
    __slots__ = ()
    __array_priority__ = 1000
    __array_ufunc__ = None  # make NumPy defer to our reflected operators: ndarray * Tensor -> Tensor

    def __init__(self, data, dtype=None, requires_grad=False):
        if isinstance(data, Box):
            data = data._array
        self._array = backend.as_array(data, dtype)
        self._trace = None
        self._inner = None
        self._node = None
        self._tangent = None
        self.grad = None
        self._retains_grad = False
        self._requires_grad = False
        self._version = 0
        if requires_grad:
            self.requires_grad_(True)

    # --- construction used by the tracer (no conversion, no checks) -------------------------
    @staticmethod
    def _wrap(array):
        return tracer.wrap(array)

    @staticmethod
    def _box(inner, trace, node=None, tangent=None):
        return tracer.box(inner, trace, node=node, tangent=tangent)

    def primal(self) -> "Tensor":
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
        return "cpu"

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return None if self._node is None or self._trace is not None else self._node.prim

    @property
    def data(self):
        """A detached Tensor sharing this one's memory (PyTorch's ``.data``)."""
        return Tensor._wrap(self._array)

    @data.setter
    def data(self, value):
        array = value._array if isinstance(value, Tensor) else np.asarray(value)
        if array.shape != self._array.shape:
            raise ValueError(f"data: cannot replace data of shape {self.shape} with shape {array.shape}")
        self._array = array

    @property
    def T(self):
        return permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        return swapaxes(self, -1, -2)

    def dim(self):
        return self._array.ndim

    def size(self, dim=None):
        return self._array.shape if dim is None else self._array.shape[dim]

    def numel(self):
        return int(self._array.size)

    def numpy(self):
        return self._array

    def item(self):
        if self._array.size != 1:
            raise ValueError(f"item(): a Tensor with {self._array.size} elements cannot be "
                             "converted to a Python scalar")
        return self._array.item()

    def tolist(self):
        return self._array.tolist()

    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._array.shape[0]))

    def __bool__(self):
        if self._array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._array.size} values is ambiguous")
        return bool(self._array)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec):
        return format(self.item(), spec) if self.ndim == 0 and spec else repr(self)

    __hash__ = object.__hash__

    def __repr__(self):
        body = np.array2string(self._array, separator=", ", prefix="tensor(")
        extras = []
        if self.dtype != backend.float32 and self.dtype.kind == "f" or self.dtype.kind not in "fb" and self.dtype != backend.int64:
            extras.append(f"dtype={self.dtype}")
        if self._trace is not None:
            extras.append(f"traced=level {self._trace.level}")
        elif self._node is not None:
            extras.append(f"grad_fn=<{self._node.prim.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

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
            raise RuntimeError("you can only change requires_grad flags of leaf variables; use "
                               "detach() to get a Tensor that does not require grad")
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True

    def detach(self):
        """The value with every derivative level stripped (like ``jax.lax.stop_gradient``)."""
        return Tensor._wrap(self._array)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def register_hook(self, hook):
        """Run ``hook(grad)`` whenever backward() computes this Tensor's gradient; a returned
        Tensor replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autodiff.reverse import register_hook
        return register_hook(self, hook, "grad")

    def register_post_accumulate_grad_hook(self, hook):
        """Run ``hook(tensor)`` on this leaf right after backward() accumulated its ``.grad``
        (the gradient is then final for this backward; data-parallel training starts sending it)."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        from .autodiff.reverse import register_hook
        return register_hook(self, hook, "post_accumulate")

    # --- in-place updates (for optimizers; never recorded) -----------------------------------
    def _check_inplace(self, name):
        if self._trace is not None:
            raise RuntimeError(f"{name}: in-place update of a Tensor traced by a transformation")
        if self.requires_grad and is_grad_enabled():
            if self._node is not None:  # recorded graph nodes keep this Tensor as an argument
                raise RuntimeError(f"{name}: in-place update of a Tensor computed by recorded "
                                   "operations (a non-leaf) is not supported, since the graph "
                                   "still reads its old value; write the out-of-place form "
                                   "(y = y + 1) or update y.detach()")
            raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an "
                               "in-place operation (wrap it in torchsorflow.no_grad())")

    def _inplace(self, name, values):
        self._check_inplace(name)
        np.copyto(self._array, values._array if isinstance(values, Tensor) else values,
                  casting="same_kind")
        self._version += 1
        return self

    def copy_(self, src):
        return self._inplace("copy_", src)

    def fill_(self, value):
        return self._inplace("fill_", value)

    def zero_(self):
        return self._inplace("zero_", 0)

    def add_(self, other, alpha=1):
        other = other._array if isinstance(other, Tensor) else other
        return self._inplace("add_", self._array + alpha * other)

    def sub_(self, other, alpha=1):
        return self.add_(other, alpha=-alpha)

    def mul_(self, other):
        other = other._array if isinstance(other, Tensor) else other
        return self._inplace("mul_", self._array * other)

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", np.clip(self._array, min, max))

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__")
        if self._node is not None:
            raise RuntimeError("__setitem__: in-place assignment into a Tensor that is part of a graph")
        self._array[_index_arrays(index)] = value._array if isinstance(value, Tensor) else value
        self._version += 1

    # --- arithmetic -----------------------------------------------------------------------------
    def __add__(self, other): return add(self, other)
    def __radd__(self, other): return add(other, self)
    def __sub__(self, other): return sub(self, other)
    def __rsub__(self, other): return sub(other, self)
    def __mul__(self, other): return mul(self, other)
    def __rmul__(self, other): return mul(other, self)
    def __truediv__(self, other): return div(self, other)
    def __rtruediv__(self, other): return div(other, self)
    def __pow__(self, other): return power(self, other)
    def __rpow__(self, other): return power(other, self)
    def __matmul__(self, other): return matmul(self, other)
    def __rmatmul__(self, other): return matmul(other, self)
    def __neg__(self): return neg(self)
    def __pos__(self): return self
    def __abs__(self): return absolute(self)
    def __eq__(self, other): return equal(self, other)
    def __ne__(self, other): return not_equal(self, other)
    def __lt__(self, other): return less(self, other)
    def __le__(self, other): return less_equal(self, other)
    def __gt__(self, other): return greater(self, other)
    def __ge__(self, other): return greater_equal(self, other)
    def __getitem__(self, index): return getitem(self, index)
    def __invert__(self): return logical_not(self)
    def __and__(self, other): return logical_and(self, other)
    def __or__(self, other): return logical_or(self, other)

    # --- methods mirroring torch.Tensor (thin forwards to torchsorflow.ops) ----------------------
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return sum(self, _axis(dim, axis), _keep(keepdim, keepdims))

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return mean(self, _axis(dim, axis), _keep(keepdim, keepdims))

    def var(self, dim=None, keepdim=False, *, correction=1, unbiased=None, axis=None, keepdims=None):
        return var(self, _axis(dim, axis), _keep(keepdim, keepdims), correction=correction,
                   unbiased=unbiased)

    def std(self, dim=None, keepdim=False, *, correction=1, unbiased=None, axis=None, keepdims=None):
        return std(self, _axis(dim, axis), _keep(keepdim, keepdims), correction=correction,
                   unbiased=unbiased)

    def amax(self, dim=None, keepdim=False):
        return amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return amin(self, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        return amax(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return amin(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return argmin(self, dim, keepdim)

    def logsumexp(self, dim=None, keepdim=False):
        return logsumexp(self, dim, keepdim)

    def softmax(self, dim=-1):
        return softmax(self, dim)

    def log_softmax(self, dim=-1):
        return log_softmax(self, dim)

    def norm(self, p=2, dim=None, keepdim=False):
        return norm(self, p, dim, keepdim)

    def reshape(self, *shape):
        return reshape(self, _shape_args(shape))

    def view(self, *shape):
        return reshape(self, _shape_args(shape))

    def flatten(self, start_dim=0, end_dim=-1):
        return flatten(self, start_dim, end_dim)

    def permute(self, *dims):
        return permute(self, _shape_args(dims))

    def transpose(self, dim0, dim1):
        return swapaxes(self, dim0, dim1)

    def squeeze(self, dim=None):
        return squeeze(self, dim)

    def unsqueeze(self, dim):
        return unsqueeze(self, dim)

    def expand(self, *shape):
        shape = _shape_args(shape)
        shape = tuple(s if s != -1 else self.shape[i - len(shape) + self.ndim]
                      for i, s in enumerate(shape))
        return broadcast_to(self, shape)

    def expand_as(self, other):
        return broadcast_to(self, other.shape)

    def broadcast_to(self, shape):
        return broadcast_to(self, tuple(shape))

    def astype(self, dtype):
        return astype(self, dtype)

    def to(self, dtype=None, *args, **kwargs):
        if dtype is None or isinstance(dtype, str) and dtype.startswith(("cpu", "cuda")):
            return self
        return astype(self, dtype)

    def type_as(self, other):
        return astype(self, other.dtype)

    def float(self):
        return astype(self, backend.float32)

    def double(self):
        return astype(self, backend.float64)

    def long(self):
        return astype(self, backend.int64)

    def int(self):
        return astype(self, backend.int32)

    def bool(self):
        return astype(self, backend.bool_)

    def clone(self):
        return astype(self, self.dtype, copy=True)

    def contiguous(self):
        return self

    def cpu(self):
        return self

    def exp(self): return exp(self)
    def log(self): return log(self)
    def sqrt(self): return sqrt(self)
    def abs(self): return absolute(self)
    def tanh(self): return tanh(self)
    def sigmoid(self): return sigmoid(self)
    def relu(self): return relu(self)
    def sin(self): return sin(self)
    def cos(self): return cos(self)
    def square(self): return mul(self, self)
    def pow(self, exponent): return power(self, exponent)
    def sign(self): return sign(self)
    def clamp(self, min=None, max=None): return clip(self, min, max)
    clip = clamp
    def maximum(self, other): return maximum(self, other)
    def minimum(self, other): return minimum(self, other)
    def matmul(self, other): return matmul(self, other)
    def dot(self, other): return matmul(self, other)
    def masked_fill(self, mask, value): return where(mask, value, self)


def _axis(dim, axis):
    return axis if dim is None else dim


def _keep(keepdim, keepdims):
    return keepdim if keepdims is None else keepdims


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


tracer.register_tensor_type(Tensor)
