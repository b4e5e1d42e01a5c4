"""PyTorch's own checkpoint files (``.pt``, ``.pth``), read without PyTorch and without running any
code from the file.

``torch.save`` pickles the object it is given. Pickle is a small stack language whose programs
may name any importable function and call it (``os.system``, ``builtins.eval``), so loading an
untrusted pickle normally runs whatever its author wanted. This module reads the pickle with a
*restricted unpickler* instead, like ``torch.load(weights_only=True)``: the only names a file may
use are the handful that describe tensors (``torch._utils._rebuild_tensor_v2``, the storage types,
the dtypes, ``collections.OrderedDict`` ...), and each of them is mapped to a function of ours that
merely records its arguments. Anything else is refused before it is called, with an error naming
it. No ``pickle.load`` is used anywhere else in TorchsorFlow.

**The zip format** (``torch.save``'s default since PyTorch 1.6). An uncompressed zip archive whose
members share one top-level folder (``archive/`` or the file's stem)::

    archive/data.pkl            the saved object, pickled (protocol 2)
    archive/data/0, data/1 ...  one member per storage: its raw bytes, 64-byte aligned in the file
    archive/byteorder           "little" or "big" (absent in files older than PyTorch 2.1: little)
    archive/version, .format_version, .storage_alignment, .data/serialization_id

In ``data.pkl`` a tensor is the call ``torch._utils._rebuild_tensor_v2(storage, storage_offset,
size, stride, requires_grad, backward_hooks)``; ``storage`` is a *persistent id*, a tuple the
pickle hands to the loader rather than building itself: ``("storage", torch.FloatStorage, "0",
"cpu", numel)`` names the member ``data/0`` holding ``numel`` float32 values. Tensors that view
one storage (slices, transposes, tied weights) refer to the same key with their own offset and
strides, so they come back sharing memory, as in PyTorch. Types without a legacy storage class
(uint16, the float8 types ...) are saved as bytes (``torch.storage.UntypedStorage``) with the dtype
as an extra argument (``_rebuild_tensor_v3``). A parameter wraps its tensor:
``torch._utils._rebuild_parameter(tensor, requires_grad, OrderedDict())``.

**The legacy format** (before PyTorch 1.6, or ``_use_new_zipfile_serialization=False``). Five
pickles one after another, then the storages' bytes::

    pickle   the magic number 0x1950a86a20f9469cfc6c
    pickle   the protocol version, 1001
    pickle   {"protocol_version": 1001, "little_endian": True, "type_sizes": {...}}
    pickle   the object; persistent ids ("storage", type, key, location, numel, view)
    pickle   the storage keys, in the order their bytes follow
    then, per key: numel as an 8-byte little-endian integer and numel values, little-endian

**What comes back.** Tensors become TorchsorFlow Tensors (``nn.Parameter`` for parameters) that
view one NumPy array per storage with the saved offsets and strides; ``OrderedDict`` stays an
``OrderedDict`` (with its ``_metadata``), tuples stay tuples. ``bfloat16``, the float8 types and
``complex32``, which NumPy lacks, are widened exactly to float32 (complex64) with a warning
(:mod:`~torchsorflow.io.lowprecision`). Quantized, sparse and nested tensors are refused with an
error naming them. Every size the file announces is checked against the bytes it holds before
anything is allocated, and the pickle is scanned first (:func:`scan_pickle`) for what could make
the unpickler itself allocate unbounded memory.

>>> import io, zipfile
>>> archive = io.BytesIO()
>>> with zipfile.ZipFile(archive, "w") as z:       # a checkpoint that calls eval("...")
...     z.writestr("archive/data.pkl", b"cbuiltins\\neval\\n(S'1+1'\\ntR.")
>>> load_zip(archive, "evil.pt")
Traceback (most recent call last):
...
torchsorflow.io.torch_format.CheckpointError: refusing to load evil.pt: global 'builtins.eval' \
is not allowed (weights_only): TorchsorFlow never executes code from a file
"""
from __future__ import annotations

import io
import os
import pickle
import pickletools
import warnings
import zipfile
from collections import OrderedDict

import numpy as np

from .. import backend
from .lowprecision import WIDENED, widen

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


class CheckpointError(pickle.UnpicklingError, ValueError):
    """A PyTorch checkpoint that cannot or must not be read; the message names the file and why.

    A ``pickle.UnpicklingError`` (what ``torch.load(weights_only=True)`` raises) and a
    ``ValueError`` (like :class:`~torchsorflow.io.SafetensorsError`)."""


