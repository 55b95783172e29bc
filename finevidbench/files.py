"""File helpers shared by every writer of the project: atomic writes, schema-checked JSON, content hashes."""

from __future__ import annotations

import functools
import hashlib
import json
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


class FileFormatError(ValueError):
    """A JSON file does not have the shape its schema describes; the message names file, field and fix."""


@functools.cache
def validator(package: str, relative: str):
    """A JSON Schema validator built once per process (building one per file cost a leaderboard build seconds)."""
    from importlib import resources

    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(resources.files(package).joinpath(relative).read_text()))


def check_schema(data: object, name: str, source: str | Path) -> None:
    """Raise FileFormatError naming `source` and the first field that breaks schema `name`."""
    import jsonschema

    error = jsonschema.exceptions.best_match(validator("finevidbench", f"schemas/{name}.schema.json").iter_errors(data))
    if error is not None:
        field = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise FileFormatError(f"{source}: {field}: {error.message} (fix: see finevidbench/schemas/{name}.schema.json)")


def write_json(path: Path, data: object, schema_name: str | None = None, sort_keys: bool = True) -> None:
    """Write `data` as indented JSON, atomically; checked against `schema_name` first, so no writer drifts."""
    if schema_name:
        check_schema(data, schema_name, path)
    atomic_write_text(Path(path), json.dumps(data, indent=1, sort_keys=sort_keys) + "\n")


def read_json(path: Path, schema_name: str | None = None) -> object:
    """Read a JSON file written by `write_json`; FileFormatError for a missing, malformed or off-schema file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileFormatError(f"{path}: missing (fix: run the command that writes it)") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FileFormatError(f"{path}: not valid JSON ({type(exc).__name__})") from None
    if schema_name:
        check_schema(data, schema_name, path)
    return data


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
