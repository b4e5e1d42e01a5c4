"""torch.save / torch.load: ``torchsorflow.save``/``load`` of our own format, PyTorch's zip and
legacy checkpoints read without PyTorch and without running code from them, safetensors of other
writers, ``Module.load_state_dict`` against PyTorch's behaviour, and memory sharing by DLPack and
NumPy."""
import io
import os
import pathlib
import pickle
import re
import warnings
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.io import CheckpointError, SafetensorsError
from torchsorflow.io.torch_format import MAGIC_NUMBER, PROTOCOL_VERSION

SRC = pathlib.Path(tsf.__file__).resolve().parent


# --- pickles written by hand, opcode by opcode (no torch needed) ------------------------------
def _str(text):
    data = text.encode()
    return b"X" + len(data).to_bytes(4, "little") + data


def _int(value):
    return b"J" + value.to_bytes(4, "little", signed=True)


def _global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _ints(values):
    return b"(" + b"".join(_int(v) for v in values) + b"t"


def _storage_id(key, numel, storage_type="FloatStorage", legacy=False):
    """The persistent id ("storage", torch.FloatStorage, key, "cpu", numel[, view])."""
    return (b"(" + _str("storage") + _global("torch", storage_type) + _str(key) + _str("cpu")
            + _int(numel) + (b"N" if legacy else b"") + b"tQ")


def _tensor(key, numel, offset, size, stride, legacy=False):
    """torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())."""
    return (_global("torch._utils", "_rebuild_tensor_v2") + b"(" + _storage_id(key, numel,
                                                                            legacy=legacy)
            + _int(offset) + _ints(size) + _ints(stride) + b"\x89"
            + _global("collections", "OrderedDict") + b")R" + b"tR")


def _dict(items):
    """A pickle of a dict whose values are the given pickle fragments."""
    return b"\x80\x02}" + b"".join(_str(k) + v + b"s" for k, v in items.items()) + b"."


def _zip(path, data_pkl, storages=(), prefix="archive"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{prefix}/data.pkl", data_pkl)
        archive.writestr(f"{prefix}/byteorder", "little")
        for key, raw in storages:
            archive.writestr(f"{prefix}/data/{key}", raw)
        archive.writestr(f"{prefix}/version", "3\n")
    return path


def _legacy(path, object_pkl, storages=()):
    """PyTorch's legacy layout: magic, protocol, sys_info, object, keys, then the storages."""
    parts = [pickle.dumps(MAGIC_NUMBER, protocol=2), pickle.dumps(PROTOCOL_VERSION, protocol=2),
             pickle.dumps({"protocol_version": PROTOCOL_VERSION, "little_endian": True,
                           "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2),
             object_pkl, pickle.dumps([key for key, _ in storages], protocol=2)]
    for _, values in storages:
        parts += [len(values).to_bytes(8, "little"), values.astype("<f4").tobytes()]
    pathlib.Path(path).write_bytes(b"".join(parts))
    return path


# --- our own format -----------------------------------------------------------------------------
def _nested():
    weight = tsf.arange(6.0).reshape(2, 3)
    return {"model": OrderedDict([("w", weight), ("tied", weight), ("b", tsf.zeros(3))]),
            "optimizer": {"state": {0: {"step": 3, "exp_avg": tsf.ones(2, 3)}},
                          "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "amsgrad": False,
                                            "foreach": None, "params": [0]}]},
            "param": nn.Parameter(tsf.ones(2)), "frozen": nn.Parameter(tsf.ones(1), False),
            "leaf": tsf.tensor([1.0], requires_grad=True), "ints": tsf.tensor([1, 2]),
            "name": "cnn", "epochs": [1, 2, (3, 4.5)], "nan": float("nan"), "nothing": None}


def _assert_same(loaded, original, where="state"):
    assert type(loaded) is type(original), (where, type(loaded), type(original))
    if isinstance(original, tsf.Tensor):
        assert loaded.dtype == original.dtype and loaded.shape == original.shape, where
        assert loaded.requires_grad == original.requires_grad, where
        np.testing.assert_array_equal(loaded.numpy(), original.numpy(), err_msg=where)
    elif isinstance(original, dict):
        assert list(loaded) == list(original), where
        for key in original:
            _assert_same(loaded[key], original[key], f"{where}[{key!r}]")
    elif isinstance(original, (list, tuple)):
        assert len(loaded) == len(original), where
        for i, (a, b) in enumerate(zip(loaded, original)):
            _assert_same(a, b, f"{where}[{i}]")
    elif isinstance(original, float) and np.isnan(original):
        assert np.isnan(loaded), where
    else:
        assert loaded == original, where


@pytest.mark.parametrize("to_file_object", [False, True])
def test_save_and_load_keep_containers_types_and_tied_tensors(tmp_path, to_file_object):
    state = _nested()
    if to_file_object:
        buffer = io.BytesIO()
        tsf.save(state, buffer)
        buffer.seek(0)
        loaded = tsf.load(buffer)
    else:
        tsf.save(state, tmp_path / "state.pt")
        loaded = tsf.load(tmp_path / "state.pt")
    _assert_same(loaded, state)
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)   # tuples stay tuples
    model = loaded["model"]
    assert np.shares_memory(model["w"].numpy(), model["tied"].numpy())     # tied: stored once
    model["w"].add_(1.0)
    assert model["tied"][0, 0].item() == 1.0
    assert isinstance(loaded["param"], nn.Parameter) and loaded["param"].requires_grad
    assert isinstance(loaded["frozen"], nn.Parameter) and not loaded["frozen"].requires_grad