class _Malformed(Exception):
    """Raised inside the unpickler; the loader adds the file's name."""


# --- the number types PyTorch saves ----------------------------------------------------------
# torch's name -> the NumPy type it is stored as (or the name of a type widened on reading)
DTYPES = {"float64": "<f8", "float32": "<f4", "float16": "<f2", "int64": "<i8", "int32": "<i4",
          "int16": "<i2", "int8": "i1", "uint8": "u1", "uint16": "<u2", "uint32": "<u4",
          "uint64": "<u8", "bool": "?", "complex64": "<c8", "complex128": "<c16",
          **{name: name for name in WIDENED}}
UNSUPPORTED_DTYPES = {
    **{name: "a quantized type" for name in ("qint8", "quint8", "qint32", "quint4x2", "quint2x4")},
    **{name: "a bit-packed type" for name in ("bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
                                              "float4_e2m1fn_x2")},
    **{f"{kind}{bits}": "a sub-byte integer type" for kind in ("int", "uint")
       for bits in range(1, 8)}}
# the storage classes of PyTorch before 2.0, by the dtype they hold
STORAGE_TYPES = {"DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
                 "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
                 "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
                 "BFloat16Storage": "bfloat16", "ComplexFloatStorage": "complex64",
                 "ComplexDoubleStorage": "complex128", "QInt8Storage": "qint8",
                 "QUInt8Storage": "quint8", "QInt32Storage": "qint32",
                 "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
                 "UntypedStorage": "uint8"}


def _itemsize(dtype: str) -> int:
    return WIDENED[dtype][0] if dtype in WIDENED else np.dtype(DTYPES[dtype]).itemsize


# --- what the unpickler hands out --------------------------------------------------------------
class _Token:
    """An immutable object the unpickler hands out for a name the file may use. Pickle's BUILD
    instruction (``__setstate__``) and attribute writes on it are refused, so a file cannot alter
    the loader's own objects. The fields are the ``__slots__`` of the class and its bases, given
    in that order."""

    __slots__ = ()
    _defaults: dict = {}

    def __init__(self, *values, **named):
        fields = {**self._defaults, **dict(zip(self._fields(), values)), **named}
        for name in self._fields():
            object.__setattr__(self, name, fields[name])

    @classmethod
    def _fields(cls) -> tuple:
        return tuple(name for klass in reversed(cls.__mro__)
                     for name in klass.__dict__.get("__slots__", ()))

    def __setattr__(self, name, value):
        raise _Malformed(f"the pickle tries to set attribute {name!r} of {self!r}")

    def __setstate__(self, state):
        raise _Malformed(f"the pickle tries to change the state of {self!r} (BUILD)")


class _Named(_Token):
    """A token that is a name: its ``template`` shows it as PyTorch spells it."""
    __slots__ = ("name",)
    template = "{}"

    def __repr__(self):
        return self.template.format(self.name)


class _DType(_Named):
    """``torch.float32`` and friends."""
    __slots__ = ()
    template = "torch.{}"


class _Device(_Named):
    """``torch.device("cuda:0")``."""
    __slots__ = ()
    template = "torch.device({!r})"


class _Class(_Named):
    """``torch.Tensor`` or ``torch.nn.Parameter``, the types ``_rebuild_from_type_v2`` makes."""
    __slots__ = ()


class _StorageType(_Named):
    """``torch.FloatStorage`` and friends, with the dtype they hold; ``torch.UntypedStorage``."""
    __slots__ = ("dtype",)
    template = "torch.{}"


class _Storage(_Token):
    """A persistent id resolved: the storage ``key`` of ``numel`` values of ``dtype`` (bytes for
    an untyped storage); ``view`` is ``(offset, numel)`` within it (the legacy format only)."""
    __slots__ = ("key", "dtype", "numel", "location", "view")
    _defaults = {"view": None}

    def __repr__(self):
        return f"storage {self.key!r} ({self.numel} x {self.dtype})"


class _TensorRecord(_Token):
    """A tensor described by the file: built only after the whole pickle was read and checked.
    ``dropped`` names Python attributes saved with it, which a TorchsorFlow Tensor cannot hold."""
    __slots__ = ("storage", "offset", "size", "stride", "dtype", "requires_grad", "parameter",
                 "dropped")
    _defaults = {"parameter": False, "dropped": ()}

    def but(self, **changes):
        """A copy with some fields changed."""
        return _TensorRecord(**{**{name: getattr(self, name) for name in self._fields()},
                                **changes})

    def __repr__(self):
        return f"tensor of size {self.size}"


