"""The positive control: items whose answer is planted in the pixels, in a form even a tiny model can learn.

A null (adapter - control near zero) cannot by itself tell "the frames teach nothing at this
scale" from "the frames never reached the model". The positive control answers that: the same
recipe is trained, against its own control, on frame-comparison items whose gold answer has been
re-coded into the frames' global brightness (a bright video: "yes", a dark one: "no"), and both
are evaluated on items of videos neither saw. A pipeline that carries pixels from the video file
through decoding, the processor, training and the adapter's evaluation must then show a clear
adapter - control gain; one that loses the frames anywhere cannot.

The planted sets are question sets like any other (the builder's writer, real re-encoded videos),
so they are evaluated by `make eval`'s own path. Nothing about the planted answer is in the
prompt, the options, the frame indices or the number of inputs: only in the pixels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from finevidbench.builder import BuildConfig, write_question_set
from finevidbench.dataset import QuestionSet, load_question_set
from finevidbench.files import FileFormatError, read_json_object, sha256_file
from finevidbench.protocol import Question
from finevidbench.video import decode_frames, probe, write_video

PLANTED_TYPE = "frame_comparison"
"""A yes/no type: the planted code is one bit, and a model's answer to it is one token."""
CODE = {"yes": "bright", "no": "dark"}
"""The planted answer as the frames show it: every pixel of a bright video above every pixel of a dark one."""
HELD_OUT_EVERY = 3
"""Every third video (in a seeded order) is held out for evaluation; the rest train."""
ITEMS_PER_VIDEO = 2
"""Items kept of each video (its first, by id). All of a video's items carry one answer, so the
interval counts videos: more items per video would cost training and evaluation time, not power."""
LEVELS = {"bright": [160, 255], "dark": [0, 95]}
"""The pixel values each code's frames are squeezed into (`recode`)."""


@dataclass(frozen=True)
class PlantedSets:
    """The positive control's training and held-out question sets (folders `finevidbench` loads)."""

    train: Path
    held_out: Path

    def load(self) -> tuple[QuestionSet, QuestionSet]:
        """Both sets, checked as any question set is (videos hashed against their manifest)."""
        return load_question_set(self.train), load_question_set(self.held_out)


def recode(frames: np.ndarray, answer: str) -> np.ndarray:
    """`frames` squeezed into the top (bright, "yes") or the bottom (dark, "no") 96 levels of 256.

    The contrast is kept at 3/8, so the items are still about their own frames; the 64 levels
    between the two ranges keep the code apart through chroma subsampling and compression, and
    through any resizing or normalisation that keeps order.
    """
    low, high = LEVELS[CODE[answer]]
    squeezed = frames.astype(np.uint16) * (high - low + 1) // 256 + low
    return squeezed.astype(np.uint8)


def plant(training_set: QuestionSet, out: str | Path, seed: int = 0) -> PlantedSets:
    """Write the planted training and held-out sets of `training_set`'s frame-comparison items under `out`.

    Each video gets one planted answer, balanced within each split (half "yes", half "no", in a
    seeded order), so that no split can be answered from a prior; every item of a video carries
    its video's answer, whatever its frames show. Reuses sets already written from the same source.
    Raises ValueError when the training set has too few frame-comparison videos for two balanced splits.
    """
    out = Path(out)
    sets = PlantedSets(out / "train", out / "held_out")
    planted = {
        "source_dataset_hash": training_set.dataset_hash,
        "seed": seed,
        "type": PLANTED_TYPE,
        "code": CODE,
        "levels": LEVELS,
        "items_per_video": ITEMS_PER_VIDEO,
    }
    if all(_planted_with(folder) == planted for folder in (sets.train, sets.held_out)):
        return sets
    items: dict[str, list[Question]] = {}
    for q in sorted(training_set.questions, key=lambda q: q.id):
        if q.type == PLANTED_TYPE and len(items.setdefault(q.video, [])) < ITEMS_PER_VIDEO:
            items[q.video].append(q)
    order = [str(v) for v in np.random.default_rng(seed).permutation(sorted(items))]
    splits = {
        sets.held_out: order[::HELD_OUT_EVERY],
        sets.train: [v for i, v in enumerate(order) if i % HELD_OUT_EVERY],
    }
    if min(len(videos) for videos in splits.values()) < 2:  # each split needs a "yes" video and a "no" one
        raise ValueError(
            f"the positive control needs at least 4 videos with {PLANTED_TYPE} items in the training "
            f"set ({training_set.root}), found {len(order)} (fix: more training videos, or a recipe "
            "whose tasks include consistency_verification)"
        )
    for folder, videos in splits.items():
        answers = {video: ("yes", "no")[i % 2] for i, video in enumerate(videos)}
        _write_split(training_set, folder, {v: items[v] for v in sorted(videos)}, answers, planted)
    return sets


def _write_split(
    training_set: QuestionSet,
    folder: Path,
    items: dict[str, list[Question]],
    answers: dict[str, str],
    planted: dict[str, Any],
) -> None:
    """Re-encode each video with its planted answer and write the items as a question set."""
    videos, questions = {}, []
    for video, own in items.items():
        src = training_set.root / training_set.manifest["videos"][video]["path"]
        meta = probe(src)
        frames = decode_frames(src, range(meta.frame_count), meta=meta)
        name = f"videos/{video}.mp4"  # h264 in mp4, whatever the source's container
        path = write_video(folder / name, recode(frames, answers[video]), meta.fps)
        record = training_set.manifest["videos"][video]
        videos[video] = {**record, "path": name, "sha256": sha256_file(path)}
        questions += [
            dataclasses.replace(q, video_path=name, answer=answers[video], evidence={"planted": CODE[answers[video]]})
            for q in own
        ]
    write_question_set(folder, questions, videos, BuildConfig(seed=planted["seed"]), {}, extra={"planted": planted})


def _planted_with(folder: Path) -> dict[str, Any] | None:
    """The `planted` record of a set already written in `folder` (None when there is none)."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        planted = read_json_object(manifest, "manifest").get("planted")
    except FileFormatError:  # a torn or foreign file: written again
        return None
    return planted if isinstance(planted, dict) else None