def test_saved_files_are_safetensors_with_checksums(tmp_path):
    path = tmp_path / "model.pth"
    tsf.save({"w": tsf.ones(3)}, path)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1   # a flipped bit in the data
    path.write_bytes(bytes(raw))
    with pytest.raises(SafetensorsError, match=f"{re.escape(str(path))}: corrupted data"):
        tsf.load(path)


def test_a_module_or_an_unknown_object_is_refused_naming_it(tmp_path):
    with pytest.raises(TypeError, match=r"cannot save the Linear module itself.*"
                                        r"model\.state_dict\(\)"):
        tsf.save(nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(TypeError, match="cannot save a value of type object"):
        tsf.save({"x": object()}, tmp_path / "x.pt")
    with pytest.raises(TypeError, match="pickle_module='json' is not supported"):
        import json
        tsf.save({}, tmp_path / "x.pt", pickle_module=json)
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize("location", [None, "cpu", tsf.device("cpu"), {"cuda:0": "cpu"},
                                      lambda storage, loc: storage])
def test_map_location_may_name_the_cpu(tmp_path, location):
    tsf.save({"w": tsf.ones(2)}, tmp_path / "w.pt")
    assert tsf.load(tmp_path / "w.pt", map_location=location)["w"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("location, named", [("cuda", "'cuda'"), ("cuda:1", "'cuda:1'"),
                                             ({"cpu": "mps"}, "'mps'"), ("meta", "'meta'")])
def test_map_location_naming_another_device_is_refused(tmp_path, location, named):
    tsf.save({"w": tsf.ones(2)}, tmp_path / "w.pt")
    with pytest.raises(RuntimeError, match=f"map_location=.*device {named} is not available"):
        tsf.load(tmp_path / "w.pt", map_location=location)


def test_a_map_location_function_moving_storages_is_refused(tmp_path):
    path = _zip(tmp_path / "w.pt", _dict({"w": _tensor("0", 2, 0, (2,), (1,))}),
                [("0", np.ones(2, "<f4").tobytes())])
    with pytest.raises(RuntimeError, match=r"map_location called storage\.cuda\(\) on a storage "
                                           "saved on 'cpu': TorchsorFlow runs on the CPU only"):
        tsf.load(path, map_location=lambda storage, loc: storage.cuda(0))


def _is_mapped(tensor, path):
    """Whether a Tensor's memory lies in a memory-mapped view of the file ``path`` (Linux)."""
    maps = pathlib.Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc/self/maps")
    address = tensor.numpy().__array_interface__["data"][0]
    for line in maps.read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == str(pathlib.Path(path).resolve()):
            begin, end = (int(bound, 16) for bound in fields[0].split("-"))
            if begin <= address < end:
                return True
    return False


def test_mmap_maps_the_file_copy_on_write(tmp_path):
    path = tmp_path / "w.pt"
    tsf.save({"w": tsf.arange(4.0)}, path)
    before = path.read_bytes()
    loaded = tsf.load(path, mmap=True)
    assert _is_mapped(loaded["w"], path)
    loaded["w"].add_(1.0)   # writes go to private pages, never to the file
    assert loaded["w"].tolist() == [1.0, 2.0, 3.0, 4.0] and path.read_bytes() == before
    with pytest.raises(ValueError, match="f must be a file path in order to use the mmap argument"):
        tsf.load(io.BytesIO(before), mmap=True)


def test_files_that_are_no_checkpoint_are_named(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a checkpoint")
    with pytest.raises(CheckpointError, match=f"{re.escape(str(text))} is not a checkpoint "
                                              "TorchsorFlow can read"):
        tsf.load(text)
    with pytest.raises(IsADirectoryError, match="is a folder, not a checkpoint"):
        tsf.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        tsf.load(tmp_path / "missing.pt")
    with pytest.raises(TypeError, match="load\\(\\) got unsupported argument\\(s\\) fix_imports"):
        tsf.load(text, fix_imports=False)


# --- PyTorch's formats, written by hand -------------------------------------------------------
@pytest.mark.parametrize("legacy", [False, True])
def test_a_hand_written_checkpoint_gives_views_of_one_storage(tmp_path, legacy):
    values = np.arange(12, dtype=np.float32)
    items = {"rows": _tensor("0", 12, 2, (2, 3), (3, 1), legacy),     # values[2:8] as 2x3
             "cols": _tensor("0", 12, 1, (3, 2), (1, 4), legacy),     # a strided view
             "scalar": _tensor("0", 12, 11, (), (), legacy)}
    if legacy:
        path = _legacy(tmp_path / "old.pt", _dict(items)[:-1] + b".", [("0", values)])
    else:
        path = _zip(tmp_path / "new.pt", _dict(items), [("0", values.tobytes())])
    loaded = tsf.load(path)
    np.testing.assert_array_equal(loaded["rows"].numpy(), values[2:8].reshape(2, 3))
    np.testing.assert_array_equal(loaded["cols"].numpy(),
                                  np.lib.stride_tricks.as_strided(values[1:], (3, 2), (4, 16)))
    assert loaded["cols"].stride() == (1, 4) and loaded["scalar"].item() == 11.0
    assert np.shares_memory(loaded["rows"].numpy(), loaded["cols"].numpy())
    loaded["rows"][0, 0] = -1.0             # one storage, as in PyTorch: the other view sees it
    assert loaded["cols"][1, 0].item() == -1.0


@pytest.mark.parametrize("size, stride, offset, numel", [
    ((4,), (1,), 0, 3), ((2, 2), (2, 1), 1, 4), ((3,), (5,), 0, 10)])
def test_views_reaching_past_their_storage_are_refused(tmp_path, size, stride, offset, numel):
    path = _zip(tmp_path / "bad.pt", _dict({"w": _tensor("0", numel, offset, size, stride)}),
                [("0", np.zeros(numel, "<f4").tobytes())])
    with pytest.raises(CheckpointError, match=f"{re.escape(str(path))}: corrupted .* reaches "
                                              "value"):
        tsf.load(path)


def test_a_storage_whose_bytes_disagree_with_its_size_is_refused(tmp_path):
    path = _zip(tmp_path / "bad.pt", _dict({"w": _tensor("0", 1000, 0, (1000,), (1,))}),
                [("0", np.zeros(10, "<f4").tobytes())])
    with pytest.raises(CheckpointError, match="archive/data/0 holds 40 bytes but the pickle "
                                              "declares 1000 float32 values"):
        tsf.load(path)


class _Payload:
    """What an attacker pickles: unpickling calls os.system(command)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _payloads(marker, legacy=False):
    touch = f"touch {marker}"
    write = f"open({str(marker)!r}, 'w').write('pwned')"
    return {
        "os.system": (pickle.dumps(_Payload(touch), protocol=2), "posix.system"),
        "os.system, protocol 4": (pickle.dumps(_Payload(touch), protocol=4), "posix.system"),
        "eval": (b"\x80\x02" + _global("builtins", "eval") + _str(write) + b"\x85R.",
                 "builtins.eval"),
        "exec, protocol 0": (b"(" + b"S'" + write.replace("'", '"').encode() + b"'\n"
                             + b"ibuiltins\nexec\n.", "builtins.exec"),
        "a payload beside a tensor": (_dict({"w": _tensor("0", 2, 0, (2,), (1,), legacy),
                                             "x": _global("posix", "system") + _str(touch)
                                             + b"\x85R"}), "posix.system"),
        "a getattr chain": (b"\x80\x02" + _global("builtins", "getattr") + _global("os", "path")
                            + _str("join") + b"\x86R.", "builtins.getattr"),
        "a whole model": (b"\x80\x02" + _global("__main__", "Net") + b")R.", "__main__.Net"),
    }


@pytest.mark.parametrize("kind", list(_payloads("m")))
@pytest.mark.parametrize("layout", ["zip", "legacy", "bare pickle"])
def test_malicious_pickles_are_refused_without_side_effects(tmp_path, kind, layout):
    marker = tmp_path / "pwned"
    data, name = _payloads(marker, legacy=layout != "zip")[kind]
    if layout == "zip":
        path = _zip(tmp_path / "evil.pt", data, [("0", np.zeros(2, "<f4").tobytes())])
    elif layout == "legacy":
        path = _legacy(tmp_path / "evil.pt", data)
    else:   # the payload as the very first pickle of the file
        path = tmp_path / "evil.pt"
        path.write_bytes(data)
    if layout == "bare pickle" and not data.startswith(b"\x80"):
        with pytest.raises(CheckpointError, match="is not a checkpoint TorchsorFlow can read"):
            tsf.load(path)
    else:
        with pytest.raises(CheckpointError) as caught:
            tsf.load(path, weights_only=False)   # never runs code, whatever weights_only says
        assert str(caught.value).startswith(f"refusing to load {path}: global {name!r} is not "
                                            "allowed (weights_only): TorchsorFlow never executes "
                                            "code from a file")
    assert not marker.exists()


def test_the_pickle_cannot_alter_the_loaders_objects(tmp_path):
    build_on_a_function = (b"\x80\x02" + _global("torch._utils", "_rebuild_tensor_v2")
                           + b"}" + _str("__defaults__") + b"Ns" + b"b.")
    odd_attribute = (b"\x80\x02" + _global("collections", "OrderedDict") + b")R}"
                     + _str("__class__") + _int(1) + b"sb.")
    for data, message in [(build_on_a_function, "tries to change the state of "
                                                "torch._utils._rebuild_tensor_v2"),
                          (odd_attribute, "an OrderedDict cannot have the attribute '__class__'")]:
        path = _zip(tmp_path / "odd.pt", data)
        with pytest.raises(CheckpointError, match=re.escape(message)):
            tsf.load(path)


def test_a_pickle_that_would_exhaust_memory_is_refused_before_unpickling(tmp_path):
    memo_bomb = b"\x80\x02N" + b"r" + (2 ** 31 - 1).to_bytes(4, "little") + b"."
    path = _zip(tmp_path / "bomb.pt", memo_bomb)
    with pytest.raises(CheckpointError, match="memo index 2147483647 after 3 instructions"):
        tsf.load(path)
    huge_bytes = b"\x80\x04\x8e" + (2 ** 40).to_bytes(8, "little") + b"abc."
    with pytest.raises(CheckpointError, match="corrupted pickle"):
        tsf.load(_zip(tmp_path / "bytes.pt", huge_bytes))
    deep = b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b"."
    with pytest.raises(CheckpointError, match="nested too deeply"):
        tsf.load(_zip(tmp_path / "deep.pt", deep))


def test_compressed_members_and_torchscript_archives_are_refused(tmp_path):
    path = tmp_path / "deflated.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02N.")
    with pytest.raises(CheckpointError, match="archive/data.pkl is compressed"):
        tsf.load(path)
    path = tmp_path / "scripted.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("scripted/data.pkl", b"\x80\x02N.")
        archive.writestr("scripted/constants.pkl", b"\x80\x02N.")
    with pytest.raises(CheckpointError, match="is a TorchScript archive"):
        tsf.load(path)


def test_no_other_module_unpickles_anything():
    """The restricted unpickler is the only unpickling in the package."""
    offenders = []
    for file in SRC.rglob("*.py"):
        text = file.read_text(encoding="utf-8")
        for pattern in (r"pickle\.loads?\(", r"Unpickler\b", r"allow_pickle\s*=\s*True",
                        r"marshal\.loads?\(", r"\bshelve\b", r"\bdill\b"):
            if re.search(pattern, text) and file.name != "torch_format.py":
                offenders.append(f"{file.relative_to(SRC)}: {pattern}")
    assert not offenders


# --- PyTorch's own files ---------------------------------------------------------------------
@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _make_cnn(lib):
    """An MNIST-style CNN written as in PyTorch's examples; ``lib`` is torch or torchsorflow."""
    nn_, F = lib.nn, lib.nn.functional

    class Net(nn_.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn_.Conv2d(1, 4, 3, 1)
            self.bn1 = nn_.BatchNorm2d(4)
            self.conv2 = nn_.Conv2d(4, 8, 3, 1)
            self.fc1 = nn_.Linear(8 * 3 * 3, 16)
            self.fc2 = nn_.Linear(16, 10)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = lib.flatten(x, 1)
            return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)

    return Net()


def test_a_torch_cnn_state_dict_loads_into_the_same_model(torch, tmp_path):
    torch.manual_seed(0)
    theirs = _make_cnn(torch)
    with torch.no_grad():
        theirs.bn1.running_mean.uniform_(-0.5, 0.5)
        theirs.bn1.running_var.uniform_(0.5, 2.0)
        theirs.bn1.num_batches_tracked.fill_(7)
    torch.save(theirs.state_dict(), tmp_path / "cnn.pth")
    state = tsf.load(tmp_path / "cnn.pth")
    assert type(state) is OrderedDict and list(state) == list(theirs.state_dict())
    assert state._metadata == theirs.state_dict()._metadata
    ours = _make_cnn(tsf)
    assert repr(ours.load_state_dict(state)) == "<All keys matched successfully>"
    x = np.random.default_rng(0).standard_normal((3, 1, 10, 10)).astype(np.float32)
    theirs.eval()
    ours.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(tsf.from_numpy(x)).detach().numpy(), expected, rtol=1e-5,
                               atol=1e-6)
    assert ours.bn1.num_batches_tracked.item() == 7


def test_a_torchvision_style_resnet_checkpoint_loads(torch, tmp_path):
    """torchvision's resnet18 layout; its published weights predate num_batches_tracked."""
    from torchsorflow.benchmarks.torch_models import torch_resnet18
    from torchsorflow.models import resnet18
    torch.manual_seed(0)
    theirs = torch_resnet18(torch, num_classes=7).eval()
    state = theirs.state_dict()
    old = OrderedDict((k, v) for k, v in state.items() if "num_batches_tracked" not in k)
    old._metadata = OrderedDict((k, {"version": 1}) for k in state._metadata)
    torch.save(old, tmp_path / "resnet18-old.pth")
    assert repr(torch_resnet18(torch, num_classes=7).load_state_dict(
        torch.load(tmp_path / "resnet18-old.pth"))) == "<All keys matched successfully>"
    ours = resnet18(num_classes=7).eval()
    assert repr(ours.load_state_dict(tsf.load(tmp_path / "resnet18-old.pth"))) == \
        "<All keys matched successfully>"
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with tsf.no_grad():
        np.testing.assert_allclose(ours(tsf.from_numpy(x)).numpy(), expected, rtol=1e-4,
                                   atol=1e-5)


def test_an_adam_checkpoint_resumes_training_step_for_step(torch, tmp_path):
    def make(lib):
        return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.Tanh(), lib.nn.Linear(8, 2))

    torch.manual_seed(0)
    theirs = make(torch)
    optimizer = torch.optim.Adam(theirs.parameters(), lr=0.01, betas=(0.8, 0.99))
    x = torch.randn(5, 4)
    for _ in range(3):
        optimizer.zero_grad()
        theirs(x).square().sum().backward()
        optimizer.step()
    torch.save({"model": theirs.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3,
                "history": [(1, 0.5), (2, 0.25)]}, tmp_path / "ckpt.pt")
    checkpoint = tsf.load(tmp_path / "ckpt.pt")
    saved = optimizer.state_dict()
    assert checkpoint["epoch"] == 3 and checkpoint["history"] == [(1, 0.5), (2, 0.25)]
    groups = checkpoint["optimizer"]["param_groups"]
    assert groups == saved["param_groups"] and groups[0]["betas"] == (0.8, 0.99)
    for index, state in saved["state"].items():
        for name, value in state.items():
            np.testing.assert_array_equal(checkpoint["optimizer"]["state"][index][name].numpy(),
                                          value.numpy())
    ours = make(tsf)
    ours.load_state_dict(checkpoint["model"])
    ours_optimizer = tsf.optim.Adam(ours.parameters(), lr=0.5)
    ours_optimizer.load_state_dict(checkpoint["optimizer"])
    optimizer.zero_grad()
    theirs(x).square().sum().backward()
    optimizer.step()
    ours_optimizer.zero_grad()
    ours(tsf.from_numpy(x.numpy())).square().sum().backward()
    ours_optimizer.step()
    for (key, mine), other in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(mine.numpy(), other.numpy(), rtol=1e-6, atol=1e-7,
                                   err_msg=key)


@pytest.mark.parametrize("legacy", [False, True])
def test_shared_storages_views_and_strides_match_torch(torch, tmp_path, legacy):
    base = torch.arange(30, dtype=torch.float32)
    grid = base[:24].view(4, 6)
    tensors = {"grid": grid, "rows": grid[1:3], "transposed": grid.t(), "cols": grid[:, ::2],
               "permuted": base[:24].view(2, 3, 4).permute(2, 0, 1),
               "strided": base.as_strided((3, 2), (1, 5), 4), "expanded": base[5:6].expand(3, 4),
               "scalar": base[29], "empty": base[3:3], "alone": torch.ones(2, 2)}
    torch.save(tensors, tmp_path / "views.pt", _use_new_zipfile_serialization=not legacy)
    loaded = tsf.load(tmp_path / "views.pt")
    for name, tensor in tensors.items():
        np.testing.assert_array_equal(loaded[name].numpy(), tensor.numpy(), err_msg=name)
        assert loaded[name].shape == tuple(tensor.shape), name
        if tensor.numel():
            assert loaded[name].stride() == tensor.stride(), name
    assert not loaded["transposed"].is_contiguous() and not loaded["cols"].is_contiguous()
    for name in ("rows", "transposed", "cols", "permuted", "strided", "expanded"):
        assert np.shares_memory(loaded[name].numpy(), loaded["grid"].numpy()), name
    assert not np.shares_memory(loaded["alone"].numpy(), loaded["grid"].numpy())
    loaded["grid"][1, 0] = 100.0   # as in torch, every view of the storage sees the write
    grid[1, 0] = 100.0
    for name in ("rows", "transposed", "cols", "permuted", "strided"):
        np.testing.assert_array_equal(loaded[name].numpy(), tensors[name].numpy(), err_msg=name)


def _every_dtype(torch):
    rng = np.random.default_rng(0)
    floats = torch.from_numpy(rng.standard_normal(12).astype(np.float32) * 10)
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    tensors = {str(dtype).removeprefix("torch."): floats.to(dtype) for dtype in (
        torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.uint8,
        torch.int16, torch.int32, torch.int64, torch.bool, torch.complex64, torch.complex128,
        torch.uint16, torch.uint32, torch.uint64)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch: "ComplexHalf support is experimental"
        tensors["complex32"] = (floats + 1j * floats.flip(0)).to(torch.complex32)
    tensors["bfloat16 codes"] = torch.arange(2 ** 16, dtype=torch.int32).to(torch.uint16).view(
        torch.bfloat16).reshape(256, 256)
    for name in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
                 "float8_e8m0fnu"):
        tensors[name] = codes.view(getattr(torch, name)).reshape(16, 16)
    return tensors


WIDENED = {"bfloat16", "complex32", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
           "float8_e5m2fnuz", "float8_e8m0fnu"}


@pytest.mark.parametrize("legacy", [False, True])
def test_every_dtype_torch_saves_is_read_exactly(torch, tmp_path, legacy):
    tensors = _every_dtype(torch)
    if legacy:   # the legacy format has no storage type for the newer dtypes
        tensors = {k: v for k, v in tensors.items()
                   if not k.startswith(("float8", "uint16", "uint32", "uint64", "complex32"))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's ComplexHalf warning
        torch.save(tensors, tmp_path / "dtypes.pt", _use_new_zipfile_serialization=not legacy)
    with pytest.warns(UserWarning, match=r"tensors stored as .*bfloat16.* were upcast to float32"):
        loaded = tsf.load(tmp_path / "dtypes.pt")
    for name, tensor in tensors.items():
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype == "complex32":
            expected = tensor.to(torch.complex64).numpy()
        elif dtype in WIDENED:
            expected = tensor.float().numpy()
        else:
            expected = tensor.numpy()
        assert loaded[name].dtype == expected.dtype, name
        np.testing.assert_array_equal(loaded[name].numpy(), expected, err_msg=name)


def test_a_big_endian_checkpoint_is_byte_swapped(torch, tmp_path):
    tensors = {"f32": torch.linspace(-3, 3, 7), "i64": torch.arange(-3, 4) * 10 ** 12,
               "c64": torch.tensor([1 + 2j, -3.5 - 0.25j]),
               "bf16": torch.tensor([1.5, -2.0, 3e38]).to(torch.bfloat16),
               "f64": torch.tensor([np.pi], dtype=torch.float64)}
    little = tmp_path / "little.pt"
    torch.save(tensors, little)
    unit = {"f32": 4, "i64": 8, "c64": 4, "bf16": 2, "f64": 8}
    keys = dict(zip(tensors, map(str, range(len(tensors)))))   # storage keys in pickling order
    big = tmp_path / "big.pt"
    with zipfile.ZipFile(little) as source, zipfile.ZipFile(big, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("/byteorder"):
                data = b"big"
            for name, key in keys.items():
                if info.filename.endswith(f"/data/{key}"):
                    data = np.frombuffer(data, np.uint8).reshape(-1, unit[name])[:, ::-1].tobytes()
            target.writestr(info.filename, data)
    with pytest.warns(UserWarning, match="bfloat16"):
        loaded = tsf.load(big)
    for name, tensor in tensors.items():
        expected = tensor.float().numpy() if name == "bf16" else tensor.numpy()
        np.testing.assert_array_equal(loaded[name].numpy(), expected, err_msg=name)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_parameters_plain_values_and_bytes_come_back_with_their_types(torch, tmp_path, protocol):
    obj = {"param": torch.nn.Parameter(torch.ones(2)), "frozen": torch.nn.Parameter(
        torch.zeros(1), requires_grad=False), "leaf": torch.ones(1, requires_grad=True),
        "size": torch.Size([2, 3]), "device": torch.device("cpu"), "dtype": torch.float64,
        "set": {1, 2}, "bytes": b"\x00\xff", "complex": 1 + 2j, "nested": [(1, {"a": None})],
        3: "int key", "inf": float("inf"), "half": torch.bfloat16}
    torch.save(obj, tmp_path / "plain.pt", pickle_protocol=protocol)
    with pytest.warns(UserWarning, match="the dtype torch.bfloat16 in the checkpoint is read as "
                                         "float32"):
        loaded = tsf.load(tmp_path / "plain.pt")
    assert loaded["half"] == tsf.float32
    assert isinstance(loaded["param"], nn.Parameter) and loaded["param"].requires_grad
    assert isinstance(loaded["frozen"], nn.Parameter) and not loaded["frozen"].requires_grad
    assert type(loaded["leaf"]) is tsf.Tensor and loaded["leaf"].requires_grad
    assert loaded["size"] == (2, 3) and loaded["device"] == tsf.device("cpu")
    assert loaded["dtype"] == tsf.float64
    assert {k: loaded[k] for k in ("set", "bytes", "complex", "nested", 3, "inf")} == {
        k: obj[k] for k in ("set", "bytes", "complex", "nested", 3, "inf")}


def test_file_objects_mmap_and_a_round_trip_through_our_format(torch, tmp_path):
    state = {"w": torch.randn(3, 4).t(), "b": torch.arange(5)}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    from_buffer = tsf.load(buffer)
    torch.save(state, tmp_path / "w.pt")
    before = (tmp_path / "w.pt").read_bytes()
    mapped = tsf.load(tmp_path / "w.pt", mmap=True)
    assert _is_mapped(mapped["w"], tmp_path / "w.pt") and _is_mapped(mapped["b"], tmp_path / "w.pt")
    mapped["b"].add_(1)   # copy-on-write: the file is unchanged
    assert (tmp_path / "w.pt").read_bytes() == before
    for name, tensor in state.items():
        np.testing.assert_array_equal(from_buffer[name].numpy(), tensor.numpy())
        np.testing.assert_array_equal(mapped[name].numpy(), tensor.numpy() + (name == "b"))
    tsf.save(from_buffer, tmp_path / "again.pt")
    _assert_same(tsf.load(tmp_path / "again.pt"), from_buffer)


def test_damaged_torch_checkpoints_are_refused_naming_the_file(torch, tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.arange(64.0)}, path)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("w/data/0")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 10] ^= 0xFF
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=f"{re.escape(str(damaged))}: corrupted zip "
                                              "archive: Bad CRC-32"):
        tsf.load(damaged)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: len(raw) // 2])
    with pytest.raises(CheckpointError, match=re.escape(str(cut))):
        tsf.load(cut)


