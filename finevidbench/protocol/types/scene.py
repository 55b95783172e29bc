"""Scene-level types: the whole clip, sampled by the run's frame policy at a playback speed."""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from finevidbench.protocol.choices import humanize, place_options
from finevidbench.protocol.records import Draft, Question, VideoContext
from finevidbench.protocol.registry import LETTERS, QuestionType, question_type

SPEED_OPTIONS = ("normal speed", "slowed down", "sped up")


def speed_class(speed: float) -> str:
    """The answer a speed factor calls for."""
    if speed == 1.0:
        return SPEED_OPTIONS[0]
    return SPEED_OPTIONS[1] if speed < 1.0 else SPEED_OPTIONS[2]


def letter_of(question: Question, text: str) -> str | None:
    """The letter under which `text` is offered, or None."""
    return LETTERS[question.options.index(text)] if text in question.options else None


class _LabelChoice(QuestionType):
    """A 4-option question about a label, asked once at each playback speed."""

    level = "scene"
    answer_type = "choice"
    needs_label: ClassVar[str]
    """Every label choice asks about one label column (each subclass names it)."""
    min_frames = 2
    """An action is a change, and one frame shows none."""

    def slots(self, ctx: VideoContext) -> int:
        if not ctx.labels.get(self.needs_label) or len(ctx.vocab.get(self.needs_label, ())) < 4:
            return 0
        return len(ctx.speeds)

    def targets(self, ctx: VideoContext) -> range:
        return range(self.params["options"])

    def expected_answer(self, question: Question, labels: dict[str, str]) -> str | None:
        return letter_of(question, humanize(labels[self.needs_label]))

    def make(self, ctx: VideoContext, slot: int, target: Any, rng: np.random.Generator) -> Draft:
        correct = ctx.labels[self.needs_label]
        pool = [v for v in ctx.vocab[self.needs_label] if v != correct]
        # Drawn once per video: redrawn at each speed, the one option offered every time is the answer.
        seed = int.from_bytes(hashlib.sha256(f"{self.name}:{ctx.video}".encode()).digest()[:8], "little")
        chosen = np.random.default_rng(seed).choice(len(pool), self.params["options"] - 1, replace=False)
        distractors = [pool[i] for i in chosen]
        options, letter = place_options(humanize(correct), [humanize(d) for d in distractors], target, rng)
        return Draft(
            prompt=self.full_prompt(self.template, options),
            options=options,
            answer=letter,
            speed=ctx.speeds[slot],
        )


@question_type
class Action(_LabelChoice):
    """Which action the clip shows."""

    name = "action"
    needs_label = "action"
    template = "Which action happens in the video?"
    display_name = "Action"
    description = "Recognise the action in the clip (4 options), at each playback speed."
    params = {"options": 4, "distractors": "once per video"}


@question_type
class Effect(_LabelChoice):
    """What the action results in."""

    name = "effect"
    needs_label = "effect"
    template = "What is the result of the action in the video?"
    display_name = "Effect"
    description = "Name the result of the action (4 options), at each playback speed."
    params = {"options": 4, "distractors": "once per video"}


@functools.lru_cache(maxsize=4096)
def _speed_windows(coverage: float, frame_count: int, speeds: tuple[float, ...]) -> tuple[tuple[float, int], ...]:
    """`Speed._windows`, remembered: the builder asks it for every slot and check (Fractions are slow)."""
    slowest, fastest = min(speeds), max(speeds)
    ratios = [Fraction(s / slowest).limit_denominator(100) for s in speeds]
    step = _common_multiple(ratios)
    base = math.floor(coverage * frame_count * slowest / fastest / step) * step
    return tuple((s, int(base * r)) for s, r in zip(speeds, ratios, strict=True))


def _common_multiple(ratios: list[Fraction]) -> int:
    """The smallest window (in source frames, at the slowest speed) whose scaled copies are whole frames."""
    return math.lcm(*(r.denominator for r in ratios))


@question_type
class Speed(QuestionType):
    """Whether the clip plays at normal speed, slowed down or sped up (no label needed).

    Every speed of one video shows a window of the clip lasting the same number of seconds once
    played: twice as many source seconds at 2x, half as many at 0.5x. Duration, frame count and
    timestamps are then the same at every speed, and only the motion per shown second tells the
    speeds apart. Window starts are drawn at random, so neither end of the clip marks a speed.
    """

    name = "speed"
    level = "scene"
    answer_type = "choice"
    template = "Is the video played at normal speed, slowed down, or sped up?"
    display_name = "Speed"
    description = "Tell normal, slowed-down and sped-up playback apart (3 options, same shown length at every speed)."
    oracle_floor = 0.5
    params = {"options": 3, "coverage": 0.9, "min_shown_seconds": 1.0, "window": "same shown length at every speed"}

    min_frames = 2
    """Source frames in the slowest speed's window, at least: motion shows between two frames."""

    def _windows(self, frame_count: int, speeds: Sequence[float]) -> dict[float, int]:
        """Source frames in each speed's window: the fastest covers `coverage` of the clip, all are whole frames."""
        return dict(_speed_windows(self.params["coverage"], frame_count, tuple(speeds)))

    def frames_needed(self, speeds: Sequence[float]) -> int:
        """The shortest clip whose slowest window holds `min_frames` (9 frames at speeds 0.5, 1 and 2)."""
        return next(n for n in itertools.count(1) if min(self._windows(n, speeds).values()) >= self.min_frames)

    def window_frames(self, ctx: VideoContext) -> dict[float, int] | None:
        """Each speed's window in source frames, or None when the clip is too short in frames or in seconds."""
        if self.too_short(ctx):
            return None
        windows = self._windows(ctx.meta.frame_count, ctx.speeds)
        if windows[min(ctx.speeds)] / ctx.meta.fps / min(ctx.speeds) < self.params["min_shown_seconds"]:
            return None
        return windows

    def slots(self, ctx: VideoContext) -> int:
        return len(ctx.speeds) if self.window_frames(ctx) else 0

    def targets(self, ctx: VideoContext) -> range:
        return range(self.params["options"])

    def expected_answer(self, question: Question, labels: dict[str, str]) -> str | None:
        return letter_of(question, speed_class(question.speed))

    def make(self, ctx: VideoContext, slot: int, target: Any, rng: np.random.Generator) -> Draft:
        speed = ctx.speeds[slot]
        correct = speed_class(speed)
        distractors = [o for o in SPEED_OPTIONS if o != correct]
        options, letter = place_options(correct, distractors, target, rng)
        windows = self.window_frames(ctx)
        if windows is None:  # slots() offers no slot for such a clip
            raise ValueError(f"{ctx.video}: too short for {self.name}")
        length = windows[speed]
        first = int(rng.integers(ctx.meta.frame_count - length + 1))
        fps = ctx.meta.fps
        return Draft(
            prompt=self.full_prompt(self.template, options),
            options=options,
            answer=letter,
            speed=speed,
            window=(first / fps, (first + length) / fps),
            evidence={"shown_seconds": round(length / fps / speed, 6)},
        )
