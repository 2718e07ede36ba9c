"""Whether a config folder's files changed since they were last read: `Snapshot`.

Why not the files' mtimes alone (as before): two edits within the file system's timestamp resolution
(a second or two on some file systems, and a kernel's coarse clock tick on others) leave the same mtime,
so the second edit went unseen until the file changed again; and a file added to sources.d/ was not
watched at all. A snapshot is, per file the config reads (worker.config.config_files: sources.yaml,
sources.d/*.yaml, outlets.yaml), its mtime in nanoseconds and its size, and for a file modified so
recently that a further edit could still leave both alike (git calls such a file "racily clean"), a
hash of its content. A file that was racy when last read is hashed once more after its mtime has aged,
which settles whether an edit slipped in; from then on its stat alone speaks.

Take the snapshot *before* reading the files: an edit between the two is then seen by the next
comparison (one extra reload), never missed.

May import: nothing of worker (the caller passes the files).
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

#: how recent an mtime may be to still tie with a further edit: FAT's resolution is 2 s, ext3's and
#: HFS+'s 1 s, a network file system's server may round further; ext4/XFS/tmpfs stamp with the kernel's
#: clock tick (a few ms)
RACY_WINDOW_NS = 3 * 10**9


@dataclass(frozen=True)
class FileState:
    """One file as it was: None for mtime and size when it did not exist; a digest only when racy."""

    mtime_ns: int | None
    size: int | None
    digest: bytes | None = None


def _digest(path: Path) -> bytes | None:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None


@dataclass(frozen=True)
class Snapshot:
    """The state of a list of files; `changed_since(previous)` says whether they must be read again."""

    files: dict[Path, FileState] = field(default_factory=dict)
    #: files whose content was hashed only to compare with the previous snapshot (not kept as racy)
    _compared: dict[Path, bytes | None] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def take(cls, paths: list[Path], previous: Snapshot | None = None, now_ns: int | None = None) -> Snapshot:
        now_ns = time.time_ns() if now_ns is None else now_ns
        files: dict[Path, FileState] = {}
        compared: dict[Path, bytes | None] = {}
        for path in paths:
            try:
                stat = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                files[path] = FileState(None, None)
                continue
            racy = stat.st_mtime_ns >= now_ns - RACY_WINDOW_NS
            before = previous.files.get(path) if previous is not None else None
            was_racy = (before is not None and before.digest is not None
                        and (before.mtime_ns, before.size) == (stat.st_mtime_ns, stat.st_size))
            digest = _digest(path) if racy or was_racy else None
            files[path] = FileState(stat.st_mtime_ns, stat.st_size, digest if racy else None)
            if was_racy and not racy:
                compared[path] = digest
        return cls(files, compared)

    def changed_since(self, previous: Snapshot | None) -> bool:
        """True when a file appeared, went, or changed (stat, or content where a hash was taken)."""
        if previous is None or self.files.keys() != previous.files.keys():
            return True
        for path, state in self.files.items():
            before = previous.files[path]
            if (state.mtime_ns, state.size) != (before.mtime_ns, before.size):
                return True
            digest = state.digest if state.digest is not None else self._compared.get(path)
            if before.digest is not None and digest is not None and digest != before.digest:
                return True
        return False