class _Function(_Token):
    """A function the file may call: ours, under the name of the PyTorch function it stands for."""
    __slots__ = ("name", "function")

    def __call__(self, *args):
        return self.function(*args)

    def __repr__(self):
        return self.name


# --- the functions a checkpoint may call (each checks its arguments: they come from the file) ---
def _integer(value, what):
    if type(value) is not int:
        raise _Malformed(f"{what} must be an integer, got {value!r}")
    return value


def _sizes(value, what):
    if type(value) is not tuple or not all(type(v) is int and v >= 0 for v in value):
        raise _Malformed(f"{what} must be a tuple of non-negative integers, got {value!r}")
    return value


def _no_hooks(hooks):
    if not isinstance(hooks, dict) or hooks:
        raise _Malformed(f"backward hooks must be an empty OrderedDict, got {hooks!r}")


def _rebuild_tensor(storage, storage_offset, size, stride, dtype=None):
    if type(storage) is not _Storage:
        raise _Malformed(f"a tensor must be built on a storage, got {storage!r}")
    _integer(storage_offset, "a storage offset")
    size, stride = _sizes(size, "a tensor's size"), _sizes(stride, "a tensor's stride")
    if len(size) != len(stride):
        raise _Malformed(f"a tensor of size {size} cannot have strides {stride}")
    if dtype is None:
        dtype = storage.dtype
    elif type(dtype) is not _DType:
        raise _Malformed(f"expected a dtype, got {dtype!r}")
    else:
        dtype = dtype.name
    return _TensorRecord(storage, storage_offset, size, stride, dtype, False)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None):
    return _with_grad(_rebuild_tensor(storage, storage_offset, size, stride), requires_grad,
                      backward_hooks)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    return _with_grad(_rebuild_tensor(storage, storage_offset, size, stride, dtype), requires_grad,
                      backward_hooks)


def _with_grad(record, requires_grad, backward_hooks, parameter=False):
    if type(requires_grad) is not bool:
        raise _Malformed(f"requires_grad must be True or False, got {requires_grad!r}")
    _no_hooks(backward_hooks)
    return record.but(requires_grad=requires_grad, parameter=parameter)


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    if type(data) is not _TensorRecord:
        raise _Malformed(f"a parameter must wrap a tensor, got {data!r}")
    return _with_grad(data, requires_grad, backward_hooks, parameter=True).but(
        dropped=_attribute_names(state))


def _rebuild_from_type_v2(function, new_type, args, state):
    if type(function) is not _Function or function.name not in _TENSOR_BUILDERS:
        raise _Malformed(f"{function!r} does not build a tensor")
    if type(new_type) is not _Class or type(args) is not tuple:
        raise _Malformed(f"cannot make a tensor of type {new_type!r}")
    record = function(*args)
    if type(record) is not _TensorRecord:
        raise _Malformed(f"{function!r} did not build a tensor")
    return record.but(parameter=new_type.name == "torch.nn.parameter.Parameter",
                      dropped=_attribute_names(state))


def _attribute_names(state) -> tuple:
    """The names of the Python attributes saved with a tensor (TorchsorFlow drops them)."""
    if not state:
        return ()
    return tuple(sorted(map(str, state))) if isinstance(state, dict) else (repr(state),)


def _size(sizes=()):
    return _sizes(tuple(sizes) if type(sizes) in (tuple, list) else sizes, "torch.Size")


def _device(kind, index=None):
    if type(kind) is not str or (index is not None and type(index) is not int):
        raise _Malformed(f"torch.device({kind!r}, {index!r}) is not a device")
    return _Device(kind if index is None else f"{kind}:{index}")


def _encode(text, encoding="utf-8"):
    """Protocol 2 stores bytes as ``_codecs.encode(text, "latin1")``; no other codec is run."""
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise _Malformed(f"_codecs.encode is only allowed on text with 'latin1', got {encoding!r}")
    return text.encode("latin1")


def _set(items=()):
    if type(items) not in (list, tuple, set, frozenset):
        raise _Malformed(f"a set must be built from a list, got {items!r}")
    return set(items)


def _frozenset(items=()):
    return frozenset(_set(items))


def _complex(real=0.0, imag=0.0):
    if not all(type(v) in (int, float) for v in (real, imag)):
        raise _Malformed(f"complex() takes numbers here, got {real!r}, {imag!r}")
    return complex(real, imag)


