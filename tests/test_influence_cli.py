"""``tsf explain``, ``tsf demo`` and examples/influence_functions.ipynb, run end to end."""
import pathlib
import re

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import io, optim
from torchsorflow.cli import main
from torchsorflow.data import DataLoader, datasets
from torchsorflow.influence.report import head_surrogate
from torchsorflow.models import digits
from torchsorflow.training import fit

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "examples" / "influence_functions.ipynb"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mlp_checkpoint(tmp_path_factory):
    """A small MLP trained for two epochs, saved the way `tsf train` saves it."""
    tsf.manual_seed(0)
    model = digits.build("mlp", hidden=32)
    loader = DataLoader(datasets.digits("train"), batch_size=32, shuffle=True, seed=0)
    fit(model, loader, optim.Adam(model.parameters(), lr=3e-3), 2, progress=False, log=None)
    path = tmp_path_factory.mktemp("run") / "checkpoint.safetensors"
    io.save({"model": model.state_dict(), "config": {"model": "mlp", "hparams": model.hparams}},
            path)
    return path, model


def test_explain_prints_the_api_answer_and_writes_pngs(mlp_checkpoint, tmp_path, capsys):
    path, model = mlp_checkpoint
    code = main(["explain", str(path), "--test-index", "7", "--top", "4", "--validate", "6",
                 "--out", str(tmp_path), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "last Linear layer of mlp on its frozen features, refit to the minimum" in out
    # the table lists exactly what the API says for the same surrogate
    train, test = datasets.digits("train"), datasets.digits("test")
    influence, features = head_surrogate(model, train.tensors[0].numpy(),
                                         train.tensors[1].numpy(), progress=False)
    x, label = features(test.tensors[0].numpy()[7:8])[0], test.tensors[1].numpy()[7]
    top = influence.top_k((x, label), k=4)
    rows = re.findall(r"^\s+1\s+(\d+)\s+(\d)\s+(\S+)\s+(\d+)\s+(\d)\s+(\S+)$", out,
                      re.MULTILINE)
    assert rows and int(rows[0][0]) == top.helpful[0][0] and int(rows[0][3]) == top.harmful[0][0]
    assert float(rows[0][2]) == pytest.approx(top.helpful[0][1], rel=1e-3)
    assert float(rows[0][5]) == pytest.approx(top.harmful[0][1], rel=1e-3)
    r = float(re.search(r"Pearson R = (\S+),", out).group(1))
    assert r > 0.9
    for name in ("influence_test7.png", "loo_test7.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG


def test_explain_names_bad_arguments(mlp_checkpoint, tmp_path, capsys):
    path, _ = mlp_checkpoint
    assert main(["explain", str(path), "--test-index", "360"]) == 2
    assert "--test-index 360 is out of range for the 360 test digits (0..359)" in \
        capsys.readouterr().err
    assert main(["explain", str(tmp_path / "missing.safetensors"), "--test-index", "0"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_notebook_runs_and_checks_itself(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs)
    assert float(re.search(r"Pearson R = (\S+),", text).group(1)) >= 0.99
    assert 1.85 < float(re.search(r"first-order error ~ ε\^(\S+)", text).group(1)) < 2.15
    assert float(re.search(r"CG vs exact: max relative difference (\S+)", text).group(1)) < 1e-6
    assert "LissaDivergenceError: LiSSA diverged at step" in text
    assert {p.name for p in tmp_path.glob("*.png")} == {"influence.png", "taylor.png", "loo.png"}
    assert np.all([p.read_bytes()[:8] == PNG for p in tmp_path.glob("*.png")])


def test_demo_trains_explains_validates_and_writes_its_folder(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--epochs", "1", "--width", "4", "--validate", "6",
                 "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "convex surrogate: the last Linear layer on the CNN's frozen features" in text
    test_index = int(re.search(r"explaining test digit #(\d+)", text).group(1))
    assert float(re.search(r"Pearson R = (\S+),", text).group(1)) >= 0.9
    orders = re.search(r"~ ε\^(\S+), first-order error ~ ε\^(\S+) ", text).groups()
    assert abs(float(orders[0]) - 1) < 0.1 and abs(float(orders[1]) - 2) < 0.15
    for name in ("training_curve.png", "influence.png", "loo.png", "taylor.png"):
        assert (out / name).read_bytes()[:8] == PNG
    # the checkpoint it leaves behind is one `tsf explain` reads
    assert main(["explain", str(out / "checkpoint.safetensors"), "--test-index",
                 str(test_index), "--top", "3", "--out", str(tmp_path), "--no-progress"]) == 0
