"""Check derivatives against central finite differences, in both modes and to any order.

The check works on random directions rather than whole Jacobians, so it stays cheap for large
inputs: forward mode must satisfy ``jvp(f, x, v) ≈ (f(x+εv) − f(x−εv)) / 2ε`` and reverse mode
``⟨vjp(f, x)(u), v⟩ ≈ ⟨u, (f(x+εv) − f(x−εv)) / 2ε⟩``. For ``order > 1`` the same check is applied
to the derivative maps themselves (``x ↦ jvp(f, x, v)`` and ``x ↦ vjp(f, x)(u)``), which exercises
derivative rules of derivative rules. Everything runs in float64.

>>> import torchsorflow as tsf
>>> from torchsorflow.autodiff import check_grads
>>> check_grads(lambda x: tsf.tanh(x) * x, [tsf.tensor([0.3, -1.2], dtype="float64")])
"""
from __future__ import annotations

import numpy as np

from . import pytree
from .tracer import Box, wrap
from .transforms import jvp, vjp


def _float64(x):
    array = x._array if isinstance(x, Box) else np.asarray(x, dtype=np.float64)
    return wrap(array.astype(np.float64))


def _output_arrays(out):
    leaves, _ = pytree.flatten(out)
    return [np.asarray(leaf._array if isinstance(leaf, Box) else leaf, dtype=np.float64)
            for leaf in leaves]


def _inner(xs, ys):
    return float(sum(np.sum(x * y) for x, y in zip(xs, ys)))


def _check_close(what, got, expected, rtol, atol):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if not np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=False):
        raise AssertionError(f"check_grads: {what} does not match finite differences:\n"
                             f"  derivative         = {got}\n  finite differences = {expected}")


def check_grads(f, args, modes=("fwd", "rev"), order=2, eps=1e-6, rtol=1e-5, atol=1e-6, seed=0):
    """Raise ``AssertionError`` when ``f``'s derivatives at ``args`` disagree with finite differences.

    ``args`` is a sequence of arguments (Tensors or arrays, converted to float64); every argument is
    perturbed. ``modes`` picks forward (``"fwd"``) and/or reverse (``"rev"``) mode; ``order`` is the
    highest derivative order checked.
    """
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {mode!r}; use 'fwd' and/or 'rev'")
    args = tuple(_float64(a) for a in args)
    rng = np.random.default_rng(seed)
    direction = tuple(wrap(rng.standard_normal(a.shape)) for a in args)
    shifted = lambda sign: tuple(wrap(a._array + sign * eps * v._array)  # noqa: E731
                                 for a, v in zip(args, direction))
    plus, minus = _output_arrays(f(*shifted(1))), _output_arrays(f(*shifted(-1)))
    numeric = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]

    if "fwd" in modes:
        _, tangent = jvp(f, args, direction)
        for k, (got, expected) in enumerate(zip(_output_arrays(tangent), numeric)):
            _check_close(f"forward mode (order {order}, output {k})", got, expected, rtol, atol)
        if order > 1:
            check_grads(lambda *a: jvp(f, a, direction)[1], args, modes, order - 1, eps, rtol,
                        atol, seed + 1)

    if "rev" in modes:
        out, vjp_fn = vjp(f, *args)
        out_leaves, out_spec = pytree.flatten(out)
        cotangent = pytree.unflatten(out_spec, [wrap(rng.standard_normal(o.shape))
                                                for o in out_leaves])
        grads = vjp_fn(cotangent)
        projected = _inner(_output_arrays(grads), [v._array for v in direction])
        expected = _inner(_output_arrays(cotangent), numeric)
        _check_close(f"reverse mode (order {order})", projected, expected, rtol, atol)
        if order > 1:
            check_grads(lambda *a: vjp(f, *a)[1](cotangent), args, modes, order - 1, eps, rtol,
                        atol, seed + 2)
