"""The prompts of the VideoSAVi loop (COLM 2025 version): question, answer, self-critique, revision.

The paper publishes what each step does, not its wording (research notes, papers.md §2.2); the
descriptions quoted below are the paper's, **every template is ours**. They are plain `str.format`
templates so that a caller can replace them (`Prompts(**overrides)`), and the run record keeps the
ones used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

QUESTION_KINDS: dict[str, str] = {
    "spatial": "object locations, visual details",
    "temporal": "event order, causality, state changes",
}
"""The paper's two question kinds, with its own descriptions of each."""


@dataclass(frozen=True)
class Prompts:
    """The four templates of one VideoSAVi step (all ours)."""

    question: str = (
        "Ask one question about this video that needs {kind} reasoning ({focus}). "
        "The question must be answerable from the video alone. Write only the question."
    )
    """Step 1, question generation: "prompted to generate reasoning-focused questions about a given video"."""
    answer: str = "{question}\nAnswer the question about the video."
    """Step 2, the initial answer a0: "the same model generates initial answers"."""
    critique: str = (
        "Question: {question}\nAnswer: {answer}\n"
        "Check this answer against the video. Name every factual error about {focus}, every object or event "
        "that is not in the video, and anything important the answer leaves out. If it is fully correct, "
        "write: No errors."
    )
    """Step 3, the self-critique c: the model "identifies inconsistencies, factual errors (spatial or
    temporal), hallucinations, or omissions"."""
    revise: str = (
        "Question: {question}\nInitial answer: {answer}\nCritique: {critique}\n"
        "Write an improved answer to the question that fixes every problem the critique names. "
        "Write only the answer."
    )
    """Step 4, the revision a1 "using the original question (q), the initial response (a0), and the
    self-critique (c)"; (a1, a0) becomes a (chosen, rejected) pair."""

    def to_dict(self) -> dict[str, str]:
        """The templates, for the run record."""
        return asdict(self)
