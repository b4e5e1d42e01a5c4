"""Creating Tensors: ``tensor``, the factories and the seedable random generator, with PyTorch's
signatures (``dtype=``, ``device=``, ``requires_grad=`` everywhere, sizes as varargs or a tuple).

>>> import torchsorflow as tsf
>>> tsf.zeros(2, 3).shape, tsf.zeros((2, 3), dtype=tsf.int64).dtype
((2, 3), dtype('int64'))
"""
from __future__ import annotations

import json
import numbers

from .. import backend
from ..autodiff.tracer import Box, wrap
from ..backend import check_device, to_dtype, xp

__all__ = ["Generator", "arange", "as_tensor", "default_generator", "empty", "empty_like", "eye",
           "from_numpy", "full", "full_like", "initial_seed", "linspace", "logspace",
           "manual_seed", "ones", "ones_like", "rand", "rand_like", "randint", "randint_like",
           "randn", "randn_like", "randperm", "seed", "tensor", "zeros", "zeros_like",
           "get_rng_state", "set_rng_state", "scalar_tensor"]


class Generator:
    """A seedable source of random numbers (NumPy's PCG64), like ``torch.Generator``."""

    def __init__(self, device="cpu", seed=None):
        if not isinstance(device, (str, backend.device)) and seed is None:
            device, seed = "cpu", device  # Generator(seed): the older positional form
        check_device(device, "Generator")
        self.manual_seed(seed)

    def manual_seed(self, seed):
        self._seed = seed
        self.rng = xp.random.default_rng(seed)
        return self

    def seed(self):
        """Seed from fresh entropy and return the seed, like ``torch.Generator.seed``."""
        self.manual_seed(int(xp.random.SeedSequence().entropy % (1 << 63)))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 Tensor (JSON of NumPy's bit-generator state)."""
        text = json.dumps(self.rng.bit_generator.state)
        return wrap(xp.frombuffer(text.encode(), dtype=xp.uint8).copy())

    def set_state(self, state):
        array = state._array if isinstance(state, Box) else xp.asarray(state, dtype=xp.uint8)
        self.rng.bit_generator.state = json.loads(bytes(array).decode())
        return self


default_generator = Generator("cpu", 0)


def manual_seed(seed):
    """Seed the default generator used by ``randn``, ``rand``, layer initialisation and shuffling."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"manual_seed: expected an int seed, got {seed!r}")
    return default_generator.manual_seed(int(seed))


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _rng(generator):
    return (generator or default_generator).rng


def size_args(size, op="size"):
    """``(2, 3)`` from ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``; a clear error otherwise."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Box) and s.ndim == 0:
            s = s.item()
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{op}: sizes must be ints, got {s!r} in {tuple(size)!r}")
        if s < 0:
            raise RuntimeError(f"{op}: negative dimension {s} in size {tuple(size)!r}")
        out.append(int(s))
    return tuple(out)


def _make(array, dtype=None, device=None, requires_grad=False, op="tensor"):
    check_device(device, op)
    t = wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new Tensor holding a *copy* of ``data`` (numbers, nested lists, arrays or Tensors).

    Python floats become float32 and NumPy arrays keep their dtype, as in PyTorch.

    >>> import torchsorflow as tsf
    >>> tsf.tensor([[1.0, 2.0]]).shape
    (1, 2)
    """
    if isinstance(data, Box):
        array = data._array.astype(to_dtype(dtype) or data.dtype, copy=True)
    elif isinstance(data, (list, tuple)) and data and any(isinstance(d, Box) for d in data):
        array = xp.asarray([d._array if isinstance(d, Box) else d for d in data])
        array = backend.as_array(array, dtype, copy=False)
    else:
        array = backend.as_array(data, dtype, copy=True)
    return _make(array, device=device, requires_grad=requires_grad)


def scalar_tensor(value, dtype=None, device=None, requires_grad=False):
    return tensor(value if dtype is not None else float(value), dtype=dtype, device=device,
                  requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a Tensor, sharing memory with a Tensor or NumPy array when the dtype allows."""
    check_device(device, "as_tensor")
    if isinstance(data, Box):
        dtype = to_dtype(dtype)
        return data if dtype is None or dtype == data.dtype else data.to(dtype)
    return wrap(backend.as_array(data, dtype))


def from_numpy(array):
    """A Tensor sharing memory with the NumPy array ``array`` (changes show in both)."""
    if not isinstance(array, xp.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return wrap(array)


def _float(dtype):
    return to_dtype(dtype) or backend.default_float


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _make(xp.zeros(size_args(size, "zeros"), _float(dtype)), device=device,
                 requires_grad=requires_grad, op="zeros")


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _make(xp.ones(size_args(size, "ones"), _float(dtype)), device=device,
                 requires_grad=requires_grad, op="ones")


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None):
    return _make(xp.empty(size_args(size, "empty"), _float(dtype)), device=device,
                 requires_grad=requires_grad, op="empty")


def _fill_dtype(fill_value, dtype):
    """PyTorch infers full()'s dtype from the value: bool, int64 or the default float."""
    if dtype is not None:
        return to_dtype(dtype)
    if isinstance(fill_value, bool):
        return backend.bool_
    if isinstance(fill_value, numbers.Integral):
        return backend.int64
    if isinstance(fill_value, Box):
        return fill_value.dtype
    return backend.default_float


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False):
    if isinstance(fill_value, Box):
        fill_value = fill_value.item()
    return _make(xp.full(size_args((size,), "full"), fill_value, _fill_dtype(fill_value, dtype)),
                 device=device, requires_grad=requires_grad, op="full")


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _make(xp.eye(n, m, dtype=_float(dtype)), device=device, requires_grad=requires_grad,
                 op="eye")


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """Integers give int64, any float argument the default float (PyTorch's rule)."""
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Box) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    integral = all(isinstance(v, numbers.Integral) for v in values)
    dtype = to_dtype(dtype) or (backend.int64 if integral else backend.default_float)
    array = xp.arange(*values, dtype=backend.float64 if not integral else None)
    return _make(array.astype(dtype, copy=False), device=device, requires_grad=requires_grad,
                 op="arange")


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    return _make(xp.linspace(start, end, int(steps)).astype(_float(dtype)), device=device,
                 requires_grad=requires_grad, op="linspace")


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    return _make(xp.logspace(start, end, int(steps), base=base).astype(_float(dtype)),
                 device=device, requires_grad=requires_grad, op="logspace")


