"""Write a file so that a reader sees the old bytes or the new ones, never half, with the umask's mode.

Why not tempfile.mkstemp: it creates the file mode 0600 and has no way to ask for another, so every
outlet file (pages, feeds, ninjs) came out unreadable to a web server running as another user. Why not
chmod after mkstemp: the mode the umask gives is only known by calling os.umask(), which sets the umask
of the whole process for a moment (a race with every other thread creating files). So the temp file is
created here with os.open(..., 0o666) and O_EXCL: the kernel applies the umask (or the directory's default
ACL) itself, at creation, so the file is never more open than the umask allows, not even for a moment.
No kept library does this (atomicwrites is unmaintained and also goes through mkstemp's 0600).

The temp file lives in the target's own directory (os.replace is atomic only within one filesystem), is
fsynced before the rename and removed on any failure; the directory is fsynced after it, so a power cut
leaves the old file or the new one, not an empty name.

check_writable is the `syndicate outlets check` of every outlet that writes into a directory (files, feeds).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from worker.errors import OutletUnavailableError

#: how many fresh temp names to try before giving up (mkstemp's own TMP_MAX is of this order)
_ATTEMPTS = 100
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new, empty, exclusively created file next to `path`, mode 0666 less the umask."""
    for _ in range(_ATTEMPTS):
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(candidate, _FLAGS, 0o666), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {path} after {_ATTEMPTS} attempts")


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable. Some filesystems cannot fsync a directory; the rename is done anyway."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless it already holds exactly that. True when a write happened.

    The new file gets the mode the process umask gives (0644 under 022, 0640 under 027), like any file
    the process creates with open(); the directories on the way are created the same way.
    """
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_path = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return True


def check_writable(directory: Path, probe_name: str) -> str:
    """Create `directory` when missing and write and remove the file `probe_name` in it: what an outlet that
    writes there checks. An OutletUnavailableError naming the directory when it cannot (a full disk or a
    missing mount may be fixed by the operator)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / probe_name
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise OutletUnavailableError(f"cannot write to {directory}: {exc}") from exc
    return f"can write to {directory}"
