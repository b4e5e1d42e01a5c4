"""Checkpoints and the safetensors format: round trips, interoperability, damage, atomic writes."""
import json
import os

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import io, optim
from torchsorflow.io import SafetensorsError, load, load_file, save, save_file
from torchsorflow.io import safetensors as ours

ARRAYS = {
    "f64": np.linspace(-1, 1, 6).reshape(2, 3),
    "f32": np.arange(4, dtype=np.float32) / 3,
    "f16": np.array([1.5, -2.25], dtype=np.float16),
    "i64": np.array([-(2 ** 40), 7]),
    "i32": np.array([[1], [-2]], dtype=np.int32),
    "i8": np.array([-128, 127], dtype=np.int8),
    "u8": np.array([0, 255], dtype=np.uint8),
    "bool": np.array([True, False, True]),
    "scalar": np.array(3.5),
    "empty": np.zeros((0, 4), dtype=np.float32),
}


def test_flat_round_trip_keeps_values_dtypes_and_shapes(tmp_path):
    path = tmp_path / "flat.safetensors"
    save_file(ARRAYS, path, metadata={"who": "test"})
    loaded, metadata = load_file(path, with_metadata=True)
    assert metadata["who"] == "test"
    assert set(loaded) == set(ARRAYS)
    for name, array in ARRAYS.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape, name
        np.testing.assert_array_equal(loaded[name], array)
    loaded["f32"][0] = 9  # loaded arrays are ordinary, writable arrays
    header_length = int.from_bytes(path.read_bytes()[:8], "little")
    assert header_length % 8 == 0


