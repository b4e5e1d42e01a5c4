"""Issue 20: checkpoints protected header and all (items 2, 6), sizes a file announces, BF16/F8
files, and the one atomic-write helper (items 9, 10)."""
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import io
from torchsorflow.io import SafetensorsError, atomic
from torchsorflow.io import safetensors as st


def _checkpoint(path):
    """A small checkpoint with the kind of optimizer state the issue's bit flips changed."""
    model = tsf.nn.Linear(2, 2)
    optimizer = tsf.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    model(tsf.ones(1, 2)).sum().backward()
    optimizer.step()
    io.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "config": {"model": "linear"}}, path)
    return path


def _split(path):
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    return data[:8], data[8:8 + length], data[8 + length:]


def _write_header(path, header, body):
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + body)


def test_an_edited_dtype_is_refused(tmp_path):
    """The issue's "F32" -> "I32" edit loaded and evaluated at 89% with loss 2.2e8."""
    path = _checkpoint(tmp_path / "ckpt.safetensors")
    prefix, header, body = _split(path)
    assert header.count(b'"dtype":"F32"') >= 2
    path.write_bytes(prefix + header.replace(b'"dtype":"F32"', b'"dtype":"I32"', 1) + body)
    with pytest.raises(SafetensorsError, match="corrupted header: its SHA-256 does not match the "
                                               "checksum torchsorflow.header_sha256"):
        io.load(path)
    assert io.load(path, verify=False)["model"]["weight"].dtype == np.int32   # asked for


def test_swapped_data_offsets_are_refused(tmp_path):
    path = tmp_path / "two.safetensors"
    io.save({"a": np.arange(4, dtype=np.float32), "b": -np.arange(4, dtype=np.float32)}, path)
    prefix, header, body = _split(path)
    parsed = json.loads(header)
    a, b = parsed["a"]["data_offsets"], parsed["b"]["data_offsets"]
    swapped = header.replace(json.dumps(a, separators=(",", ":")).encode(), b"@A") \
        .replace(json.dumps(b, separators=(",", ":")).encode(), json.dumps(a, separators=(",", ":")).encode()) \
        .replace(b"@A", json.dumps(b, separators=(",", ":")).encode())
    assert swapped != header and len(swapped) == len(header)
    path.write_bytes(prefix + swapped + body)
    with pytest.raises(SafetensorsError, match="corrupted header"):
        io.load(path)


def test_every_single_bit_flip_in_the_header_is_detected(tmp_path):
    """916 of 7,832 single-bit header flips loaded with changed optimizer state (betas 0.9 ->
    1.9, eps -> 0, renamed keys). Now every flip of the length field or the header fails."""
    path = _checkpoint(tmp_path / "ckpt.safetensors")
    original = path.read_bytes()
    header_end = 8 + int.from_bytes(original[:8], "little")
    loaded = []
    descriptor = os.open(path, os.O_RDWR)   # flip in place: rewriting the file is much slower
    try:
        for byte in range(header_end):
            for bit in range(8):
                os.pwrite(descriptor, bytes([original[byte] ^ (1 << bit)]), byte)
                try:
                    io.load(path)
                    loaded.append((byte, bit))
                except SafetensorsError:
                    pass
                os.pwrite(descriptor, original[byte:byte + 1], byte)
    finally:
        os.close(descriptor)
    assert loaded == []
    assert io.load(path)["config"] == {"model": "linear"}


def test_a_file_of_ours_without_its_checksums_is_refused(tmp_path):
    path = _checkpoint(tmp_path / "ckpt.safetensors")
    _, header, body = _split(path)
    parsed = json.loads(header)
    del parsed["__metadata__"][st.HEADER_CHECKSUM_KEY]
    _write_header(path, parsed, body)
    with pytest.raises(SafetensorsError, match="no header checksum: the file says it carries"):
        io.load(path)
    for key in (st.CHECKSUM_KEY, st.CHECKSUMS_KEY):
        del parsed["__metadata__"][key]
    _write_header(path, parsed, body)
    with pytest.raises(SafetensorsError, match="no checksum: the metadata says TorchsorFlow wrote "
                                               "this file"):
        io.load(path)
    state = io.load(path, verify=False)                   # unchecked loading, when asked for
    assert state["config"] == {"model": "linear"}


