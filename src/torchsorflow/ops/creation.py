"""Creating Tensors: ``tensor``, the factories and the seedable random generator."""
from __future__ import annotations

from .. import backend
from ..backend import xp
from ..tensor import Tensor


class Generator:
    """A seedable source of random numbers (NumPy's PCG64), like ``torch.Generator``."""

    def __init__(self, seed=None):
        self.manual_seed(seed)

    def manual_seed(self, seed):
        self.seed = seed
        self.rng = xp.random.default_rng(seed)
        return self


default_generator = Generator(0)


def manual_seed(seed):
    """Seed the default generator used by ``randn``, ``rand``, layer initialisation and shuffling."""
    return default_generator.manual_seed(seed)


def _rng(generator):
    return (generator or default_generator).rng


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def tensor(data, dtype=None, requires_grad=False):
    """Make a Tensor from data. Python floats become float32, NumPy arrays keep their dtype.

    >>> import torchsorflow as tsf
    >>> tsf.tensor([[1.0, 2.0]]).shape
    (1, 2)
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data, dtype=None):
    if isinstance(data, Tensor) and (dtype is None or data.dtype == xp.dtype(dtype)):
        return data
    return Tensor(data, dtype=dtype)


def _make(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def zeros(*size, dtype=None, requires_grad=False):
    return _make(xp.zeros(_shape(size), dtype=dtype or backend.default_float), requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    return _make(xp.ones(_shape(size), dtype=dtype or backend.default_float), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    if dtype is None:
        dtype = backend.default_float if isinstance(fill_value, float) else None
    return _make(xp.full(tuple(size), fill_value, dtype=dtype), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    return _make(xp.eye(n, m, dtype=dtype or backend.default_float), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    array = xp.arange(start, end, step) if end is not None else xp.arange(start)
    if dtype is None and array.dtype == backend.float64:
        dtype = backend.default_float
    return _make(array if dtype is None else array.astype(dtype), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    return _make(xp.linspace(start, end, steps, dtype=dtype or backend.default_float), requires_grad)


def zeros_like(x, dtype=None, requires_grad=False):
    return _make(xp.zeros(x.shape, dtype=dtype or x.dtype), requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    return _make(xp.ones(x.shape, dtype=dtype or x.dtype), requires_grad)


def randn(*size, dtype=None, generator=None, requires_grad=False):
    array = _rng(generator).standard_normal(_shape(size), dtype=xp.float64)
    return _make(array.astype(dtype or backend.default_float), requires_grad)


def rand(*size, dtype=None, generator=None, requires_grad=False):
    array = _rng(generator).random(_shape(size), dtype=xp.float64)
    return _make(array.astype(dtype or backend.default_float), requires_grad)


def randint(low, high, size, dtype=None, generator=None):
    return Tensor(_rng(generator).integers(low, high, size=tuple(size), dtype=dtype or xp.int64))


def randperm(n, generator=None):
    return Tensor(_rng(generator).permutation(n))
