"""The pixel oracle over a question set: per type, how many items the shown frames decide.

`shown_items` decodes what a model is shown of each item under a frame policy (scene items through
`FramePolicy.for_scene`, fragment items at their indices, each video decoded once), resized by a
`FrameSize`; `run_oracle` measures, decides and scores them with video-clustered intervals, and
compares each self-supervised type with its floor (`QuestionType.oracle_floor`): a type whose whole
interval lies below its floor has too many items its frames cannot decide (`validate --oracle`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from finevidbench.dataset import QuestionSet
from finevidbench.oracle.decide import SEMANTIC_TYPES, Measurement, Shown, decide, measure
from finevidbench.oracle.size import DEFAULT_SIZE, FrameSize
from finevidbench.protocol import DEFAULT_SCENE_POLICY, FRAGMENT_FRAME_SECONDS, QUESTION_TYPES, Question, types_by_level
from finevidbench.request import question_text
from finevidbench.scoring.score import score_sample
from finevidbench.scoring.stats import clustered_interval
from finevidbench.video import FramePolicy, load_frames, probe

CONFIDENCE = 0.95
OUTSIDE_REACH = "outside the oracle's reach (semantics)"


def shown_items(qs: QuestionSet, policy: str = DEFAULT_SCENE_POLICY, size: str = DEFAULT_SIZE) -> Iterator[Shown]:
    """Every question of `qs` as a model is shown it under `policy` at `size` (semantic types: no frames)."""
    frame_policy, frame_size = FramePolicy.parse(policy), FrameSize.parse(size)
    by_video: dict[str, list[Question]] = defaultdict(list)
    for q in qs.questions:
        by_video[q.video].append(q)
    for video in sorted(by_video):
        questions = by_video[video]
        path = str(qs.video_path(questions[0]))
        wanted: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {}
        for q in questions:
            if q.type in SEMANTIC_TYPES:
                continue
            if q.frames is not None:
                wanted[q.id] = (q.frames, tuple(i * FRAGMENT_FRAME_SECONDS for i in range(len(q.frames))))
            else:
                sampling = frame_policy.for_scene(q.speed, q.window).sample(probe(path))
                wanted[q.id] = (sampling.indices, sampling.told_timestamps)
        union = tuple(sorted({i for indices, _ in wanted.values() for i in indices}))
        decoded = np.asarray(load_frames(path, union)) if union else np.zeros((0, 1, 1, 3), np.uint8)
        row = {index: position for position, index in enumerate(union)}
        for q in questions:
            indices, timestamps = wanted.get(q.id, ((), ()))
            frames = frame_size.fit(decoded[[row[i] for i in indices]], q.level) if indices else decoded[:0]
            yield Shown(q.id, q.video, q.type, frames, timestamps, question_text(q), tuple(q.options))


@dataclass(frozen=True)
class OracleFinding:
    """The oracle's accuracy on one type: the share of its items the shown pixels decide."""

    type: str
    acc: float
    ci_low: float
    ci_high: float
    chance: float
    n: int
    floor: float | None
    """The protocol's floor for this type (None: outside the oracle's reach)."""

    @property
    def below_floor(self) -> bool:
        """True when the whole interval lies below the floor: too many items the frames cannot decide."""
        return self.floor is not None and self.ci_high < self.floor

    def verdict(self) -> str:
        """Decided by the pixels, below its floor, undetermined (too few items to tell), or out of reach."""
        if self.floor is None:
            return OUTSIDE_REACH
        if self.below_floor:
            return f"BELOW FLOOR {self.floor:.2f}: the shown frames leave too many items undecided"
        if self.acc < self.floor:  # the interval reaches the floor only because the sample is small
            return f"under its floor {self.floor:.2f}, within the interval: too few items to tell"
        return f"decided by the shown pixels (floor {self.floor:.2f})"

    def line(self) -> str:
        """One line: type, accuracy with its interval, chance and the verdict."""
        return (
            f"{self.type}: {self.acc:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}] against chance "
            f"{self.chance:.3f} (n={self.n}): {self.verdict()}"
        )


def oracle_responses(qs: QuestionSet, policy: str = DEFAULT_SCENE_POLICY, size: str = DEFAULT_SIZE) -> dict[str, str]:
    """Question id -> the oracle's response for every question of `qs`."""
    measurements: list[Measurement] = [measure(shown) for shown in shown_items(qs, policy, size)]
    return decide(measurements, qs.questions)


def score_oracle(qs: QuestionSet, responses: dict[str, str]) -> list[OracleFinding]:
    """Per benchmark type, the responses' accuracy with a video-clustered interval and the type's floor."""
    samples = defaultdict(list)
    for q in qs.questions:
        if q.type in QUESTION_TYPES:
            samples[q.type].append(score_sample(q, responses[q.id]))
    findings = []
    for qtype in [t for level in ("scene", "fragment") for t in types_by_level(level) if t.name in samples]:
        name, group = qtype.name, samples[qtype.name]
        interval = clustered_interval([s.correct for s in group], [s.video for s in group], CONFIDENCE)
        chance = sum(s.chance for s in group) / len(group)
        findings.append(
            OracleFinding(
                name,
                round(interval.mean, 6),
                round(interval.low, 6),
                round(interval.high, 6),
                round(chance, 6),
                interval.n,
                qtype.oracle_floor,
            )
        )
    return findings


def run_oracle(qs: QuestionSet, policy: str = DEFAULT_SCENE_POLICY, size: str = DEFAULT_SIZE) -> list[OracleFinding]:
    """The oracle on every benchmark type of `qs`, frames sampled by `policy` and sized by `size`."""
    return score_oracle(qs, oracle_responses(qs, policy, size))


def format_oracle(findings: Sequence[OracleFinding], policy: str, size: str) -> str:
    """One line per type, then the types below their floors."""
    lines = [f"pixel oracle (frames by {policy}, sized {size}; {CONFIDENCE:.0%} intervals clustered by video):"]
    lines += [f"  {f.line()}" for f in findings]
    below = [f for f in findings if f.below_floor]
    if below:
        lines.append(f"\n{len(below)} type(s) below the oracle floor: the shown frames do not decide enough items")
        lines += [f"  - {f.type}: {f.acc:.3f} (interval high {f.ci_high:.3f}) < floor {f.floor:.2f}" for f in below]
    else:
        lines.append("\nno self-supervised type's interval lies below its floor")
    return "\n".join(lines)
