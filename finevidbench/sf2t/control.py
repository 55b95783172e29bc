"""The control arm: the same training items, prompts and answers, shown frames that say nothing about the answer.

Fine-tuning teaches a model two things at once: the answer format (and whatever the prompt text
gives away) and, one hopes, something it sees in the frames. Against the untrained base the two
cannot be told apart, because a model that could not answer in the expected form gains from the
format alone. A control adapter trained on the same items with the same recipe, but with each
item's visual input replaced by frames of another video, can learn the format and the text and
nothing visual; `adapter - control` is what the frames taught.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from finevidbench.dataset import QuestionSet
from finevidbench.protocol import Question
from finevidbench.training.examples import Example, PreferenceExample


@dataclass(frozen=True)
class ControlVideo:
    """A training video a control item may show instead of its own."""

    path: str
    frame_count: int | None = None
    """Frames in the video (from the training set's manifest); None where only whole clips are shown."""


def video_catalogue(training_set: QuestionSet | None = None, files: Iterable[Path] = ()) -> dict[str, ControlVideo]:
    """The videos control items draw from, by video id (the file stem, as the builder names videos).

    The training set's manifest gives paths and frame counts; `files` add whole-clip videos that no
    built set holds (self-alignment's own questions are asked about the raw training videos).
    """
    videos = {Path(f).stem: ControlVideo(str(Path(f).resolve())) for f in files}
    if training_set is not None:
        for video, record in training_set.manifest["videos"].items():
            videos[video] = ControlVideo(str(training_set.root / record["path"]), int(record["frame_count"]))
    return dict(sorted(videos.items()))


def _seed(question_id: str) -> int:
    """A seed of the question id alone: the same control item in every run, on every machine."""
    return int.from_bytes(hashlib.sha256(f"finevidbench-control:{question_id}".encode()).digest()[:8], "little")


def uninformative_question(question: Question, videos: Mapping[str, ControlVideo]) -> Question:
    """`question` with its visual input replaced by one that carries no information about its answer.

    Why: the control adapter must be able to learn everything the treatment learns from the text
    (prompt, answer format, answer priors) and nothing from the frames. So the video becomes
    another training video, chosen at random (seeded by the question id, so the draw is stable
    across runs), and a fragment item's frames become as many indices drawn at random from that
    video, independently of the item's own frames: repeated frames ("same moment" pairs), their
    count or their order, which encode the answer, are not reproduced (distinct frames where the
    video has enough, in drawn order). A pasted target (`overlay`, which shows a Localization
    answer) is dropped, and a scene item shows the other video whole (`window` is a span of its own
    clip). The prompt, options, answer and every other field stay as they are.

    Raises ValueError when no other video exists, or a fragment item's replacement has no frame count.
    """
    own = question.video
    others = [v for v in sorted(videos) if v != own and videos[v].path != question.video_path]
    if not others:
        raise ValueError(f"control item {question.id}: no training video other than its own ({own})")
    rng = np.random.default_rng(_seed(question.id))
    video = others[int(rng.integers(len(others)))]
    evidence = {k: v for k, v in question.evidence.items() if k != "overlay"}
    new = replace(question, video=video, video_path=videos[video].path, window=None, evidence=evidence)
    if question.level == "fragment":
        count = videos[video].frame_count
        if not count:
            raise ValueError(f"control item {question.id}: the frame count of {video} is unknown")
        k = len(question.frames or ())
        new = replace(new, frames=tuple(int(i) for i in rng.choice(count, size=k, replace=k > count)))
    return new


Shown = TypeVar("Shown", Example, PreferenceExample)


def control_examples(examples: Sequence[Shown], videos: Mapping[str, ControlVideo]) -> list[Shown]:
    """Training examples (SFT or preference) with every question replaced by `uninformative_question`'s."""
    return [replace(example, question=uninformative_question(example.question, videos)) for example in examples]


def control_hash(source_hash: str, examples: Sequence[Example | PreferenceExample]) -> str:
    """Identity of a control training set: what it was made from and what each item shows.

    By video id and frame indices, not paths, so a moved run folder still resumes.
    """
    shown = [(e.question.id, e.question.video, list(e.question.frames or ())) for e in examples]
    return hashlib.sha256(json.dumps([source_hash, shown]).encode()).hexdigest()
