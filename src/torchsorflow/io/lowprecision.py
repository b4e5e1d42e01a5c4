"""Number types that NumPy lacks, decoded exactly into ones it has.

Checkpoints from PyTorch and the Hugging Face hub often hold ``bfloat16`` or one of the 8-bit
floats; NumPy has none of them, so they are widened on reading. Every value of these types is
exactly a float32 value, so nothing is rounded; the caller announces the widening with a warning.

* ``bfloat16`` is the upper half of a float32: shift the 16 bits left by 16.
* The 8-bit floats are a sign bit, ``E`` exponent bits and ``M`` mantissa bits with an exponent
  bias ``B``: a byte with exponent field ``e`` and mantissa field ``m`` is
  ``(1 + m / 2**M) * 2**(e - B)``, or ``m / 2**M * 2**(1 - B)`` when ``e == 0`` (subnormal).
  They differ in where NaN and infinity live (OCP's "fn" types have no infinity and NaN only at
  all ones; the "fnuz" types have no negative zero and NaN at ``0x80``; ``e5m2`` is IEEE-like,
  the upper half of a float16). With only 256 possible bytes, each type is decoded through a
  256-entry table.
* ``float8_e8m0fnu`` is an unsigned power of two, ``2**(byte - 127)`` (``0xFF`` is NaN).
* ``complex32`` (PyTorch's ComplexHalf) is a pair of float16 values: it becomes complex64.

>>> import numpy as np
>>> widen("bfloat16", np.array([0x3F80, 0xC040], "<u2").view(np.uint8))
array([ 1., -3.], dtype=float32)
>>> widen("float8_e4m3fn", np.array([0x38, 0x7E], np.uint8))
array([  1., 448.], dtype=float32)
"""
from __future__ import annotations

import functools

import numpy as np

# name -> (exponent bits, mantissa bits, bias, where NaN and infinity are)
FLOAT8 = {"float8_e4m3fn": (4, 3, 7, "fn"), "float8_e5m2": (5, 2, 15, "ieee"),
          "float8_e4m3fnuz": (4, 3, 8, "fnuz"), "float8_e5m2fnuz": (5, 2, 16, "fnuz")}
# every type this module reads: name -> (bytes per value, the NumPy type it becomes)
WIDENED = {"bfloat16": (2, np.dtype(np.float32)), "complex32": (4, np.dtype(np.complex64)),
           "float8_e8m0fnu": (1, np.dtype(np.float32)),
           **{name: (1, np.dtype(np.float32)) for name in FLOAT8}}


@functools.cache
def float8_table(name: str) -> np.ndarray:
    """The float32 value of each of the 256 bytes of the 8-bit float type ``name``."""
    byte = np.arange(256)
    if name == "float8_e8m0fnu":
        return np.where(byte == 0xFF, np.nan, 2.0 ** (byte - 127.0)).astype(np.float32)
    exponent_bits, mantissa_bits, bias, special = FLOAT8[name]
    top = (1 << exponent_bits) - 1
    exponent = (byte >> mantissa_bits) & top
    mantissa = byte & ((1 << mantissa_bits) - 1)
    fraction = mantissa / (1 << mantissa_bits)
    value = np.where(exponent == 0, fraction * 2.0 ** (1 - bias),
                     (1 + fraction) * 2.0 ** (exponent - float(bias)))
    value = np.where(byte >> 7, -value, value)
    if special == "fn":      # no infinity; NaN is S.1111.111
        value = np.where((exponent == top) & (mantissa == (1 << mantissa_bits) - 1), np.nan, value)
    elif special == "fnuz":  # no infinity, no negative zero; NaN is 1000.0000
        value = np.where(byte == 0x80, np.nan, value)
    else:                    # IEEE: exponent all ones is infinity (mantissa 0) or NaN
        value = np.where(exponent == top, np.where(mantissa == 0, np.inf, np.nan), value)
        value = np.where(byte >> 7, -np.abs(value), value)
    return value.astype(np.float32)


def widen(name: str, raw) -> np.ndarray:
    """The values of little-endian bytes ``raw`` of type ``name`` as a flat float32 (complex64
    for ``complex32``) array; ``raw`` is anything NumPy can view as bytes."""
    raw = np.frombuffer(raw, dtype=np.uint8) if not isinstance(raw, np.ndarray) else raw
    raw = raw.reshape(-1).view(np.uint8)
    if name == "bfloat16":
        return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
    if name == "complex32":
        return raw.view("<f2").astype(np.float32).view(np.complex64)
    if name in FLOAT8 or name == "float8_e8m0fnu":
        return float8_table(name)[raw]
    raise KeyError(f"no decoder for the number type {name!r}")