def test_files_of_the_earlier_data_only_checksum_still_load_with_a_warning(tmp_path):
    path = tmp_path / "old.safetensors"
    io.save({"w": np.arange(3.0)}, path)
    _, header, body = _split(path)
    parsed = json.loads(header)
    del parsed["__metadata__"][st.HEADER_CHECKSUM_KEY]
    del parsed["__metadata__"][st.CHECKSUMS_KEY]
    _write_header(path, parsed, body)
    with pytest.warns(UserWarning, match="checksum covers only the tensor bytes"):
        np.testing.assert_array_equal(io.load(path)["w"].numpy(), np.arange(3.0))
    flipped = bytearray(path.read_bytes())
    flipped[-3] ^= 4
    path.write_bytes(flipped)
    with pytest.raises(SafetensorsError, match="corrupted data"):
        io.load(path)


def test_the_safetensors_package_still_reads_our_checksummed_files(tmp_path):
    safetensors = pytest.importorskip("safetensors")
    from safetensors.numpy import load_file as reference_load
    path = _checkpoint(tmp_path / "ckpt.safetensors")
    ours = io.load_file(path)
    theirs = reference_load(str(path))
    assert set(theirs) == set(ours)
    for name in ours:
        np.testing.assert_array_equal(theirs[name], ours[name])
    with safetensors.safe_open(str(path), framework="np") as handle:
        assert len(handle.metadata()[st.HEADER_CHECKSUM_KEY]) == 64