def test_whole_models_quantized_and_sparse_tensors_are_refused_by_name(torch, tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    torch.save(model, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match=r"global 'torch\.nn\.modules\.container\.Sequential'"
                                              r" is not allowed .* save its state_dict\(\)"):
        tsf.load(tmp_path / "model.pt")
    torch.save(model, tmp_path / "model-legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match=r"'torch\.nn\.modules\.container\.Sequential' is "
                                              "not allowed"):
        tsf.load(tmp_path / "model-legacy.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch: quantized tensors are deprecated
        quantized = torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.qint8)
    torch.save({"q": quantized}, tmp_path / "q.pt")
    with pytest.raises(CheckpointError, match="quantized"):
        tsf.load(tmp_path / "q.pt")
    torch.save({"s": torch.eye(2).to_sparse()}, tmp_path / "s.pt")
    with pytest.raises(CheckpointError, match="sparse tensors"):
        tsf.load(tmp_path / "s.pt")


def test_safetensors_files_of_the_safetensors_package_load(torch, tmp_path):
    from safetensors.torch import save_file
    tensors = {"embed.weight": torch.randn(4, 3), "head.bias": torch.arange(3),
               "norm.weight": torch.tensor([0.5, 2.0]).to(torch.bfloat16)}
    save_file(tensors, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    with pytest.warns(UserWarning, match="upcast to float32"):
        loaded = tsf.load(tmp_path / "model.safetensors")
    assert set(loaded) == set(tensors)
    for name, tensor in tensors.items():
        np.testing.assert_array_equal(loaded[name].numpy(), tensor.float().numpy()
                                      if name == "norm.weight" else tensor.numpy())
    with open(tmp_path / "model.safetensors", "rb") as file, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert set(tsf.load(file)) == set(tensors)


# --- Module.load_state_dict against PyTorch ---------------------------------------------------
def _torch_message(error):
    """PyTorch's message without the ``torch.Size(...)`` around shapes."""
    return re.sub(r"torch\.Size\((\[[^\]]*\])\)", r"\1", str(error))


def _both(torch, tmp_path, change, strict=True):
    """Load a changed state dict into the same model in both libraries; the outcomes."""
    torch.manual_seed(0)
    theirs, ours = _make_cnn(torch), _make_cnn(tsf)
    state = theirs.state_dict()
    change(state)
    torch.save(state, tmp_path / "changed.pt")
    outcomes = []
    for model, loaded in ((theirs, state), (ours, tsf.load(tmp_path / "changed.pt"))):
        try:
            outcomes.append(("returned", repr(model.load_state_dict(loaded, strict=strict))))
        except (RuntimeError, TypeError) as error:
            outcomes.append((type(error).__name__, _torch_message(error)))
    return outcomes


def _drop(*keys):
    return lambda state: [state.pop(key) for key in keys]


def _extra(state):
    state["fc9.weight"] = state["fc1.weight"]
    state["extra"] = state["fc1.bias"]
    state["bn1.unknown"] = state["fc1.bias"]


def _mismatch(state):
    state["fc1.weight"] = state["fc1.weight"][:, :3]
    state["conv2.bias"] = state["conv2.bias"][None]
    del state["fc2.bias"]
    state["head.weight"] = state["fc2.weight"]


@pytest.mark.parametrize("change", [_drop("fc2.bias", "conv1.weight"), _extra, _mismatch,
                                    _drop("bn1.num_batches_tracked")],
                         ids=["missing", "unexpected", "mismatch", "no counter"])
@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_reports_what_torch_reports(torch, tmp_path, change, strict):
    theirs, ours = _both(torch, tmp_path, change, strict)
    assert ours == theirs


@pytest.mark.parametrize("bad", [[1, 2], {"weight": "3", "bias": None}])
def test_load_state_dict_messages_for_odd_values_match_torch(torch, bad):
    outcomes = []
    for model in (torch.nn.Linear(2, 3), nn.Linear(2, 3)):
        with pytest.raises((TypeError, RuntimeError)) as caught:
            model.load_state_dict(bad)
        outcomes.append((caught.type, str(caught.value)))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("version, missing", [(None, []), (1, []),
                                              (2, ["bn1.num_batches_tracked"])])
def test_batchnorm_accepts_checkpoints_older_than_its_counter_like_torch(torch, tmp_path, version,
                                                                        missing):
    def change(state):
        del state["bn1.num_batches_tracked"]
        if version is None:
            del state._metadata
        else:
            state._metadata["bn1"]["version"] = version

    theirs, ours = _both(torch, tmp_path, change, strict=False)
    assert ours == theirs == ("returned", repr(torch.nn.modules.module._IncompatibleKeys(
        missing, [])))


def test_assign_makes_the_loaded_tensors_the_parameters_like_torch(torch, tmp_path):
    torch.manual_seed(0)
    theirs, ours = torch.nn.Linear(3, 2), nn.Linear(3, 2)
    ours.bias.requires_grad_(False)
    theirs.bias.requires_grad_(False)
    state = {k: v.double() for k, v in theirs.state_dict().items()}
    torch.save(state, tmp_path / "f64.pt")
    loaded = tsf.load(tmp_path / "f64.pt")
    theirs.load_state_dict(state, assign=True)
    ours.load_state_dict(loaded, assign=True)
    for name in ("weight", "bias"):
        mine, other = getattr(ours, name), getattr(theirs, name)
        assert isinstance(mine, nn.Parameter) and mine.dtype == np.float64
        assert other.dtype == torch.float64
        assert mine.requires_grad == other.requires_grad
        assert np.shares_memory(mine.numpy(), loaded[name].numpy())
    weight = ours.weight
    ours.load_state_dict(loaded)   # without assign: copied into the existing arrays
    assert ours.weight is weight


# --- memory sharing: DLPack and NumPy ------------------------------------------------------------
def test_dlpack_shares_memory_with_numpy_both_ways():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    tensor = tsf.from_dlpack(array)
    tensor[0, 0] = 10.0
    assert array[0, 0] == 10.0
    back = np.from_dlpack(tensor)
    back[1, 1] = -1.0
    assert tensor[1, 1].item() == -1.0 and tensor.__dlpack_device__() == (1, 0)
    strided = tsf.from_dlpack(array[:, ::2])
    assert strided.stride() == (3, 2) and np.shares_memory(strided.numpy(), array)
    copied = tsf.from_dlpack(array, copy=True)
    assert not np.shares_memory(copied.numpy(), array)


def test_dlpack_of_read_only_memory_stays_read_only():
    array = np.arange(3.0)
    array.flags.writeable = False
    tensor = tsf.from_dlpack(array)
    assert np.shares_memory(tensor.numpy(), array)
    with pytest.raises(RuntimeError, match="cannot write into this Tensor"):
        tensor.add_(1.0)
    assert array.tolist() == [0.0, 1.0, 2.0]


def test_dlpack_shares_memory_with_torch_both_ways(torch):
    ours = tsf.arange(12.0).reshape(3, 4)
    theirs = torch.from_dlpack(ours)
    theirs[0, 0] = 100.0
    assert ours[0, 0].item() == 100.0
    transposed = torch.from_dlpack(ours.t())   # non-contiguous: strides carried over
    assert transposed.stride() == ours.t().stride() and transposed[0, 1].item() == 4.0
    source = torch.arange(12.0).reshape(3, 4).t()
    view = tsf.from_dlpack(source)
    assert view.stride() == source.stride()
    view.mul_(2.0)
    assert source[1, 0].item() == 2.0   # our in-place write is seen by torch
    for value in (tsf.tensor(True), tsf.tensor([1, 2], dtype=tsf.int8), tsf.tensor(3.5)):
        np.testing.assert_array_equal(torch.from_dlpack(value).numpy(), value.numpy())


def test_dlpack_refuses_what_torch_refuses(torch):
    message = "Can't export tensors that require gradient, use tensor.detach()"
    with pytest.raises(BufferError, match=re.escape(message)):
        torch.from_dlpack(tsf.ones(2, requires_grad=True))
    with pytest.raises(BufferError, match=re.escape(message)):
        tsf.from_dlpack(torch.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="dtype torch.bfloat16 has no NumPy equivalent"):
        tsf.from_dlpack(torch.ones(2, dtype=torch.bfloat16))
    flipped = tsf.flip(tsf.arange(4.0), 0)   # negative strides, which torch cannot hold
    np.testing.assert_array_equal(torch.from_dlpack(flipped).numpy(), [3.0, 2.0, 1.0, 0.0])
    with pytest.raises(BufferError, match="negative strides"):
        flipped.__dlpack__(copy=False)


def test_numpy_from_numpy_as_tensor_share_and_tensor_copies_as_in_torch(torch):
    for lib in (torch, tsf):
        array = np.zeros(3, dtype=np.float32)
        lib.from_numpy(array)[0] = 1.0
        lib.as_tensor(array)[1] = 2.0
        lib.tensor(array)[2] = 3.0                       # a copy
        lib.as_tensor(array, dtype=lib.float64)[2] = 4.0  # another dtype: a copy
        assert array.tolist() == [1.0, 2.0, 0.0], lib
        tensor = lib.zeros(2)
        tensor.numpy()[0] = 5.0
        assert tensor[0].item() == 5.0, lib
