"""The copies of source videos a build keeps in OUT/videos/: made, refreshed and removed by the builder alone.

A video outside the output folder is hard-linked (or copied, across file systems) into
OUT/videos/, so the set holds every byte it names. The builder records the copies it made in
OUT/videos/.placed.json; on a rebuild, a recorded copy whose source changed is replaced and one
whose video the build no longer takes is removed. A set built before records were kept has none:
there, a copy whose bytes are the ones its manifest published counts as the builder's. A file there
that the builder did not place is never touched: when a source would replace it and the two differ,
the build stops before writing anything and says so. Sources are only ever read; a copy is replaced
by writing a temporary file beside it and renaming it over the old one, so a crash leaves the old
copy or the new one, whole.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from finevidbench.files import atomic_write_text, sha256_file

RECORD = ".placed.json"


class PlacementError(ValueError):
    """A source would replace a file in OUT/videos/ that the builder did not place."""


def _same_content(a: Path, b: Path) -> bool:
    if os.path.samefile(a, b):
        return True
    return a.stat().st_size == b.stat().st_size and sha256_file(a) == sha256_file(b)


def _read_record(path: Path) -> set[str]:
    """The names a record claims: plain file names only, so nothing outside OUT/videos/ is ever touched.

    A missing or unreadable record claims nothing: then nothing will be replaced or removed.
    """
    try:
        names = json.loads(path.read_text())["placed"] if path.is_file() else []
    except (ValueError, KeyError, TypeError, OSError):
        return set()
    if not isinstance(names, list):
        return set()
    return {n for n in names if isinstance(n, str) and n not in ("", ".", "..") and n == Path(n).name}


class Placement:
    """The copies of one build: checked up front (`check`), made as videos are built (`place`), tidied at the end."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.folder = self.out / "videos"
        self.record = self.folder / RECORD
        self.recorded: set[str] = _read_record(self.record)
        self.used: set[str] = set()
        self.removed: list[str] = []

    def inside(self, video: Path) -> bool:
        """Whether the video already lies in the output folder (it is used in place)."""
        return video.resolve().is_relative_to(self.out.resolve())

    def check(self, videos: Iterable[Path]) -> None:
        """Refuse, before anything is written, to place a source over a file the builder did not put there.

        Then record every copy the build will make, so a build killed halfway leaves none unclaimed.
        """
        names = set()
        for video in videos:
            if self.inside(video):
                continue
            names.add(video.name)
            target = self.folder / video.name
            if target.is_symlink() or not target.exists() or video.name in self.recorded:
                continue
            if not target.is_file() or not (_same_content(video.resolve(), target) or self._published(target)):
                raise PlacementError(
                    f"{target}: would be replaced by {video}, but this builder did not place it and the two differ "
                    "(fix: move the file away if it is an old copy, or build into a new folder)"
                )
        if not names <= self.recorded:
            self.recorded |= names
            self._write(self.recorded)

    def _published(self, target: Path) -> bool:
        """Whether a set built before records were kept published exactly these bytes (its manifest's hash).

        Such a copy is the builder's own: a rebuild refreshes it instead of refusing once.
        """
        if self.record.exists():
            return False
        try:
            videos = json.loads((self.out / "manifest.json").read_text())["videos"]
            hashes = {v["sha256"] for v in videos.values() if v["path"] == f"videos/{target.name}"}
        except (ValueError, KeyError, TypeError, AttributeError, OSError):
            return False
        return len(hashes) == 1 and sha256_file(target) in hashes

    def place(self, video: Path) -> str:
        """The video's path relative to OUT: in place, or its copy in OUT/videos/ (made or refreshed now)."""
        real = video.resolve()
        if self.inside(video):
            return real.relative_to(self.out.resolve()).as_posix()
        target = self.folder / video.name
        self.folder.mkdir(parents=True, exist_ok=True)
        if video.name not in self.recorded:  # not announced by `check`: recorded before the copy exists
            self.recorded.add(video.name)
            self._write(self.recorded)
        self.used.add(video.name)
        if target.is_symlink() or not target.exists() or not _same_content(real, target):
            tmp = self.folder / f".{video.name}.{os.getpid()}.tmp"
            try:
                try:
                    os.link(real, tmp)
                except OSError:
                    shutil.copy2(real, tmp)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        return target.relative_to(self.out).as_posix()

    def finish(self, keep: Iterable[Path] = ()) -> list[str]:
        """Remove the recorded copies this build did not use (never a file one of `keep` resolves to); their names."""
        kept = {Path(p).resolve() for p in keep}
        for name in sorted(self.recorded - self.used):
            target = self.folder / name
            if target.is_file() and not target.is_symlink() and target.resolve() not in kept:
                target.unlink()
                self.removed.append(name)
        if self.used or self.record.exists():
            self._write(self.used)
        self.recorded = set(self.used)
        return self.removed

    def _write(self, names: set[str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.record, json.dumps({"placed": sorted(names)}, indent=1) + "\n")
