"""Two runs of one question set, compared question by question (with and without an adapter).

Each row is a paired difference (after - before) on the shared questions with a 95 % interval
clustered by video, beside both accuracies and the chance level: a gain counts when its interval
excludes zero, not when one accuracy merely reads higher than the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from finevidbench.protocol import get_type
from finevidbench.scoring.score import SampleResult
from finevidbench.scoring.stats import paired_difference


def _row(pairs: list[tuple[SampleResult, SampleResult]]) -> dict:
    before = [b.correct for b, _ in pairs]
    after = [a.correct for _, a in pairs]
    diff = paired_difference(after, before, [b.video for b, _ in pairs])
    return {
        "before": float(np.mean(before)),
        "after": float(np.mean(after)),
        "diff": diff.mean,
        "ci_low": diff.low,
        "ci_high": diff.high,
        "significant": diff.significant,
        "chance": float(np.mean([b.chance for b, _ in pairs])),
        "parse_fail_before": float(np.mean([b.parse_failed for b, _ in pairs])),
        "parse_fail_after": float(np.mean([a.parse_failed for _, a in pairs])),
        "n": len(pairs),
    }


def compare(before: Sequence[SampleResult], after: Sequence[SampleResult]) -> dict:
    """Overall, per-level and per-type paired differences of `after` over `before`."""
    by_id = {s.question_id: s for s in after}
    pairs = [(b, by_id[b.question_id]) for b in before if b.question_id in by_id]
    if not pairs:
        raise ValueError("the two runs share no question")

    def grouped(key: Callable[[SampleResult], str]) -> dict[str, dict]:
        groups: dict[str, list] = {}
        for pair in pairs:
            groups.setdefault(key(pair[0]), []).append(pair)
        return {name: _row(group) for name, group in groups.items()}

    return {"overall": _row(pairs), "by_level": grouped(lambda s: s.level), "by_type": grouped(lambda s: s.type)}


def format_comparison(comparison: dict) -> str:
    """One line per type, level and overall: before, after, the difference and its interval."""
    header = f"{'':<22}{'before':>8}{'after':>8}{'diff':>8}  {'95% CI of diff':<18}{'chance':>7}{'n':>6}"
    lines = [header, "-" * len(header)]

    def line(name: str, row: dict) -> str:
        ci = f"[{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
        mark = " *" if row["significant"] else ""
        return (f"{name:<22}{row['before']:>8.3f}{row['after']:>8.3f}{row['diff']:>+8.3f}  {ci:<18}"
                f"{row['chance']:>7.3f}{row['n']:>6}{mark}")  # fmt: skip

    for level in ("scene", "fragment"):
        for name, row in comparison["by_type"].items():
            if get_type(name).level == level:
                lines.append(line(f"  {name}", row))
        if level in comparison["by_level"]:
            lines.append(line(f"{level} level", comparison["by_level"][level]))
    lines += ["-" * len(header), line("overall", comparison["overall"]), "* the interval excludes zero"]
    return "\n".join(lines)
