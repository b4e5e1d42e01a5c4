"""The primitive catalog: for every primitive in ``torchsorflow.ops.registry()``, one or more
rows saying how to call it, on which inputs, and what PyTorch calls the same thing.

tests/test_registry.py enumerates the registry, not this catalog: a primitive without a row, a
row that does not reach its primitive, a differentiable primitive without both rules, a gradient
that disagrees with finite differences (both modes, to second order) or a value or gradient that
disagrees with PyTorch fails a test named after the primitive.

Adding an element-wise primitive to TorchsorFlow is one declaration in :mod:`torchsorflow.ops`
and one row here, e.g. ``unary("exp", tsf.exp, lambda t, x: t.exp(x))``. Rows live in one module
per area (``elementwise.py``, ``shape.py`` ...); every module of this package is loaded.

A row's ``torch`` function takes the torch module first, then one torch Tensor per input; inputs
are float64 arrays drawn from the named domains (see ``tests/fuzz_support.values``) in each of the
row's ``shapes``, or whatever ``make(rng)`` returns.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict
from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np

CATALOG: dict[str, list[Row]] = defaultdict(list)

UNARY_SHAPES = [((),), ((3,),), ((2, 1, 3),), ((0, 3),)]
BINARY_SHAPES = [((3,), (3,)), ((2, 1, 3), (4, 3)), ((), (2,)), ((0, 3), (1, 3))]


@dataclass
class Row:
    primitive: str
    ours: Callable
    torch: Callable | None = None
    domains: tuple = ("normal",)
    shapes: list = field(default_factory=lambda: UNARY_SHAPES)
    make: Callable | None = None     # rng -> list of float64 arrays (instead of domains/shapes)
    order: int = 2                   # highest derivative order checked against finite differences
    modes: tuple = ("fwd", "rev")
    torch_modes: tuple | None = None  # the modes compared with PyTorch, when it lacks one
    float32: bool = True             # also compare forward values with PyTorch in float32
    reason: str = ""                 # why there is no torch twin, or why order < 2

    def inputs(self, rng):
        """Argument lists, one per shape (float64 arrays)."""
        from fuzz_support import values
        if self.make is not None:
            return [self.make(rng)]
        return [[values(domain, shape, rng) for domain, shape in zip(self.domains, shapes)]
                for shapes in self.shapes]


def row(primitive, ours, torch=None, register=True, **options) -> Row:
    """A row for ``primitive`` (``register=False``: a row for another test's own use)."""
    entry = Row(primitive, ours, torch, **options)
    if entry.torch is None and not entry.reason:
        raise ValueError(f"catalog row for {primitive}: no torch twin and no reason given")
    if register:
        CATALOG[primitive].append(entry)
    return entry


def unary(primitive, ours, torch=None, domain="normal", **options) -> Row:
    return row(primitive, ours, torch, domains=(domain,), **options)


def binary(primitive, ours, torch=None, domains=("normal", "normal"), **options) -> Row:
    options.setdefault("shapes", BINARY_SHAPES)
    return row(primitive, ours, torch, domains=domains, **options)


def constant(primitive, ours, torch, domains=("normal",), shapes=None, **options) -> Row:
    """A primitive with no derivative (a comparison, an index): forward values only."""
    return row(primitive, ours, torch, domains=domains,
               shapes=shapes or (BINARY_SHAPES if len(domains) == 2 else UNARY_SHAPES),
               order=0, modes=(), **options)


def load():
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return CATALOG


def spd(rng, n=3, batch=()):
    """A random symmetric positive-definite matrix (float64)."""
    a = rng.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)