def test_nested_round_trip(tmp_path):
    state = {"model": {"layer.weight": tsf.randn(3, 2), "layer.bias": tsf.zeros(3)},
             "optimizer": {"state": {0: {"step": 2, "exp_avg": tsf.ones(3, 2)}},
                           "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                                             "nesterov": False, "note": None}]},
             "history": [1.5, float("inf"), float("nan")], "name": "cnn-bn"}
    path = tmp_path / "nested.safetensors"
    save(state, path)
    back = load(path)
    np.testing.assert_array_equal(back["model"]["layer.weight"].numpy(),
                                  state["model"]["layer.weight"].numpy())
    assert isinstance(back["model"]["layer.bias"], tsf.Tensor)
    assert list(back["optimizer"]["state"]) == [0]        # integer keys survive
    assert back["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]
    assert isinstance(back["optimizer"]["param_groups"][0]["betas"], tuple)
    assert back["history"][:2] == [1.5, float("inf")] and np.isnan(back["history"][2])
    assert back["name"] == "cnn-bn"
    tensor_names = set(load_file(path))
    assert tensor_names == {"model.layer.weight", "model.layer.bias", "optimizer.state.0.exp_avg"}


def test_optimizer_state_survives_a_checkpoint(tmp_path):
    def loss_and_step(params, opt):
        opt.zero_grad()
        ((params[0] - 1.0) ** 2).sum().backward()
        opt.step()

    params = [tsf.tensor(np.array([3.0, -2.0]), requires_grad=True)]
    opt = optim.Adam(params, lr=0.1, amsgrad=True)
    for _ in range(3):
        loss_and_step(params, opt)
    save({"params": [p.detach() for p in params], "optimizer": opt.state_dict()},
         tmp_path / "ckpt.safetensors")
    for _ in range(3):
        loss_and_step(params, opt)

    state = load(tmp_path / "ckpt.safetensors")
    restored = [tsf.tensor(state["params"][0].numpy(), requires_grad=True)]
    opt2 = optim.Adam(restored, lr=0.1, amsgrad=True)
    opt2.load_state_dict(state["optimizer"])
    for _ in range(3):
        loss_and_step(restored, opt2)
    np.testing.assert_array_equal(restored[0].numpy(), params[0].numpy())


def test_the_safetensors_package_reads_our_files(tmp_path):
    safetensors = pytest.importorskip("safetensors")
    from safetensors.numpy import load_file as reference_load
    path = tmp_path / "ours.safetensors"
    save({"model": {k: v for k, v in ARRAYS.items()}, "epoch": 3}, path, metadata={"model": "mlp"})
    loaded = reference_load(str(path))
    for name, array in ARRAYS.items():
        np.testing.assert_array_equal(loaded[f"model.{name}"], array)
        assert loaded[f"model.{name}"].dtype == array.dtype
    with safetensors.safe_open(str(path), framework="np") as handle:
        metadata = handle.metadata()
    assert metadata["model"] == "mlp"
    assert json.loads(metadata["torchsorflow.structure"])["epoch"] == 3


def test_we_read_files_written_by_the_safetensors_package(tmp_path):
    pytest.importorskip("safetensors")
    from safetensors.numpy import save_file as reference_save
    path = tmp_path / "theirs.safetensors"
    reference_save({k: v for k, v in ARRAYS.items()}, str(path), metadata={"format": "np"})
    flat, metadata = load_file(path, with_metadata=True)
    assert metadata == {"format": "np"}
    for name, array in ARRAYS.items():
        np.testing.assert_array_equal(flat[name], array)
        assert flat[name].dtype == array.dtype
    as_state = load(path)   # no structure recorded: a flat dict of Tensors
    assert set(as_state) == set(ARRAYS) and isinstance(as_state["f32"], tsf.Tensor)


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    save({"w": np.arange(64, dtype=np.float32).reshape(8, 8), "b": np.ones(8)}, path)
    return path


@pytest.mark.parametrize("keep, problem", [
    (5, "truncated file: 5 bytes, too short for the 8-byte header length"),
    (40, "truncated file: the header needs"),
    (-3, "truncated file: tensor '.*' needs data bytes"),
])
def test_truncated_files_name_the_file_and_problem(good_file, keep, problem):
    data = good_file.read_bytes()
    good_file.write_bytes(data[:keep] if keep > 0 else data[:keep])
    with pytest.raises(SafetensorsError, match=problem) as error:
        load(good_file)
    assert str(good_file) in str(error.value)


def test_corrupted_files_name_the_problem(good_file):
    data = bytearray(good_file.read_bytes())
    header_length = int.from_bytes(data[:8], "little")

    flipped = bytearray(data)
    flipped[-5] ^= 0x10                       # bit rot in the tensor bytes
    good_file.write_bytes(bytes(flipped))
    with pytest.raises(SafetensorsError, match="corrupted data: the SHA-256 of the tensor bytes"):
        load(good_file)

    garbled = bytearray(data)
    garbled[8:12] = b"#!?x"                   # the JSON header is damaged
    good_file.write_bytes(bytes(garbled))
    with pytest.raises(SafetensorsError, match=f"{good_file}: corrupted header, not valid JSON"):
        load(good_file)

    good_file.write_bytes((2 ** 62).to_bytes(8, "little") + bytes(data[8:]))
    with pytest.raises(SafetensorsError, match="corrupted header length"):
        load(good_file)

    good_file.write_bytes(bytes(data) + b"\0" * 8)   # trailing bytes
    with pytest.raises(SafetensorsError, match="8 bytes after the last tensor"):
        load(good_file)

    header = json.loads(bytes(data[8:8 + header_length]))
    header["w"]["shape"] = [8, 9]            # shape does not match the byte count
    raw = json.dumps(header).encode()
    good_file.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(data[8 + header_length:]))
    with pytest.raises(SafetensorsError, match="corrupted header: the checksum torchsorflow"):
        load(good_file)                       # an edited header fails its checksum first
    with pytest.raises(SafetensorsError, match=r"tensor 'w' of dtype F32 and shape \(8, 9\) needs "
                                               r"288 bytes but data_offsets \[\d+, \d+\] span 256"):
        load(good_file, verify=False)         # and the sizes are checked even unverified


def test_a_crash_mid_write_leaves_the_old_file_intact(good_file, monkeypatch):
    before = good_file.read_bytes()

    def chunks_then_crash():
        yield b"partial bytes"
        raise KeyboardInterrupt("power cut")

    with pytest.raises(KeyboardInterrupt):
        ours.atomic_write(good_file, chunks_then_crash())

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ours.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save({"w": np.zeros(3)}, good_file)
    assert good_file.read_bytes() == before
    assert os.listdir(good_file.parent) == [good_file.name]   # no temporary files left behind
    monkeypatch.undo()
    np.testing.assert_array_equal(load(good_file)["w"].numpy(), np.arange(64).reshape(8, 8))


def test_unsavable_values_are_named(tmp_path):
    with pytest.raises(TypeError,
                       match=r"model.f: cannot save a value of type builtin_function_or_method"):
        save({"model": {"f": len}}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="dtype complex128 cannot be stored"):
        save_file({"z": np.ones(2, dtype=complex)}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="two tensors would both be stored under the name 'a.b'"):
        save({"a.b": np.ones(1), "a": {"b": np.ones(1)}}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_read_metadata_does_not_need_the_data(good_file):
    save({"w": np.zeros(2)}, good_file, metadata={"model": "cnn"})
    assert io.read_metadata(good_file)["model"] == "cnn"
