"""Real PyTorch model code runs on TorchsorFlow with only its imports changed.

Each file in tests/zoo/ is model code in the style of a public example (pytorch/examples and the
like), written against ``torch``. The test runs it twice: as written, on PyTorch, and with its
import lines rewritten to TorchsorFlow (:func:`translate` touches nothing else). With the same
weights (copied through ``state_dict``) and inputs, the two runs must agree on the outputs, the
loss, every parameter's gradient and the parameters after one optimizer step.

A zoo file defines ``make(seed) -> (model, optimizer, scheduler or None)``,
``train_step(model, optimizer, *inputs) -> (output, loss)`` and ``INPUTS``, the inputs' kinds and
shapes (``"normal"``, ``"unit"`` in [0, 1), ``"labels"`` with a class count).
"""
import pathlib
import re
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torchsorflow as tsf  # noqa: E402

ZOO = pathlib.Path(__file__).parent / "zoo"
MODELS = sorted(p.stem for p in ZOO.glob("*.py"))


def translate(source):
    """The same source with its ``torch`` imports pointed at TorchsorFlow, and nothing else."""
    out = []
    for line in source.splitlines():
        m = re.match(r"^(\s*)import torch(\.[\w.]+)?(\s+as\s+\w+)?\s*$", line)
        if m:
            indent, sub, alias = m.group(1), m.group(2) or "", m.group(3) or ""
            if alias or not sub:
                line = f"{indent}import torchsorflow{sub}{alias or ' as torch'}"
            else:  # `import torch.utils.data` binds the name torch
                line = f"{indent}import torchsorflow{sub}; import torchsorflow as torch"
        else:
            line = re.sub(r"^(\s*)from torch(\.[\w.]+)? import", r"\1from torchsorflow\2 import",
                          line)
        out.append(line)
    return "\n".join(out) + "\n"


def load(name, ours):
    path = ZOO / f"{name}.py"
    source = path.read_text()
    if ours:
        source = translate(source)
    module = types.ModuleType(f"zoo_{name}_{'tsf' if ours else 'torch'}")
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def test_translate_changes_only_import_lines():
    source = ("import torch\nimport torch.nn as nn\nimport torch.utils.data\nfrom torch import "
              "nn, optim\nfrom torch.nn import functional as F\nx = torch.zeros(2)  # torch\n")
    assert translate(source) == (
        "import torchsorflow as torch\nimport torchsorflow.nn as nn\nimport "
        "torchsorflow.utils.data; import torchsorflow as torch\nfrom torchsorflow import nn, "
        "optim\nfrom torchsorflow.nn import functional as F\nx = torch.zeros(2)  # torch\n")


def _inputs(spec, rng):
    arrays = []
    for kind, shape, *extra in spec.values():
        if kind == "normal":
            arrays.append(rng.standard_normal(shape).astype(np.float32))
        elif kind == "unit":
            arrays.append(rng.uniform(0.0, 1.0, shape).astype(np.float32))
        elif kind == "labels":
            arrays.append(rng.integers(0, extra[0], shape))
        else:
            raise ValueError(kind)
    return arrays


def _without_dropout(model):
    """Dropout draws different masks in the two libraries: switch it off (p = 0) to compare."""
    for module in model.modules():
        if "Dropout" in type(module).__name__:
            module.p = 0.0


def _close(ours, theirs, what, rtol=2e-4, atol=2e-5):
    ours = ours.detach().numpy() if hasattr(ours, "detach") else np.asarray(ours)
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    scale = max(1.0, float(np.abs(theirs).max())) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol * scale,
                               err_msg=f"{what} differs from PyTorch")


@pytest.mark.parametrize("name", MODELS)
def test_model_code_runs_with_only_the_imports_changed(name):
    theirs_code, ours_code = load(name, ours=False), load(name, ours=True)
    theirs_model, theirs_opt, _ = theirs_code.make(seed=1)
    ours_model, ours_opt, _ = ours_code.make(seed=1)
    state = {k: tsf.tensor(v.detach().numpy()) for k, v in theirs_model.state_dict().items()}
    assert sorted(state) == sorted(ours_model.state_dict()), "state_dict keys differ"
    ours_model.load_state_dict(state)
    for model in (theirs_model, ours_model):
        _without_dropout(model)
    arrays = _inputs(theirs_code.INPUTS, np.random.default_rng(0))
    out_theirs, loss_theirs = theirs_code.train_step(theirs_model, theirs_opt,
                                                     *[torch.from_numpy(a) for a in arrays])
    out_ours, loss_ours = ours_code.train_step(ours_model, ours_opt,
                                               *[tsf.from_numpy(a) for a in arrays])
    _close(out_ours, out_theirs, "output")
    _close(loss_ours, loss_theirs, "loss")
    theirs_params = dict(theirs_model.named_parameters())
    for key, param in ours_model.named_parameters():
        ref = theirs_params[key]
        assert (param.grad is None) == (ref.grad is None), f"{key}: gradient missing on one side"
        if param.grad is not None:
            _close(param.grad, ref.grad, f"gradient of {key}")
        # Adam-like steps normalise by |g|: where g is float32 rounding noise the step is anywhere
        # in [-lr, lr] in either library, so parameters are compared at a fraction of the lr.
        _close(param, ref, f"{key} after the optimizer step", atol=1e-4)