def _bytearray(data=b"", encoding=None):
    if type(data) is str and encoding in ("latin1", "latin-1"):
        return bytearray(data, encoding)
    if type(data) not in (bytes, bytearray):   # bytearray(10**12) would allocate a terabyte
        raise _Malformed(f"bytearray() takes bytes here, got {data!r}")
    return bytearray(data)


_TENSOR_BUILDERS = {"torch._utils._rebuild_tensor": _rebuild_tensor,
                    "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
                    "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3}


def _allowed_globals() -> dict:
    """Every name a checkpoint may use, mapped to what stands for it."""
    functions = {**_TENSOR_BUILDERS,
                 "torch._utils._rebuild_parameter": _rebuild_parameter,
                 "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
                 "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
                 "torch.Size": _size, "torch.device": _device, "_codecs.encode": _encode,
                 "builtins.set": _set, "builtins.frozenset": _frozenset,
                 "builtins.complex": _complex, "builtins.bytearray": _bytearray}
    allowed = {name: _Function(name, function) for name, function in functions.items()}
    allowed["collections.OrderedDict"] = OrderedDict   # its BUILD only fills ``__dict__``
    for name in ("torch.Tensor", "torch._tensor.Tensor", "torch.nn.parameter.Parameter"):
        allowed[name] = _Class(name.replace("torch._tensor.", "torch."))
    for name in list(DTYPES) + list(UNSUPPORTED_DTYPES):
        allowed[f"torch.{name}"] = _DType(name)
    for name, dtype in STORAGE_TYPES.items():
        for module in ("torch", "torch.cuda", "torch.storage"):
            allowed[f"{module}.{name}"] = _StorageType(name, dtype)
    return allowed


ALLOWED_GLOBALS = _allowed_globals()
# PyTorch's names that are safe but that TorchsorFlow cannot represent, with what they are
UNSUPPORTED_GLOBALS = {
    "torch._utils._rebuild_qtensor": "quantized tensors",
    "torch._utils._rebuild_sparse_tensor": "sparse tensors",
    "torch._utils._rebuild_sparse_csr_tensor": "sparse tensors",
    "torch._utils._rebuild_nested_tensor": "nested tensors",
    "torch._utils._rebuild_wrapper_subclass": "tensor subclasses without storage",
    "torch._utils._rebuild_meta_tensor_no_storage": "meta tensors without data",
    "torch._utils._rebuild_device_tensor_from_numpy": "tensors of devices without storage",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor": "tensors of devices without storage",
    "torch.serialization._get_layout": "sparse tensors",
    "torch._tensor._rebuild_from_type": "tensor subclasses of PyTorch < 1.8",
    **{f"torch.per_{kind}": "quantized tensors"
       for kind in ("tensor_affine", "tensor_symmetric", "channel_affine", "channel_symmetric",
                    "channel_affine_float_qparams")}}


# Python 2's name of builtins (pickles of protocol < 3 use it) and a module PyTorch 1.8 renamed
RENAMED_MODULES = {"__builtin__": "builtins", "torch.tensor": "torch._tensor"}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that knows only :data:`ALLOWED_GLOBALS`, and asks ``reader`` for storages."""

    def __init__(self, data: bytes, reader: _Reader, encoding: str = "ASCII"):
        super().__init__(io.BytesIO(data), encoding=encoding)
        self.reader = reader

    def find_class(self, module, name):
        module = RENAMED_MODULES.get(module, module)
        full = f"{module}.{name}"
        if full in ALLOWED_GLOBALS:
            token = ALLOWED_GLOBALS[full]
            if type(token) is _DType and token.name in UNSUPPORTED_DTYPES:
                raise CheckpointError(f"{self.reader.name}: dtype torch.{token.name} "
                                      f"({UNSUPPORTED_DTYPES[token.name]}) is not supported by "
                                      "TorchsorFlow")
            return token
        if full in UNSUPPORTED_GLOBALS:
            raise CheckpointError(f"{self.reader.name}: global {full!r} "
                                  f"({UNSUPPORTED_GLOBALS[full]}) is not supported by TorchsorFlow")
        hint = ""
        if not full.startswith(("builtins.", "os.", "posix.", "nt.", "sys.", "subprocess.")):
            hint = ("; the file holds an object of another class (a whole model?): save its "
                    "state_dict() and load that")
        raise CheckpointError(f"refusing to load {self.reader.name}: global {full!r} is not "
                              "allowed (weights_only): TorchsorFlow never executes code from a "
                              f"file{hint}")

    def persistent_load(self, pid):
        return self.reader.persistent_load(pid)


def scan_pickle(data, start: int = 0) -> int:
    """Check the pickle starting at byte ``start`` of ``data`` before it is unpickled; returns
    where it ends.

    The scan decodes the instructions without running them. It refuses what would make the
    unpickler allocate memory the file does not hold: a memo index far beyond the number of
    instructions (the unpickler sizes its memo table by the largest index), and lengths that run
    past the end of the data (caught by the decoder itself)."""
    stream = io.BytesIO(data)
    stream.seek(start)
    count = 0
    try:
        for opcode, argument, _ in pickletools.genops(stream):
            count += 1
            if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT") and (
                    type(argument) is not int or not 0 <= argument <= count):
                raise _Malformed(f"memo index {argument} after {count} instructions")
    except ValueError as error:
        raise _Malformed(f"corrupted pickle: {error}") from None
    return stream.tell()


# --- one load ----------------------------------------------------------------------------------
class _Reader:
    """The state of one load: the file's name, the storages its pickle refers to and their data."""

    def __init__(self, name: str, map_location=None, legacy: bool = False):
        self.name = name
        self.map_location = map_location
        self.legacy = legacy
        self.storages: dict[str, _Storage] = {}   # key -> its (root) storage
        self.arrays: dict = {}                    # key -> the storage's bytes (a uint8 array)
        self.views: dict = {}                     # (key, dtype) -> its values, converted once
        self.widened: set[str] = set()
        self.notes: list[str] = []                # warnings, given once the load succeeded
        self.byteorder = "little"

    def unpickle(self, data: bytes, encoding: str = "ASCII"):
        scan_pickle(data)
        return RestrictedUnpickler(data, self, encoding).load()

    def persistent_load(self, pid):
        if type(pid) is not tuple or not pid:
            raise _Malformed(f"unknown persistent id {pid!r}")
        kind = pid[0].decode("ascii") if type(pid[0]) is bytes else pid[0]
        if kind == "module" and self.legacy:
            raise CheckpointError(f"refusing to load {self.name}: it holds a whole model (the "
                                  f"class {pid[1]!r}), which only running its code could rebuild; "
                                  "save its state_dict() and load that")
        if kind != "storage" or len(pid) != (6 if self.legacy else 5):
            raise _Malformed(f"unknown persistent id {pid!r}")
        storage_type, key, location, numel = pid[1:5]
        if type(storage_type) is not _StorageType:
            raise _Malformed(f"{storage_type!r} is not a storage type")
        if storage_type.dtype in UNSUPPORTED_DTYPES:
            raise CheckpointError(f"{self.name}: {storage_type!r} "
                                  f"({UNSUPPORTED_DTYPES[storage_type.dtype]}) is not supported "
                                  "by TorchsorFlow")
        location = location.decode("ascii") if type(location) is bytes else location
        if type(key) is not str or type(location) is not str:
            raise _Malformed(f"a storage key and location must be strings: {pid!r}")
        numel = _integer(numel, "a storage's size")
        if numel < 0:
            raise _Malformed(f"storage {key!r} has a negative size {numel}")
        self._map(location)
        storage = self.storages.setdefault(key, _Storage(key, storage_type.dtype, numel, location))
        if (storage.dtype, storage.numel) != (storage_type.dtype, numel):
            raise _Malformed(f"storage {key!r} is declared both as {storage} and as {numel} x "
                             f"{storage_type.dtype}")
        view = pid[5] if self.legacy else None
        if view is None:
            return storage
        if type(view) is not tuple or len(view) != 3:
            raise _Malformed(f"storage {key!r}: invalid view {view!r}")
        view_key, offset, view_numel = view
        offset, view_numel = _integer(offset, "a view's offset"), _integer(view_numel, "a size")
        if not 0 <= offset <= offset + view_numel <= numel:
            raise _Malformed(f"storage {key!r}: a view of {view_numel} values at {offset} "
                             f"exceeds its {numel} values")
        return _Storage(key, storage.dtype, view_numel, location, (offset, view_numel))

    def _map(self, location):
        """Apply a callable ``map_location`` as PyTorch does (the result must stay on the CPU)."""
        if not callable(self.map_location):
            return
        proxy = _StorageProxy(location)
        result = self.map_location(proxy, location)
        if result is not None and result is not proxy:
            raise RuntimeError(f"map_location returned {result!r} for a storage saved on "
                               f"{location!r}: TorchsorFlow loads every storage on the CPU")

    # --- turning records into Tensors ----------------------------------------------------------
    def values(self, key: str, dtype: str) -> np.ndarray:
        """The flat array of storage ``key`` read as ``dtype`` (converted once per pair)."""
        if (key, dtype) in self.views:
            return self.views[key, dtype]
        raw = self.arrays[key]
        itemsize = _itemsize(dtype)
        if raw.size % itemsize:
            raise _Malformed(f"storage {key!r} of {raw.size} bytes cannot hold {dtype} values")
        if dtype in WIDENED:
            if self.byteorder == "big" and itemsize > 1:
                unit = 2 if dtype == "complex32" else itemsize
                raw = raw.reshape(-1, unit)[:, ::-1].reshape(-1)
            values = widen(dtype, raw)
            self.widened.add(dtype)
        else:
            stored = np.dtype(DTYPES[dtype])
            if self.byteorder == "big":
                stored = stored.newbyteorder(">")
            values = raw.view(stored)
            if not stored.isnative:
                values = values.astype(stored.newbyteorder("="))
        self.views[key, dtype] = values
        return values

    def tensor(self, record: _TensorRecord):
        from ..nn.parameter import Parameter
        from ..tensor import Tensor
        storage = record.storage
        values = self.values(storage.key, record.dtype)
        if storage.view is not None:   # legacy storage views: a slice of the root storage
            begin, length = storage.view
            values = values[begin:begin + length]
        size, stride, offset = record.size, record.stride, record.offset
        count = int(np.prod(size, dtype=object)) if size else 1
        if count == 0:
            if not 0 <= offset <= values.size:
                raise _Malformed(f"an empty tensor at offset {offset} is outside its storage of "
                                 f"{values.size} values")
            array = np.empty(size, values.dtype)
        else:
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if offset < 0 or last >= values.size:
                raise _Malformed(f"a tensor of size {size}, stride {stride} and offset {offset} "
                                 f"reaches value {last} of a storage of {values.size}")
            array = np.lib.stride_tricks.as_strided(
                values[offset:], shape=size, strides=[s * values.itemsize for s in stride])
        if record.requires_grad and not backend.is_floating(array.dtype):
            raise _Malformed(f"a tensor of dtype {array.dtype} cannot require gradients")
        if record.dropped:
            self.notes.append(f"Python attributes saved on a tensor ({', '.join(record.dropped)}) "
                              "are not restored: TorchsorFlow Tensors have none")
        if record.parameter:
            return Parameter(array, requires_grad=record.requires_grad)
        tensor = Tensor._wrap(array)
        return tensor.requires_grad_(True) if record.requires_grad else tensor

    def build(self, obj):
        """The loaded object: records become Tensors, containers are rebuilt around them (the
        unpickler's own objects never reach the caller), anything unexpected is refused."""
        memo: dict[int, object] = {}
        in_progress = object()

        def convert(x):
            kind = type(x)
            if kind in (int, float, complex, str, bytes, bool, type(None)):
                return x
            if id(x) in memo:
                if memo[id(x)] is in_progress:
                    raise _Malformed("a tuple contains itself")
                return memo[id(x)]
            if kind is _TensorRecord:
                out = self.tensor(x)
            elif kind is list:
                out = memo[id(x)] = []
                out.extend(convert(v) for v in x)
            elif kind in (dict, OrderedDict):
                out = memo[id(x)] = kind()
                for k, v in x.items():
                    out[convert(k)] = convert(v)
                for name, value in vars(x).items() if kind is OrderedDict else ():
                    if type(name) is not str or not name.isidentifier() or name[:2] == "__":
                        raise _Malformed(f"an OrderedDict cannot have the attribute {name!r}")
                    setattr(out, name, convert(value))   # a state_dict's ``_metadata``
            elif kind is tuple:
                memo[id(x)] = in_progress
                out = tuple(convert(v) for v in x)
            elif kind in (set, frozenset):
                out = kind(convert(v) for v in x)
            elif kind is bytearray:
                out = bytearray(x)
            elif kind is _Device:
                out = self.device(x.name)
            elif kind is _DType and x.name in DTYPES:
                out = self.dtype(x.name)
            else:
                raise CheckpointError(f"{self.name}: the checkpoint holds {describe(x)}, which "
                                      "TorchsorFlow cannot represent")
            memo[id(x)] = out
            return out

        try:
            result = convert(obj)
        except RecursionError:
            raise _Malformed("nested too deeply") from None
        if self.widened:
            self.notes.append(f"tensors stored as {', '.join(sorted(self.widened))} were upcast to "
                              "float32 (complex64 for complex32), since NumPy has no such type; "
                              "the values are exact")
        return result

    def dtype(self, name):
        """A dtype saved as a value (a model's settings, say); one NumPy lacks becomes the type
        its tensors are widened to."""
        if name in WIDENED:
            widened = WIDENED[name][1]
            self.notes.append(f"the dtype torch.{name} in the checkpoint is read as {widened}, "
                              "since NumPy has no such type")
            return widened
        return np.dtype(DTYPES[name]).newbyteorder("=")

    def device(self, name):
        try:
            return backend.device(name)
        except RuntimeError:
            self.notes.append(f"torch.device({name!r}) in the checkpoint is loaded as the CPU, "
                              "the only device TorchsorFlow has")
            return backend.CPU

    def warn(self, stacklevel):
        """Give the notes collected during a successful load as warnings."""
        for note in dict.fromkeys(self.notes):
            warnings.warn(f"{self.name}: {note}", UserWarning, stacklevel=stacklevel + 1)


class _StorageProxy:
    """What a callable ``map_location`` receives in place of a storage: returning it keeps the
    storage on the CPU; asking it to move elsewhere is an error naming the device."""

    def __init__(self, location):
        self.location = location

    def cpu(self):
        return self

    def __getattr__(self, name):
        raise RuntimeError(f"map_location called storage.{name}() on a storage saved on "
                           f"{self.location!r}: TorchsorFlow runs on the CPU only")


def describe(x) -> str:
    if isinstance(x, _Token):
        return repr(x) if type(x) is not _DType else f"the dtype {x!r}"
    if x is OrderedDict:
        return "the class collections.OrderedDict"
    return f"an object of type {type(x).__name__}"


# --- the two formats ---------------------------------------------------------------------------
def _guarded(name, work):
    """Run ``work()``; any failure of a damaged or hostile file becomes a CheckpointError that
    names the file."""
    try:
        return work()
    except CheckpointError:
        raise
    except _Malformed as error:
        raise CheckpointError(f"{name}: corrupted or unsupported checkpoint: {error}") from None
    except zipfile.BadZipFile as error:
        raise CheckpointError(f"{name}: corrupted zip archive: {error}") from None
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, KeyError, IndexError,
            AttributeError, OverflowError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{name}: corrupted or unsupported pickle: "
                              f"{type(error).__name__}: {error}") from None


