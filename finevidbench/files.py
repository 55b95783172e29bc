"""File helpers shared by every writer of the project: atomic writes and content hashes."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temporary file and a rename, so a crash never leaves half a file."""
    tmp = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")  # per process: concurrent writers never share one
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def sha256_file(path: Path) -> str:
    """Content hash of a file, read once per process while its size and modification time stay the same.

    The guard, the builder and the loader each hash every video; the cache makes that one read.
    """
    stat = Path(path).stat()
    # keyed by the file itself (device, inode), so a hard link into a question set shares the entry
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = _read_hash(Path(path))
    return _HASHES[key]


_HASHES: dict[tuple, str] = {}


def _read_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_folder_once(target: Path, marker: str, fill: Callable[[Path], object]) -> Path:
    """`target`, filled by `fill(staging)` in a sibling folder and renamed into place unless `marker` exists.

    Processes that need the same folder at once (two ranks of a launcher, test workers) wait for
    the first builder instead of each building it; the rename is atomic, so a crash leaves no
    half-built `target`.
    """
    if (target / marker).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.parent / f".{target.name}.lock"):
        if (target / marker).is_file():  # built by the process we waited for
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            fill(staging)
            try:
                os.rename(staging, target)
            except OSError:
                if not (target / marker).is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
