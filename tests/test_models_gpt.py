"""The GPT of torchsorflow.models.gpt: the same loss, gradients and AdamW step as the same model in
torch.nn (weights copied by state_dict), the tied weight counted once by the summary, and the
`tsf train --model gpt` / `tsf sample` commands with their errors."""
import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow.benchmarks.bench_attention import torch_gpt
from torchsorflow.cli import main
from torchsorflow.models.gpt import GPT, GPTConfig
from torchsorflow.nn.summary import summary

SMALL = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)


def test_gpt_matches_the_same_model_in_torch_through_an_adamw_step():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch_gpt(torch, **SMALL).double()
    ours = GPT(GPTConfig(**SMALL)).double()
    state = theirs.state_dict()
    assert sorted(ours.state_dict()) == sorted(state)
    ours.load_state_dict({k: tsf.tensor(v.numpy()) for k, v in state.items()})
    assert ours.transformer.wte.weight is ours.lm_head.weight
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 11, (3, 8)), rng.integers(0, 11, (3, 8))
    opt = tsf.optim.AdamW(ours.parameters(), lr=1e-2, weight_decay=0.1)
    ref_opt = torch.optim.AdamW(theirs.parameters(), lr=1e-2, weight_decay=0.1)
    for _ in range(2):
        opt.zero_grad()
        ref_opt.zero_grad()
        logits, loss = ours(tsf.tensor(x), tsf.tensor(y))
        ref_logits, ref_loss = theirs(torch.tensor(x), torch.tensor(y))
        np.testing.assert_allclose(logits.numpy(), ref_logits.detach().numpy(), rtol=1e-9,
                                   atol=1e-11)
        np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-12)
        loss.backward()
        ref_loss.backward()
        params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), params[name].grad.numpy(), rtol=1e-8,
                                       atol=1e-11, err_msg=name)
        opt.step()
        ref_opt.step()
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.numpy(), params[name].detach().numpy(), rtol=1e-9,
                                   atol=1e-11, err_msg=name)


def test_summary_counts_the_tied_weight_once():
    model = GPT(GPTConfig(**SMALL))
    info = summary(model, input_size=(2, 8), dtype=np.int64)
    unique = {id(p): p.numel() for p in model.parameters()}
    assert info.total_params == sum(unique.values())
    named = sum(p.numel() for _, p in model.state_dict().items())
    assert named - info.total_params == 11 * 16     # the tied (vocab, width) matrix, once
    assert [r.tied_params for r in info.rows if r.name == "lm_head"] == [11 * 16]


def test_generate_respects_top_k_and_the_context():
    tsf.manual_seed(0)
    model = GPT(GPTConfig(**SMALL))
    out = model.generate(tsf.tensor([[1, 2]]), 20, top_k=1)
    assert out.shape == (1, 22)
    again = model.generate(tsf.tensor([[1, 2]]), 20, top_k=1)   # greedy: deterministic
    np.testing.assert_array_equal(out.numpy(), again.numpy())
    with pytest.raises(ValueError, match="cannot forward a sequence of length 9"):
        model(tsf.zeros(1, 9, dtype=tsf.int64))


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "input.txt"
    rng = np.random.default_rng(0)
    words = ["abc", "bca", "cab", "aab"]
    path.write_text("\n".join(" ".join(rng.choice(words, 5)) for _ in range(60)),
                    encoding="utf-8")
    return path


def test_train_then_sample(text, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--model", "gpt", "--text", str(text), "--epochs", "2", "--context", "8",
            "--layers", "1", "--heads", "2", "--width", "16", "--batch-size", "8",
            "--out", str(out), "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "validation loss" in printed
    assert {p.name for p in out.iterdir()} == {"checkpoint.safetensors", "training_curve.png",
                                              "metrics.json"}
    metrics = tsf.io.load(out / "checkpoint.safetensors")
    history = metrics["history"]
    assert len(history) == 2 and history[1]["train_loss"] < history[0]["train_loss"]
    assert metrics["config"]["vocab"] == "".join(sorted(set(text.read_text(encoding="utf-8"))))
    assert main(["sample", str(out / "checkpoint.safetensors"), "--length", "30", "--prompt",
                 "ab", "--top-k", "2", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("ab") and len(first) == 2 + 30 + 1 and set(first) <= set(" \nabc")
    main(["sample", str(out / "checkpoint.safetensors"), "--length", "30", "--prompt", "ab",
          "--top-k", "2", "--seed", "3"])
    assert capsys.readouterr().out == first                   # the seed fixes the sample


@pytest.mark.parametrize("make,args,message", [
    (lambda d: d / "missing.txt", [], "no such file"),
    (lambda d: (d / "latin1.txt").write_bytes(b"caf\xe9 ok\n" * 50) and d / "latin1.txt", [],
     "not UTF-8 text (byte 3, line 1"),
    (lambda d: (d / "short.txt").write_text("abc") and d / "short.txt", [],
     "has 3 characters; a context of 64 needs at least 132"),
    (lambda d: (d / "ok.txt").write_text("ab" * 200) and d / "ok.txt", ["--heads", "3"],
     "n_embd 128 is not divisible by n_head 3"),
])
def test_train_gpt_errors(make, args, message, tmp_path, capsys):
    path = make(tmp_path)
    status = main(["train", "--model", "gpt", "--text", str(path), "--out",
                   str(tmp_path / "run"), "--no-progress", *args])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("tsf train: ") and message in err, err


def test_gpt_only_options_are_refused_for_the_digits_models(tmp_path, capsys):
    assert main(["train", "--model", "mlp", "--text", "x.txt", "--out", str(tmp_path)]) == 2
    assert "tsf train: --text applies to --model gpt only" in capsys.readouterr().err
    assert main(["train", "--model", "gpt", "--out", str(tmp_path / "r")]) == 2
    assert "--model gpt needs --text FILE" in capsys.readouterr().err


def test_sample_errors(text, tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--model", "gpt", "--text", str(text), "--epochs", "1", "--context", "8",
          "--layers", "1", "--width", "8", "--heads", "2", "--out", str(out), "--no-progress"])
    capsys.readouterr()
    checkpoint = str(out / "checkpoint.safetensors")
    assert main(["sample", checkpoint, "--prompt", "abz"]) == 2
    assert "tsf sample: --prompt: character 'z' (position 2) is not in the model's vocabulary" \
        in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "nothing.safetensors")]) == 2
    assert "tsf sample: no such file" in capsys.readouterr().err
    digits = tmp_path / "digits.safetensors"
    tsf.io.save({"model": {}, "config": {"model": "mlp"}}, digits)
    assert main(["sample", str(digits)]) == 2
    assert "not a GPT checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sample", checkpoint, "--temperature", "0"])
    assert "must be > 0" in capsys.readouterr().err
