"""``tsf tour``: every exercise of both seed sheets, computed by TorchsorFlow and checked.

Each exercise is a function taking a :class:`Report`; it prints what it computed and records ✓/✗
checks against the sheet's answer. ``run_tour`` returns the number of failed checks, so the CLI (and
the test suite) can fail when any answer is not reproduced.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .sheet000 import EXERCISES as SHEET_000
from .sheet002 import EXERCISES as SHEET_002

EXERCISES = {**SHEET_000, **SHEET_002}


@dataclass
class Report:
    """Collects an exercise's printed lines and its checks."""

    out: object = print
    checks: list = field(default_factory=list)

    def say(self, text=""):
        self.out(f"  {text}")

    def check(self, label, ok, detail=""):
        ok = bool(ok)
        self.checks.append((label, ok))
        self.out(f"  {'✓' if ok else '✗'} {label}" + (f"  ({detail})" if detail else ""))
        return ok


def run_tour(only=None, out=print):
    """Run the exercises (all, or those whose id starts with ``only``); return the failure count."""
    selected = {k: v for k, v in EXERCISES.items() if only is None or k.startswith(only)}
    if not selected:
        raise ValueError(f"tour: no exercise matches {only!r}; choose from {', '.join(EXERCISES)}")
    failures = 0
    for exercise_id, (title, run) in selected.items():
        out(f"\n━━ {exercise_id}  {title}")
        report = Report(out=out)
        start = time.perf_counter()
        try:
            run(report)
        except Exception as error:  # a crash is a failed check, reported with its cause
            report.check(f"ran without error: {type(error).__name__}: {error}", False)
        failed = sum(not ok for _, ok in report.checks)
        failures += failed
        out(f"  → {len(report.checks) - failed}/{len(report.checks)} checks passed "
            f"in {time.perf_counter() - start:.1f} s")
    out(f"\n{'All checks passed.' if failures == 0 else f'{failures} check(s) FAILED.'}")
    return failures