def test_two_keys_stored_under_one_name_are_refused_naming_both(tmp_path):
    """{"tensor": ..., "": ...} came back as two copies of one."""
    with pytest.raises(ValueError, match=r"two tensors would both be stored under the name "
                                         r"'tensor': state\['tensor'\] and state\[''\]"):
        io.save({"tensor": np.ones(2), "": np.zeros(2)}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match=r"'0': state\[0\] and state\['0'\]"):
        io.save({0: np.ones(1), "0": np.ones(1)}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.parametrize("shape, message", [
    ([10 ** 23], r"shape \(100000000000000000000000,\) needs 400000000000000000000000 bytes"),
    ([True, 2], r"invalid shape \[true, 2\]|invalid shape \[True, 2\]"),
    ([2.0], "invalid shape"),
    ("2", "invalid shape"),
])
def test_sizes_a_file_announces_are_checked_without_overflow(tmp_path, shape, message):
    """A header shape of 10^23 raised OverflowError; shapes containing true 'an integer is
    required'. The file is foreign (no checksum), so only the sizes stand between it and us."""
    path = tmp_path / "foreign.safetensors"
    _write_header(path, {"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, 8]}}, bytes(8))
    with pytest.raises(SafetensorsError, match=message):
        io.load(path)


def test_a_structure_made_by_hand_gives_errors_naming_the_file(tmp_path):
    """'unhashable type: list' and 'maximum recursion depth' came from the structure metadata."""
    path = tmp_path / "hand.safetensors"
    for structure, message in [
            ({"__items__": [[["a"], 1]]}, "__items__ must be a list of"),
            ({"__tensor__": ["w"]}, "a tensor reference must be a name"),
            ({"__float__": "1e999999"}, "__float__ must be"),
            ("[" * 100000 + "]" * 100000, "nested too deeply")]:
        text = structure if isinstance(structure, str) else json.dumps(structure)
        _write_header(path, {"__metadata__": {"torchsorflow.structure": text}}, b"")
        with pytest.raises(SafetensorsError, match=message) as caught:
            io.load(path, verify=False)
        assert str(path) in str(caught.value)


def test_bf16_and_f8_are_read_as_float32_and_the_upcast_is_announced(tmp_path):
    path = tmp_path / "hf.safetensors"
    bits = {"BF16": np.array([0x3F80, 0xC040, 0x7F80, 0x0001], "<u2").tobytes(),   # 1, -3, inf, tiny
            "F8_E4M3": bytes([0x38, 0xB8, 0x7E, 0x7F, 0x01]),     # 1, -1, 448, nan, 2^-9
            "F8_E5M2": bytes([0x3C, 0x7B, 0x7C, 0x01])}            # 1, 57344, inf, 2^-16
    header, body = {}, b""
    for name, raw in bits.items():
        size = len(raw) // st.UPCAST[name]
        header[name] = {"dtype": name, "shape": [size], "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    _write_header(path, header, body)
    with pytest.warns(UserWarning, match=r"3 tensor\(s\) stored as BF16/F8_E4M3/F8_E5M2 .* upcast "
                                         "to float32"):
        loaded = io.load_file(path)
    assert all(array.dtype == np.float32 for array in loaded.values())
    np.testing.assert_array_equal(loaded["BF16"], [1, -3, np.inf, np.float32(2.0 ** -133)])
    np.testing.assert_array_equal(loaded["F8_E4M3"], [1, -1, 448, np.nan, 2.0 ** -9])
    np.testing.assert_array_equal(loaded["F8_E5M2"], [1, 57344, np.inf, 2.0 ** -16])


def test_bf16_and_f8_files_written_by_torch_read_exactly(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file as torch_save
    every = {"bf16": torch.arange(2 ** 16, dtype=torch.int32).to(torch.uint16).view(torch.bfloat16),
             "e4m3": torch.arange(256, dtype=torch.uint8).view(torch.float8_e4m3fn),
             "e5m2": torch.arange(256, dtype=torch.uint8).view(torch.float8_e5m2)}
    path = tmp_path / "torch.safetensors"
    torch_save({k: v.reshape(-1, 8) if k != "bf16" else v for k, v in every.items()}, str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = io.load_file(path)
    for name, values in every.items():
        expected = values.float().reshape(loaded[name].shape).numpy()
        np.testing.assert_array_equal(loaded[name], expected, err_msg=name)


# --- the atomic-write helper (items 9 and 10) ---------------------------------------------------
def _mode(path):
    return os.stat(path).st_mode & 0o777


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _writers(folder):
    """Every kind of file the package writes, each through the one helper."""
    from torchsorflow.embeddings import KeyedVectors, save_word2vec_format
    from torchsorflow.training import plot_history
    kv = KeyedVectors(np.eye(3, dtype=np.float32), ["a", "b", "c"])
    history = [{"epoch": 1, "lr": 0.1, "train_loss": 1.0, "train_accuracy": 0.5, "seconds": 1.0}]
    return {
        "checkpoint": (folder / "c.safetensors", lambda p: io.save({"w": np.ones(2)}, p)),
        "vectors": (folder / "v.txt", lambda p: save_word2vec_format(kv, p)),
        "png": (folder / "curve.png", lambda p: plot_history(history, p)),
        "summary": (folder / "s.txt", lambda p: __import__("torchsorflow.cli", fromlist=["main"])
                    .main(["summary", "mlp", "--output", str(p)])),
        "keyed_vectors": (folder / "kv", lambda p: kv.save(p)),
    }


def test_every_writer_respects_the_umask_and_an_existing_mode(tmp_path, umask_022):
    """Checkpoints got 0644 but PNGs, summaries and vector files 0600, and an existing 0664
    vectors file was reset to 0600."""
    for name, (path, write) in _writers(tmp_path).items():
        write(path)
        files = [path] if path.is_file() else [p for p in path.iterdir()]
        for file in files:
            assert _mode(file) == 0o644, (name, file)
            os.chmod(file, 0o664)
        write(path)
        files = [path] if path.is_file() else [p for p in path.iterdir()]
        for file in files:
            assert _mode(file) == 0o664, (name, file)
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tsf-partial")]


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_killed_saves_are_removed_on_the_next_save(tmp_path):
    """Four killed VGG11 saves left 1.18 GB of hidden temporaries forever."""
    target = tmp_path / "model.safetensors"
    dead = tmp_path / f".model.safetensors.{_dead_pid()}.0123abcd.tsf-partial"
    alive = tmp_path / f".model.safetensors.{os.getppid()}.4567cdef.tsf-partial"
    legacy_old = tmp_path / ".model.safetensors.k2j4x_9q.tmp"
    legacy_new = tmp_path / ".model.safetensors.a8d7f6e5.tmp"
    other = tmp_path / f".other.safetensors.{_dead_pid()}.0123abcd.tsf-partial"
    for path in (dead, alive, legacy_old, legacy_new, other):
        path.write_bytes(b"x" * 100)
    two_hours_ago = time.time() - 7200
    os.utime(legacy_old, (two_hours_ago, two_hours_ago))
    io.save({"w": np.ones(3)}, target)
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {target.name, alive.name, legacy_new.name, other.name}


def test_a_missing_folder_is_named_and_nothing_is_left(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        atomic.atomic_write(tmp_path / "no" / "such" / "x.txt", "text")
    assert f"the folder {tmp_path / 'no' / 'such'} does not exist" in str(caught.value)
    assert "tsf-partial" not in str(caught.value)


def test_a_failing_writer_leaves_no_temporary_and_the_old_file(tmp_path):
    target = tmp_path / "out.bin"
    atomic.atomic_write(target, b"old")

    def write(file):
        file.write(b"new, half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic.atomic_write(target, write)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_the_data_is_flushed_to_disk_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (events.append("replace"),
                                                            real_replace(a, b)))
    atomic.atomic_write(tmp_path / "f", b"data")
    assert events[:2] == ["fsync", "replace"]
