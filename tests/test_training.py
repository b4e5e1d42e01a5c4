"""The training loop, the digits models and the `tsf train` / `tsf eval` commands."""
import json

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import io, nn, optim
from torchsorflow.cli import main
from torchsorflow.data import DataLoader, TensorDataset
from torchsorflow.models import digits
from torchsorflow.training import evaluate, fit, format_record, train_epoch


def separable_problem(n=96):
    tsf.manual_seed(0)
    x = tsf.randn(n, 3)
    y = (x.numpy() @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.int64)
    return TensorDataset(x, y)


def test_fit_learns_and_records_every_epoch():
    data = separable_problem()
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.5)
    scheduler = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    lines = []
    history = fit(model, DataLoader(data, batch_size=16, shuffle=True, seed=1), opt, epochs=4,
                  test_loader=DataLoader(data, batch_size=50), scheduler=scheduler,
                  progress=False, log=lines.append)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert [r["lr"] for r in history] == [0.5, 0.5, 0.25, 0.25]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_accuracy"] >= 0.95
    assert len(lines) == 4 and lines[0].startswith("epoch 1/4  train loss ")
    # evaluate() agrees with a direct computation of the accuracy and loss
    logits = model(data.tensors[0])
    direct_accuracy = np.mean(logits.numpy().argmax(1) == data.tensors[1].numpy())
    direct_loss = nn.functional.cross_entropy(logits, data.tensors[1]).item()
    result = evaluate(model, DataLoader(data, batch_size=7))
    assert result["accuracy"] == pytest.approx(direct_accuracy)
    assert result["loss"] == pytest.approx(direct_loss, rel=1e-5)
    assert history[-1]["test_accuracy"] == pytest.approx(direct_accuracy)


def test_fit_drives_reduce_lr_on_plateau_with_the_epochs_loss():
    data = separable_problem()
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.5)
    seen = []
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=0, factor=0.5)
    scheduler.step = lambda metric, _step=scheduler.step: (seen.append(metric), _step(metric))
    history = fit(model, DataLoader(data, batch_size=16), opt, epochs=3, scheduler=scheduler,
                  progress=False, log=None)
    assert seen == [r["train_loss"] for r in history]   # no test_loader: the training loss
    # mode="max" on a falling loss: the first epoch sets the best value, each later one is
    # "bad" and halves the lr for the next epoch
    assert [r["lr"] for r in history] == [0.5, 0.5, 0.25]


def test_early_stopping_and_mode_restoring():
    data = separable_problem(32)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    history = fit(model, DataLoader(data, batch_size=8), opt, epochs=10, progress=False, log=None,
                  on_epoch_end=lambda record: record["epoch"] == 2)
    assert len(history) == 2 and "test_loss" not in history[0]
    model.train()
    running = model[1].running_mean.numpy().copy()
    evaluate(model, DataLoader(data, batch_size=8))
    assert model.training and model[1].training
    np.testing.assert_array_equal(model[1].running_mean.numpy(), running)  # eval mode: unchanged


def test_a_diverging_loss_stops_with_the_batch_named():
    data = separable_problem(32)
    model = nn.Linear(3, 2)
    with tsf.no_grad():
        model.weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="the training loss became nan at batch 0"):
        train_epoch(model, DataLoader(data, batch_size=8), optim.SGD(model.parameters(), lr=0.1))


def test_format_record():
    record = {"epoch": 3, "lr": 0.001, "train_loss": 0.12345, "train_accuracy": 0.9651,
              "test_loss": 0.2, "test_accuracy": 0.98333, "seconds": 1.25}
    assert format_record(record, 10) == ("epoch  3/10  train loss 0.1235 acc 96.51%  test loss "
                                         "0.2000 acc 98.33%  lr 0.001  1.2s")


@pytest.mark.parametrize("name, parameters",
                         [("mlp", 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10),
                          ("cnn", None), ("cnn-bn", None)])
def test_digits_models_shapes_and_sizes(name, parameters):
    model = digits.build(name)
    assert model(tsf.zeros(3, 1, 8, 8)).shape == (3, 10)
    if parameters is not None:
        assert sum(p.numel() for p in model.parameters()) == parameters
    with pytest.raises(ValueError, match="unknown digits model 'resnet'"):
        digits.build("resnet")


