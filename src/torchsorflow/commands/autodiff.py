"""``tsf explain-modes``: seed 000 exercise 3 worked through by the framework."""
from __future__ import annotations

import math

from . import finite_number


def register(subparsers):
    parser = subparsers.add_parser(
        "explain-modes",
        help="show forward mode, reverse mode and naive evaluation of F(x) = f3(f2(f1(x)))",
        description="Seed 000, exercise 3, with f1(x) = x², f2 = sin, f3 = exp: prints the "
                    "forward- and reverse-mode pseudocode with values, and how often each fᵢ is "
                    "evaluated by the naive left-to-right chain rule with and without caching.")
    parser.add_argument("--x", type=finite_number(), default=1.5,
                        help="the point x (default 1.5)")
    parser.set_defaults(func=run)


def run(args):
    import torchsorflow as tsf
    from torchsorflow.autodiff import explain

    functions = [lambda v: v * v, tsf.sin, tsf.exp]
    x = args.x
    print("F(x) = f3(f2(f1(x))) with f1(x) = x², f2(x) = sin x, f3(x) = exp x")
    print("chain rule: F'(x) = f1'(x) · f2'(f1(x)) · f3'(f2(f1(x)))\n")
    reports = [explain(functions, x, mode=m) for m in ("forward", "reverse", "naive")]
    for report in reports:
        print(report, end="\n\n")
    exact = 2 * x * math.cos(x * x) * math.exp(math.sin(x * x))
    ok = all(math.isclose(r.derivative, exact, rel_tol=1e-9) for r in reports)
    print(f"analytic F'(x) = 2x·cos(x²)·exp(sin(x²)) = {exact:.10g}  "
          f"{'✓ all modes agree' if ok else '✗ MISMATCH'}")
    return 0 if ok else 1
