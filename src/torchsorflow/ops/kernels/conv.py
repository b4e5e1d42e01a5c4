"""2-D convolution (PyTorch's cross-correlation) and its two adjoints, in pure NumPy.

Three maps, all linear in each argument, and each the adjoint of the others:

* ``conv2d(x, w)``: ``y[b, k, oh, ow] = Σ_{c,i,j} x_pad[b, g(k)·C_g + c, oh·sh + i·dh, ow·sw + j·dw]
  · w[k, c, i, j]`` (no flip: deep-learning "convolution" is cross-correlation, as in the seed's
  exercise 2);
* ``conv2d_grad_input(gy, w)`` is the adjoint of ``x ↦ conv2d(x, w)`` (the *transposed
  convolution*): ``<conv2d(x, w), gy> = <x, conv2d_grad_input(gy, w)>``;
* ``conv2d_grad_weight(gy, x)`` is the adjoint of ``w ↦ conv2d(x, w)``:
  ``<conv2d(x, w), gy> = <w, conv2d_grad_weight(gy, x)>``.

Because of these identities the autodiff wrapper can write the derivative of each map with the
other two, so derivatives of any order work with these three kernels only.

Layout is NCHW with weights (C_out, C_in/groups, kH, kW), like PyTorch; outputs are fresh
C-contiguous arrays in the inputs' floating dtype (float32 stays float32). ``stride``,
``padding`` (symmetric, per side) and ``dilation`` are ``(height, width)`` pairs of ints.

Which engine runs:

* 1×1 kernels without padding: a plain matrix product per image, no im2col
  (:mod:`.conv_special`);
* depthwise convolutions (one input channel per group): ``kh*kw`` vectorised multiply-adds, since
  a matrix product with one input channel per group would be a loop of tiny products;
* everything else: im2col + BLAS in cache-sized chunks on all cores (:mod:`.im2col`); the input
  gradient of a stride-1 layer with 16+ channels per group is itself computed as a forward
  convolution (the *transposed convolution*, see :func:`_as_transposed_convolution`), or, on
  small maps with an output as large as the input, as one product and a flat shift per tap
  (:mod:`.conv_shift`).

:mod:`.reference` holds the same three maps in their plainest form; inside
``runtime.reference_kernels()`` they run instead.

>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> conv2d(x, np.ones((1, 1, 2, 2)), (2, 2), (0, 0), (1, 1), 1)[0, 0]
array([[10., 18.],
       [42., 50.]])
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import conv_shift, conv_special, reference, runtime
from .geometry import as_pair_of_ints, compute_dtype, conv_geometry
from .im2col import Im2col, choose_layout

__all__ = ["conv2d", "conv2d_grad_input", "conv2d_grad_weight"]


@lru_cache(maxsize=256)
def _engine(g, dtype):
    """The fastest correct engine for this geometry (see the module docstring); engines hold no
    per-call state, so they are cached like the geometries (``_engine.cache_clear()`` after
    changing a runtime constant such as ``runtime.IM2COL_CHUNK_BYTES``)."""
    if g.kernel_hw == (1, 1) and g.padding == (0, 0):
        return conv_special.Pointwise(g, dtype)
    if g.cin_per_group == 1 and g.groups > 1:
        return conv_special.Depthwise(g, dtype)
    return Im2col(g, dtype, choose_layout(g))


@lru_cache(maxsize=256)
def _as_transposed_convolution(g):
    """For stride 1: the forward geometry that computes ``grad_input``, or ``None``.

    With stride 1, ``gx[c, h, w] = Σ_{k,i,j} gy_pad[k, h + q - i·d, w + q - j·d] · w[k, c, i, j]``
    with ``q = d·(kh-1) - p``: a plain convolution of ``gy`` padded by ``q`` with the kernel
    flipped and its two channel axes swapped. That reuses the forward engine (im2col copies)
    instead of col2im (scattered additions, which cost NumPy more than copies). With few input
    channels per group (``runtime.TRANSPOSED_MIN_CHANNELS``) the transposed layer would have few
    output channels (thin products) and col2im wins.
    """
    spans = [d * (k - 1) for k, d in zip(g.kernel_hw, g.dilation)]
    depthwise = g.cin_per_group == 1 and g.groups > 1  # transposed: depthwise again, and cheap
    if g.stride != (1, 1) or (g.cin_per_group < runtime.TRANSPOSED_MIN_CHANNELS and not depthwise) or any(
            p > s for p, s in zip(g.padding, spans)):
        return None
    return conv_geometry("conv2d_grad_input", (g.batch, g.cout) + tuple(g.out_hw),
                         (g.cin, g.cout_per_group) + tuple(g.kernel_hw), (1, 1),
                         tuple(s - p for s, p in zip(spans, g.padding)), g.dilation, g.groups)


def _transposed_kernel(w, g):
    """(C_out, C_in/G, kh, kw) -> (C_in, C_out/G, kh, kw), flipped in space, group by group."""
    kh, kw = g.kernel_hw
    wg = w.reshape(g.groups, g.cout_per_group, g.cin_per_group, kh, kw)
    flipped = wg.transpose(0, 2, 1, 3, 4)[:, :, :, ::-1, ::-1]
    return np.ascontiguousarray(flipped).reshape(g.cin, g.cout_per_group, kh, kw)


def _materialized(gy):
    """``gy`` itself, or a contiguous copy when it is a broadcast view (a zero stride, as the
    gradient of ``y.sum()`` is): NumPy's matmul cannot hand such an operand to BLAS and falls back
    to a slower loop; writing the copy costs one pass over ``gy``."""
    return np.ascontiguousarray(gy) if gy.size > 1 and 0 in gy.strides else gy


def _check_shape(op, name, array, expected, why):
    if tuple(array.shape) != tuple(expected):
        raise ValueError(f"{op}: {name} has shape {tuple(array.shape)} but {why} needs "
                         f"{tuple(expected)}")


def conv2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Cross-correlate ``x`` (N, C_in, H, W) with ``w`` (C_out, C_in/groups, kH, kW); no bias.

    >>> y = conv2d(np.ones((2, 4, 5, 5), np.float32), np.ones((6, 2, 3, 3), np.float32),
    ...            (1, 1), (1, 1), (1, 1), 2)
    >>> y.shape, y.dtype, float(y[0, 0, 2, 2]), float(y[0, 0, 0, 0])
    ((2, 6, 5, 5), dtype('float32'), 18.0, 8.0)
    """
    x, w = np.asarray(x), np.asarray(w)
    g = conv_geometry("conv2d", x.shape, w.shape, stride, padding, dilation, groups)
    if runtime.using_reference_kernels():
        return reference.conv2d(x, w, stride, padding, dilation, groups)
    dtype = compute_dtype(x, w)
    engine = _engine(g, dtype)
    return engine.forward(x.astype(dtype, copy=False), w.astype(dtype, copy=False))


