"""Explain forward mode, reverse mode and naive evaluation on a scalar chain F = fₙ ∘ … ∘ f₁.

Seed 000, exercise 3: for F(x) = f3(f2(f1(x))) the chain rule gives
F'(x) = f1'(x) · f2'(f1(x)) · f3'(f2(f1(x))). The three ways of evaluating it differ only in
*order* and in *how often each fᵢ is evaluated*:

* forward mode carries the pair (v, d) = (value, derivative) from x to the output, one fᵢ at a
  time — every fᵢ and fᵢ' evaluated once, no storage;
* reverse mode first runs the chain forward, storing v1, v2, …, then multiplies derivatives from the
  output back to x — every fᵢ once, but all intermediate values kept;
* evaluating the chain-rule expression naively from left to right recomputes inner values:
  f1 is evaluated twice for three functions (inside f2'(f1(x)) and again inside f3'(f2(f1(x)))).
  With a cache, each fᵢ is evaluated once and the order of work is forward mode's.

Each derivative fᵢ'(v) is computed by the framework itself: with ``jvp`` in forward mode and with
``vjp`` in reverse mode.

>>> import torchsorflow as tsf
>>> from torchsorflow.autodiff import explain
>>> report = explain([tsf.sin, tsf.exp, tsf.log1p], 0.5, mode="naive")
>>> report.counts["uncached"]["f1"], report.counts["cached"]["f1"]
(2, 1)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .tracer import Box, wrap
from .transforms import jvp, vjp

MODES = ("forward", "reverse", "naive")


def _scalar(value):
    return float(np.asarray(value._array if isinstance(value, Box) else value))


def _at(x):
    return wrap(np.asarray(x, dtype=np.float64))


def _derivative_forward(f, v):
    """fᵢ'(v) by forward mode: push the tangent 1 through fᵢ."""
    return _scalar(jvp(f, (_at(v),), (_at(1.0),))[1])


def _derivative_reverse(f, v):
    """fᵢ'(v) by reverse mode: pull the cotangent 1 back through fᵢ."""
    _, pullback = vjp(f, _at(v))
    return _scalar(pullback(_at(1.0))[0])


@dataclass
class Explanation:
    """What :func:`explain` computed: the pseudocode lines, F(x), F'(x) and evaluation counts."""

    mode: str
    lines: list = field(default_factory=list)
    value: float = float("nan")
    derivative: float = float("nan")
    counts: dict = field(default_factory=dict)

    def __str__(self):
        return "\n".join(self.lines)


def _names(functions, names):
    if names is not None:
        if len(names) != len(functions):
            raise ValueError(f"explain: {len(names)} names for {len(functions)} functions")
        return list(names)
    return [f"f{i + 1}" for i in range(len(functions))]


def _forward(functions, names, x):
    report = Explanation("forward", [f"# forward mode: carry (v, d) from x = {x:g} to the output"])
    v = x
    for i, (f, name) in enumerate(zip(functions, names)):
        arg = "x" if i == 0 else "v"
        slope = _derivative_forward(f, v)
        if i == 0:
            d = slope
            report.lines.append(f"d = {name}'(x)".ljust(22) + f"# d = {d:.6g}")
        else:
            d = slope * d
            report.lines.append(f"d = {name}'(v) * d".ljust(22) + f"# d = {d:.6g}")
        v = _scalar(f(_at(v)))
        if i < len(functions) - 1:
            report.lines.append(f"v = {name}({arg})".ljust(22) + f"# v = {v:.6g}")
    report.value, report.derivative = v, d
    report.lines.append(f"# F'(x) = d = {d:.10g}")
    return report


def _reverse(functions, names, x):
    report = Explanation("reverse", [f"# reverse mode: forward pass storing v1, v2, ..., then "
                                     f"derivatives from the output back to x = {x:g}"])
    values, v = [x], x
    for i, (f, name) in enumerate(zip(functions[:-1], names[:-1])):
        v = _scalar(f(_at(v)))
        values.append(v)
        arg = "x" if i == 0 else f"v{i}"
        report.lines.append(f"v{i + 1} = {name}({arg})".ljust(22) + f"# v{i + 1} = {v:.6g}")
    d = None
    for i in reversed(range(len(functions))):
        arg = "x" if i == 0 else f"v{i}"
        slope = _derivative_reverse(functions[i], values[i])
        if d is None:
            d = slope
            report.lines.append(f"d = {names[i]}'({arg})".ljust(22) + f"# d = {d:.6g}")
        else:
            d = d * slope
            report.lines.append(f"d = d*{names[i]}'({arg})".ljust(22) + f"# d = {d:.6g}")
    report.value = _scalar(functions[-1](_at(values[-1])))
    report.derivative = d
    report.lines.append(f"# F'(x) = d = {d:.10g}")
    return report


def _naive(functions, names, x, cached):
    """Evaluate f1'(x) · f2'(f1(x)) · … left to right, counting calls of each fᵢ."""
    counts = {name: 0 for name in names}
    cache = {}
    order = []

    def call(i, v):
        key = (i, v)
        if cached and key in cache:
            return cache[key]
        counts[names[i]] += 1
        order.append(f"{names[i]}({'x' if i == 0 else '…'})")
        cache[key] = _scalar(functions[i](_at(v)))
        return cache[key]

    def inner_value(k):  # f_k(...(f1(x))), evaluated from scratch unless cached
        v = x
        for i in range(k):
            v = call(i, v)
        return v

    product = 1.0
    for k in range(len(functions)):
        v = inner_value(k)
        order.append(f"{names[k]}'")
        product *= _derivative_forward(functions[k], v)
    return product, counts, order


def _naive_report(functions, names, x):
    terms = " · ".join(
        f"{names[k]}'({''.join(n + '(' for n in reversed(names[:k]))}x{')' * k})"
        for k in range(len(functions)))
    report = Explanation("naive", [f"# naive: evaluate F'(x) = {terms} from left to right"])
    for label, cached in (("uncached", False), ("cached", True)):
        product, counts, order = _naive(functions, names, x, cached)
        report.counts[label] = counts
        report.lines.append(f"{label:>9}: order {' → '.join(order)}")
        report.lines.append(" " * 11 + "evaluations: " +
                            ", ".join(f"{n} ×{c}" for n, c in counts.items()))
        report.derivative = product
    report.lines.append("# without a cache inner functions are recomputed (neither mode); with one, "
                        "the order of work is forward mode's")
    report.lines.append(f"# F'(x) = {report.derivative:.10g}")
    return report


def explain(functions, x, mode="forward", names=None):
    """Show how ``mode`` computes F'(x) for F = functions[-1] ∘ … ∘ functions[0].

    ``functions`` are scalar functions of a scalar Tensor (``tsf.sin``, lambdas, ...); ``mode`` is
    ``"forward"``, ``"reverse"`` or ``"naive"`` (left-to-right evaluation of the chain-rule
    expression, with and without caching). Returns an :class:`Explanation`; ``print`` it for the
    pseudocode of seed 000, exercise 3b/3c with the values at ``x``.
    """
    if mode not in MODES:
        raise ValueError(f"explain: mode must be one of {MODES}, got {mode!r}")
    functions = list(functions)
    if not functions:
        raise ValueError("explain: need at least one function in the chain")
    names = _names(functions, names)
    x = float(x)
    if mode == "forward":
        return _forward(functions, names, x)
    if mode == "reverse":
        return _reverse(functions, names, x)
    return _naive_report(functions, names, x)
