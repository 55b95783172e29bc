"""Reference baselines: what a score means is measured against them.

`random` answers uniformly at random over each item's answer space (seeded per question, so runs
are reproducible and resumable); `most_frequent` gives, for every question, the most common gold
answer of its type in the question set. On a balanced set both sit at chance on every type;
a type where they do not is a broken type. `text_only` and `metadata_only` are the pixel-blind
adversaries of finevidbench.adversaries: a type where they beat chance leaks its answer.
`pixel_oracle` is the other end: classical vision on the frames a model is shown (finevidbench.oracle),
the share of each type the shown pixels decide.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from finevidbench import taskdocs
from finevidbench.adversaries import cross_fitted_answers
from finevidbench.oracle import DEFAULT_SIZE, SEMANTIC_TYPES, FrameSize, Shown, decide, measure
from finevidbench.protocol import Question, get_type
from finevidbench.request import Clip, LabelledFrames, Request
from model_adapters.base import FineVidModel, Shows
from model_adapters.frames import ShowsFrames

ORACLE_REVISION = 1
"""Revision of the pixel oracle's measurements and decisions; in its fingerprint, so older answers are not reused."""


class RandomBaseline(FineVidModel):
    """Uniform random answers, seeded by (seed, question id)."""

    def __init__(self, seed: int = 0, seconds_per_answer: float = 0.0, store: str | None = None, **kwargs: Any) -> None:
        super().__init__(store=store, **kwargs)
        self.seed = int(seed)
        self.seconds_per_answer = float(seconds_per_answer)  # lets tests interrupt a run half-way

    def fingerprint_parts(self) -> dict[str, Any]:
        return {"model": "random", "seed": self.seed}

    def answer(self, request: Request) -> str:
        time.sleep(self.seconds_per_answer)
        return random_answer(asked(request), self.seed)


class MostFrequentBaseline(FineVidModel):
    """The most common gold answer of each type (ties broken by sort order)."""

    def fingerprint_parts(self) -> dict[str, Any]:
        return {"model": "most_frequent", "dataset": taskdocs.question_set().dataset_hash}

    @cached_property
    def _answers(self) -> dict[str, str]:
        counts: dict[str, Counter[str]] = {}
        for q in taskdocs.question_set().questions:
            counts.setdefault(q.type, Counter())[get_type(q.type).answer_text(q)] += 1
        return {t: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for t, c in counts.items()}

    def answer(self, request: Request) -> str:
        return self._answers[asked(request).type]


class _Adversary(FineVidModel):
    """A pixel-blind adversary: answers cross-fitted by video over the run's question set."""

    adversary: str

    def fingerprint_parts(self) -> dict[str, Any]:
        return {"model": self.adversary, "dataset": taskdocs.question_set().dataset_hash}

    @cached_property
    def _answers(self) -> dict[str, str]:
        return cross_fitted_answers(taskdocs.question_set(), self.adversary)

    def answer(self, request: Request) -> str:
        return self._answers[asked(request).id]


class TextOnlyAdversary(_Adversary):
    """Reads only the rendered prompt and options (finevidbench.adversaries.TextOnly)."""

    adversary = "text_only"


class MetadataOnlyAdversary(_Adversary):
    """Reads only counts, timestamps, durations, rates and lengths (finevidbench.adversaries.MetadataOnly)."""

    adversary = "metadata_only"


class PixelOracle(ShowsFrames):
    """The pixel oracle (finevidbench.oracle): classical vision on the frames a request shows, at a model's size.

    It decodes as the Video-LLM adapters do (the run's frame policy, one decode per video through its
    frame cache, fragment frames with their overlay) and resizes the frames as the card of `size` does
    (default Qwen2.5-VL's budgets; `decoded`, `llava_onevision`, `internvl`, `qwen3_vl` or a pixel
    budget, finevidbench.oracle.size). Its scales are cross-fitted by video over the run's question set,
    so on its first answer it measures every question of the set as the benchmark shows it. A request
    showing what the oracle measured is answered from that; one showing less (a blind variant: no
    video, one frame, shuffled frames) gets a uniform random answer: the oracle cannot see its answer.
    Frame-policy arguments are the adapters' (`FrameArgs`: `num_frames`, `fps`, `max_frames`, `min_frames`,
    `frame_mode`); under a Qwen size, counts come in whole pairs as Qwen's temporal patch takes them.
    """

    shows = Shows(videos=True)

    def __init__(self, size: str = DEFAULT_SIZE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = FrameSize.parse(str(size))
        self.frame_policy = self.frame_args.policy(multiple=2 if self.size.qwen_factor else 1)

    def fingerprint_parts(self) -> dict[str, Any]:
        return {
            "model": "pixel_oracle",
            "revision": ORACLE_REVISION,
            "dataset": taskdocs.question_set().dataset_hash,
            "policy": self.frame_policy.id,
            "size": self.size.name,
        }

    def policy_id(self) -> str:
        return self.frame_policy.id

    def inputs_record(self) -> dict[str, Any]:
        """Recorded in results.json: the size the frames were looked at and the oracle's revision."""
        return {"oracle_revision": ORACLE_REVISION, "size": self.size.name, "semantic_types": list(SEMANTIC_TYPES)}

    def prefetch(self, requests: Sequence[Request]) -> None:
        """Nothing to prefetch: the first answer measures the whole set, one video at a time."""

    def shown(self, request: Request) -> Shown:
        """What a request shows of its question: frames at the model's size, the timestamps it is told."""
        question = asked(request)
        frames, timestamps = np.zeros((0, 1, 1, 3), np.uint8), tuple[float, ...]()
        visual = request.visuals[0] if question.type not in SEMANTIC_TYPES else None
        if isinstance(visual, Clip):
            frames, timestamps = self.frame_cache.clip(visual), visual.timestamps
        elif isinstance(visual, LabelledFrames):
            frames = self.frame_cache.labelled(visual)
            timestamps = tuple(i * visual.seconds_apart for i in range(len(frames)))
        if len(frames):
            frames = self.size.fit(frames, question.level)
        return Shown(question.id, question.video, question.type, frames, timestamps, request.text, question.options)

    @cached_property
    def _answers(self) -> dict[str, str]:
        qs = taskdocs.question_set()
        requests = [self.request_for(q, qs) for q in qs.questions]
        self.frame_cache.plan(requests)
        measurements = []
        for video in sorted({r.videos[0] for r in requests}):
            measurements += [measure(self.shown(r)) for r in requests if r.videos[0] == video]
            self.frame_cache.release([video])
        return decide(measurements, qs.questions)

    def prepare(self, requests: Sequence[Request]) -> None:
        """The set is measured whole on the first answer (`_answers`), not per pending request."""

    def answer(self, request: Request) -> str:
        question = asked(request)
        measured = self.request_for(question, taskdocs.question_set())
        if request.visuals != measured.visuals:  # shown less than it measures: it cannot see the answer
            return random_answer(question, seed=0)
        return self._answers[question.id]


def asked(request: Request) -> Question:
    """The benchmark question of a request; a baseline answers nothing else (the boundary refuses other tasks)."""
    if request.question is None:
        raise ValueError(f"task {request.task}: a reference baseline answers FineVidBench questions only")
    return request.question


def random_answer(question: Question, seed: int) -> str:
    """A uniform random answer over the question's answer space, seeded by (seed, question id)."""
    digest = hashlib.sha256(f"{seed}:{question.id}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    qtype = get_type(question.type)
    return qtype.answers.format(qtype.answers.random_answer(rng, qtype.space_of(question)))
