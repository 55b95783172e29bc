"""The one record that crosses from the benchmark to a model: what it is shown and asked.

A `Request` holds the turns of a chat (text and visuals, in order), the generation settings, the
identity the answer store keys, and the benchmark question it asks (None for another task's
request). Every model reads only this: the Video-LLM adapters on either backend, the baselines,
the pixel oracle, the SF²T and SAVi trainers. lmms-eval's documents are turned into it once, at
the boundary (model_adapters/base.py), so no model parses a task name or reads a document.

Visuals come in four kinds, each shown one way:

- `Clip`: part of a video file at a playback speed; the run's frame policy chooses its frames
  (`sampling`: source indices, their positions in the shown clip, its length and rate);
- `LabelledFrames`: frames of a video file chosen by the question, shown one by one as
  "Frame 1", "Frame 2", ... (fragment items), with a pasted target painted on where it has one;
- `Image`: one image (a PIL image);
- `DecodedFrames`: frames a task decoded itself, shown as a clip at one frame a second.

A blind variant of a question is the same question with fewer visuals: none, one image, shuffled
images. A model answers it from what it is shown, with no branch of its own.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from finevidbench.protocol import FRAGMENT_FRAME_SECONDS, FRAGMENT_INTRO, Question
from finevidbench.video import FramePolicy, Sampling, VideoMeta, probe


@dataclass(frozen=True)
class Clip:
    """Part of a video file at a playback speed, sampled by the run's frame policy.

    `window` is the part shown in source seconds (a missing start: from the beginning, a missing end: to
    the end); None shows the clip the policy bounds. Without a policy (a model that reads no pixels) the
    clip has no sampling.
    """

    path: str
    speed: float = 1.0
    window: tuple[float | None, float | None] | None = None
    policy: FramePolicy | None = None

    @cached_property
    def sampling(self) -> Sampling:
        """The frames the policy takes: source indices, positions in the shown clip, its length and rate."""
        return self.sample(probe(self.path))

    def sample(self, meta: VideoMeta) -> Sampling:
        """`sampling` from the file's metadata as read elsewhere (an archive of decoded frames)."""
        if self.policy is None:
            raise ValueError(f"{self.path}: a clip of a run without a frame policy has no frames")
        window = None
        if self.window is not None:
            start, end = self.window
            window = (start or 0.0, meta.duration if end is None else end)
        return self.policy.for_scene(self.speed, window).sample(meta)

    @property
    def timestamps(self) -> tuple[float, ...]:
        """Seconds of each frame in the shown clip, as a model is told them (its position at the clip's rate)."""
        return self.sampling.told_timestamps


@dataclass(frozen=True)
class LabelledFrames:
    """Frames of a video file in the order shown, labelled "Frame 1", "Frame 2", ... (a fragment item)."""

    path: str
    indices: tuple[int, ...]
    overlay: Mapping[str, Any] | None = field(default=None, hash=False)
    """A pasted target painted on the frames (training-only Localization items)."""
    seconds_apart: float = FRAGMENT_FRAME_SECONDS
    """Where a model shows the frames as a clip: the seconds between two frames."""


@dataclass(frozen=True, eq=False)
class Image:
    """One image, shown as an image (an RGB PIL image)."""

    image: Any


@dataclass(frozen=True, eq=False)
class DecodedFrames:
    """Frames a task decoded itself, (frames, height, width, 3) uint8, shown as a clip at one frame a second."""

    frames: np.ndarray = field(repr=False)


Visual = Clip | LabelledFrames | Image | DecodedFrames
Content = str | Visual
"""One piece of a turn: text, or a visual."""


@dataclass(frozen=True)
class Turn:
    """One chat message: a role and its content in order."""

    role: str
    content: tuple[Content, ...]

    @property
    def visuals(self) -> tuple[Visual, ...]:
        """The visuals of the turn, in order."""
        return tuple(c for c in self.content if not isinstance(c, str))


@dataclass(frozen=True)
class Request:
    """One question to a model: the turns it is shown, its generation settings and its identity."""

    key: str
    """What the answer store keys besides the task: the question id, or a task's document id and content hash."""
    task: str
    turns: tuple[Turn, ...]
    generation: Mapping[str, Any] = field(default_factory=dict, hash=False)
    """The task's generation settings as lmms-eval gives them (max_new_tokens, until, temperature, ...)."""
    question: Question | None = None
    """The benchmark question asked (None: another task's request)."""

    @property
    def visuals(self) -> tuple[Visual, ...]:
        """Every visual of every turn, in order."""
        return tuple(v for turn in self.turns for v in turn.visuals)

    @property
    def text(self) -> str:
        """Every text of every turn, joined (a benchmark question's: its prompt as the model reads it)."""
        return "".join(c for turn in self.turns for c in turn.content if isinstance(c, str))

    @property
    def videos(self) -> tuple[str, ...]:
        """The video files this request reads, in order (without sampling anything)."""
        return tuple(v.path for v in self.visuals if isinstance(v, Clip | LabelledFrames))


def question_text(question: Question) -> str:
    """The prompt of a question as a model reads it: fragment prompts first say how the frames are labelled."""
    if question.level == "fragment":
        return f"{FRAGMENT_INTRO.format(count=len(question.frames or ()))}\n{question.prompt}"
    return question.prompt


def shown_visual(question: Question, video_path: str, policy: FramePolicy | None) -> Visual:
    """What a question shows, as the benchmark shows it: its clip (speed, window) or its labelled frames."""
    if question.level == "fragment":
        overlay = question.evidence.get("overlay")
        return LabelledFrames(video_path, tuple(question.frames or ()), overlay)
    return Clip(video_path, question.speed, question.window, policy)


def benchmark_request(
    question: Question,
    video_path: str,
    policy: FramePolicy | None,
    task: str = "finevidbench",
    generation: Mapping[str, Any] | None = None,
    prompt: str | None = None,
) -> Request:
    """A question as the benchmark shows it (its video at `video_path`), then its text (or `prompt`), in one turn."""
    text = question_text(question) if prompt is None else prompt
    turn = Turn("user", (shown_visual(question, video_path, policy), text))
    return Request(question.id, task, (turn,), dict(generation or {}), question)


def content_digest(turns: Sequence[Turn]) -> str:
    """A short hash of what a request shows and asks: its texts, and each visual's bytes or file.

    A video is identified by its path, size and time span (the frames are the run's policy's, which
    the answer key holds apart); an image or a set of frames by its pixels.
    """
    hasher = hashlib.sha256()
    for turn in turns:
        hasher.update(f"<{turn.role}>".encode())
        for piece in turn.content:
            hasher.update(_identity(piece))
    return hasher.hexdigest()[:16]


def _identity(piece: Content) -> bytes:
    if isinstance(piece, str):
        return b"T" + piece.encode()
    if isinstance(piece, Clip):
        size = os.path.getsize(piece.path) if os.path.exists(piece.path) else -1
        start, end = piece.window or (None, None)
        return f"V{piece.path}|{size}|{start}|{end}".encode()
    if isinstance(piece, LabelledFrames):
        return f"L{piece.path}|{piece.indices}|{sorted((piece.overlay or {}).items())}".encode()
    if isinstance(piece, Image):
        pixels: bytes = piece.image.tobytes()
        return f"I{piece.image.size}".encode() + pixels
    return f"F{piece.frames.shape}".encode() + np.ascontiguousarray(piece.frames).tobytes()
