"""File helpers shared by every writer of the project: atomic writes, schema-checked JSON, content hashes."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

if TYPE_CHECKING:  # jsonschema is imported only when a file is checked
    import jsonschema


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temporary file and a rename, so a crash never leaves half a file."""
    tmp = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")  # per process: concurrent writers never share one
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class FileFormatError(ValueError):
    """A JSON file does not have the shape its schema describes; the message names file, field and fix."""


@functools.cache
def validator(package: str, relative: str) -> jsonschema.Draft202012Validator:
    """A JSON Schema validator built once per process (building one per file cost a leaderboard build seconds)."""
    from importlib import resources

    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(resources.files(package).joinpath(relative).read_text()))


MAX_DEPTH = 32
"""Deepest nesting any file of the project may have (its schemas need 6); deeper is refused before use."""
TOO_DEEP = f"JSON nested too deeply (more than {MAX_DEPTH} levels; fix: write the documented shape)"


def check_schema(data: object, name: str, source: str | Path, package: str = "finevidbench") -> None:
    """Raise FileFormatError naming `source` and the first field that breaks schema `name` of `package`."""
    import jsonschema

    _check_depth(data, source)
    schema = f"schemas/{name}.schema.json"
    error = jsonschema.exceptions.best_match(validator(package, schema).iter_errors(data))
    if error is not None:
        field = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        raise FileFormatError(f"{source}: field '{field}': {message} (fix: see {package}/{schema})")


def _check_depth(data: object, source: str | Path) -> None:
    """Refuse nesting deeper than MAX_DEPTH: whatever walks the data later (a renderer, a copy) might not survive it."""
    level, stack = 0, [data]
    while stack:
        level += 1
        if level > MAX_DEPTH:
            raise FileFormatError(f"{source}: {TOO_DEEP}")
        stack = [child for item in stack if isinstance(item, dict | list) for child in _children(item)]


def _children(item: dict[str, object] | list[object]) -> list[dict[str, object] | list[object]]:
    return [v for v in (item.values() if isinstance(item, dict) else item) if isinstance(v, dict | list)]


def write_json(path: Path, data: object, schema_name: str | None = None, sort_keys: bool = True) -> None:
    """Write `data` as indented JSON, atomically; checked against `schema_name` first, so no writer drifts."""
    if schema_name:
        check_schema(data, schema_name, path)
    atomic_write_text(Path(path), json.dumps(data, indent=1, sort_keys=sort_keys) + "\n")


def read_json(
    path: Path, schema_name: str | None = None, max_bytes: int | None = None, package: str = "finevidbench"
) -> object:
    """Read a JSON file; FileFormatError for a missing, oversized, malformed or off-schema file."""
    path = Path(path)
    try:
        _check_size(path, max_bytes)
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileFormatError(f"{path}: missing (fix: run the command that writes it)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"{path}: not valid JSON ({type(exc).__name__})") from None
    except RecursionError:
        raise FileFormatError(f"{path}: {TOO_DEEP}") from None
    if schema_name:
        check_schema(data, schema_name, path, package)
    return data


def read_json_object(
    path: Path, schema_name: str, max_bytes: int | None = None, package: str = "finevidbench"
) -> dict[str, Any]:
    """`read_json` for a file whose schema describes one JSON object (every schema of the project does)."""
    data = read_json(path, schema_name, max_bytes, package)
    if not isinstance(data, dict):  # only a schema that allows other values lets one through
        raise FileFormatError(f"{path}: not a JSON object")
    return data


def _check_size(path: Path, max_bytes: int | None) -> None:
    """Refuse a file over `max_bytes` before reading it (a stranger's file must not fill memory)."""
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise FileFormatError(f"{path}: {path.stat().st_size} bytes, more than the {max_bytes} allowed")


def read_jsonl(
    path: Path,
    schema_name: str,
    max_line_bytes: int = 1 << 20,
    plain: Callable[[object], bool] | None = None,
    max_bytes: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines file, each checked against `schema_name`; FileFormatError names file and line.

    Blank lines are skipped. A line longer than `max_line_bytes` is refused before it is parsed, so a
    stranger's file cannot make a reader hold one giant record in memory. `plain(record)` True lets a
    record the schema surely accepts skip jsonschema (20 us a line; a board reads millions of lines).
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: missing (fix: pass the file the command wrote)")
    _check_size(path, max_bytes)
    with path.open("rb") as handle:
        for line_no, raw in enumerate(iter(lambda: handle.readline(max_line_bytes + 1), b""), start=1):
            where = f"{path}:{line_no}"
            if len(raw) > max_line_bytes:
                raise FileFormatError(f"{where}: a line longer than {max_line_bytes} bytes (fix: one record per line)")
            try:
                text = raw.decode("utf-8")
                record = json.loads(text) if text.strip() else None
            except UnicodeDecodeError:
                raise FileFormatError(f"{where}: not UTF-8 text (fix: write the file as UTF-8 JSON lines)") from None
            except json.JSONDecodeError as exc:
                raise FileFormatError(f"{where}: not valid JSON ({exc})") from None
            except RecursionError:
                raise FileFormatError(f"{where}: {TOO_DEEP}") from None
            if record is not None:
                if plain is None or not plain(record):
                    check_schema(record, schema_name, where)
                yield record


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


_HASHES: dict[tuple[int, int, int, int], str] = {}


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