def test_digits_models_match_a_pytorch_twin():
    """Same state_dict keys and logits as the same architecture written in torch.nn."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    def block(i, o):
        return [tnn.Conv2d(i, o, 3, padding=1, bias=False), tnn.BatchNorm2d(o), tnn.ReLU()]

    twin = tnn.Sequential(*block(1, 4), *block(4, 8), tnn.MaxPool2d(2), *block(8, 8),
                          tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(32, 10)).double()
    ours = digits.build("cnn-bn", width=4)
    twin.load_state_dict({k: torch.tensor(np.asarray(v.numpy(), dtype=np.float64))
                          for k, v in ours.state_dict().items()})
    for p in ours.parameters():
        p.data = tsf.tensor(p.numpy().astype(np.float64))
    for b in ours.buffers():
        if b.dtype == np.float32:
            b.data = tsf.tensor(b.numpy().astype(np.float64))
    x = np.random.default_rng(0).random((5, 1, 8, 8))
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(twin, mode)()
        np.testing.assert_allclose(ours(tsf.tensor(x)).numpy(),
                                   twin(torch.tensor(x)).detach().numpy(), rtol=1e-9, atol=1e-10)


@pytest.fixture(scope="module")
def trained_mlp(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--model", "mlp", "--epochs", "2", "--width", "32", "--out", str(out),
                 "--no-progress"])
    assert code == 0
    return out


def test_tsf_train_writes_checkpoint_curve_and_metrics(trained_mlp, capsys):
    metrics = json.loads((trained_mlp / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == [1, 2]
    assert metrics["config"]["model"] == "mlp" and metrics["config"]["hparams"] == {"hidden": 32}
    assert 0.5 < metrics["final"]["test_accuracy"] <= 1.0
    assert (trained_mlp / "training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metadata = io.read_metadata(trained_mlp / "checkpoint.safetensors")
    assert metadata["model"] == "mlp"
    assert float(metadata["test_accuracy"]) == pytest.approx(metrics["final"]["test_accuracy"])
    state = io.load(trained_mlp / "checkpoint.safetensors")
    assert set(state) >= {"model", "optimizer", "config", "history", "scheduler"}
    assert state["optimizer"]["state"][0]["step"] == 2 * 45   # 1437 images / 32 = 45 batches


def test_tsf_eval_reports_the_recorded_accuracy(trained_mlp, capsys):
    final = json.loads((trained_mlp / "metrics.json").read_text())["final"]
    recorded = final["test_accuracy"]
    capsys.readouterr()
    assert main(["eval", str(trained_mlp / "checkpoint.safetensors")]) == 0
    output = capsys.readouterr().out
    assert (f"test accuracy {100 * recorded:.2f}% ({round(recorded * 360)}/360), "
            f"loss {final['test_loss']:.4f}") in output   # plain cross-entropy in both
    assert f"recorded at the end of training: {100 * recorded:.2f}%" in output


def test_checkpoints_with_wrong_keys_or_shapes_are_rejected_by_name(trained_mlp, tmp_path):
    state = io.load(trained_mlp / "checkpoint.safetensors")
    broken = dict(state, model=dict(state["model"]))
    del broken["model"]["3.bias"]
    io.save(broken, tmp_path / "missing.safetensors")
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "3.bias"'):
        digits.from_checkpoint(tmp_path / "missing.safetensors")
    broken["model"]["3.bias"] = tsf.zeros(7)
    io.save(broken, tmp_path / "shape.safetensors")
    with pytest.raises(RuntimeError, match="3.bias"):
        digits.from_checkpoint(tmp_path / "shape.safetensors")
    io.save({"weights": state["model"]}, tmp_path / "foreign.safetensors")
    with pytest.raises(ValueError, match="not a digits checkpoint"):
        digits.from_checkpoint(tmp_path / "foreign.safetensors")


def test_tsf_eval_reports_damaged_checkpoints_without_a_traceback(trained_mlp, tmp_path, capsys):
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes((trained_mlp / "checkpoint.safetensors").read_bytes()[:-1000])
    assert main(["eval", str(damaged)]) == 2   # issue 20: every known failure exits 2
    error = capsys.readouterr().err
    assert error.startswith(f"tsf eval: {damaged}: truncated file: tensor ")
    assert main(["eval", str(tmp_path / "absent.safetensors")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_training_is_reproducible_with_a_seed(tmp_path):
    runs = []
    for name in ("a", "b"):
        assert main(["train", "--model", "mlp", "--epochs", "1", "--width", "16", "--seed", "3",
                     "--out", str(tmp_path / name), "--no-progress"]) == 0
        runs.append(io.load_file(tmp_path / name / "checkpoint.safetensors"))
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key], err_msg=key)


def test_the_batchnorm_cnn_reaches_98_percent_with_the_default_settings(tmp_path, capsys):
    """The README's claim, with `tsf train`'s defaults (8 epochs, seed 0): >= 98 % test accuracy,
    and `tsf eval` reproduces it from the checkpoint alone."""
    assert main(["train", "--model", "cnn-bn", "--out", str(tmp_path), "--no-progress"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    accuracy = metrics["final"]["test_accuracy"]
    assert accuracy >= 0.98
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "checkpoint.safetensors")]) == 0
    assert f"test accuracy {100 * accuracy:.2f}% ({round(accuracy * 360)}/360)" in capsys.readouterr().out


# --- issue 20, item 11: a run is written as a whole, and can be resumed ---------------------------
def _train(out, *extra, epochs="3"):
    return main(["train", "--model", "mlp", "--epochs", epochs, "--width", "16", "--seed", "5",
                 "--out", str(out), "--no-progress", *extra])


def _interrupt_after_saves(monkeypatch, count):
    """Make the process 'die' (KeyboardInterrupt) right after the count-th io.save."""
    calls = []
    real = io.save

    def save(*args, **kwargs):
        real(*args, **kwargs)
        calls.append(args[1])
        if len(calls) == count:
            raise KeyboardInterrupt("killed")
    monkeypatch.setattr(io, "save", save)


def test_an_interrupted_run_resumes_to_the_same_bits(tmp_path, monkeypatch, capsys):
    assert _train(tmp_path / "whole") == 0
    _interrupt_after_saves(monkeypatch, 2)                       # dies after epoch 2 of 3
    assert _train(tmp_path / "cut") == 130
    monkeypatch.undo()
    partial = tmp_path / "cut.tsf-partial"
    assert not (tmp_path / "cut").exists() and (partial / "checkpoint.safetensors").exists()
    assert io.load(partial / "checkpoint.safetensors")["resume"]["epoch"] == 2
    capsys.readouterr()
    assert _train(tmp_path / "cut") == 2                         # refuses to start over silently
    assert "an interrupted run was left in" in capsys.readouterr().err
    assert main(["train", "--resume", str(partial / "checkpoint.safetensors"), "--out",
                 str(tmp_path / "cut"), "--no-progress"]) == 0
    assert not partial.exists()
    whole = io.load_file(tmp_path / "whole" / "checkpoint.safetensors")
    resumed = io.load_file(tmp_path / "cut" / "checkpoint.safetensors")
    assert set(whole) == set(resumed)
    for name in whole:
        assert whole[name].tobytes() == resumed[name].tobytes(), name
    histories = [json.loads((tmp_path / run / "metrics.json").read_text())["history"]
                 for run in ("whole", "cut")]
    for record in histories[0] + histories[1]:
        del record["seconds"]
    assert histories[0] == histories[1]


def test_a_run_killed_before_its_metrics_leaves_the_old_run_whole(tmp_path, monkeypatch, capsys):
    """The checkpoint was new and metrics.json and the plot old."""
    out = tmp_path / "run"
    assert _train(out, epochs="1") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    from torchsorflow.commands import train as command

    def dying_write(path, *args, **kwargs):
        if str(path).endswith("metrics.json"):
            raise KeyboardInterrupt("killed")
        return real(path, *args, **kwargs)
    real = __import__("torchsorflow.io.atomic", fromlist=["atomic_write"]).atomic_write
    monkeypatch.setattr("torchsorflow.io.atomic.atomic_write", dying_write)
    assert _train(out, "--force", "--seed", "9", epochs="2") == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert command.PARTIAL and (tmp_path / "run.tsf-partial").exists()


def test_a_non_empty_out_is_refused_without_force(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert _train(out, epochs="1") == 2
    assert "already holds files (notes.txt); pass --force" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"
    assert _train(out, "--force", epochs="1") == 0
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "metrics.json",
                                                     "training_curve.png"]


@pytest.mark.parametrize("argv, message", [
    (["--out", "FILE"], "--out FILE is a file, not a folder"),
    (["--lr", "-1"], "argument --lr: must be > 0, got -1"),
    (["--lr", "nan"], "argument --lr: must be a finite number, got nan"),
    (["--weight-decay", "-5"], "argument --weight-decay: must be >= 0, got -5"),
    (["--label-smoothing", "2"], "argument --label-smoothing: must be <= 1, got 2"),
    (["--width", "20000"], "--width: width = 20000 is outside the sane range for cnn-bn"),
    (["--resume", "MISSING"], "--resume MISSING: no such file"),
])
def test_careless_training_options_are_refused_before_training(tmp_path, capsys, argv, message):
    (tmp_path / "FILE").write_text("")
    argv = [a if a not in ("FILE", "MISSING") else str(tmp_path / a) for a in argv]
    message = message.replace("FILE", str(tmp_path / "FILE")).replace("MISSING",
                                                                      str(tmp_path / "MISSING"))
    try:
        code = main(["train", "--no-progress", *(argv if "--out" in argv else
                                                 [*argv, "--out", str(tmp_path / "o")])])
    except SystemExit as exit:
        code = exit.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_resumed_run_keeps_its_own_settings(trained_mlp, tmp_path, capsys):
    path = trained_mlp / "checkpoint.safetensors"
    assert main(["train", "--resume", str(path), "--lr", "0.5", "--out", str(tmp_path / "x"),
                 "--no-progress"]) == 2
    assert "--lr 0.5 differs from the resumed run's 0.003" in capsys.readouterr().err


def test_a_checkpoint_announcing_a_huge_model_is_refused_before_building(trained_mlp, tmp_path):
    """Item 7: width 20000 in a 238 KB file asked for 26.8 GiB before any weight was checked."""
    state = io.load(trained_mlp / "checkpoint.safetensors")
    for hparams, message in [({"hidden": 20000}, "hidden = 20000 is outside the sane range"),
                             ({"hidden": 64}, r"stored 1.weight has shape \(32, 64\), not "
                                              r"\(64, 64\)"),
                             ({"hidden": True}, "hidden = True is outside the sane range"),
                             ({"depth": 3}, "mlp has no hyper-parameter 'depth'")]:
        state["config"]["hparams"] = hparams
        io.save(state, tmp_path / "edited.safetensors")
        with pytest.raises(ValueError, match=message):
            digits.from_checkpoint(tmp_path / "edited.safetensors")
    state["config"] = {"model": ["mlp"]}               # was 'unhashable type: list'
    io.save(state, tmp_path / "edited.safetensors")
    with pytest.raises(ValueError, match="not a digits checkpoint"):
        digits.from_checkpoint(tmp_path / "edited.safetensors")
    state["config"] = {"model": "mlp", "hparams": {"hidden": 32}}
    state["resume"] = {"epoch": 1}
    state["config"].update(epochs=2, optimizer=["adam"])
    io.save(state, tmp_path / "edited.safetensors")
    assert main(["train", "--resume", str(tmp_path / "edited.safetensors"), "--out",
                 str(tmp_path / "r"), "--no-progress"]) == 2


def test_a_forced_run_resumed_may_still_replace_its_out(tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert _train(out, epochs="1") == 0
    _interrupt_after_saves(monkeypatch, 1)
    assert _train(out, "--force", "--seed", "8", epochs="2") == 130
    monkeypatch.undo()
    assert io.load(out / "checkpoint.safetensors")["config"]["seed"] == 5     # untouched
    partial = tmp_path / "run.tsf-partial" / "checkpoint.safetensors"
    assert main(["train", "--resume", str(partial), "--out", str(out), "--no-progress"]) == 0
    assert io.load(out / "checkpoint.safetensors")["config"]["seed"] == 8
