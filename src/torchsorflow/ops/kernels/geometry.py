"""The shapes of one convolution, checked once and shared by the forward and both adjoints.

Convolution arguments come in three places (``conv2d``, ``conv2d_grad_input``,
``conv2d_grad_weight``) and in two of them one operand is missing (``grad_input`` knows the
weight but not the input, ``grad_weight`` the reverse), so the checks live here and every kernel
gets a :class:`ConvGeometry` with all sizes spelled out.

>>> g = conv_geometry("conv2d", (2, 4, 5, 5), (6, 2, 3, 3), (1, 1), (1, 1), (1, 1), groups=2)
>>> g.out_hw, g.cin_per_group, g.cout_per_group
((5, 5), 2, 3)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .shapes import conv_output_hw

__all__ = ["ConvGeometry", "conv_geometry", "compute_dtype", "as_pair_of_ints"]


@dataclass(frozen=True)
class ConvGeometry:
    batch: int
    cin: int
    in_hw: tuple
    cout: int
    kernel_hw: tuple
    out_hw: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int

    @property
    def cin_per_group(self):
        return self.cin // self.groups

    @property
    def cout_per_group(self):
        return self.cout // self.groups

    @property
    def padded_hw(self):
        return tuple(n + 2 * p for n, p in zip(self.in_hw, self.padding))

    @property
    def taps(self):
        return self.kernel_hw[0] * self.kernel_hw[1]

    @property
    def output_shape(self):
        return (self.batch, self.cout) + tuple(self.out_hw)

    @property
    def input_shape(self):
        return (self.batch, self.cin) + tuple(self.in_hw)

    @property
    def weight_shape(self):
        return (self.cout, self.cin_per_group) + tuple(self.kernel_hw)

    @property
    def multiply_adds(self):
        """Multiply-adds of one forward pass (also of each adjoint)."""
        return (self.batch * self.out_hw[0] * self.out_hw[1] * self.cout
                * self.cin_per_group * self.taps)


def as_pair_of_ints(value, op, name):
    """``(a, b)`` from a pair of integers; the kernels expect normalised arguments but say so."""
    try:
        a, b = value
        if int(a) == a and int(b) == b:
            return (int(a), int(b))
    except (TypeError, ValueError):
        pass
    raise ValueError(f"{op}: {name} must be a pair of ints (height, width), got {value!r}")


def _shape_text(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def conv_geometry(op, x_shape, w_shape, stride, padding, dilation, groups):
    """Check an input shape against a weight shape and work out the output size.

    Results are cached: a training loop asks about the same few layers thousands of times, and
    the checks cost more Python time than a small convolution's arithmetic.
    """
    def key(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    try:
        return _cached_geometry(op, tuple(x_shape), tuple(w_shape), key(stride), key(padding),
                                key(dilation), groups)
    except TypeError:  # unhashable odd argument: let the checks below explain it
        return _conv_geometry(op, tuple(x_shape), tuple(w_shape), stride, padding, dilation,
                              groups)


def _conv_geometry(op, x_shape, w_shape, stride, padding, dilation, groups):
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {_shape_text(x_shape)}")
    if len(w_shape) != 4:
        raise ValueError(f"{op}: weight must be 4-D (C_out, C_in/groups, kH, kW), got shape "
                         f"{_shape_text(w_shape)}")
    if int(groups) != groups or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    groups = int(groups)
    stride, padding, dilation = (as_pair_of_ints(v, op, name) for v, name in
                                 ((stride, "stride"), (padding, "padding"),
                                  (dilation, "dilation")))
    batch, cin = x_shape[:2]
    cout, cin_g = w_shape[:2]
    if cout % groups:
        raise ValueError(f"{op}: weight {_shape_text(w_shape)} has {cout} output channels, "
                         f"not divisible by groups={groups}")
    if cin != cin_g * groups:
        raise ValueError(f"{op}: input {_shape_text(x_shape)} has {cin} channels but weight "
                         f"{_shape_text(w_shape)} with groups={groups} expects "
                         f"{cin_g * groups} (= {cin_g} per group x {groups} groups)")
    in_hw, kernel_hw = tuple(x_shape[2:]), tuple(w_shape[2:])
    out_hw = conv_output_hw(in_hw, kernel_hw, stride, padding, dilation, op=op)
    return ConvGeometry(batch, cin, in_hw, cout, kernel_hw, out_hw, stride, padding, dilation,
                        groups)


_cached_geometry = lru_cache(maxsize=1024)(_conv_geometry)


def compute_dtype(*arrays):
    """The floating dtype to compute in: float32 stays float32, anything wider or mixed promotes
    as NumPy does, integers and booleans compute in float64 (like ``np.mean``)."""
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