def load_zip(file, name: str, map_location=None, mmap: bool = False, encoding: str = "ASCII"):
    """Read a checkpoint in PyTorch's zip format from ``file`` (a path or a binary file object)."""
    reader = _Reader(name, map_location)

    def work():
        with zipfile.ZipFile(file) as archive:
            prefix = _record_prefix(archive, name)
            if prefix + "byteorder" in archive.namelist():
                reader.byteorder = archive.read(prefix + "byteorder").decode("ascii", "replace")
                if reader.byteorder not in ("little", "big"):
                    raise _Malformed(f"unknown byte order {reader.byteorder!r}")
            obj = reader.unpickle(_read_member(archive, prefix + "data.pkl"), encoding)
            for key, storage in reader.storages.items():
                reader.arrays[key] = _zip_storage(archive, file if mmap else None, prefix,
                                                  storage)
            return reader.build(obj)

    result = _guarded(name, work)
    reader.warn(stacklevel=3)   # at the caller of torchsorflow.load
    return result


def _record_prefix(archive: zipfile.ZipFile, name: str) -> str:
    """The top-level folder of a torch.save archive (``archive/``, or the file's stem)."""
    names = archive.namelist()
    if any(n.endswith("/constants.pkl") for n in names):
        raise CheckpointError(f"{name} is a TorchScript archive (torch.jit.save), which holds "
                              "code: TorchsorFlow reads only torch.save checkpoints")
    pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if not pickles:
        raise CheckpointError(f"{name}: a zip archive without data.pkl is not a PyTorch "
                              "checkpoint")
    return pickles[0][: -len("data.pkl")]


