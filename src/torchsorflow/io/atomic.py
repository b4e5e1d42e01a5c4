"""Atomic file writes: the one helper every file the package writes goes through.

:func:`atomic_write` puts the bytes into a temporary file beside the target, flushes them to the
disk (``fsync``), then renames the temporary file over the target (``os.replace``, atomic on POSIX
and Windows) and syncs the folder so the rename itself survives a power cut. A reader therefore
sees the old file or the new one, never half of either; an exception of any kind (a full disk, a
``KeyboardInterrupt``) removes the temporary file and leaves the old file as it was.

The new file gets the mode a plain ``open(path, "w")`` would give it: the existing file's mode
when it replaces one, else ``0o666`` minus the umask (``mkstemp`` alone would make it ``0o600``).

Temporary files are named ``.<name>.<pid>.<random>.tsf-partial``. A process killed mid-write
(``SIGKILL``, a power cut) cannot remove its own, so every save also removes the leftovers of
earlier saves to the same path whose writing process no longer exists -- and, after an hour,
those of older versions of this module (``.<name>.<8 characters>.tmp``).

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
>>> atomic_write(path, "hello\\n")
>>> open(path).read()
'hello\\n'
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import time

SUFFIX = ".tsf-partial"
LEGACY_AGE_SECONDS = 3600


def atomic_write(path, content, *, make_parents: bool = False, mode_of=None) -> None:
    """Replace ``path`` atomically with ``content``.

    ``content`` is ``bytes``, a ``str`` (written as UTF-8), an iterable of ``bytes`` chunks, or a
    callable ``write(binary_file)`` that writes into the open temporary file (for ``np.save``,
    ``figure.savefig`` ...). ``make_parents`` creates missing folders; otherwise a missing folder
    is a ``FileNotFoundError`` naming the target and the folder. ``mode_of`` names the file whose
    mode to keep when that is not ``path`` itself (a new file replacing an old one by name).
    """
    path = os.fspath(path)
    folder = _folder_of(path, make_parents)
    mode = _file_mode(path if mode_of is None or not os.path.exists(mode_of) else mode_of)
    remove_stale_temporaries(path)
    temporary = os.path.join(folder, temporary_name(path))
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            if callable(content):
                content(file)
            elif isinstance(content, (bytes, bytearray, memoryview)):
                file.write(content)
            elif isinstance(content, str):
                file.write(content.encode("utf-8"))
            else:
                for chunk in content:
                    file.write(chunk)
            file.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(file.fileno(), mode)
            else:   # pragma: no cover - Windows
                os.chmod(temporary, mode)
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    sync_folder(folder)


def temporary_name(path, kind: str = "") -> str:
    """A fresh, recognisable name for a temporary file (or folder) that will become ``path``."""
    return f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}{kind}{SUFFIX}"


def remove_stale_temporaries(path) -> list[str]:
    """Remove the temporaries that interrupted saves to ``path`` left behind (files or folders);
    returns their paths. A temporary is stale when the process that made it no longer runs (or,
    for the ``.<name>.XXXXXXXX.tmp`` files of earlier versions, when it is over an hour old)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    ours = re.compile(re.escape(f".{os.path.basename(path)}.") + r"(\d+)\.[0-9a-f]{8}[a-z-]*"
                      + re.escape(SUFFIX) + "$")
    legacy = re.compile(re.escape(f".{os.path.basename(path)}.") + r"[a-z0-9_]{8}\.tmp$")
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = ours.match(entry.name)
        if match:
            stale = not _process_exists(int(match.group(1)))
        elif legacy.match(entry.name):
            try:
                stale = time.time() - entry.stat(follow_symlinks=False).st_mtime > LEGACY_AGE_SECONDS
            except OSError:
                continue
        else:
            continue
        if stale:
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(entry.path)
            except OSError:
                pass
    return removed


def sync_folder(folder) -> None:
    """fsync a folder so that renames inside it are durable (a no-op where folders cannot be
    opened, as on Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _folder_of(path, make_parents):
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(21, f"{path} is a folder, not a file", path)
    if make_parents:
        os.makedirs(folder, exist_ok=True)
    elif not os.path.isdir(folder):
        problem = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise FileNotFoundError(2, f"cannot write {path}: the folder {folder} {problem}", path)
    return folder


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True   # perhaps another thread of this process is writing it right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True   # it exists but belongs to someone else (or we cannot tell)
    return True


def _file_mode(path) -> int:
    """The mode a plain ``open(path, "w")`` would give: the old file's, else 0o666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask
