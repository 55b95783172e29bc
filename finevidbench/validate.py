"""Validity checks of a built question set (the rules of docs/protocol.md, "Validity").

`validate` recomputes every answer from how its item was built, checks that answers are
balanced, that order questions sit on frames whose change is visible, that nothing is duplicated,
and that the manifest agrees with the questions. It reads no video: the checks use the records and
the builder's measured evidence, so it runs in a second on the full set.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from finevidbench.builder import answer_label
from finevidbench.dataset import QuestionSet
from finevidbench.protocol import QUESTION_TYPES, TRAINING_TYPES, Question, QuestionType, protocol_version


@dataclass
class Report:
    """What `validate` found: violations (each one line) and the answer distributions."""

    violations: list[str] = field(default_factory=list)
    distributions: dict[str, Counter[str]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        """True when no rule is violated."""
        return not self.violations


def balance_tolerance(expected: float) -> float:
    """Allowed distance of a count from its uniform expectation: 2 items or 10 %, whichever is larger."""
    return max(2.0, 0.1 * expected)


def _expected_values(qtype: QuestionType, questions: Sequence[Question]) -> list[str]:
    """Every answer the type's items can have, as balance tables count them (its first item's space)."""
    answers = qtype.answers
    return [answers.label(value) for value in answers.values(qtype.space_of(questions[0]))]


def _check_balance(name: str, values: list[str], counts: Counter[str], report: Report) -> None:
    total = sum(counts.values())
    expected = total / len(values)
    for value in values:
        if abs(counts.get(value, 0) - expected) > balance_tolerance(expected):
            report.violations.append(
                f"unbalanced {name}: {value!r} appears {counts.get(value, 0)} times, expected {expected:.1f}"
            )


def _check_items(qs: QuestionSet, report: Report) -> None:
    seen_ids: set[str] = set()
    seen_content: set[tuple[str, str, float, tuple[float, float] | None, tuple[int, ...] | None, str | None]] = set()
    for q in qs.questions:
        qtype = (QUESTION_TYPES | TRAINING_TYPES).get(q.type)
        if qtype is None:
            report.violations.append(f"{q.id}: unknown question type {q.type!r}")
            continue
        video = qs.manifest["videos"].get(q.video)
        if video is None:
            report.violations.append(f"{q.id}: video {q.video!r} is not in the manifest")
            continue
        if q.id in seen_ids:
            report.violations.append(f"{q.id}: duplicate id")
        seen_ids.add(q.id)
        content = (q.video, q.type, q.speed, q.window, q.frames, q.prompt if q.frames is None else None)
        if content in seen_content:
            report.violations.append(f"{q.id}: duplicates another item of the same video")
        seen_content.add(content)
        if q.frames is not None and not all(0 <= f < video["frame_count"] for f in q.frames):
            report.violations.append(f"{q.id}: frame index outside the video's {video['frame_count']} frames")
        if qtype.expected_answer(q, video["labels"]) != q.answer:
            report.violations.append(f"{q.id}: stored answer {q.answer!r} is not what the item's construction gives")
        _check_window(q, video, report)
        threshold = qtype.params.get("min_change")
        measured = q.evidence.get("min_change", q.evidence.get("change"))
        if threshold is not None and measured is not None and measured < threshold:
            report.violations.append(f"{q.id}: frames change too little to show the answer ({measured} < {threshold})")
        if threshold is not None and measured is None and not q.evidence.get("same_frame"):
            report.violations.append(f"{q.id}: order question without measured inter-frame change")


def _check_window(q: Question, video: dict[str, Any], report: Report) -> None:
    """A scene window lies inside its clip and lasts, once played, the seconds its evidence states."""
    if q.window is None:
        return
    start, end = q.window
    duration = video["frame_count"] / video["fps"]
    if not 0 <= start < end <= duration + 1e-6:
        report.violations.append(f"{q.id}: window {start:g}-{end:g} s lies outside the {duration:g} s clip")
    stated = q.evidence.get("shown_seconds")
    if stated is None or abs((end - start) / q.speed - stated) > 1e-5:
        report.violations.append(f"{q.id}: window {start:g}-{end:g} s at {q.speed:g}x does not last {stated} s")


def _check_shown_lengths(qs: QuestionSet, report: Report) -> None:
    """Windowed items of one video and type last equally long at every speed: the length gives nothing away."""
    lengths: dict[tuple[str, str], set[float]] = defaultdict(set)
    for q in qs.questions:
        if q.window is not None:
            lengths[q.video, q.type].add(round((q.window[1] - q.window[0]) / q.speed, 5))
    for (video, type_name), seen in sorted(lengths.items()):
        if len(seen) > 1:
            report.violations.append(
                f"{type_name} items of {video} last {sorted(seen)} s: the shown length differs between speeds"
            )


def _check_manifest(qs: QuestionSet, report: Report) -> None:
    text = "".join(q.to_json() + "\n" for q in qs.questions)
    if hashlib.sha256(text.encode()).hexdigest() != qs.manifest.get("questions_sha256"):
        report.violations.append("questions.jsonl does not match the manifest's questions_sha256")
    if dict(report.counts) != qs.manifest.get("counts"):
        report.violations.append(f"manifest counts {qs.manifest.get('counts')} differ from {dict(report.counts)}")
    if qs.manifest.get("protocol_version") != protocol_version():
        report.violations.append(
            f"built with protocol {qs.manifest.get('protocol_version')}, this harness is {protocol_version()}"
        )


def validate(qs: QuestionSet) -> Report:
    """Run every validity rule over a loaded question set."""
    report = Report()
    by_type = defaultdict(list)
    for q in qs.questions:
        by_type[q.type].append(q)
        report.counts[q.type] += 1
    for name, questions in sorted(by_type.items()):
        report.distributions[name] = Counter(answer_label(q) for q in questions)
        qtype = (QUESTION_TYPES | TRAINING_TYPES).get(name)
        values = qtype and _expected_values(qtype, questions)
        if values:
            _check_balance(name, values, report.distributions[name], report)
        if qtype and qtype.level == "scene":
            _check_balance(
                f"{name} speeds",
                sorted({str(q.speed) for q in questions}),
                Counter(str(q.speed) for q in questions),
                report,
            )
    _check_items(qs, report)
    _check_shown_lengths(qs, report)
    _check_manifest(qs, report)
    return report


def format_report(report: Report) -> str:
    """The distributions as a table, then the violations."""
    lines = [f"{'type':<18} {'n':>5}  answer distribution"]
    for name, dist in sorted(report.distributions.items()):
        shown = ", ".join(f"{k}:{v}" for k, v in sorted(dist.items())[:12])
        more = f" (+{len(dist) - 12} more)" if len(dist) > 12 else ""
        lines.append(f"{name:<18} {report.counts[name]:>5}  {shown}{more}")
    lines.append(f"{'total':<18} {sum(report.counts.values()):>5}")
    if report.violations:
        lines.append(f"\n{len(report.violations)} violation(s):")
        lines += [f"  - {v}" for v in report.violations[:50]]
    else:
        lines.append("\nvalid: no violation")
    return "\n".join(lines)
