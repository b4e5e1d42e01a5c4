"""What the functional modules share."""
from __future__ import annotations

import numpy as np

from ... import ops
from ...ops.creation import as_tensor

__all__ = ["as_tensor", "batched", "check_conv_dtypes", "check_linear_dtypes", "ntuple"]

# dtype names as PyTorch's messages print them: ScalarType names ("Double") and C++ type names.
_TITLES = {"float64": "Double", "float32": "Float", "float16": "Half", "int64": "Long",
           "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
           "complex64": "ComplexFloat", "complex128": "ComplexDouble"}
_CPP = {"float64": "double", "float32": "float", "float16": "c10::Half", "int64": "long int",
        "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
        "bool": "bool"}


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def ntuple(value, n, name="argument"):
    """``3 → (3, 3)`` for ``n = 2``; a sequence of ``n`` ints as a tuple; else a clear error
    (PyTorch's ``_single``, ``_pair``, ``_triple``)."""
    if _is_int(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n and all(_is_int(v) for v in value):
        return tuple(int(v) for v in value)
    raise ValueError(f"{name} must be an int or a sequence of {n} ints, got {value!r}")


def batched(fn, input, spatial, *args, **kwargs):
    """Run ``fn`` on ``input`` with a batch axis: an unbatched input (``spatial + 1`` dims) gets
    one for the call, and its outputs (a Tensor or a tuple of them) lose it again."""
    if input.ndim != spatial + 1:
        return fn(input, *args, **kwargs)
    out = fn(ops.unsqueeze(input, 0), *args, **kwargs)
    if isinstance(out, tuple):
        return tuple(ops.squeeze(o, 0) for o in out)
    return ops.squeeze(out, 0)


def dtype_title(dtype):
    """``Double`` for float64, ``Long`` for int64 ... (PyTorch's ScalarType names)."""
    name = np.dtype(dtype).name
    return _TITLES.get(name, name)


def dtype_cpp(dtype):
    """``double`` for float64, ``long int`` for int64 ... (the C++ names in PyTorch's messages)."""
    name = np.dtype(dtype).name
    return _CPP.get(name, name)


def check_linear_dtypes(input, weight, bias=None):
    """PyTorch's errors for a linear layer whose operands differ in dtype (no silent upcast of
    a float64 or integer input into float32 weights)."""
    if bias is not None and bias.dtype != weight.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{dtype_title(bias.dtype)} and {dtype_title(weight.dtype)}")
    if input.dtype != weight.dtype:
        if bias is None:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{dtype_cpp(input.dtype)} != {dtype_cpp(weight.dtype)}")
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{dtype_title(input.dtype)} and {dtype_title(weight.dtype)}")


def check_conv_dtypes(input, weight, bias=None):
    """PyTorch's errors for a convolution whose input, weight and bias differ in dtype."""
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"Input type ({dtype_cpp(input.dtype)}) and bias type "
                           f"({dtype_cpp(bias.dtype)}) should be the same")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"expected scalar type {dtype_title(input.dtype)} but found "
                           f"{dtype_title(weight.dtype)}")
