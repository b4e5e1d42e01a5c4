"""Issue 20, item 12: one error policy for every ``tsf`` command. Each bad input below -- every one
the issue lists, and more of the same kinds for each command -- must exit with status 2 and print
``tsf COMMAND: message`` (or argparse's usage error), naming the problem, and no output may
contain "Traceback"."""
import json

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import io
from torchsorflow.cli import main
from torchsorflow.models import digits


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    tsf.manual_seed(0)
    model = digits.build("mlp", hidden=16)
    good = root / "good.safetensors"
    io.save({"model": model.state_dict(), "config": {"model": "mlp", "hparams": {"hidden": 16}},
             "history": []}, good)
    io.save({"model": digits.build("mlp").state_dict(), "config": {"model": "mlp"}},
            root / "wide.safetensors")
    data = good.read_bytes()
    (root / "truncated.safetensors").write_bytes(data[:-200])
    (root / "folder.safetensors").mkdir()
    state = io.load(good)
    state["model"]["3.weight"] = tsf.zeros(7, 16)                   # a size mismatch
    io.save(state, root / "mismatch.safetensors")
    state = io.load(good)
    state["config"]["hparams"] = {"hidden": 20000}                  # asks for gigabytes
    io.save(state, root / "huge.safetensors")
    for name, shape in (("shape1e23", [10 ** 23]), ("shapetrue", [True, 4])):
        header = json.dumps({"model.w": {"dtype": "F32", "shape": shape,
                                         "data_offsets": [0, 16]}}).encode()
        (root / f"{name}.safetensors").write_bytes(len(header).to_bytes(8, "little") + header
                                                    + bytes(16))
    (root / "text.safetensors").write_text("not a checkpoint at all, just text\n")
    vectors = root / "vectors.txt"
    vectors.write_text("king 1 0 0\nqueen 0.9 0.1 0\nman 1 0.2 0\nwoman 0.8 0.3 0.1\n"
                       "zero 0 0 0\napple 0 0 1\n")
    (root / "latin1.txt").write_bytes(b"k\xf6nig 1 0 0\nqueen 0.9 0.1 0\n")
    (root / "oov.txt").write_text(": capitals\nberlin germany paris france\n")
    (root / "corpus_latin1.txt").write_bytes(b"der k\xf6nig\n" * 10)
    (root / "corpus.txt").write_text("the king and the queen\n" * 20)
    (root / "FILE").write_text("a file, not a folder\n")
    (root / "numbers.csv").write_text("1\n2\n3\n")
    (root / "bad.csv").write_text("1\n2\nthree\n")
    (root / "near.csv").write_text("1\n1\n1\n1.0000000001\n")
    (root / "latin1.csv").write_bytes(b"1\n2\n\xe9\n")
    return root


