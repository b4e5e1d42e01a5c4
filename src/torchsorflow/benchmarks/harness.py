"""Measuring, the results table, and the runner behind ``tsf bench``.

Every ``bench_*`` module of this package measures TorchsorFlow beside the library people would use
instead (the *incumbent*: PyTorch CPU, NumPy, SciPy, gensim, torch-influence) in the same process,
so that the ratio is taken on the same machine, the same thread count and the same moment.
A module joins the common table by defining ``run(quick=False)`` that returns a list of
:func:`row` dicts; ``tsf bench`` imports every one, calls ``run`` and prints one markdown table
with the machine and library versions above it, writes the same rows as JSON and, with
``--markdown FILE``, puts the table between two markers in FILE (the README's results table).

Timing takes the best of several repeats of an auto-ranged loop (:func:`best_time`), the least
noisy estimate of what the code costs. Peak memory (:func:`peak_memory_mb`) is the rise of the
process's resident set while the workload runs once: unlike ``tracemalloc`` it sees PyTorch's
allocations as well as NumPy's, so both columns are measured the same way.

>>> r = row("add 8×8", 2e-6, 1e-6, target=2.0)
>>> r["ratio"], r["meets_target"]
(2.0, True)
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib
import importlib.util
import json
import math
import os
import pathlib
import platform
import sys
import time
import timeit
import traceback

HERE = pathlib.Path(__file__).resolve().parent

# --- measuring ----------------------------------------------------------------------------------


def threads() -> int:
    """The cores this process may use: PyTorch is pinned to the same count as NumPy's BLAS."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def best_time(fn, repeat=5, min_seconds=0.05, number=None) -> float:
    """Seconds per call of ``fn``: the best of ``repeat`` loops, each long enough to time reliably.

    >>> best_time(lambda: sum(range(10)), repeat=2) < 1e-3
    True
    """
    timer = timeit.Timer(fn)
    if number is None:
        number = _calls_per_loop(timer, min_seconds)
    return min(timer.repeat(repeat=repeat, number=number)) / number


def _calls_per_loop(timer, min_seconds):
    """How many calls make one timed loop last ``min_seconds`` (like ``Timer.autorange``, but
    with a settable minimum loop time)."""
    number = 1
    while (elapsed := timer.timeit(number)) < min_seconds:
        number = max(number * 2, int(number * min_seconds / max(elapsed, 1e-9) * 1.2))
    return number


