"""`tsf train --model lstm`: the digits read row by row (8 steps of 8 pixels) by an LSTM
sequence classifier, with the CNN's checkpoint, curve, metrics, eval, resume and summary."""
import json

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import io
from torchsorflow.cli import main
from torchsorflow.models import DigitsLSTM, digits


def test_the_classifier_reads_the_rows_of_each_image_in_order():
    tsf.manual_seed(0)
    model = digits.build("lstm", hidden=6, layers=2)
    images = tsf.randn(3, 1, 8, 8)
    logits = model(images)
    assert logits.shape == (3, 10)
    _, (h_n, _) = model.lstm(images.reshape(3, 8, 8))          # batch_first, rows as steps
    np.testing.assert_allclose(logits.numpy(), model.classifier(h_n[-1]).numpy(), rtol=1e-6)
    flipped = model(tsf.tensor(images.numpy()[:, :, ::-1].copy()))
    assert not np.allclose(flipped.numpy(), logits.numpy())    # the order of the rows matters
    assert isinstance(model, DigitsLSTM) and model.hparams == {"hidden": 6, "layers": 2}


def test_the_lstm_reaches_97_percent_with_the_default_settings(tmp_path, capsys):
    """`tsf train --model lstm` with its defaults (12 epochs, Adam 1e-2, seed 0) passes 97 % on
    the 360 test digits; the run writes what the CNN's does and `tsf eval` reproduces it."""
    assert main(["train", "--model", "lstm", "--out", str(tmp_path), "--no-progress"]) == 0
    log = capsys.readouterr().out
    assert "training lstm (71,946 parameters)" in log and "adam lr 0.01, 12 epochs" in log
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    accuracy = metrics["final"]["test_accuracy"]
    assert accuracy >= 0.97
    assert metrics["config"]["model"] == "lstm" and len(metrics["history"]) == 12
    assert (tmp_path / "training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["eval", str(tmp_path / "checkpoint.safetensors")]) == 0
    out = capsys.readouterr().out
    assert f"test accuracy {100 * accuracy:.2f}% ({round(accuracy * 360)}/360)" in out
    model, _ = digits.from_checkpoint(tmp_path / "checkpoint.safetensors")
    assert isinstance(model, DigitsLSTM) and not model.training


def test_an_interrupted_lstm_run_resumes_to_the_same_bits(tmp_path, monkeypatch, capsys):
    def train(out):
        return main(["train", "--model", "lstm", "--width", "12", "--epochs", "2", "--seed", "4",
                     "--out", str(out), "--no-progress"])

    assert train(tmp_path / "whole") == 0
    real = io.save

    def save_then_die(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt("killed")
    monkeypatch.setattr(io, "save", save_then_die)
    assert train(tmp_path / "cut") == 130
    monkeypatch.undo()
    partial = tmp_path / "cut.tsf-partial" / "checkpoint.safetensors"
    assert main(["train", "--resume", str(partial), "--out", str(tmp_path / "cut"),
                 "--no-progress"]) == 0
    whole = io.load_file(tmp_path / "whole" / "checkpoint.safetensors")
    resumed = io.load_file(tmp_path / "cut" / "checkpoint.safetensors")
    assert set(whole) == set(resumed)
    for name in whole:
        assert whole[name].tobytes() == resumed[name].tobytes(), name
    capsys.readouterr()
    assert main(["train", "--resume", str(partial), "--width", "13", "--out",
                 str(tmp_path / "again"), "--no-progress"]) == 2


def test_a_checkpoint_announcing_another_size_is_refused(tmp_path):
    model = digits.build("lstm", hidden=8)
    path = tmp_path / "lstm.safetensors"
    io.save({"config": {"model": "lstm", "hparams": {"hidden": 9}}, "model": model.state_dict()},
            path)
    with pytest.raises(ValueError, match="config says lstm .* stored lstm.weight_hh_l0 has shape "
                                         "\\(32, 8\\), not \\(36, 9\\)"):
        digits.from_checkpoint(path)
    io.save({"config": {"model": "lstm", "hparams": {"hidden": 8, "layers": 99}},
             "model": model.state_dict()}, path)
    with pytest.raises(ValueError, match="layers = 99 is outside the sane range"):
        digits.from_checkpoint(path)


def test_summary_of_the_lstm(capsys):
    assert main(["summary", "lstm", "--input-size", "2", "1", "8", "8", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in info["rows"]}
    assert rows["lstm"]["params"] == 4 * 128 * (8 + 128) + 2 * 4 * 128
    # 2 images × 8 steps, each a gate projection of the 8 pixels and of the 128 hidden units
    assert rows["lstm"]["macs"] == 2 * 8 * 4 * 128 * (8 + 128)
    assert info["total_params"] == 71_946
