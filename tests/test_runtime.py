"""The CPU runtime (torchsorflow.ops.kernels.runtime): the one owner of BLAS's thread count,
the worker lanes and the malloc switch. Importing TorchsorFlow changes no process-wide setting."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from torchsorflow.ops.kernels import runtime


def _libs_or_skip():
    libs = runtime._blas_libraries()
    if not libs:
        pytest.skip("no BLAS controller (threadpoolctl) available")
    return libs


def test_small_products_run_on_one_blas_thread_and_restore_the_setting(monkeypatch):
    libs = _libs_or_skip()
    before = [lib.get_num_threads() for lib in libs]
    seen = []

    class Spy:
        def __getattr__(self, name):
            return getattr(np, name)

        def matmul(self, a, b):
            seen.append([lib.get_num_threads() for lib in libs])
            return np.matmul(a, b)

    monkeypatch.setattr(runtime, "np", Spy())
    tiny = np.ones((4, 5), np.float32)  # OpenBLAS keeps these on one thread by itself
    np.testing.assert_array_equal(runtime.matmul(tiny, tiny.T), tiny @ tiny.T)
    small = np.ones((100, 100), np.float32)  # 1 M multiply-adds
    np.testing.assert_array_equal(runtime.matmul(small, small), small @ small)
    big = np.ones((200, 200), np.float32)
    runtime.matmul(big, big)
    assert seen == [before, [min(1, n) for n in before], before]
    assert [lib.get_num_threads() for lib in libs] == before


def test_blas_limits_nest_and_restore():
    libs = _libs_or_skip()
    before = [lib.get_num_threads() for lib in libs]
    with runtime.blas_limited(1):
        assert all(lib.get_num_threads() == 1 for lib in libs)
        with runtime.blas_limited(1):  # nested: nothing changes, nothing is restored early
            assert all(lib.get_num_threads() == 1 for lib in libs)
        assert all(lib.get_num_threads() == 1 for lib in libs)
    assert [lib.get_num_threads() for lib in libs] == before


def test_set_num_threads_changes_blas_and_rejects_nonsense():
    _libs_or_skip()
    before = runtime.get_num_threads()
    try:
        runtime.set_num_threads(1)
        assert runtime.get_num_threads() == 1
    finally:
        runtime.set_num_threads(before)
    with pytest.raises(ValueError, match=r"set_num_threads: expected a positive int, got 0"):
        runtime.set_num_threads(0)


# A child process that records every mallopt call and BLAS thread count around the import.
_PROBE = textwrap.dedent("""
    import ctypes, json, sys
    calls = []
    real_cdll = ctypes.CDLL

    class Recorder:  # the C library, with mallopt recorded instead of called
        def __init__(self, lib):
            self.lib = lib

        def __getattr__(self, name):
            if name != "mallopt":
                return getattr(self.lib, name)
            def mallopt(param, value):
                calls.append([param, value])
                return 1
            return mallopt

    def cdll(name, *args, **kwargs):
        lib = real_cdll(name, *args, **kwargs)
        return Recorder(lib) if name is None else lib

    ctypes.CDLL = cdll
    import numpy  # load BLAS first, so its thread count is there to compare
    from threadpoolctl import threadpool_info
    before = {lib["filepath"]: lib["num_threads"] for lib in threadpool_info()}
    import torchsorflow as tsf
    x = tsf.randn(64, 256, requires_grad=True)
    (x @ tsf.randn(256, 64)).relu().sum().backward()  # a few products and a backward pass
    after = {lib["filepath"]: lib["num_threads"] for lib in threadpool_info()}
    if len(sys.argv) > 1:
        tsf.runtime.keep_freed_memory()
    print(json.dumps({"calls": calls, "before": before, "after": after,
                      "tuned": tsf.runtime.malloc_tuned()}))
""")


def _probe(env_value=None, call=False):
    env = {k: v for k, v in os.environ.items() if k != "TORCHSORFLOW_MALLOC_TUNING"}
    if env_value is not None:
        env["TORCHSORFLOW_MALLOC_TUNING"] = env_value
    import json
    args = [sys.executable, "-c", _PROBE] + (["call"] if call else [])
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_a_plain_import_changes_neither_malloc_nor_blas_settings():
    plain = _probe()
    assert plain["calls"] == [] and plain["tuned"] is False
    assert plain["before"]  # NumPy's BLAS, loaded before the import
    assert {path: plain["after"][path] for path in plain["before"]} == plain["before"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_malloc_tuning_is_an_explicit_switch():
    """keep_freed_memory() (or TORCHSORFLOW_MALLOC_TUNING=1) raises glibc's mmap and trim
    thresholds; TORCHSORFLOW_MALLOC_TUNING=0 refuses even the explicit call."""
    expected = [[-3, runtime.HEAP_ARRAY_BYTES], [-1, runtime.KEEP_FREED_BYTES]]
    assert _probe(call=True)["calls"] == expected
    assert _probe(env_value="1")["calls"] == expected
    refused = _probe(env_value="0", call=True)
    assert refused["calls"] == [] and refused["tuned"] is False


def test_tsf_commands_turn_malloc_tuning_on():
    code = ("import sys; from torchsorflow import cli, runtime\n"
            "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(runtime.malloc_tuned())")
    env = {k: v for k, v in os.environ.items() if k != "TORCHSORFLOW_MALLOC_TUNING"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[-1] == ("True" if sys.platform.startswith("linux") else "False")
