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

Every file we write carries two checksums in its metadata: ``torchsorflow.data_sha256``, the
SHA-256 of the data section, and ``torchsorflow.header_sha256``, that of the 8-byte length and the
header (with this value's own 64 digits written as zeros; the header holds the data checksum, so
together they cover every byte). Damage anywhere -- a flipped bit in a dtype, an offset, an
optimizer setting or the tensor bytes -- is therefore reported instead of loading wrong values, and
the file stays an ordinary safetensors file that the ``safetensors`` package reads. A file that
is ours (it has ``torchsorflow.*`` metadata or ``format: torchsorflow``) but lacks the checksums
has been edited or damaged and is refused unless the caller asks for ``verify=False``; files of
other writers, which have none, load unchecked; files of TorchsorFlow versions that checksummed
only the data load with a warning.

BF16 and F8 tensors (``F8_E4M3``, ``F8_E5M2`` and their ``FNUZ`` variants), common on the Hugging
Face hub, are read and upcast to float32 -- exactly, every value of these types is a float32 value
(see :mod:`~torchsorflow.io.lowprecision`) -- because NumPy has no such types; a warning says so.
They cannot be written.

A file can also be read from bytes in memory (the contents of a file object), written to an open
binary file, and memory-mapped (``mmap=True``: the tensors are copy-on-write views of the file,
read from the disk as they are used).

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
import io
import json
import os
import warnings

import numpy as np

from ..tensor import Tensor
from .atomic import atomic_write
from .lowprecision import widen

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
          "C64": "<c8"}
CODES = {np.dtype(v).newbyteorder("=") if v[0] == "<" else np.dtype(v): k
         for k, v in DTYPES.items()}
# read-only types, upcast to float32 on reading: name -> (bytes per value, PyTorch's name)
UPCAST_TYPES = {"BF16": (2, "bfloat16"), "F8_E4M3": (1, "float8_e4m3fn"),
                "F8_E5M2": (1, "float8_e5m2"), "F8_E4M3FNUZ": (1, "float8_e4m3fnuz"),
                "F8_E5M2FNUZ": (1, "float8_e5m2fnuz")}
UPCAST = {code: size for code, (size, _) in UPCAST_TYPES.items()}
CHECKSUM_KEY = "torchsorflow.data_sha256"
HEADER_CHECKSUM_KEY = "torchsorflow.header_sha256"
# Names the checksums a file carries, so that damage to one checksum's key is not mistaken for a
# file of an earlier version, which carried only the data checksum.
CHECKSUMS_KEY = "torchsorflow.checksums"
CHECKSUMS = f"{CHECKSUM_KEY} {HEADER_CHECKSUM_KEY}"
_PLACEHOLDER = "0" * 64
_HEADER_PATTERN = f'"{HEADER_CHECKSUM_KEY}":"'.encode()
MAX_HEADER_BYTES = 100_000_000  # the reference implementation's limit


class SafetensorsError(ValueError):
    """A safetensors file that cannot be read: the message names the file and the problem."""


# --- writing -----------------------------------------------------------------------------------
def save_file(tensors: dict, path, metadata: dict | None = None):
    """Write ``{name: array or Tensor}`` to ``path`` atomically, with optional string metadata.

    ``path`` may also be a binary file object open for writing; the bytes are then written into
    it at its current position (atomicity is then the caller's business)."""
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
        if key in (CHECKSUM_KEY, HEADER_CHECKSUM_KEY, CHECKSUMS_KEY):
            raise ValueError(f"metadata key {key!r} is reserved")
    header, offset = {}, 0
    for name, array in arrays.items():   # data laid out in insertion order, no gaps
        header[name] = {"dtype": CODES[array.dtype.newbyteorder("=")], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    checksum = hashlib.sha256()
    for chunk in raw:
        checksum.update(chunk)
    metadata[CHECKSUM_KEY] = checksum.hexdigest()
    metadata[CHECKSUMS_KEY] = CHECKSUMS
    metadata[HEADER_CHECKSUM_KEY] = _PLACEHOLDER
    header["__metadata__"] = metadata
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)   # align the data section to 8 bytes
    prefix = len(header_bytes).to_bytes(8, "little")
    digest = _header_digest(prefix, header_bytes, header_bytes.index(_HEADER_PATTERN))
    header_bytes = header_bytes.replace(_HEADER_PATTERN + _PLACEHOLDER.encode(),
                                        _HEADER_PATTERN + digest.encode())
    if hasattr(path, "write"):
        for chunk in (prefix, header_bytes, *raw):
            path.write(chunk)
    else:
        atomic_write(path, [prefix, header_bytes, *raw])


def _header_digest(prefix, header_bytes, position):
    """SHA-256 of the length field and the header with the header checksum's digits zeroed;
    ``position`` is where ``"torchsorflow.header_sha256":"`` starts."""
    begin = position + len(_HEADER_PATTERN)
    checksum = hashlib.sha256(prefix)
    checksum.update(header_bytes[:begin])
    checksum.update(_PLACEHOLDER.encode())
    checksum.update(header_bytes[begin + 64:])
    return checksum.hexdigest()