def _status_kib(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


@contextlib.contextmanager
def survivors_frozen():
    """Within a benchmark run, freeze what survives each collection of :func:`peak_memory_mb`
    (``gc.freeze``): mostly the imported libraries' objects (PyTorch and gensim bring over
    200,000), which every full collection would otherwise walk again, dozens of times per run.
    Unfrozen on exit, so the process's collector is left as it was found.

    The state is the collector's own freeze count, not a flag here, so that it holds for every
    copy of this module (a script run with ``python -m`` imports the package's as well).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _release_free_memory():
    """Collect garbage and hand freed heap pages back to the OS, so re-using them counts again."""
    gc.collect()
    if gc.get_freeze_count():  # inside survivors_frozen(): keep the new survivors frozen too
        gc.freeze()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def tracemalloc_mb(fn) -> float:
    """Peak MiB that Python-visible allocations (NumPy's arrays included) reached in ``fn()``."""
    import tracemalloc
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def peak_memory_mb(fn) -> float | None:
    """MiB by which the resident set rose, at its peak, while ``fn()`` ran once.

    Linux lets a process reset its high-water mark (``/proc/self/clear_refs``), so the peak of one
    call is measurable for NumPy and PyTorch alike. Elsewhere ``tracemalloc`` is used, which sees
    NumPy's arrays but not PyTorch's; ``None`` if neither works.
    """
    _release_free_memory()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        base = _status_kib("VmRSS")
        fn()
        return max(_status_kib("VmHWM") - base, 0) / 1024
    except OSError:
        return tracemalloc_mb(fn)


def measure(fn, quick=False):
    """``(seconds per call, peak MiB)`` for ``fn``; ``quick`` takes fewer, shorter repeats.

    The first call is a warm-up (imports, caches, BLAS threads). A workload that takes long
    (≥ 0.5 s quick, ≥ 2 s otherwise) is then called once more, timed while its peak memory is
    measured: repeats would add minutes and little accuracy.
    """
    started = time.perf_counter()
    fn()
    if time.perf_counter() - started >= (0.5 if quick else 2.0):
        elapsed = []

        def timed_call():
            t0 = time.perf_counter()
            fn()
            elapsed.append(time.perf_counter() - t0)

        mb = peak_memory_mb(timed_call)
        return elapsed[0], mb
    seconds = best_time(fn, repeat=2 if quick else 5, min_seconds=0.02 if quick else 0.1)
    return seconds, peak_memory_mb(fn)


def measure_pair(ours, theirs, quick=False, settle=None):
    """``((our s, our MiB), (their s, their MiB))``, the two timed in alternating rounds.

    On a shared machine the speed drifts by tens of percent within a minute. Timing all of one
    library and then all of the other lets that drift land in the ratio; alternating short loops
    of each (4 rounds quick, 9 otherwise) and keeping each side's best loop gives both the same
    quiet moments. Between the two sides it pauses (``settle`` seconds) until the helper threads
    of the side that just ran have stopped spinning: OpenBLAS's keep polling for 2²⁸ cycles (about
    0.1 s) after a product and would otherwise compete with the other side's threads, slowing it
    down severalfold. The pause is 0.3 s by default, 0.15 s with ``quick``. Long workloads (see
    :func:`measure`) are timed once each, as there.
    """
    if settle is None:
        settle = 0.15 if quick else 0.3
    started = time.perf_counter()
    ours()
    theirs()
    if time.perf_counter() - started >= (1.0 if quick else 4.0):
        return measure(ours, quick), measure(theirs, quick)
    min_seconds = 0.02 if quick else 0.05
    timers = [timeit.Timer(fn) for fn in (ours, theirs)]
    numbers = [_calls_per_loop(timer, min_seconds) for timer in timers]
    best = [math.inf, math.inf]
    for _ in range(4 if quick else 9):
        for side, (timer, number) in enumerate(zip(timers, numbers)):
            time.sleep(settle)
            timer.timeit(max(1, number // 10))  # wake the caches and this side's threads
            best[side] = min(best[side], timer.timeit(number) / number)
    return (best[0], peak_memory_mb(ours)), (best[1], peak_memory_mb(theirs))


def import_torch():
    """PyTorch with the same thread count as NumPy, or ``None`` when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads())
    return torch


# --- results --------------------------------------------------------------------------------------


def row(workload, tsf_s, ref_s=None, incumbent="PyTorch", *, tsf_mb=None, ref_mb=None,
        target=None, note=""):
    """One line of the table. ``target`` is the largest acceptable ``tsf_s / ref_s`` (1.5 for
    "at most 1.5× PyTorch's time", 0.05 for "at least 20× faster"); ``ref_s=None`` means the
    incumbent was not measured (not installed), shown as "–"."""
    ratio = tsf_s / ref_s if (tsf_s is not None and ref_s) else None
    return {"workload": workload, "tsf_s": tsf_s, "ref_s": ref_s, "incumbent": incumbent,
            "ratio": ratio, "target": target,
            "meets_target": None if ratio is None or target is None else ratio <= target,
            "tsf_mb": tsf_mb, "ref_mb": ref_mb, "note": note}


def rows_beside_torch(workloads, quick=False, target=None) -> list[dict]:
    """One row per ``(name, make)`` workload, where ``make(lib)`` builds the call to time for
    ``lib`` (torchsorflow or torch): both timed in alternating rounds (:func:`measure_pair`), or
    TorchsorFlow alone when PyTorch is not installed."""
    import torchsorflow as tsf
    torch = import_torch()
    rows = []
    for name, make in workloads:
        if torch:
            (ours, our_mb), (theirs, their_mb) = measure_pair(make(tsf), make(torch), quick)
        else:
            (ours, our_mb), (theirs, their_mb) = measure(make(tsf), quick), (None, None)
        rows.append(row(name, ours, theirs, "PyTorch" if torch else None, tsf_mb=our_mb,
                        ref_mb=their_mb, target=target))
        print(f"  {name}: done", file=sys.stderr, flush=True)
    return rows


def format_seconds(seconds) -> str:
    """``2.5e-06 → '2.5 µs'``; ``None → '–'``.

    >>> format_seconds(0.0123), format_seconds(None)
    ('12.3 ms', '–')
    """
    if seconds is None:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale or unit == "µs":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def _format_target(target):
    if target is None:
        return "–"
    return f"≤ {target:g}×" if target >= 1 else f"≥ {1 / target:g}× faster"


def _format_mb(value):
    return "–" if value is None else f"{value:.1f}"


def markdown_table(rows) -> str:
    """The rows as one markdown table (ratio = TorchsorFlow time / incumbent time)."""
    lines = ["| workload | TorchsorFlow | incumbent | incumbent time | ratio | target | "
             "peak MiB (tsf / incumbent) | note |",
             "|---|---:|---|---:|---:|---|---:|---|"]
    for r in rows:
        ratio = "–" if r.get("ratio") is None else f"{r['ratio']:.3g}×"
        mark = {True: " ✓", False: " ✗", None: ""}[r.get("meets_target")]
        lines.append(f"| {r['workload']} | {format_seconds(r.get('tsf_s'))} | "
                     f"{r.get('incumbent') or '–'} | {format_seconds(r.get('ref_s'))} | {ratio} | "
                     f"{_format_target(r.get('target'))}{mark} | "
                     f"{_format_mb(r.get('tsf_mb'))} / {_format_mb(r.get('ref_mb'))} | "
                     f"{r.get('note', '')} |")
    return "\n".join(lines)


def _version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001 - any failure means "not installed"
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas():
    try:
        import numpy
        info = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{info.get('name')} {info.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - older NumPy: the name is a nicety
        return None


def load_average():
    """The 1-minute load average, or ``None`` where the OS does not report it."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return None


def environment() -> dict:
    """Machine and library versions for the header of the table (``None`` = not installed)."""
    libraries = ["torchsorflow", "numpy", "scipy", "torch", "gensim", "torch-influence"]
    return {"machine": {"cpu": _cpu_model(), "threads": threads(), "platform": platform.platform(),
                        "python": platform.python_version(), "blas": _blas()},
            "versions": {name: _version(name) for name in libraries},
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_average": load_average()}


def header(env) -> str:
    """Machine, versions, date and load; a warning when other processes compete for the cores
    (PyTorch's thread pool then loses far more than NumPy, which flatters TorchsorFlow)."""
    m = env["machine"]
    versions = ", ".join(f"{k} {v or '–'}" for k, v in env["versions"].items())
    text = (f"Machine: {m['cpu']}, {m['threads']} threads (PyTorch set to the same), "
            f"{m['platform']}, Python {m['python']}, BLAS {m['blas'] or '?'}\n"
            f"Versions: {versions}\nDate: {env['date']}")
    load = env.get("load_average")
    if load is not None:
        text += f"; load average {load:g} on {m['threads']} cores"
        if load > m["threads"]:
            text += ("\nWARNING: the machine was busy; timings (PyTorch's most of all) are noisy: "
                     "rerun on an idle machine before quoting ratios")
    return text


def _write_text(path, text):
    """Write ``text`` to ``path`` atomically, creating its folder if needed."""
    from torchsorflow.io.safetensors import atomic_write

    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, [text.encode("utf-8")])


def write_json(path, payload):
    """Write ``payload`` as JSON atomically."""
    _write_text(path, json.dumps(payload, indent=2, ensure_ascii=False))


BEGIN_MARK = "<!-- tsf bench: begin (written by tsf bench --markdown; do not edit by hand) -->"
END_MARK = "<!-- tsf bench: end -->"


def markdown_section(rows, env) -> str:
    """The header as a list, the table, and how to read the ratio: what ``--markdown`` writes.

    >>> env = {"machine": {"cpu": "CPU", "threads": 2, "platform": "Linux", "python": "3.11",
    ...                    "blas": "openblas"}, "versions": {"numpy": "2.0"}, "date": "today",
    ...        "quick": True}
    >>> print(markdown_section([row("add", 2e-6, 1e-6)], env))  # doctest: +ELLIPSIS
    `tsf bench --quick`:
    <BLANKLINE>
    - Machine: CPU, 2 threads (PyTorch set to the same), Linux, Python 3.11, BLAS openblas
    - Versions: numpy 2.0
    - Date: today
    <BLANKLINE>
    | workload | TorchsorFlow | ...
    ...
    | add | 2 µs | PyTorch | 1 µs | 2× | – | – / – |  |
    <BLANKLINE>
    ratio = TorchsorFlow time / incumbent time (below 1: TorchsorFlow is faster).
    """
    command = "tsf bench --quick" if env.get("quick") else "tsf bench"
    listed = "\n".join(f"- {line}" for line in header(env).splitlines())
    return (f"`{command}`:\n\n{listed}\n\n{markdown_table(rows)}\n\n"
            "ratio = TorchsorFlow time / incumbent time (below 1: TorchsorFlow is faster).")


def marked_region(path):
    """``(text, begin, end)`` of the markdown file ``path``: its text and where the markers'
    region starts and ends, or ``("", 0, 0)`` if there is no such file yet. ``ValueError`` if the
    file lacks exactly one pair of markers (checked before a run, so that it is not lost)."""
    path = pathlib.Path(path)
    if not path.exists():
        return "", 0, 0
    text = path.read_text(encoding="utf-8")
    begin, end = text.find(BEGIN_MARK), text.find(END_MARK)
    if text.count(BEGIN_MARK) != 1 or text.count(END_MARK) != 1 or end < begin:
        raise ValueError(f"{path} needs exactly one pair of lines {BEGIN_MARK!r} ... {END_MARK!r} "
                         "where the results table goes")
    return text, begin, end + len(END_MARK)


def write_markdown(path, section):
    """Put ``section`` between the markers of the markdown file ``path``, leaving the rest of it
    as it was; a file that does not exist yet gets just the markers and the section."""
    text, begin, end = marked_region(path)
    block = f"{BEGIN_MARK}\n{section}\n{END_MARK}" + ("" if text else "\n")
    _write_text(path, text[:begin] + block + text[end:])


def report(rows, json_path=None, env=None):
    """Print the header and table for ``rows``; also write them to ``json_path`` when given."""
    env = env or environment()
    print(header(env) + "\n\n" + markdown_table(rows))
    if json_path:
        write_json(json_path, {"environment": env, "results": rows})


def prepare_process():
    """Run as ``tsf bench`` runs: with malloc keeping freed memory for reuse (as every ``tsf``
    command does), so a script run alone measures what the common table measures."""
    from torchsorflow import runtime
    runtime.keep_freed_memory()


def script_main(run, description, argv=None) -> int:
    """The ``__main__`` of a benchmark script: ``--quick`` and ``--json``, then the table."""
    prepare_process()
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="the reduced set of workloads")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    with survivors_frozen():
        rows = run(quick=args.quick)
    report(rows, args.json)
    return 0


# --- the runner ---------------------------------------------------------------------------------


def discover(folder=None, only=None):
    """The ``bench_*.py`` scripts (sorted): this package's, or those in ``folder`` when given.
    ``only`` limits them to the names in it (``"core"`` or ``"bench_core"`` both select
    ``bench_core.py``)."""
    folder = HERE if folder is None else pathlib.Path(folder)
    if not folder.is_dir():
        raise ValueError(f"--dir {folder}: no such folder")
    scripts = sorted(folder.glob("bench_*.py"))
    if only:
        wanted = {w if w.startswith("bench_") else f"bench_{w}" for w in only}
        unknown = wanted - {s.stem for s in scripts}
        if unknown:
            raise ValueError(f"no benchmark script {', '.join(sorted(unknown))} in {folder}; "
                             f"available: {', '.join(s.stem[6:] for s in scripts) or 'none'}")
        scripts = [s for s in scripts if s.stem in wanted]
    return scripts


def _load(script):
    """This package's scripts are imported as its modules; a script of another folder (``--dir``,
    named by the user) is run from its file, with its folder importable for its own helpers."""
    if script.parent.resolve() == HERE:
        return importlib.import_module(f"{__package__}.{script.stem}")
    if str(script.parent) not in sys.path:
        sys.path.insert(0, str(script.parent))
    spec = importlib.util.spec_from_file_location(f"tsf_user_benchmarks.{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(script, quick=False):
    """Rows of one script; a script that fails or has no ``run`` gives one row saying so."""
    name = script.stem
    try:
        module = _load(script)
        if not hasattr(module, "run"):
            return [row(f"{name}: not in the common table", None, incumbent=None,
                        note=f"{script.name} defines no run(quick); run it directly")]
        rows = list(module.run(quick=quick))
    except Exception as error:  # noqa: BLE001 - one broken script must not hide the others
        traceback.print_exc()
        return [row(f"{name}: failed", None, incumbent=None,
                    note=f"{type(error).__name__}: {error}".replace("|", "/").splitlines()[0])]
    for r in rows:
        missing = {"workload", "tsf_s", "ref_s"} - set(r)
        if missing:
            raise ValueError(f"{script.name}: run() returned a row without {sorted(missing)}: {r}")
        r.setdefault("script", name)
    return rows


def run_all(args) -> int:
    """``tsf bench``: run the scripts that ``args`` select, print the table, write the files."""
    only = list(getattr(args, "names", None) or []) + list(args.only or [])
    scripts = discover(getattr(args, "dir", None), only or None)
    if args.list:
        for script in scripts:
            print(script.stem[len("bench_"):], script)
        return 0
    markdown = getattr(args, "markdown", None)
    if markdown is not None:
        marked_region(markdown)  # a file without its markers is refused now, not after the run
    rows = []
    started = time.perf_counter()
    load_at_start = load_average()
    with survivors_frozen():
        for script in scripts:
            print(f"running {script.name} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            rows.extend(run_script(script, quick=args.quick))
            print(f"  {script.name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr,
                  flush=True)
    env = environment()
    if load_at_start is not None and env["load_average"] is not None:
        env["load_average"] = max(load_at_start, env["load_average"])  # the busier of the two
    env["quick"] = bool(args.quick)
    env["total_seconds"] = round(time.perf_counter() - started, 1)
    report(rows, args.json, env)
    if markdown is not None:
        write_markdown(markdown, markdown_section(rows, env))
    print(f"\nratio = TorchsorFlow time / incumbent time (below 1 = TorchsorFlow faster); "
          f"{env['total_seconds']} s in all; JSON: {args.json}"
          + (f"; table written into {markdown}" if markdown is not None else ""))
    return 1 if any(r["workload"].endswith(": failed") for r in rows) else 0
