"""Sub-commands of ``tsf``; each module defines ``register(subparsers)`` (see :mod:`torchsorflow.cli`).

Also what they share: :class:`CommandError` and the argparse types that refuse careless values
(a negative learning rate, a NaN, ``--topn 0``) before anything runs.
"""
from __future__ import annotations

import argparse
import math


class CommandError(Exception):
    """A known failure of a command (a bad argument, a file that cannot be used): ``tsf``
    prints ``tsf COMMAND: message`` and exits with status 2, without a traceback."""


def positive_int(text):
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def finite_number(low=None, high=None, low_open=False):
    """An argparse type: a finite float within [low, high] (``low_open``: strictly above low).

    >>> finite_number(0)("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be >= 0, got -1
    """
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low:g}, "
                                             f"got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high:g}, got {text}")
        return value
    return parse
