"""Preference pairs: the record, the "materially different" filter, and TRL-conformant JSONL.

A line is TRL's conversational preference format (`prompt`, `chosen`, `rejected` as message
lists), with the visual input as TRL's vision datasets carry it: `images` (fragment frames, one
`{"type": "image"}` block each) or, for a whole clip, `videos` with a `{"type": "video"}` block
(TRL has no video column of its own; the key follows LLaMA-Factory and ms-swift). Our own
fields (`id`, `source`, `question`, `iteration`) ride along so a run can retrain from the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finevidbench.files import atomic_write_text
from finevidbench.protocol import Question
from finevidbench.training.examples import PreferenceExample

SAME_ENOUGH = 0.8
"""Word-set overlap (Jaccard) at or above which a revision is not a material change of its answer."""


@dataclass(frozen=True)
class PreferencePair:
    """One (chosen, rejected) pair for one visual input and prompt."""

    id: str
    source: str
    """`savi` (revised vs initial answer) or `verifier` (the known answer vs the model's wrong one)."""
    question: Question
    """What the prompt is asked about: the question whose visual is shown (its absolute video path)."""
    prompt: str
    chosen: str
    rejected: str
    iteration: int = 1
    meta: dict[str, Any] = field(default_factory=dict)
    """What made the pair: the question kind and critique (savi), the question type (verifier)."""

    def to_trl(self, media: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """The JSONL record (TRL conversational preference format plus our fields).

        `media` is `{"images": [...]}` (fragment frames written as files) or `{"videos": [...]}`;
        by default the clip's own path, or no files for a fragment item.
        """
        if self.question.level == "fragment":
            media = media or {"images": []}
            blocks = [{"type": "image"} for _ in self.question.frames or ()]
        else:
            media = media or {"videos": [self.question.video_path]}
            blocks = [{"type": "video"}]
        return {
            "id": self.id,
            "source": self.source,
            "iteration": self.iteration,
            "prompt": [{"role": "user", "content": [*blocks, {"type": "text", "text": self.prompt}]}],
            "chosen": [{"role": "assistant", "content": [{"type": "text", "text": self.chosen}]}],
            "rejected": [{"role": "assistant", "content": [{"type": "text", "text": self.rejected}]}],
            **media,
            "question": json.loads(self.question.to_json()),
            "meta": self.meta,
        }

    @classmethod
    def from_trl(cls, record: dict[str, Any]) -> PreferencePair:
        """Read back a record written by `to_trl`."""
        text = [b["text"] for b in record["prompt"][0]["content"] if b["type"] == "text"][0]
        return cls(
            id=record["id"],
            source=record["source"],
            question=Question.from_dict(record["question"]),
            prompt=text,
            chosen=record["chosen"][0]["content"][0]["text"],
            rejected=record["rejected"][0]["content"][0]["text"],
            iteration=record.get("iteration", 1),
            meta=record.get("meta", {}),
        )

    def example(self) -> PreferenceExample:
        """The training example the DPO collator reads."""
        return PreferenceExample(self.question, self.prompt, self.chosen, self.rejected)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def materially_different(revised: str, initial: str, same_enough: float = SAME_ENOUGH) -> bool:
    """Whether a revision changed its answer in substance, not only in case, spacing or punctuation.

    Ours (the paper says pairs form from (a1, a0), not how it treats a revision that changes
    nothing): an empty revision is never a preferred answer, and two answers whose word sets overlap
    by `same_enough` or more (Jaccard) are the same answer.
    """
    new, old = _words(revised), _words(initial)
    if not new:
        return False
    if not old:
        return True
    return len(new & old) / len(new | old) < same_enough


def write_pairs(pairs: Iterable[PreferencePair], path: str | Path) -> Path:
    """Write pairs as JSONL (atomically), fragment frames as PNG files under media/; returns the path."""
    from finevidbench.protocol.overlay import apply_overlay
    from finevidbench.sf2t.export import write_frame_images
    from finevidbench.video import load_frames

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for pair in pairs:
        media = None
        q = pair.question
        if q.level == "fragment":
            frames = apply_overlay(load_frames(q.video_path, list(q.frames or ())), q.evidence.get("overlay"))
            files = write_frame_images(frames, path.parent / "media" / pair.id)
            media = {"images": [f.relative_to(path.parent).as_posix() for f in files]}
        lines.append(json.dumps(pair.to_trl(media), ensure_ascii=False) + "\n")
    atomic_write_text(path, "".join(lines))
    return path


def read_pairs(path: str | Path) -> list[PreferencePair]:
    """Read a pairs JSONL; a malformed line is an error naming the file and line."""
    pairs = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            pairs.append(PreferencePair.from_trl(json.loads(line)))
        except (json.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a preference-pair record ({exc})") from None
    return pairs
