"""From raw model outputs to scores: one sample at a time, then every breakdown.

`score_sample` parses a raw response with the one extractor (through the item's answer type) and
scores it with the question type's own scorer. `aggregate` pools samples into overall, per level,
per type, per speed and per (type, speed) accuracies, each with a 95 % interval clustered by
video, the parse-failure rate and the chance level, plus speed consistency and Kendall-tau partial
credit. Pooling is always micro (over samples) and clustering always by video; both are written
into the results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from finevidbench.protocol import Question, get_type
from finevidbench.scoring.stats import clustered_interval


@dataclass(frozen=True)
class SampleResult:
    """One scored answer, as written to samples.jsonl."""

    question_id: str
    video: str
    type: str
    level: str
    speed: float
    response: str
    """The raw model output, untouched."""
    parsed: Any
    """What the extractor read from it; None when nothing could be parsed."""
    answer: Any
    """The gold answer."""
    correct: float
    """1.0 or 0.0 (exact match)."""
    partial_credit: float | None
    """Kendall-tau credit in [0, 1] for rearrangement, None for other types."""
    chance: float
    frames: tuple[int, ...] | None
    """Fragment items: the frame indices shown; scene items: None (see the run's frame policy)."""

    @property
    def parse_failed(self) -> bool:
        """True when the extractor could not read an answer."""
        return self.parsed is None

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> SampleResult:
        """A sample from its samples.jsonl record (or the dict lmms-eval logged for it)."""
        fields = {k: v for k, v in record.items() if k != "parse_failed"}
        if isinstance(fields.get("parsed"), list):
            fields["parsed"] = tuple(fields["parsed"])
        fields["frames"] = tuple(fields["frames"]) if fields.get("frames") is not None else None
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """The samples.jsonl record."""
        record = asdict(self)
        record["parsed"] = list(self.parsed) if isinstance(self.parsed, tuple) else self.parsed
        record["frames"] = list(self.frames) if self.frames is not None else None
        record["parse_failed"] = self.parse_failed
        return record


def score_sample(question: Question, response: str) -> SampleResult:
    """Parse and score one raw response to one question."""
    qtype = get_type(question.type)
    parsed = qtype.answers.parse(response or "", qtype.space_of(question))
    partial = qtype.answers.partial_credit(parsed, question.answer)
    return SampleResult(
        question_id=question.id,
        video=question.video,
        type=question.type,
        level=question.level,
        speed=question.speed,
        response=response,
        parsed=parsed,
        answer=question.answer,
        correct=qtype.score(question, parsed),
        partial_credit=partial,
        chance=qtype.chance(question),
        frames=question.frames,
    )


def summarize(samples: Sequence[SampleResult]) -> dict[str, float]:
    """{acc, ci_low, ci_high, n, n_videos, parse_fail_rate, chance} of a group of samples."""
    interval = clustered_interval([s.correct for s in samples], [s.video for s in samples])
    return {
        "acc": round(interval.mean, 6),
        "ci_low": round(interval.low, 6),
        "ci_high": round(interval.high, 6),
        "n": interval.n,
        "n_videos": interval.n_clusters,
        "parse_fail_rate": round(sum(s.parse_failed for s in samples) / len(samples), 6),
        "chance": round(sum(s.chance for s in samples) / len(samples), 6),
    }


def _grouped(samples: Iterable[SampleResult], key: Callable[[SampleResult], str]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[SampleResult]] = defaultdict(list)
    for sample in samples:
        groups[key(sample)].append(sample)
    return {name: summarize(group) for name, group in sorted(groups.items())}


def speed_consistency(samples: Sequence[SampleResult]) -> dict[str, dict[str, float]]:
    """Per scene type asked at several speeds: share of videos answered right at every speed."""
    out: dict[str, dict[str, float]] = {}
    by_type: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in samples:
        if s.level == "scene" and s.type != "speed":
            by_type[s.type][s.video].append(s.correct)
    for name, videos in sorted(by_type.items()):
        flags = [float(all(c == 1.0 for c in scores)) for scores in videos.values() if len(scores) > 1]
        if flags:
            interval = clustered_interval(flags, list(range(len(flags))))
            out[name] = {
                "acc": round(interval.mean, 6),
                "ci_low": round(interval.low, 6),
                "ci_high": round(interval.high, 6),
                "n": interval.n,
            }
    return out


def partial_credit(samples: Sequence[SampleResult]) -> dict[str, dict[str, float]]:
    """Kendall-tau partial credit of permutation types (chance 0.5)."""
    out: dict[str, dict[str, float]] = {}
    for name in sorted({s.type for s in samples if s.partial_credit is not None}):
        # a type's answers give every sample a credit, or none (AnswerType.partial_credit)
        credited = [(s.partial_credit, s.video) for s in samples if s.type == name and s.partial_credit is not None]
        interval = clustered_interval([credit for credit, _ in credited], [video for _, video in credited])
        out[name] = {
            "credit": round(interval.mean, 6),
            "ci_low": round(interval.low, 6),
            "ci_high": round(interval.high, 6),
            "n": interval.n,
            "chance": 0.5,
        }
    return out


def aggregate(samples: Sequence[SampleResult]) -> dict[str, Any]:
    """Every breakdown of a run; the `scores` block of results.json."""
    if not samples:
        raise ValueError("no samples to score")
    return {
        "pooling": "sample",
        "cluster": "video",
        "confidence": 0.95,
        "overall": summarize(samples),
        "by_level": _grouped(samples, lambda s: s.level),
        "by_type": _grouped(samples, lambda s: s.type),
        "by_speed": _grouped([s for s in samples if s.level == "scene"], lambda s: f"{s.speed:g}x"),
        "by_type_speed": _grouped([s for s in samples if s.level == "scene"], lambda s: f"{s.type}@{s.speed:g}x"),
        "speed_consistency": speed_consistency(samples),
        "partial_credit": partial_credit(samples),
    }


def format_table(scores: dict[str, Any]) -> str:
    """A readable table: one row per type, level and the overall score, chance beside each."""
    header = f"{'':<22}{'acc':>7}  {'95% CI':<15}{'chance':>7}{'n':>7}{'parse fail':>12}"
    lines = [header, "-" * len(header)]

    def row(name: str, entry: dict[str, Any]) -> str:
        ci = f"[{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]"
        return (
            f"{name:<22}{entry['acc']:>7.3f}  {ci:<15}{entry['chance']:>7.3f}{entry['n']:>7}"
            f"{entry['parse_fail_rate']:>12.1%}"
        )

    for level in ("scene", "fragment"):
        types = {name: e for name, e in scores["by_type"].items() if get_type(name).level == level}
        for name, entry in types.items():
            lines.append(row(f"  {name}", entry))
        if level in scores["by_level"]:
            lines.append(row(f"{level} level", scores["by_level"][level]))
    lines.append("-" * len(header))
    lines.append(row("overall", scores["overall"]))
    for name, entry in scores["speed_consistency"].items():
        lines.append(f"speed-consistent {name}: {entry['acc']:.3f} of {entry['n']} videos")
    for name, entry in scores["partial_credit"].items():
        lines.append(f"{name} Kendall partial credit: {entry['credit']:.3f} (chance 0.500)")
    return "\n".join(lines)
