"""Seed 000, exercise 3: the mode explainer prints the sheet's pseudocode and evaluation counts."""
import math

import pytest

import torchsorflow as tsf
from torchsorflow.autodiff import explain
from torchsorflow.cli import main

CHAIN = [lambda v: v * v, tsf.sin, tsf.exp]
X = 1.5
EXACT = 2 * X * math.cos(X * X) * math.exp(math.sin(X * X))


def _code(report):
    return [line.split("#")[0].strip() for line in report.lines if line.split("#")[0].strip()]


def test_forward_mode_schedule_is_exercise_3b():
    report = explain(CHAIN, X, mode="forward")
    assert _code(report) == ["d = f1'(x)", "v = f1(x)", "d = f2'(v) * d", "v = f2(v)",
                             "d = f3'(v) * d"]
    assert report.derivative == pytest.approx(EXACT, rel=1e-12)


def test_reverse_mode_schedule_is_exercise_3b():
    report = explain(CHAIN, X, mode="reverse")
    assert _code(report) == ["v1 = f1(x)", "v2 = f2(v1)", "d = f3'(v2)", "d = d*f2'(v1)",
                             "d = d*f1'(x)"]
    assert report.derivative == pytest.approx(EXACT, rel=1e-12)
    assert report.value == pytest.approx(math.exp(math.sin(X * X)))


def test_naive_evaluation_counts_are_exercise_3c():
    report = explain(CHAIN, X, mode="naive")
    assert report.counts["uncached"] == {"f1": 2, "f2": 1, "f3": 0}
    assert report.counts["cached"] == {"f1": 1, "f2": 1, "f3": 0}
    assert report.derivative == pytest.approx(EXACT, rel=1e-12)


def test_longer_chains_count_quadratically_without_cache():
    report = explain([tsf.sin] * 5, 0.3, mode="naive")
    assert report.counts["uncached"] == {"f1": 4, "f2": 3, "f3": 2, "f4": 1, "f5": 0}
    assert set(report.counts["cached"].values()) == {1, 0}


def test_bad_mode_is_named():
    with pytest.raises(ValueError, match="mode must be one of"):
        explain(CHAIN, X, mode="sideways")


def test_cli_explain_modes(capsys):
    assert main(["explain-modes"]) == 0
    out = capsys.readouterr().out
    assert "d = f2'(v) * d" in out and "d = d*f1'(x)" in out and "f1 ×2" in out
    assert "✓ all modes agree" in out