# --- reading -----------------------------------------------------------------------------------
def _no_duplicates(path):
    def hook(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise SafetensorsError(f"{path}: corrupted header: the key {key!r} appears twice")
            seen.add(key)
        return dict(pairs)
    return hook


def is_buffer(source) -> bool:
    """Whether ``source`` is a file's contents in memory rather than a path."""
    return isinstance(source, (bytes, bytearray, memoryview))


def _open(source, path):
    """An open binary file on ``source`` (a path or bytes) and its size in bytes."""
    if is_buffer(source):
        return io.BytesIO(source), memoryview(source).nbytes
    if os.path.isdir(source):
        raise SafetensorsError(f"{path} is a folder, not a safetensors file")
    return open(source, "rb"), os.path.getsize(source)


def read_header(path, with_bytes: bool = False, name: str | None = None):
    """The parsed JSON header, the offset where data starts and the file size (checked);
    ``with_bytes=True`` adds the raw length field and header bytes (for the checksum).

    ``path`` may be the file's contents as bytes; ``name`` is then what messages call it."""
    source = path
    path = name or ("<bytes>" if is_buffer(source) else os.fspath(source))
    file, size = _open(source, path)
    with file:
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
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f"{path}: corrupted header, not valid JSON: {error}") from None
    except RecursionError:
        raise SafetensorsError(f"{path}: corrupted header: JSON nested too deeply") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: corrupted header: expected a JSON object, got "
                               f"{type(header).__name__}")
    if with_bytes:
        return header, 8 + header_length, size, prefix, raw
    return header, 8 + header_length, size


def _itemsize(code):
    return UPCAST[code] if code in UPCAST else np.dtype(DTYPES[code]).itemsize


def _check_entry(path, name, entry, data_size):
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
        raise SafetensorsError(f"{path}: corrupted header: entry {name!r} lacks dtype, shape or "
                               "data_offsets")
    if not isinstance(entry["dtype"], str) or entry["dtype"] not in {**DTYPES, **UPCAST}:
        raise SafetensorsError(f"{path}: tensor {name!r} has unsupported dtype {entry['dtype']!r} "
                               f"(supported: {', '.join(sorted({**DTYPES, **UPCAST}))})")
    shape, offsets = entry["shape"], entry["data_offsets"]

    def is_int(value):
        return isinstance(value, int) and not isinstance(value, bool)
    if not (isinstance(shape, list) and all(is_int(d) and d >= 0 for d in shape)):
        raise SafetensorsError(f"{path}: tensor {name!r} has an invalid shape {shape!r} (expected "
                               "a list of non-negative integers)")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(is_int(o) for o in offsets) and 0 <= offsets[0] <= offsets[1]):
        raise SafetensorsError(f"{path}: tensor {name!r} has invalid data_offsets {offsets!r}")
    count = 1
    for dimension in shape:   # Python integers: a shape of 10**23 cannot overflow here
        count *= dimension
    expected = count * _itemsize(entry["dtype"])
    if offsets[1] - offsets[0] != expected:
        raise SafetensorsError(f"{path}: tensor {name!r} of dtype {entry['dtype']} and shape "
                               f"{tuple(shape)} needs {expected} bytes but data_offsets {offsets} "
                               f"span {offsets[1] - offsets[0]}")
    if offsets[1] > data_size:
        raise SafetensorsError(f"{path}: truncated file: tensor {name!r} needs data bytes "
                               f"[{offsets[0]}, {offsets[1]}) but the data section has {data_size} "
                               "bytes")


def is_ours(metadata) -> bool:
    """Whether a file's metadata says TorchsorFlow wrote it (so it must carry checksums)."""
    return (metadata.get("format") == "torchsorflow"
            or any(key.startswith("torchsorflow.") for key in metadata))


def _verify_header(path, metadata, prefix, raw):
    """Check the header checksum; returns whether the file has one."""
    if HEADER_CHECKSUM_KEY not in metadata:
        if CHECKSUMS_KEY in metadata:
            raise SafetensorsError(
                f"{path}: no header checksum: the file says it carries {metadata[CHECKSUMS_KEY]!r}"
                f" but {HEADER_CHECKSUM_KEY} is missing (the header was damaged or edited); load "
                "with verify=False to read it unchecked")
        return False
    if raw.count(_HEADER_PATTERN) != 1:
        raise SafetensorsError(f"{path}: corrupted header: the checksum {HEADER_CHECKSUM_KEY} is "
                               "not where TorchsorFlow writes it (damaged or edited; load with "
                               "verify=False to read it anyway)")
    digest = _header_digest(prefix, raw, raw.index(_HEADER_PATTERN))
    if digest != metadata[HEADER_CHECKSUM_KEY]:
        raise SafetensorsError(f"{path}: corrupted header: its SHA-256 does not match the checksum "
                               f"{HEADER_CHECKSUM_KEY} recorded when it was written (damaged or "
                               "edited; load with verify=False to read it anyway)")
    return True


