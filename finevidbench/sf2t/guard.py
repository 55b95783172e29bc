"""The guard against training on the benchmark: training videos are compared by content hash.

A file name says nothing (a benchmark clip renamed is still the benchmark), so the check is the
SHA-256 of the bytes, against the per-video hashes every question set's manifest carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from finevidbench.files import sha256_file


class ContaminationError(ValueError):
    """Training videos include benchmark videos, and the run did not explicitly allow it."""


@dataclass(frozen=True)
class Contamination:
    """What the guard found; travels in the training manifest and the run record."""

    benchmark: str
    """Dataset hash of the benchmark set the training videos were checked against."""
    overlapping: list[str] = field(default_factory=list)
    """Training video files whose content is a benchmark video."""
    allowed: bool = False
    """True when the run was told to go on anyway (it is then marked contaminated)."""

    @property
    def contaminated(self) -> bool:
        """True when any training video is a benchmark video."""
        return bool(self.overlapping)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the verdict spelled out."""
        return {**asdict(self), "contaminated": self.contaminated}


def check_videos(
    videos: Sequence[Path], benchmark_manifest: dict[str, Any], allow: bool = False, source: str = "the benchmark"
) -> Contamination:
    """Hash every training video and refuse (ContaminationError) any that is in the benchmark set.

    With `allow=True` the overlap is reported instead of refused, and the returned record marks
    the run as contaminated.
    """
    benchmark = {record["sha256"] for record in benchmark_manifest.get("videos", {}).values()}
    overlapping = sorted(str(path) for path in videos if sha256_file(Path(path)) in benchmark)
    found = Contamination(benchmark=benchmark_manifest.get("dataset_hash", "?"), overlapping=overlapping, allowed=allow)
    if overlapping and not allow:
        shown = ", ".join(overlapping[:5]) + (f" and {len(overlapping) - 5} more" if len(overlapping) > 5 else "")
        raise ContaminationError(
            f"{len(overlapping)} training video(s) are videos of {source} (same content hash): {shown}. "
            "Fix: remove them from the training folder, or pass --allow-contaminated to train anyway "
            "(the run is then marked contaminated in its record)."
        )
    return found