def _table():
    """(command line, fragment of the expected message); FILES stands for the fixture folder."""
    F = "FILES/"
    return [
        # tsf explain (the issue: any bad checkpoint, --params all --method exact, --l2, --damping)
        (["explain", F + "truncated.safetensors", "--test-index", "0"], "truncated file"),
        (["explain", F + "folder.safetensors", "--test-index", "0"], "is a folder, not a "
                                                                     "safetensors file"),
        (["explain", F + "mismatch.safetensors", "--test-index", "0"], "size mismatch for "
                                                                       "3.weight"),
        (["explain", F + "huge.safetensors", "--test-index", "0"], "hidden = 20000 is outside"),
        (["explain", F + "good.safetensors", "--test-index", "0", "--params", "all",
          "--method", "exact"], "is not positive definite"),   # an untrained net: no minimum
        (["explain", F + "wide.safetensors", "--test-index", "0", "--params", "all",
          "--method", "exact"], "--method exact forms the dense Hessian of all 17,226 weights"),
        (["explain", F + "good.safetensors", "--test-index", "0", "--l2", "-1"],
         "argument --l2: must be >= 0, got -1"),
        (["explain", F + "good.safetensors", "--test-index", "0", "--damping", "-1"],
         "argument --damping: must be >= 0, got -1"),
        (["explain", F + "good.safetensors", "--test-index", "0", "--l2", "nan"],
         "argument --l2: must be a finite number, got nan"),
        (["explain", F + "good.safetensors", "--test-index", "400"], "out of range"),
        (["explain", F + "good.safetensors", "--test-index", "0", "--top", "0"],
         "--top must be at least 1"),
        (["explain", F + "missing.safetensors", "--test-index", "0"], "no such file"),
        # tsf eval (the issue: a folder; a header shape of 10^23; shapes containing true)
        (["eval", F + "folder.safetensors"], "is a folder, not a safetensors file"),
        (["eval", F], "is a folder, not a safetensors file"),
        (["eval", F + "shape1e23.safetensors"], "shape (100000000000000000000000,) needs"),
        (["eval", F + "shapetrue.safetensors"], "invalid shape [True, 4]"),
        (["eval", F + "truncated.safetensors"], "truncated file"),
        (["eval", F + "huge.safetensors"], "hidden = 20000 is outside the sane range"),
        (["eval", F + "text.safetensors"], "corrupted header length"),
        (["eval", F + "missing.safetensors"], "no such file"),
        # tsf words (the issue: analogy --topn 0, eval --analogies DIR, similar --topn 0)
        (["words", "analogy", "man", "king", "woman", "--topn", "0", "--vectors",
          F + "vectors.txt"], "argument --topn: must be a positive integer, got 0"),
        (["words", "similar", "king", "--topn", "0", "--vectors", F + "vectors.txt"],
         "argument --topn: must be a positive integer, got 0"),
        (["words", "eval", "--analogies", F, "--vectors", F + "vectors.txt"], "Is a directory"),
        (["words", "eval", "--analogies", F + "oov.txt", "--vectors", F + "vectors.txt"],
         "no question could be answered"),
        (["words", "similar", "king", "--restrict-vocab", "-3", "--vectors", F + "vectors.txt"],
         "argument --restrict-vocab: must be a positive integer, got -3"),
        (["words", "similar", "kingg", "--vectors", F + "vectors.txt"],
         "'kingg' is not in the vocabulary (6 words); did you mean 'king'?"),
        (["words", "similar", "zero", "--vectors", F + "vectors.txt"],
         "the vector of 'zero' is all zeros"),
        (["words", "similar", "king", "--vectors", F + "missing.txt"], "no vector file"),
        (["words", "similar", "king", "--vectors", F + "latin1.txt"],
         "latin1.txt, line 1: not valid UTF-8"),
        (["words", "train", F + "corpus.txt", "--out", F + "v.txt", "--dim", "0"],
         "argument --dim: must be a positive integer, got 0"),
        (["words", "train", F + "corpus_latin1.txt", "--out", F + "v.txt", "--quiet"],
         "corpus_latin1.txt, line 1: not valid UTF-8"),
        (["words", "train", F + "missing.txt", "--out", F + "v.txt"], "No such file"),
        (["words", "plot", "man", "--pairs", "man-king", "--vectors", F + "vectors.txt"],
         "FROM:TO"),
        # tsf train (the issue: --out FILE, --lr -1, --lr nan, --weight-decay -5,
        # --label-smoothing 2)
        (["train", "--out", F + "FILE"], "is a file, not a folder"),
        (["train", "--lr", "-1"], "argument --lr: must be > 0, got -1"),
        (["train", "--lr", "nan"], "argument --lr: must be a finite number, got nan"),
        (["train", "--weight-decay", "-5"], "argument --weight-decay: must be >= 0, got -5"),
        (["train", "--label-smoothing", "2"], "argument --label-smoothing: must be <= 1, got 2"),
        (["train", "--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
        (["train", "--resume", F + "text.safetensors", "--out", F + "r"], "corrupted header"),
        (["train", "--resume", F + "good.safetensors", "--out", F + "r"],
         "not a checkpoint that `tsf train --resume` can continue"),
        # tsf summary (the issue: --output into a missing folder named our temp file)
        (["summary", "mlp", "--output", "/no/such/dir/x.txt"],
         "cannot write /no/such/dir/x.txt: the folder /no/such/dir does not exist"),
        (["summary", "mlp", "--output", F], "is a folder, not a file"),
        (["summary", "vgg12"], "unknown model 'vgg12'"),
        (["summary", "mlp", "--input-size", "2", "65"], "has 65 features"),
        (["summary", "mlp", "--input-size", "0", "64"], "must be a positive integer, got 0"),
        (["summary", "vgg11", "--num-classes", "0"], "must be a positive integer, got 0"),
        # tsf fit
        (["fit", "normal", F + "missing.csv"], "No such file or directory"),
        (["fit", "normal", F], "Is a directory"),
        (["fit", "normal", F + "bad.csv"], "bad.csv, line 3: cannot read 'three' as a number"),
        (["fit", "weibull", F + "numbers.csv"], "unknown distribution 'weibull'"),
        (["fit", "gamma", F + "near.csv"], "nearly constant"),
        (["fit", "normal", F + "latin1.csv"], "latin1.csv, line 3: not valid UTF-8"),
        (["fit", "normal", F + "numbers.csv", "--level", "2"], "--level must be between 0 and 1"),
        # tsf demo, tour, explain-modes, bench
        (["demo", "--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
        (["demo", "--out", F + "FILE"], "is a file, not a folder"),
        (["demo", "--validate", "2", "--out", F + "d"], "--validate needs at least 3"),
        (["demo", "--l2", "-1"], "argument --l2: must be >= 0, got -1"),
        (["tour", "--only", "003/1"], "no exercise matches '003/1'"),
        (["explain-modes", "--x", "nan"], "argument --x: must be a finite number, got nan"),
        (["bench", "--dir", F + "missing"], "--dir FILES/missing: no such folder"),
    ]


def _run(argv):
    try:
        return main(argv)
    except SystemExit as exit:   # argparse's usage errors
        return exit.code


@pytest.mark.parametrize("argv, fragment", _table(), ids=lambda v: " ".join(v)[:60]
                         if isinstance(v, list) else None)
def test_every_command_fails_cleanly(files, capsys, argv, fragment):
    argv = [a.replace("FILES/", f"{files}/") for a in argv]
    code = _run(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 2, (out, err)
    assert err.startswith(f"tsf {argv[0]}: ") or err.startswith("usage:"), err
    assert fragment.replace("FILES/", f"{files}/") in err, err
    assert "tsf-partial" not in err and ".tmp" not in err      # never our temporary names


def test_an_unexpected_error_is_reported_as_a_bug_without_a_traceback(monkeypatch, capsys):
    from torchsorflow.commands import tour
    monkeypatch.setattr(tour, "run", lambda args: [][1])
    parser_run = main(["tour"])
    err = capsys.readouterr().err
    assert parser_run == 1 and "Traceback" not in err
    assert err.startswith("tsf tour: internal error: IndexError: list index out of range")


def test_warnings_print_as_one_line(monkeypatch, capsys):
    import warnings

    from torchsorflow.commands import tour

    def warn(args):
        warnings.warn("something odd", RuntimeWarning, stacklevel=1)
        return 0
    monkeypatch.setattr(tour, "run", warn)
    assert main(["tour"]) == 0
    assert capsys.readouterr().err == "tsf tour: warning: something odd\n"


def test_the_vectors_of_the_zero_word_are_not_a_nan_ranking(files):
    from torchsorflow.embeddings import load_vectors
    kv = load_vectors(files / "vectors.txt")
    with pytest.raises(ValueError, match="the vector of 'zero' is all zeros"):
        kv.most_similar("zero")
    with pytest.raises(ValueError, match="a query vector is all zeros"):
        kv.most_similar(positive=[np.zeros(3, np.float32)])
    assert "zero" not in [w for w, _ in kv.most_similar("king", topn=4)]
