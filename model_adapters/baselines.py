"""Reference baselines: what a score means is measured against them.

`random` answers uniformly at random over each item's answer space (seeded per question, so runs
are reproducible and resumable); `most_frequent` gives, for every question, the most common gold
answer of its type in the question set. On a balanced set both sit at chance on every type;
a type where they do not is a broken type. `text_only` and `metadata_only` are the pixel-blind
adversaries of finevidbench.adversaries: a type where they beat chance leaks its answer.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from functools import cached_property

import numpy as np

from finevidbench import taskdocs
from finevidbench.adversaries import cross_fitted_answers
from finevidbench.protocol import get_type
from model_adapters.base import FineVidModel, Request


class RandomBaseline(FineVidModel):
    """Uniform random answers, seeded by (seed, question id)."""

    def __init__(self, seed: int = 0, seconds_per_answer: float = 0.0, store: str | None = None, **kwargs) -> None:
        super().__init__(store=store, **kwargs)
        self.seed = int(seed)
        self.seconds_per_answer = float(seconds_per_answer)  # lets tests interrupt a run half-way

    def fingerprint_parts(self) -> dict:
        return {"model": "random", "seed": self.seed}

    def answer(self, request: Request) -> str:
        doc = request.doc
        time.sleep(self.seconds_per_answer)
        digest = hashlib.sha256(f"{self.seed}:{doc['question_id']}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        qtype = get_type(doc["type"])
        space = qtype.answer_space(doc["options"], len(doc["frames"] or ()))
        return qtype.answers.format(qtype.answers.random_answer(rng, space))


class MostFrequentBaseline(FineVidModel):
    """The most common gold answer of each type (ties broken by sort order)."""

    def fingerprint_parts(self) -> dict:
        return {"model": "most_frequent", "dataset": taskdocs.question_set().dataset_hash}

    @cached_property
    def _answers(self) -> dict[str, str]:
        counts: dict[str, Counter] = {}
        for q in taskdocs.question_set().questions:
            counts.setdefault(q.type, Counter())[get_type(q.type).answer_text(q)] += 1
        return {t: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for t, c in counts.items()}

    def answer(self, request: Request) -> str:
        return self._answers[request.doc["type"]]


class _Adversary(FineVidModel):
    """A pixel-blind adversary: answers cross-fitted by video over the run's question set."""

    adversary: str

    def fingerprint_parts(self) -> dict:
        return {"model": self.adversary, "dataset": taskdocs.question_set().dataset_hash}

    @cached_property
    def _answers(self) -> dict[str, str]:
        return cross_fitted_answers(taskdocs.question_set(), self.adversary)

    def answer(self, request: Request) -> str:
        return self._answers[request.doc["question_id"]]


class TextOnlyAdversary(_Adversary):
    """Reads only the rendered prompt and options (finevidbench.adversaries.TextOnly)."""

    adversary = "text_only"


class MetadataOnlyAdversary(_Adversary):
    """Reads only counts, timestamps, durations, rates and lengths (finevidbench.adversaries.MetadataOnly)."""

    adversary = "metadata_only"
