"""Records that cross module boundaries: a built question and the per-video build context."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from finevidbench.video import VideoMeta

Level = Literal["scene", "fragment"]
CHANGED_LEVEL = 24


@dataclass(frozen=True)
class Question:
    """One benchmark item, as written to questions.jsonl (one JSON object per line)."""

    id: str
    """Stable id: `<type>-<video>-<slot>`."""
    video: str
    """Video id (the file stem)."""
    video_path: str
    """Path of the video relative to the question-set folder."""
    level: Level
    type: str
    """Question type name in the registry."""
    speed: float
    """Playback speed the clip is shown at (scene level); 1.0 for fragment items."""
    frames: tuple[int, ...] | None
    """Fragment level: source frame indices in the order shown ("Frame 1" first); None for scene items."""
    prompt: str
    """The question text, options included, without any image placeholder."""
    options: tuple[str, ...]
    """Option texts for choice questions, in the order labelled A, B, ...; empty otherwise."""
    answer: Any
    """Gold answer: a letter, "yes"/"no", an int, or a list of frame labels."""
    answer_type: str
    """Name of the answer type (protocol/answers.py): choice, yes_no, integer, permutation."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """What the builder measured to accept the item (e.g. min inter-frame change)."""
    window: tuple[float, float] | None = None
    """Scene level: the part of the source clip shown, (start, end) in seconds; None shows it whole."""

    def to_json(self) -> str:
        """Canonical one-line JSON (sorted keys) so that builds are byte-identical."""
        record = asdict(self)
        record["frames"] = list(self.frames) if self.frames is not None else None
        record["options"] = list(self.options)
        record["window"] = list(self.window) if self.window is not None else None
        return json.dumps(record, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Question:
        """Read a record written by `to_json`."""
        record = dict(record)
        frames = record.get("frames")
        record["frames"] = tuple(frames) if frames is not None else None
        record["options"] = tuple(record.get("options") or ())
        record["speed"] = float(record["speed"])
        window = record.get("window")
        record["window"] = (float(window[0]), float(window[1])) if window is not None else None
        return cls(**record)


@dataclass
class VideoContext:
    """Everything a question type may look at when it builds items for one video."""

    video: str
    video_path: str
    meta: VideoMeta
    labels: dict[str, str]
    """Label columns of this video (action, effect), empty when unlabelled."""
    vocab: dict[str, tuple[str, ...]]
    """All distinct values of each label column over the collection (distractors come from here)."""
    pool: tuple[int, ...]
    """Candidate frame indices for fragment items, spread over the clip, decoded once."""
    thumbs: npt.NDArray[np.int16]
    """(len(pool), 64, 64, 3) int16 RGB thumbnails of the pool frames, for change measurements."""
    speeds: tuple[float, ...]
    """Playback speeds that scene questions are asked at."""
    changes: npt.NDArray[np.float64] | None = field(default=None, repr=False, compare=False)
    """`change_matrix(thumbs)`, when the builder's worker measured it already (None: measured on first use)."""

    def change(self, a: int, b: int) -> float:
        """Percent of thumbnail pixels that visibly differ between pool frames at positions a and b.

        A pixel differs when one of its channels moves by more than CHANGED_LEVEL grey levels, far
        above compression noise. An area measure, unlike a mean difference, does not dilute a small
        moving object in a large static background.
        """
        if self.changes is None:  # the builder asks about the same pairs many times per video
            self.changes = change_matrix(self.thumbs)
        return float(self.changes[a, b])

    def min_consecutive_change(self, positions: list[int]) -> float:
        """The smallest change between chronologically adjacent frames among pool positions."""
        ordered = sorted(positions)
        return min(self.change(x, y) for x, y in pairwise(ordered))


def change_matrix(thumbs: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    """`VideoContext.change` for every pair of thumbnails at once: (n, n), symmetric, zero on the diagonal.

    One pass over the pairs in bulk instead of one small array operation per pair; the figures are
    the per-pair ones exactly (a count of moved pixels over their number, times 100).
    """
    n = len(thumbs)
    planes = np.ascontiguousarray(np.moveaxis(thumbs.reshape(n, -1, thumbs.shape[-1]), -1, 0))  # channel, frame, pixel
    changes: npt.NDArray[np.float64] = np.zeros((n, n))
    for a in range(n - 1):
        moved = np.zeros((n - a - 1, planes.shape[-1]), dtype=bool)
        for plane in planes:  # a pixel moved when any one channel did: one contiguous plane at a time is fastest
            moved |= np.abs(plane[a + 1 :] - plane[a]) > CHANGED_LEVEL
        changes[a, a + 1 :] = 100.0 * (np.count_nonzero(moved, axis=1) / moved.shape[1])
    symmetric: npt.NDArray[np.float64] = changes + changes.T
    return symmetric


@dataclass(frozen=True)
class Draft:
    """What a question type's `make` returns; the builder adds id, video and level."""

    prompt: str
    answer: Any
    options: tuple[str, ...] = ()
    frames: tuple[int, ...] | None = None
    speed: float = 1.0
    window: tuple[float, float] | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