def _like(x, dtype):
    return x.shape, to_dtype(dtype) or x.dtype


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    shape, dtype = _like(input, dtype)
    return _make(xp.zeros(shape, dtype), device=device, requires_grad=requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    shape, dtype = _like(input, dtype)
    return _make(xp.ones(shape, dtype), device=device, requires_grad=requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    shape, dtype = _like(input, dtype)
    return _make(xp.empty(shape, dtype), device=device, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    shape, dtype = _like(input, dtype)
    return _make(xp.full(shape, fill_value, dtype), device=device, requires_grad=requires_grad)


# --- random ------------------------------------------------------------------------------------
def _random(sample, size, dtype, generator, device, requires_grad, op):
    """``sample(rng, shape, dtype)`` in the requested float dtype, drawn in float32 directly when
    that is what is asked for (no float64 temporary: the result is the only allocation)."""
    dtype = _float(dtype)
    if not backend.is_floating(dtype):
        raise TypeError(f"{op}: expected a floating dtype, got {dtype}")
    draw = dtype if dtype in (backend.float32, backend.float64) else backend.float64
    array = sample(_rng(generator), size_args(size, op), draw)
    return _make(array.astype(dtype, copy=False), device=device, requires_grad=requires_grad,
                 op=op)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False):
    """Standard normal samples."""
    return _random(lambda rng, shape, d: rng.standard_normal(shape, dtype=d), size, dtype,
                   generator, device, requires_grad, "randn")


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False):
    """Uniform samples on [0, 1)."""
    return _random(lambda rng, shape, d: rng.random(shape, dtype=d), size, dtype, generator,
                   device, requires_grad, "rand")


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    return randn(input.shape, dtype=dtype or input.dtype, device=device,
                 requires_grad=requires_grad)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    return rand(input.shape, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def randint(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False):
    """``randint(high, size)`` or ``randint(low, high, size)``: integers in [low, high)."""
    if size is None:
        *bounds, size = args
    else:
        bounds = list(args)
    if len(bounds) == 1:
        low, high = 0, bounds[0]
    elif len(bounds) == 2:
        low, high = bounds
    else:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    if low >= high:
        raise RuntimeError(f"randint: expected low < high, got low={low} and high={high}")
    dtype = to_dtype(dtype) or backend.int64
    array = _rng(generator).integers(low, high, size=size_args((size,), "randint"))
    return _make(array.astype(dtype, copy=False), device=device, requires_grad=requires_grad,
                 op="randint")


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    array = _rng(generator).permutation(int(n)).astype(to_dtype(dtype) or backend.int64)
    return _make(array, device=device, requires_grad=requires_grad, op="randperm")
