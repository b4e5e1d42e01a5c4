"""``tsf tour``: both seed sheets, exercise by exercise, computed and checked."""
from __future__ import annotations


def register(subparsers):
    parser = subparsers.add_parser(
        "tour", help="work through every exercise of both sheets with ✓/✗ checks",
        description="Reproduces each exercise of seed sheets 000 and 002 with TorchsorFlow and "
                    "checks it against the sheet's answer; exits non-zero if any check fails.")
    parser.add_argument("--only", metavar="EXERCISE",
                        help="run only exercises whose id starts with this, e.g. 000/2 or 002")
    parser.set_defaults(func=run)


def run(args):
    from torchsorflow.tour import run_tour

    failures = run_tour(only=args.only)   # an unknown --only is a ValueError: tsf prints it
    return 1 if failures else 0
