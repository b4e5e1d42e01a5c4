"""The safetensors file format, read and written with NumPy alone.

A safetensors file is three parts (https://github.com/huggingface/safetensors)::

    8 bytes    N, the header length, unsigned little-endian
    N bytes    a JSON object: for each tensor {"dtype": "F32", "shape": [2, 3],
               "data_offsets": [begin, end]} and optionally "__metadata__": {str: str}
    the rest   the tensors' raw little-endian bytes, offsets relative to the end of the header

There is nothing executable in it (unlike pickle), so loading an untrusted file is safe, and every
size can be checked before a byte of data is read. Writing is atomic: the bytes go to a temporary
file in the same folder which then replaces the target with ``os.replace``, so a crash or a full
disk mid-write leaves the previous file as it was.

We add one optional metadata entry, ``torchsorflow.data_sha256``, a checksum of the data section,
so that bit rot in the tensor bytes is reported instead of silently loading wrong weights. Files
without it (e.g. written by the ``safetensors`` package) load unchecked.

>>> import numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
>>> save_file({"w": np.eye(2, dtype=np.float32)}, path, metadata={"note": "identity"})
>>> tensors, metadata = load_file(path, with_metadata=True)
>>> tensors["w"], metadata["note"]
(array([[1., 0.],
       [0., 1.]], dtype=float32), 'identity')
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile

import numpy as np

from ..tensor import Tensor

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
CODES = {np.dtype(v).newbyteorder("=") if v[0] == "<" else np.dtype(v): k
         for k, v in DTYPES.items()}
CHECKSUM_KEY = "torchsorflow.data_sha256"
MAX_HEADER_BYTES = 100_000_000  # the reference implementation's limit


class SafetensorsError(ValueError):
    """A safetensors file that cannot be read: the message names the file and the problem."""


# --- writing -----------------------------------------------------------------------------------
def save_file(tensors: dict, path, metadata: dict | None = None):
    """Write ``{name: array or Tensor}`` to ``path`` atomically, with optional string metadata."""
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError("tensor names must be strings other than '__metadata__', got "
                             f"{name!r}")
        array = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
        if array.dtype.newbyteorder("=") not in CODES:
            raise TypeError(f"tensor {name!r}: dtype {array.dtype} cannot be stored in safetensors "
                            f"(supported: {', '.join(sorted(DTYPES))})")
        # C order and little-endian; copies only when needed (ascontiguousarray would make 0-d 1-d)
        arrays[name] = np.array(array, dtype=array.dtype.newbyteorder("<"), order="C", copy=None)
    raw = [array.reshape(-1).view(np.uint8) for array in arrays.values()]  # bytes, no copy
    metadata = dict(metadata or {})
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"safetensors metadata must map strings to strings; {key!r} maps to "
                            f"a {type(value).__name__}")
    header, offset = {}, 0
    for name, array in arrays.items():   # data laid out in insertion order, no gaps
        header[name] = {"dtype": CODES[array.dtype.newbyteorder("=")], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    checksum = hashlib.sha256()
    for chunk in raw:
        checksum.update(chunk)
    metadata[CHECKSUM_KEY] = checksum.hexdigest()
    header["__metadata__"] = metadata
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)   # align the data section to 8 bytes
    atomic_write(path, [len(header_bytes).to_bytes(8, "little"), header_bytes,
                        *raw])


def atomic_write(path, chunks):
    """Write byte chunks to a temporary file next to ``path``, fsync it, then rename it over
    ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp")
    try:
        os.chmod(temporary, _file_mode(path))   # mkstemp makes 0600 files; keep the usual mode
        with os.fdopen(handle, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _file_mode(path):
    """The mode a plain ``open(path, "w")`` would give: the old file's, else 0666 minus the
    umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# --- reading -----------------------------------------------------------------------------------
def read_header(path) -> tuple[dict, int, int]:
    """The parsed JSON header, the offset where data starts and the file size (checked)."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as file:
        prefix = file.read(8)
        if len(prefix) < 8:
            raise SafetensorsError(f"{path}: truncated file: {size} bytes, too short for the "
                                   "8-byte header length")
        header_length = int.from_bytes(prefix, "little")
        if header_length > MAX_HEADER_BYTES:
            raise SafetensorsError(f"{path}: corrupted header length {header_length} (more than "
                                   f"{MAX_HEADER_BYTES} bytes); not a safetensors file?")
        if 8 + header_length > size:
            raise SafetensorsError(f"{path}: truncated file: the header needs {header_length} "
                                   f"bytes but only {size - 8} follow the length field")
        raw = file.read(header_length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f"{path}: corrupted header, not valid JSON: {error}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: corrupted header: expected a JSON object, got "
                               f"{type(header).__name__}")
    return header, 8 + header_length, size


def _check_entry(path, name, entry):
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
        raise SafetensorsError(f"{path}: corrupted header: entry {name!r} lacks dtype, shape or "
                               "data_offsets")
    if entry["dtype"] not in DTYPES:
        raise SafetensorsError(f"{path}: tensor {name!r} has unsupported dtype {entry['dtype']!r} "
                               f"(supported: {', '.join(sorted(DTYPES))})")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise SafetensorsError(f"{path}: tensor {name!r} has an invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(isinstance(o, int) for o in offsets) and 0 <= offsets[0] <= offsets[1]):
        raise SafetensorsError(f"{path}: tensor {name!r} has invalid data_offsets {offsets!r}")
    expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(DTYPES[entry["dtype"]]).itemsize
    if offsets[1] - offsets[0] != expected:
        raise SafetensorsError(f"{path}: tensor {name!r} of dtype {entry['dtype']} and shape "
                               f"{tuple(shape)} needs {expected} bytes but data_offsets {offsets} "
                               f"span {offsets[1] - offsets[0]}")


def load_file(path, with_metadata: bool = False):
    """Read a safetensors file into ``{name: NumPy array}`` (and its metadata if asked).

    Every inconsistency raises :class:`SafetensorsError` naming the file and the problem: a file
    cut short, a header that is not JSON, a tensor whose bytes do not match its shape, bytes that
    overlap or leave gaps, or (for files we wrote) a data checksum that does not match.
    """
    path = os.fspath(path)
    header, data_start, size = read_header(path)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError(f"{path}: corrupted header: __metadata__ must map strings to "
                               "strings")
    for name, entry in header.items():
        _check_entry(path, name, entry)
    data_size = size - data_start
    end = 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, stop = entry["data_offsets"]
        if stop > data_size:
            raise SafetensorsError(f"{path}: truncated file: tensor {name!r} needs data bytes "
                                   f"[{begin}, {stop}) but the data section has {data_size} bytes")
        if begin != end:
            problem = ("overlaps the previous tensor" if begin < end
                       else f"leaves a gap after byte {end}")
            raise SafetensorsError(f"{path}: corrupted header: tensor {name!r} at bytes "
                                   f"[{begin}, {stop}) {problem}")
        end = stop
    if end != data_size:
        raise SafetensorsError(f"{path}: corrupted file: {data_size - end} bytes after the last "
                               "tensor")
    data = bytearray(data_size)
    with open(path, "rb") as file:
        file.seek(data_start)
        if file.readinto(data) != data_size:  # pragma: no cover - the file changed under us
            raise SafetensorsError(f"{path}: truncated file: the data section changed while "
                                   "reading")
    expected = metadata.get(CHECKSUM_KEY)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise SafetensorsError(f"{path}: corrupted data: the SHA-256 of the tensor bytes does not "
                               f"match the checksum {CHECKSUM_KEY} recorded when it was written")
    tensors = {}
    for name, entry in header.items():
        begin, stop = entry["data_offsets"]
        dtype = np.dtype(DTYPES[entry["dtype"]])
        count = (stop - begin) // dtype.itemsize
        array = np.frombuffer(data, dtype=dtype, count=count, offset=begin)
        native = array.astype(dtype.newbyteorder("="), copy=False)  # a no-op on little-endian CPUs
        tensors[name] = native.reshape(tuple(entry["shape"]))
    return (tensors, metadata) if with_metadata else tensors
