"""Verifier-checked preference pairs (ours): no judge, because the right answer is known by construction.

On a self-supervised fragment item (SF2T tasks) the builder knows the answer, so the model's own
answer is checked by the benchmark's scorer: when it is wrong, (the right answer, the model's
answer) is a preference pair. Right answers and empty outputs make no pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from finevidbench.dataset import QuestionSet
from finevidbench.protocol import Question, get_type
from finevidbench.request import question_text
from finevidbench.savi.pairs import PreferencePair
from finevidbench.scoring.score import score_sample
from finevidbench.training.examples import resolved


def verifier_pairs(
    questions: Sequence[Question], qs: QuestionSet, responses: Mapping[str, str], iteration: int = 1
) -> list[PreferencePair]:
    """Pairs (known answer, wrong model answer) for the answered questions the model got wrong."""
    pairs = []
    for q in questions:
        response = (responses.get(q.id) or "").strip()
        if not response or score_sample(q, response).correct == 1.0:
            continue
        pairs.append(
            PreferencePair(
                id=f"verifier-{iteration}-{q.id}",
                source="verifier",
                question=resolved(q, qs),
                prompt=question_text(q),
                chosen=get_type(q.type).answer_text(q),
                rejected=response,
                iteration=iteration,
                meta={"type": q.type},
            )
        )
    return pairs
