"""Output sizes of convolution and pooling windows, with errors that name the shapes involved.

A window of ``k`` taps spaced ``d`` apart covers ``d*(k-1) + 1`` input positions (its *span*).
Sliding it with step ``s`` over an input of size ``n`` padded by ``p`` on both sides gives

    out = floor((n + 2p - span) / s) + 1

positions, the formula PyTorch documents for ``Conv2d``. Pooling adds ``ceil_mode``: round up
instead, so a partial window at the end still produces an output, *but* (PyTorch's rule) drop that
last window again if it would start beyond the input and its left padding, i.e. if it would
cover nothing but right padding.

>>> conv_output_hw((4, 4), (2, 2), stride=(2, 2), padding=(1, 1), dilation=(1, 1))
(3, 3)
>>> pool_output_size(5, kernel=2, stride=2, padding=0, dilation=1, ceil_mode=True)
3
>>> conv_output_hw((2, 2), (3, 3), (1, 1), (0, 0), (1, 1))
Traceback (most recent call last):
ValueError: conv2d: kernel 3x3 (dilation 1) does not fit input 2x2 with padding 0
"""
from __future__ import annotations

__all__ = ["conv_output_hw", "pool_output_hw", "pool_output_size", "span", "check_pool_padding"]


def span(kernel: int, dilation: int) -> int:
    """Input positions covered by one window: ``dilation * (kernel - 1) + 1``."""
    return dilation * (kernel - 1) + 1


def _fmt(pair) -> str:
    """``(3, 3) → '3'``, ``(1, 2) → '1x2'``: short for the common square case."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _positive(op, name, pair, minimum=1):
    for axis, value in zip("HW", pair):
        if value < minimum:
            raise ValueError(f"{op}: {name} must be >= {minimum}, got {_fmt(pair)} "
                             f"({value} along {axis})")


def conv_output_hw(input_hw, kernel_hw, stride, padding, dilation, op="conv2d"):
    """``(OH, OW)`` of a convolution, or a ``ValueError`` naming kernel, dilation, input, padding.

    All arguments are ``(height, width)`` pairs of ints.
    """
    _positive(op, "stride", stride)
    _positive(op, "dilation", dilation)
    _positive(op, "padding", padding, minimum=0)
    _positive(op, "kernel size", kernel_hw)
    out = []
    for n, k, s, p, d in zip(input_hw, kernel_hw, stride, padding, dilation):
        room = n + 2 * p - span(k, d)
        if room < 0:
            raise ValueError(
                f"{op}: kernel {kernel_hw[0]}x{kernel_hw[1]} (dilation {_fmt(dilation)}) does not "
                f"fit input {input_hw[0]}x{input_hw[1]} with padding {_fmt(padding)}")
        out.append(room // s + 1)
    return tuple(out)


def check_pool_padding(kernel_hw, padding, op):
    """PyTorch's pooling rule: padding at most half the kernel size (``p <= k // 2``).

    More padding would allow windows made only of padding, whose maximum would be ``-inf`` and
    whose average would be meaningless.
    """
    for axis, k, p in zip("HW", kernel_hw, padding):
        if p > k // 2:
            raise ValueError(f"{op}: padding {_fmt(padding)} must be at most half the kernel size "
                             f"{kernel_hw[0]}x{kernel_hw[1]} (padding {p} > {k} // 2 along {axis})")


def pool_output_size(n: int, kernel: int, stride: int, padding: int, dilation: int,
                     ceil_mode: bool) -> int:
    """Windows along one axis, PyTorch's ``pooling_output_shape`` (no validation, may be < 1)."""
    room = n + 2 * padding - span(kernel, dilation)
    out = (room + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1  # the last window would start inside the right padding: drop it
    return out


def pool_output_hw(input_hw, kernel_hw, stride, padding, dilation, ceil_mode, op):
    """``(OH, OW)`` of a pooling layer, validating padding and that at least one window fits."""
    _positive(op, "stride", stride)
    _positive(op, "dilation", dilation)
    _positive(op, "padding", padding, minimum=0)
    _positive(op, "kernel size", kernel_hw)
    check_pool_padding(kernel_hw, padding, op)
    out = tuple(pool_output_size(*args, ceil_mode)
                for args in zip(input_hw, kernel_hw, stride, padding, dilation))
    if min(out) < 1:
        raise ValueError(
            f"{op}: kernel {kernel_hw[0]}x{kernel_hw[1]} (dilation {_fmt(dilation)}) does not "
            f"fit input {input_hw[0]}x{input_hw[1]} with padding {_fmt(padding)}")
    return out