def _zip_storage(archive, path, prefix, storage: _Storage) -> np.ndarray:
    """The bytes of one storage member (a copy, or a copy-on-write map of the file when ``path``
    is given), checked against the size the pickle announced."""
    member = f"{prefix}data/{storage.key}"
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise _Malformed(f"the pickle refers to storage {storage.key!r} but the archive has no "
                         f"{member}") from None
    nbytes = storage.numel * _itemsize(storage.dtype)
    if info.file_size != nbytes:
        raise _Malformed(f"{member} holds {info.file_size} bytes but the pickle declares "
                         f"{storage.numel} {storage.dtype} values ({nbytes} bytes)")
    if path is not None and nbytes:
        _stored(info)
        return np.memmap(path, dtype=np.uint8, mode="c", offset=_data_offset(path, info),
                         shape=(nbytes,))
    return np.frombuffer(_read_member(archive, info), dtype=np.uint8)


def _stored(info: zipfile.ZipInfo):
    """Refuse a compressed member: PyTorch stores every member as it is, so each byte a tensor
    needs is a byte of the file (a compressed member could expand without bound)."""
    if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
        raise _Malformed(f"{info.filename} is compressed (method {info.compress_type}); PyTorch "
                         "stores checkpoint members uncompressed")


def _read_member(archive: zipfile.ZipFile, member) -> bytearray:
    """A stored member's bytes, writable; zipfile checks its CRC-32 at the end."""
    info = member if isinstance(member, zipfile.ZipInfo) else archive.getinfo(member)
    _stored(info)
    data = bytearray(info.file_size)
    with archive.open(info) as stream:
        view, done = memoryview(data), 0
        while done < len(data):
            count = stream.readinto(view[done:])
            if not count:
                raise _Malformed(f"{info.filename} is truncated")
            done += count
        stream.read(1)   # reaches the end, where the CRC-32 is checked
    return data


