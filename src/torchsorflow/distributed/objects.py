"""Python objects between ranks, as JSON and raw array bytes -- never pickle.

torch pickles objects for ``broadcast_object_list`` and friends, so a rank runs whatever code the
bytes it receives name. Here an object is encoded as a JSON skeleton plus the raw bytes of the
arrays inside it: ``None``, bools, ints (any size), floats (NaN and infinities too), strings,
bytes, lists, tuples, sets, dicts (any of these as keys), NumPy arrays and scalars of numeric or
bool dtype, and Tensors. Anything else is refused with a clear error on the sending rank, and
decoding can only ever build those types.

>>> encoded = encode({"epoch": 3, (1, 2): [float("nan"), b"ok"]})
>>> decode(encoded)
{'epoch': 3, (1, 2): [nan, b'ok']}
"""
from __future__ import annotations

import json
import struct

import numpy as np

from ..tensor import Tensor
from .process_group import _default_group
from ..ops.creation import as_tensor

_ALLOWED_KINDS = "biufc"
_MARKERS = ("__tuple__", "__set__", "__items__", "__bytes__", "__array__", "__tensor__",
            "__scalar__")


def _supported(kind_name):
    return (f"cannot send an object of type {kind_name} between ranks: TorchsorFlow sends objects "
            "as JSON and array bytes, never pickle (supported: None, bool, int, float, str, bytes, "
            "list, tuple, set, dict, NumPy arrays and scalars, Tensors)")


def encode(obj) -> bytes:
    """``obj`` as bytes: an 8-byte length, the JSON skeleton, then the arrays' raw bytes."""
    blobs = []

    def array_ref(array):
        array = np.ascontiguousarray(array)
        if array.dtype.kind not in _ALLOWED_KINDS or array.dtype.hasobject:
            raise TypeError(_supported(f"ndarray of dtype {array.dtype}"))
        blobs.append(array.tobytes())
        return {"dtype": array.dtype.str, "shape": list(array.shape), "blob": len(blobs) - 1}

    def walk(value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Tensor):
            return {"__tensor__": array_ref(value.primal()._array)}
        if isinstance(value, np.ndarray):
            return {"__array__": array_ref(value)}
        if isinstance(value, np.generic):
            return {"__scalar__": array_ref(np.asarray(value))}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, tuple):
            return {"__tuple__": [walk(v) for v in value]}
        if isinstance(value, (set, frozenset)):
            return {"__set__": [walk(v) for v in value]}
        if isinstance(value, (bytes, bytearray)):
            return {"__bytes__": array_ref(np.frombuffer(bytes(value), dtype=np.uint8))}
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value) and not set(_MARKERS) & set(value):
                return {k: walk(v) for k, v in value.items()}
            return {"__items__": [[walk(k), walk(v)] for k, v in value.items()]}
        raise TypeError(_supported(type(value).__name__))

    skeleton = json.dumps(walk(obj), allow_nan=True).encode()
    offsets = np.cumsum([0] + [len(b) for b in blobs]).tolist()
    header = json.dumps({"skeleton": skeleton.decode(), "offsets": offsets}).encode()
    return struct.pack("<Q", len(header)) + header + b"".join(blobs)


def decode(data: bytes):
    """The object :func:`encode` made; a damaged payload raises ``ValueError``."""
    data = bytes(data)
    try:
        (size,) = struct.unpack_from("<Q", data)
        header = json.loads(data[8:8 + size].decode())
        skeleton = json.loads(header["skeleton"])
        offsets = [int(o) for o in header["offsets"]]
    except (struct.error, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"a damaged object message from another rank: {error}") from None
    body = data[8 + size:]

    def array(ref):
        dtype = np.dtype(str(ref["dtype"]))
        if dtype.kind not in _ALLOWED_KINDS or dtype.hasobject:
            raise ValueError(f"a damaged object message from another rank: dtype {dtype}")
        blob = int(ref["blob"])
        chunk = body[offsets[blob]:offsets[blob + 1]]
        return np.frombuffer(chunk, dtype=dtype).reshape(ref["shape"]).copy()

    def walk(node):
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "__tuple__" in node:
            return tuple(walk(v) for v in node["__tuple__"])
        if "__set__" in node:
            return {walk(v) for v in node["__set__"]}
        if "__items__" in node:
            return {_hashable(walk(k)): walk(v) for k, v in node["__items__"]}
        if "__bytes__" in node:
            return array(node["__bytes__"]).tobytes()
        if "__array__" in node:
            return array(node["__array__"])
        if "__scalar__" in node:
            return array(node["__scalar__"])[()]
        if "__tensor__" in node:
            return as_tensor(array(node["__tensor__"]))
        return {k: walk(v) for k, v in node.items()}

    return walk(skeleton)


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


