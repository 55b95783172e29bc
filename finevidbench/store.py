"""A durable store of model answers, written as each answer arrives, so a killed run resumes.

lmms-eval's own `--use_cache` saves a task's answers only when the whole task returns; a crash
half-way loses them all. This store commits every answer to SQLite (WAL journal) the moment it
exists. A committed answer survives the process being killed at any point; `synchronous=NORMAL`
leaves out the disk flush per answer (0.17 ms an answer against 0.04 ms, measured), so only a power
cut or a crash of the machine itself could lose the last few, which a rerun recomputes. The key is
everything that can change an answer: the model fingerprint (name, arguments, revision, adapter),
the question id, the frame policy id and the generation settings.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any


def answer_key(model_fingerprint: str, question_id: str, policy_id: str, generation: dict[str, Any]) -> str:
    """The store key of one answer."""
    blob = json.dumps([model_fingerprint, question_id, policy_id, generation], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class StoreError(ValueError):
    """The answer store cannot be written; the message names the file and the fix."""


class AnswerStore:
    """Answers by key in one SQLite file; safe to kill at any moment, safe across threads.

    A file that is not a readable store (a crash of the disk, not of the run; or another file under
    that name) is moved aside, never deleted, and the run starts a fresh store: `moved_aside` names
    where it went. A folder that cannot be written is one StoreError line.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.moved_aside: Path | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if not self.path.is_file() or "readonly" in str(exc) or "unable to open" in str(exc):
                raise StoreError(f"{self.path}: cannot be written ({exc}) (fix: pass OUT= a writable folder)") from None
            self.moved_aside = self._move_aside()
            self._db = self._open()
        except OSError as exc:
            raise StoreError(
                f"{self.path.parent}: cannot be written ({exc.strerror}) (fix: pass OUT= a writable folder)"
            ) from None

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, question_id TEXT, response TEXT, meta TEXT)"
        )
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            db.close()
            raise sqlite3.DatabaseError("the store fails SQLite's quick_check")
        return db

    def _move_aside(self) -> Path:
        """Keep an unreadable store's bytes under a new name (with its journal files)."""
        target = self.path.with_name(f"{self.path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                source.rename(Path(f"{target}{suffix}"))
        return target

    def get(self, key: str) -> str | None:
        """The stored response, or None."""
        with self._lock:
            row = self._db.execute("SELECT response FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, question_id: str, response: str, meta: dict[str, Any] | None = None) -> None:
        """Store one answer durably (committed before this returns)."""
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)",
                    (key, question_id, response, json.dumps(meta or {}, sort_keys=True)),
                )
        except sqlite3.OperationalError as exc:  # a full disk, a folder made read-only during the run
            raise StoreError(
                f"{self.path}: cannot store an answer ({exc}) (fix: free disk space or pass OUT= a "
                "writable folder; the answers stored so far are kept)"
            ) from None

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()
