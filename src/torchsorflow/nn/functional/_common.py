"""What the functional modules share."""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor

# dtype names as PyTorch's messages print them: ScalarType names ("Double") and C++ type names.
_TITLES = {"float64": "Double", "float32": "Float", "float16": "Half", "int64": "Long",
           "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
           "complex64": "ComplexFloat", "complex128": "ComplexDouble"}
_CPP = {"float64": "double", "float32": "float", "float16": "c10::Half", "int64": "long int",
        "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
        "bool": "bool"}


def as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def dtype_title(dtype):
    """``Double`` for float64, ``Long`` for int64 ... (PyTorch's ScalarType names)."""
    name = np.dtype(dtype).name
    return _TITLES.get(name, name)


def dtype_cpp(dtype):
    """``double`` for float64, ``long int`` for int64 ... (the C++ names in PyTorch's messages)."""
    name = np.dtype(dtype).name
    return _CPP.get(name, name)