# --- the object collectives ----------------------------------------------------------------------
def _bytes_array(data: bytes):
    return np.frombuffer(data, dtype=np.uint8).copy() if data else np.empty(0, dtype=np.uint8)


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace the entries of ``object_list`` on every rank by those of rank ``src``."""
    from .collectives import _check_rank
    pg = _default_group(group, "broadcast_object_list")
    src = _check_rank(pg, src, "broadcast_object_list", "src")
    if not isinstance(object_list, list):
        raise TypeError(f"broadcast_object_list: object_list must be a list, got "
                        f"{type(object_list).__name__}")
    payload = _bytes_array(encode(object_list)) if pg.rank == src else None
    size = np.array([0 if payload is None else payload.size], dtype=np.int64)
    seq = pg.start("broadcast_object_list")
    pg.wait([pg.comm.Ibcast(size, root=src)], "broadcast_object_list", seq)
    if payload is None:
        payload = np.empty(int(size[0]), dtype=np.uint8)
    seq = pg.start("broadcast_object_list")
    pg.wait([pg.comm.Ibcast(payload, root=src)], "broadcast_object_list", seq)
    if pg.rank != src:
        received = decode(payload.tobytes())
        if len(received) != len(object_list):
            raise ValueError(f"broadcast_object_list: rank {src} sent {len(received)} objects "
                             f"but object_list on rank {pg.rank} has {len(object_list)} entries")
        object_list[:] = received


def _gather_payloads(pg, name, obj, root=None):
    """Every rank's encoded ``obj`` (on every rank, or only on ``root``)."""
    payload = _bytes_array(encode(obj))
    sizes = np.empty(pg.size, dtype=np.int64)
    seq = pg.start(name)
    pg.wait([pg.comm.Iallgather(np.array([payload.size], dtype=np.int64), sizes)], name, seq)
    received = np.empty(int(sizes.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    counts = [int(s) for s in sizes]
    displacements = [int(o) for o in offsets[:-1]]
    seq = pg.start(name)
    if root is None:
        request = pg.comm.Iallgatherv(payload, [received, counts, displacements, pg.MPI.BYTE])
    else:
        target = [received, counts, displacements, pg.MPI.BYTE] if pg.rank == root else None
        request = pg.comm.Igatherv(payload, target, root=root)
    pg.wait([request], name, seq)
    if root is not None and pg.rank != root:
        return None
    return [decode(received[offsets[r]:offsets[r + 1]].tobytes()) for r in range(pg.size)]


def all_gather_object(object_list, obj, group=None):
    """``object_list[r]`` becomes rank r's ``obj``, on every rank."""
    pg = _default_group(group, "all_gather_object")
    if not isinstance(object_list, list) or len(object_list) != pg.size:
        raise ValueError(f"all_gather_object: object_list must be a list of {pg.size} entries "
                         "(one per rank)")
    object_list[:] = _gather_payloads(pg, "all_gather_object", obj)


def gather_object(obj, object_gather_list=None, dst=0, group=None):
    """``object_gather_list[r]`` becomes rank r's ``obj`` on rank ``dst``."""
    from .collectives import _check_rank
    pg = _default_group(group, "gather_object")
    dst = _check_rank(pg, dst, "gather_object", "dst")
    if pg.rank == dst and (not isinstance(object_gather_list, list)
                           or len(object_gather_list) != pg.size):
        raise ValueError(f"gather_object: object_gather_list on rank {dst} must be a list of "
                         f"{pg.size} entries (one per rank)")
    gathered = _gather_payloads(pg, "gather_object", obj, root=dst)
    if pg.rank == dst:
        object_gather_list[:] = gathered


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=0,
                        group=None):
    """``scatter_object_output_list[0]`` becomes rank ``src``'s ``scatter_object_input_list[r]``
    on rank r."""
    pg = _default_group(group, "scatter_object_list")
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError("scatter_object_list: scatter_object_output_list must be a non-empty "
                         "list")
    if pg.rank == src and (not isinstance(scatter_object_input_list, list)
                           or len(scatter_object_input_list) != pg.size):
        raise ValueError(f"scatter_object_list: scatter_object_input_list on rank {src} must be "
                         f"a list of {pg.size} entries")
    holder = [scatter_object_input_list if pg.rank == src else None]
    broadcast_object_list(holder, src=src, group=group)
    scatter_object_output_list[0] = holder[0][pg.rank]