def _data_offset(path, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes begin: after its local header (30 bytes, its name, extra)."""
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        local = file.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise _Malformed(f"{info.filename}: corrupted local header")
    return (info.header_offset + 30 + int.from_bytes(local[26:28], "little")
            + int.from_bytes(local[28:30], "little"))


def load_legacy(data: bytes, name: str, map_location=None, encoding: str = "ASCII"):
    """Read a checkpoint in PyTorch's legacy (pre-1.6) format from its bytes."""
    reader = _Reader(name, map_location, legacy=True)

    def next_pickle(position):
        end = scan_pickle(data, position)
        return RestrictedUnpickler(data[position:end], reader, encoding).load(), end

    def work():
        magic, position = next_pickle(0)
        if magic != MAGIC_NUMBER:
            raise CheckpointError(f"{name}: not a PyTorch checkpoint (invalid magic number)")
        protocol, position = next_pickle(position)
        if protocol != PROTOCOL_VERSION:
            raise CheckpointError(f"{name}: unsupported legacy protocol version {protocol!r}")
        info, position = next_pickle(position)
        if isinstance(info, dict) and info.get("little_endian") is False:
            reader.byteorder = "big"   # a file from a big-endian machine of PyTorch < 1.0
        obj, position = next_pickle(position)
        keys, position = next_pickle(position)
        if type(keys) is not list or not all(type(k) is str for k in keys):
            raise _Malformed(f"the storage key list is {keys!r}")
        for key in keys:
            storage = reader.storages.get(key)
            if storage is None:
                raise _Malformed(f"storage {key!r} is listed but not used")
            numel = int.from_bytes(data[position:position + 8], "little", signed=True)
            nbytes = storage.numel * _itemsize(storage.dtype)
            if numel != storage.numel or position + 8 + nbytes > len(data):
                raise _Malformed(f"storage {key!r}: {storage.numel} values declared, {numel} "
                                 f"recorded, {len(data) - position - 8} bytes left")
            start = position + 8
            reader.arrays[key] = np.frombuffer(bytearray(memoryview(data)[start:start + nbytes]),
                                               np.uint8)
            position = start + nbytes
        missing = sorted(set(reader.storages) - set(keys))
        if missing:
            raise _Malformed(f"storages {missing} are used but their data is missing")
        return reader.build(obj)

    result = _guarded(name, work)
    reader.warn(stacklevel=3)   # at the caller of torchsorflow.load
    return result


def is_legacy_tar(head: bytes) -> bool:
    """Whether a file starts like the tar archives of PyTorch before 0.4."""
    return len(head) >= 262 and head[257:262] == b"ustar"


def source_name(f) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    name = getattr(f, "name", None)
    return name if isinstance(name, str) else f"<{type(f).__name__}>"