def load_file(path, with_metadata: bool = False, verify: bool = True, mmap: bool = False,
              name: str | None = None):
    """Read a safetensors file into ``{name: NumPy array}`` (and its metadata if asked).

    Every inconsistency raises :class:`SafetensorsError` naming the file and the problem: a file
    cut short, a header that is not JSON, a tensor whose bytes do not match its shape, bytes that
    overlap or leave gaps, or (for files we wrote) a checksum that does not match or is missing.
    ``verify=False`` skips the checksums (to rescue a damaged file); the sizes are always checked.

    ``path`` may be the file's contents as bytes (``name`` then names it in messages).
    ``mmap=True`` maps the file instead of reading it: the arrays are copy-on-write views of the
    file's pages (writing to them never changes the file); the checksums still read every byte.
    """
    source = path
    path = name or ("<bytes>" if is_buffer(source) else os.fspath(source))
    if mmap and is_buffer(source):
        raise ValueError(f"{path}: mmap=True needs a file path, not bytes in memory")
    header, data_start, size, prefix, raw = read_header(source, with_bytes=True, name=path)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError(f"{path}: corrupted header: __metadata__ must map strings to "
                               "strings")
    checked_header = verify and _verify_header(path, metadata, prefix, raw)
    data_size = size - data_start
    for name, entry in header.items():
        _check_entry(path, name, entry, data_size)
    end = 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, stop = entry["data_offsets"]
        if begin != end:
            problem = ("overlaps the previous tensor" if begin < end
                       else f"leaves a gap after byte {end}")
            raise SafetensorsError(f"{path}: corrupted header: tensor {name!r} at bytes "
                                   f"[{begin}, {stop}) {problem}")
        end = stop
    if end != data_size:
        raise SafetensorsError(f"{path}: corrupted file: {data_size - end} bytes after the last "
                               "tensor")
    data = _data_section(source, path, data_start, data_size, mmap)
    if verify:
        _verify_data(path, metadata, data, checked_header)
    tensors, upcast = {}, []
    for name, entry in header.items():
        begin, stop = entry["data_offsets"]
        code, shape = entry["dtype"], tuple(entry["shape"])
        if code in UPCAST:
            tensors[name] = widen(UPCAST_TYPES[code][1], data[begin:stop]).reshape(shape)
            upcast.append((name, code))
            continue
        dtype = np.dtype(DTYPES[code])
        array = np.frombuffer(data, dtype=dtype, count=(stop - begin) // dtype.itemsize,
                              offset=begin)
        native = array.astype(dtype.newbyteorder("="), copy=False)  # a no-op on little-endian CPUs
        tensors[name] = native.reshape(shape)
    if upcast:
        codes = sorted({code for _, code in upcast})
        shown = ", ".join(repr(name) for name, _ in upcast[:3])
        shown += " ..." if len(upcast) > 3 else ""
        warnings.warn(f"{path}: {len(upcast)} tensor(s) stored as {'/'.join(codes)} ({shown}) were "
                      "upcast to float32, since NumPy has no such type (the values are exact)",
                      UserWarning, stacklevel=2)
    return (tensors, metadata) if with_metadata else tensors


def _data_section(source, path, start, size, mmap):
    """The bytes after the header: a writable copy, or a copy-on-write map of the file."""
    if is_buffer(source):
        return bytearray(memoryview(source)[start:start + size])
    if mmap and size:
        return np.memmap(source, dtype=np.uint8, mode="c", offset=start, shape=(size,))
    data = bytearray(size)
    with open(source, "rb") as file:
        file.seek(start)
        if file.readinto(data) != size:  # pragma: no cover - the file changed under us
            raise SafetensorsError(f"{path}: truncated file: the data section changed while "
                                   "reading")
    return data


def _verify_data(path, metadata, data, checked_header):
    expected = metadata.get(CHECKSUM_KEY)
    if expected is None:
        if checked_header or is_ours(metadata):
            raise SafetensorsError(
                f"{path}: no checksum: the metadata says TorchsorFlow wrote this file, which "
                f"always records {CHECKSUM_KEY} and {HEADER_CHECKSUM_KEY}, but they are missing "
                "(the header was damaged or edited); load with verify=False to read it unchecked")
        return   # another writer's file: nothing to check against
    if hashlib.sha256(data).hexdigest() != expected:
        raise SafetensorsError(f"{path}: corrupted data: the SHA-256 of the tensor bytes does not "
                               f"match the checksum {CHECKSUM_KEY} recorded when it was written")
    if not checked_header:
        warnings.warn(f"{path}: written by an earlier TorchsorFlow whose checksum covers only the "
                      "tensor bytes, not the header; save it again to protect the header too",
                      UserWarning, stacklevel=3)
