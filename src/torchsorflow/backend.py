"""What Tensors are made of: the array namespace, the dtypes and the one device.

All array calls in :mod:`torchsorflow.ops` go through ``xp`` (NumPy today). A GPU backend such as
CuPy implements the same array API, so swapping ``xp`` is all that a port of the *forward* kernels
needs; derivative rules never touch ``xp`` at all, they are written with differentiable
primitives (see :mod:`torchsorflow.autodiff.tracer`).

Dtypes are NumPy dtypes under PyTorch's names (``float32``, ``float``, ``long`` ...), so
``x.dtype == torchsorflow.float32`` holds exactly when it does in PyTorch. The device is always
the CPU; asking for another one is an error that names it, never a silent fallback.
"""
from __future__ import annotations

import numpy

xp = numpy

float16 = numpy.dtype("float16")
float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int8 = numpy.dtype("int8")
uint8 = numpy.dtype("uint8")
int16 = numpy.dtype("int16")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
bool_ = numpy.dtype("bool")
complex64 = numpy.dtype("complex64")
complex128 = numpy.dtype("complex128")

default_float = float32
# PyTorch's other names for them (torchsorflow.float is float32, .long is int64, ...)
ALIASES = {"half": float16, "float": float32, "double": float64, "short": int16, "int": int32,
           "long": int64, "bool": bool_, "cfloat": complex64, "cdouble": complex128}
_BY_NAME = {"float16": float16, "half": float16, "float32": float32, "float": float32,
            "float64": float64, "double": float64, "int8": int8, "uint8": uint8, "int16": int16,
            "short": int16, "int32": int32, "int": int32, "int64": int64, "long": int64,
            "bool": bool_, "complex64": complex64, "cfloat": complex64,
            "complex128": complex128, "cdouble": complex128}
_UNSUPPORTED = ("bfloat16", "float8_e4m3fn", "float8_e5m2", "quint8", "qint8", "qint32",
                "complex32", "chalf", "uint16", "uint32", "uint64")


_PYTHON_TYPES = {float: float64, int: int64, bool: bool_, complex: complex128}


def to_dtype(dtype):
    """A NumPy dtype for ``dtype`` given as a dtype, a torch-style name (``"torch.long"``), a
    NumPy type or a Python type (``float`` -> float64, ``int`` -> int64, as in PyTorch)."""
    if dtype is None or isinstance(dtype, numpy.dtype):
        return dtype
    if dtype in _PYTHON_TYPES:
        return _PYTHON_TYPES[dtype]
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.")
        if name in _BY_NAME:
            return _BY_NAME[name]
        if name in _UNSUPPORTED:
            raise TypeError(f"dtype {name} is not supported: TorchsorFlow computes with NumPy, "
                            "which has no such type (use float32 or float16)")
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise TypeError(f"{dtype!r} is not a dtype; use one of torchsorflow.float32, float64, "
                        "int64, bool ...") from None


def set_default_dtype(dtype):
    """The dtype Python floats become (``torch.set_default_dtype``): float32 or float64."""
    global default_float
    dtype = to_dtype(dtype)
    if dtype not in (float32, float64, float16):
        raise TypeError(f"only floating-point types are supported as the default type, got {dtype}")
    default_float = dtype


def get_default_dtype():
    return default_float


def is_floating(dtype) -> bool:
    return xp.issubdtype(dtype, xp.floating)


def as_array(data, dtype=None, copy=False):
    """Turn Python data into an array with PyTorch's dtype defaults.

    Python floats (and lists of them) become float32, as in PyTorch; NumPy arrays keep their dtype,
    so float64 data stays float64 for gradient checks. ``copy=True`` always makes a new array.
    """
    dtype = to_dtype(dtype)
    if isinstance(data, xp.ndarray):
        if dtype is None:
            return data.copy() if copy else data
        return data.astype(dtype, copy=copy)
    array = xp.asarray(data)
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype == float64 and not isinstance(data, xp.generic):
        return array.astype(default_float)
    if array.dtype.kind == "U" or array.dtype == object:
        raise TypeError(f"could not make a Tensor from {type(data).__name__} data "
                        f"{str(data)[:60]!r}: expected numbers, nested sequences of numbers or "
                        "arrays")
    return array


class device:  # noqa: N801 - torch.device
    """``torch.device``: here always ``device(type='cpu')``; any other device is an error.

    >>> device("cpu")
    device(type='cpu')
    >>> device("cuda:0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    RuntimeError: device 'cuda:0' is not available: TorchsorFlow runs on the CPU only ...
    """

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):  # noqa: A002 - torch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index
        name = str(type) if index is None else f"{type}:{index}"
        if name not in ("cpu", "cpu:0"):
            raise RuntimeError(f"device {name!r} is not available: TorchsorFlow runs on the CPU "
                               "only (use device='cpu')")
        self.type, self.index = "cpu", None

    def __repr__(self):
        return "device(type='cpu')"

    def __str__(self):
        return "cpu"

    def __eq__(self, other):
        try:
            return isinstance(other, (str, device)) and device(other).type == self.type
        except RuntimeError:
            return False

    def __hash__(self):
        return hash("cpu")


CPU = device("cpu")


def check_device(value, op="device"):
    """Accept ``None``, ``'cpu'`` or ``device('cpu')``; raise naming anything else."""
    if value is None or value is CPU:
        return CPU
    if isinstance(value, int) and not isinstance(value, bool):
        raise RuntimeError(f"{op}: device {value} (a CUDA ordinal) is not available: "
                           "TorchsorFlow runs on the CPU only (use device='cpu')")
    try:
        return device(value)
    except RuntimeError as error:
        raise RuntimeError(f"{op}: {error}") from None


_DEVICE_NAMES = ("cpu", "cuda", "mps", "xla", "meta", "xpu", "hip", "vulkan", "ipu")


def to_arguments(args, kwargs, tensor_type, op="to"):
    """``(dtype or None, copy)`` from the arguments of ``x.to(...)`` or ``module.to(...)`` in any of
    PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``,
    with keywords too; a device other than the CPU is an error."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    check_device(kwargs.pop("device", None), op)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument {next(iter(kwargs))!r}")
    for arg in args:
        if isinstance(arg, tensor_type):
            dtype = arg.dtype
        elif isinstance(arg, (str, device, int)) and not isinstance(arg, bool) and (
                not isinstance(arg, str) or arg.split(":")[0] in _DEVICE_NAMES):
            check_device(arg, op)
        elif not isinstance(arg, bool):  # a bool is non_blocking, given positionally
            dtype = arg
    return dtype, copy
