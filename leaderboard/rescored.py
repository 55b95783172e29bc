"""Rescored submissions kept between builds, keyed by the content of what was rescored.

A full-size submission is ~20,000 responses; rescoring 200 of them on every build would take
minutes. The board stays a pure function of the submitted files: an entry is reused only when the
SHA-256 of its samples.jsonl and results.json, the question set's dataset hash, the protocol
version and the extractor version are all unchanged, so anything that could change a score
rescores it. File hashes are remembered with each file's size and modification time (as git's
index does), so an unchanged folder is not even read again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TypedDict

from finevidbench.dataset import QuestionSet
from finevidbench.files import atomic_write_text, sha256_file
from finevidbench.scoring.extract import EXTRACTOR_VERSION
from leaderboard.submission import Submission, rescore

CACHE_VERSION = 2
"""Bump when the cached record changes shape or the rescoring rules change outside the extractor."""
INDEX = "index.json"


class _FileHash(TypedDict):
    """An entry of the index (by resolved path): the file's size and modification time when it had `sha256`."""

    size: int
    mtime_ns: int
    sha256: str


class RescoreCache:
    """`rescore` with memory: `folder` None rescores every time (nothing kept)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = Path(folder) if folder else None
        self.index: dict[str, _FileHash] = {}
        if self.folder and (self.folder / INDEX).is_file():
            try:
                self.index = json.loads((self.folder / INDEX).read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                self.index = {}  # a damaged index only costs re-hashing
        self.reused = 0
        self.dirty = False

    def rescore(self, submission: Submission, folder: Path, sets: dict[str, QuestionSet]) -> Submission:
        """`submission` with its recomputed scores: from the cache when nothing that decides them changed."""
        if self.folder is None:
            return rescore(submission, folder, sets)
        key = self._key(folder, submission)
        record = self.folder / f"{key}.json"
        if record.is_file():
            try:
                cached = json.loads(record.read_text())
                submission.scores, submission.wrong = cached["scores"], cached["wrong"]
                submission.answers = cached["answers"]
                submission.correct = dict(zip(cached["ids"], cached["correct"], strict=True))
                self.reused += 1
                return submission
            except (json.JSONDecodeError, KeyError, ValueError):
                pass  # a damaged entry is rescored and rewritten
        rescore(submission, folder, sets)
        self.folder.mkdir(parents=True, exist_ok=True)
        ids = list(submission.correct)
        blob = {
            "scores": submission.scores,
            "wrong": submission.wrong,
            "ids": ids,
            "answers": submission.answers,
            "correct": [submission.correct[i] for i in ids],
        }
        atomic_write_text(record, json.dumps(blob))
        return submission

    def save(self) -> None:
        """Keep the file hashes learnt in this build for the next one."""
        if self.folder is not None and self.dirty:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.folder / INDEX, json.dumps(self.index))
            self.dirty = False

    def _key(self, folder: Path, submission: Submission) -> str:
        digest = hashlib.sha256(f"{CACHE_VERSION}:{EXTRACTOR_VERSION}".encode())
        digest.update(f"{submission.results.get('dataset_hash')}:{submission.results.get('protocol_version')}".encode())
        for name in ("results.json", "samples.jsonl"):
            digest.update(self._file_hash(folder / name).encode())
        return digest.hexdigest()[:32]

    def _file_hash(self, path: Path) -> str:
        stat = path.stat()
        seen = self.index.get(str(path.resolve()))
        if seen and seen["size"] == stat.st_size and seen["mtime_ns"] == stat.st_mtime_ns:
            return seen["sha256"]
        sha = sha256_file(path)
        self.index[str(path.resolve())] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha}
        self.dirty = True
        return sha
