"""A durable store of model answers, written as each answer arrives, so a killed run resumes.

lmms-eval's own `--use_cache` saves a task's answers only when the whole task returns; a crash
half-way loses them all. This store commits every answer to SQLite (WAL journal) the moment it
exists. The key is everything that can change an answer: the model fingerprint (name, arguments,
revision, adapter), the question id, the frame policy id and the generation settings.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path


def answer_key(model_fingerprint: str, question_id: str, policy_id: str, generation: dict) -> str:
    """The store key of one answer."""
    blob = json.dumps([model_fingerprint, question_id, policy_id, generation], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class AnswerStore:
    """Answers by key in one SQLite file; safe to kill at any moment, safe across threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, question_id TEXT, response TEXT, meta TEXT)"
        )

    def get(self, key: str) -> str | None:
        """The stored response, or None."""
        with self._lock:
            row = self._db.execute("SELECT response FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, question_id: str, response: str, meta: dict | None = None) -> None:
        """Store one answer durably (committed before this returns)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)",
                (key, question_id, response, json.dumps(meta or {}, sort_keys=True)),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()