def conv2d_grad_input(gy, w, input_hw, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                      groups=1):
    """The adjoint of ``x ↦ conv2d(x, w)`` applied to ``gy``: the gradient with respect to ``x``.

    ``input_hw`` is needed because a stride makes the input size ambiguous: inputs of height 5
    and 6 both give 3 output rows for a 2×2 kernel with stride 2.

    >>> w = np.ones((1, 1, 2, 2))
    >>> conv2d_grad_input(np.ones((1, 1, 2, 2)), w, (5, 5), (2, 2), (0, 0), (1, 1), 1)[0, 0]
    array([[1., 1., 1., 1., 0.],
           [1., 1., 1., 1., 0.],
           [1., 1., 1., 1., 0.],
           [1., 1., 1., 1., 0.],
           [0., 0., 0., 0., 0.]])
    """
    gy, w = np.asarray(gy), np.asarray(w)
    op = "conv2d_grad_input"
    if gy.ndim != 4:
        raise ValueError(f"{op}: gy must be 4-D (N, C_out, OH, OW), got shape {gy.shape}")
    input_hw = as_pair_of_ints(input_hw, op, "input_hw")
    cin = (w.shape[1] * groups) if w.ndim == 4 else 0
    g = conv_geometry(op, (gy.shape[0], cin) + input_hw, w.shape, stride, padding, dilation,
                      groups)
    _check_shape(op, "gy", gy, g.output_shape,
                 f"weight {w.shape} on a {input_hw[0]}x{input_hw[1]} input")
    if runtime.using_reference_kernels():
        return reference.conv2d_grad_input(gy, w, input_hw, stride, padding, dilation, groups)
    dtype = compute_dtype(gy, w)
    gy, w = _materialized(gy.astype(dtype, copy=False)), w.astype(dtype, copy=False)
    engine = _engine(g, dtype)
    if (isinstance(engine, Im2col) and engine.last
            and g.cin_per_group >= runtime.SHIFT_MIN_CHANNELS
            and conv_shift.eligible(g)):
        return conv_shift.input_grad(gy, w, g, dtype)
    transposed = _as_transposed_convolution(g) if isinstance(engine, Im2col) else None
    if transposed is not None:
        return _engine(transposed, dtype).forward(gy, _transposed_kernel(w, g))
    return engine.input_grad(gy, w)


def conv2d_grad_weight(gy, x, kernel_hw, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                       groups=1):
    """The adjoint of ``w ↦ conv2d(x, w)`` applied to ``gy``: the gradient with respect to ``w``.

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv2d_grad_weight(np.ones((1, 1, 2, 2)), x, (2, 2), (2, 2), (0, 0), (1, 1), 1)[0, 0]
    array([[20., 24.],
           [36., 40.]])
    """
    gy, x = np.asarray(gy), np.asarray(x)
    op = "conv2d_grad_weight"
    if gy.ndim != 4:
        raise ValueError(f"{op}: gy must be 4-D (N, C_out, OH, OW), got shape {gy.shape}")
    kernel_hw = as_pair_of_ints(kernel_hw, op, "kernel_hw")
    if x.ndim == 4 and isinstance(groups, (int, np.integer)) and groups > 0 and x.shape[1] % groups:
        raise ValueError(f"{op}: input {x.shape} has {x.shape[1]} channels, not divisible by "
                         f"groups={groups}")
    cin_g = x.shape[1] // groups if x.ndim == 4 and groups else 0
    g = conv_geometry(op, x.shape, (gy.shape[1], cin_g) + kernel_hw, stride, padding, dilation,
                      groups)
    _check_shape(op, "gy", gy, g.output_shape, f"input {x.shape} with kernel "
                 f"{kernel_hw[0]}x{kernel_hw[1]}")
    if runtime.using_reference_kernels():
        return reference.conv2d_grad_weight(gy, x, kernel_hw, stride, padding, dilation, groups)
    dtype = compute_dtype(gy, x)
    engine = _engine(g, dtype)
    return engine.weight_grad(_materialized(gy.astype(dtype, copy=False)),
                              x.astype(dtype, copy=False))
