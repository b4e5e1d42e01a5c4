"""examples/mle.ipynb runs top to bottom and shows what it claims (seed answers, coverage)."""
import pathlib
import re

import pytest

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "examples" / "mle.ipynb"


def test_mle_notebook_runs_and_reproduces_the_seed_answers():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs)
    by_hand = re.search(r"N / sum\(x\)\s+= (\S+)", text).group(1)
    assert re.search(r"closed form\s+= (\S+)", text).group(1) == by_hand
    mean = re.search(r"fitted mean : (.*)", text).group(1)
    assert re.search(r"sample mean : (.*)", text).group(1) == mean
    assert 0.92 <= float(re.search(r"coverage: (\S+)", text).group(1)) <= 0.98
    assert any(output.get("data", {}).get("image/png") for cell in notebook.cells
               if cell.cell_type == "code" for output in cell.outputs)
