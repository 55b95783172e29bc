"""Training examples as typed data: a question (what is shown), the prompt asked, and the answer(s) to learn.

An example holds the `Question` whose visual it shows, with its absolute video path (training sets,
controls and self-alignment's clips are not the run's question set, so no set resolves them later),
the prompt the model is asked (the question's own text, or self-alignment's answer prompt), and the
answer text (SF2T) or the chosen and rejected answers (DPO). The training hook turns one into the
request record evaluation would build (`request`), with the adapter's frame policy.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finevidbench.dataset import QuestionSet
from finevidbench.protocol import Question, get_type
from finevidbench.request import Request, benchmark_request, question_text
from finevidbench.video import FramePolicy

TRAINING_TASK = "training"
"""The task name a training request carries (no answer store reads it)."""


@dataclass(frozen=True)
class Example:
    """One supervised example: the question shown, the prompt asked, and the answer text that carries loss."""

    question: Question
    prompt: str
    answer: str


@dataclass(frozen=True)
class PreferenceExample:
    """One DPO example: the question shown, the prompt asked, and the chosen and rejected answers."""

    question: Question
    prompt: str
    chosen: str
    rejected: str

    def answered(self, chosen: bool) -> Example:
        """The supervised example of the chosen (True) or the rejected answer."""
        return Example(self.question, self.prompt, self.chosen if chosen else self.rejected)

    def to_row(self) -> dict[str, Any]:
        """A `datasets` row: the question as its JSON line (fields differ between items)."""
        return {
            "question": self.question.to_json(),
            "prompt": self.prompt,
            "chosen": self.chosen,
            "rejected": self.rejected,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PreferenceExample:
        """Read back a row of `to_row`."""
        question = Question.from_dict(json.loads(row["question"]))
        return cls(question, str(row["prompt"]), str(row["chosen"]), str(row["rejected"]))


def request(
    question: Question,
    prompt: str,
    policy: FramePolicy | None,
    generation: dict[str, Any] | None = None,
    task: str = TRAINING_TASK,
) -> Request:
    """The record of `question` as the benchmark shows it (its clip or frames), asked with `prompt`."""
    return benchmark_request(question, question.video_path, policy, task, generation, prompt)


def resolved(question: Question, question_set: QuestionSet) -> Question:
    """`question` with its video path resolved against the set that holds it (an absolute file path)."""
    return dataclasses.replace(question, video_path=str(question_set.video_path(question)))


def examples_of(question_set: QuestionSet) -> list[Example]:
    """Supervised examples: each item as evaluation asks it, and its answer text."""
    examples = []
    for q in question_set.questions:
        examples.append(Example(resolved(q, question_set), question_text(q), get_type(q.type).answer_text(q)))
    return examples


WHOLE_CLIP = "clip"
"""The `type` of a whole-clip question: no registered question type, no answer (self-alignment's own asks)."""


def whole_clip(path: Path) -> Question:
    """A training video shown whole at normal speed: what self-alignment asks its own questions about.

    Not a benchmark question: no registered type (`WHOLE_CLIP`), no prompt, no answer; only what it shows.
    """
    return Question(
        id=f"savi-{path.stem}",
        video=path.stem,
        video_path=str(path.resolve()),
        level="scene",
        type=WHOLE_CLIP,
        speed=1.0,
        frames=None,
        prompt="",
        options=(),
        answer=None,
        answer_type="",
    )
