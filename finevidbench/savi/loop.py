"""The self-alignment loop: pairs from the current model, DPO from the last adapter, iterated; its control.

The loop knows no model family: it receives `Models`, which answers request records with the base
model or an adapter on it and trains a `TrainingRun` (model_adapters/training.py implements it on
the family adapters). Each iteration k writes OUT/iter_k/pairs.jsonl and OUT/iter_k/train/; the
control replays each iteration's own pairs on uninformative visual input into OUT/iter_k/control/.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from finevidbench.dataset import QuestionSet
from finevidbench.protocol import Question, get_type
from finevidbench.request import Request, question_text
from finevidbench.savi.pairs import PreferencePair, materially_different, read_pairs, write_pairs
from finevidbench.savi.prompts import QUESTION_KINDS, Prompts
from finevidbench.savi.verifier import verifier_pairs
from finevidbench.sf2t.control import ControlVideo, control_examples, control_hash, video_catalogue
from finevidbench.training.examples import PreferenceExample, request, resolved, whole_clip
from finevidbench.training.recipe import Recipe
from finevidbench.training.record import RunRecord, loss_span
from finevidbench.training.spec import TrainingRun
from finevidbench.video import FramePolicy

SAVI_TASK = "savi"
"""The task name of the loop's own requests."""


class Answerer(Protocol):
    """A loaded model that answers request records (the base, or the base with an adapter)."""

    frame_policy: FramePolicy | None

    def answer(self, requests: Sequence[Request], desc: str) -> list[str]:
        """One answer per request, in order, with progress under `desc`."""


class Models(Protocol):
    """What the loop needs from a model family: answer with an adapter (or none), and train."""

    def answerer(self, adapter: str | None) -> AbstractContextManager[Answerer]:
        """The base with `adapter` on it (None: the base), loaded for the block and released after it."""

    def train(self, examples: Sequence[PreferenceExample], run: TrainingRun) -> RunRecord:
        """DPO on `examples` per `run` (loads the model for training, releases it after)."""


@dataclass(frozen=True)
class Loop:
    """One self-alignment run: the models, the recipe and settings, the training data, where it goes."""

    models: Models
    recipe: Recipe
    config: Mapping[str, Any]
    """The recipe's self-alignment settings (`extra:`) with the command line's choices applied."""
    videos: tuple[Path, ...]
    training_set: QuestionSet | None
    """The SF2T training set (verifier pairs are made from its items); None when no pair needs it."""
    guard: Mapping[str, Any]
    out: Path

    @property
    def iterations(self) -> range:
        """The iteration numbers, from 1."""
        return range(1, int(self.config["iterations"]) + 1)


_T = TypeVar("_T")


def rotating(items: Sequence[_T], count: int, iteration: int) -> list[_T]:
    """`count` items for this iteration, a different window each time (all when count is 0)."""
    if not count or count >= len(items):
        return list(items)
    start = (iteration - 1) * count % len(items)
    return [items[(start + i) % len(items)] for i in range(count)]


def _ask(
    answerer: Answerer, questions: Sequence[Question], prompts: Sequence[str], generation: dict[str, Any], desc: str
) -> list[str]:
    """One answer per (question, prompt), each shown as the benchmark shows its question."""
    policy = answerer.frame_policy
    asked = [request(q, p, policy, generation, SAVI_TASK) for q, p in zip(questions, prompts, strict=True)]
    return answerer.answer(asked, desc)


def savi_pairs(
    answerer: Answerer, videos: Sequence[Path], prompts: Prompts, config: Mapping[str, Any], iteration: int
) -> list[PreferencePair]:
    """VideoSAVi's pairs: question, initial answer, self-critique, revision; (revision, initial) when they differ."""
    import torch

    torch.manual_seed(iteration)  # sampled questions, reproducibly
    per_kind = range(config["questions_per_kind"])
    slots = [(video, kind, i) for video in videos for kind in QUESTION_KINDS for i in per_kind]
    clips = [whole_clip(video) for video, _, _ in slots]
    greedy = {"max_new_tokens": config["max_new_tokens"]}
    sampled = {**greedy, "do_sample": True, "temperature": config["question_temperature"]}
    asked = [prompts.question.format(kind=kind, focus=QUESTION_KINDS[kind]) for _, kind, _ in slots]
    questions = _ask(answerer, clips, asked, sampled, "savi: questions")
    answer_prompts = [prompts.answer.format(question=q) for q in questions]
    initial = _ask(answerer, clips, answer_prompts, greedy, "savi: answers")
    steps = list(zip(slots, questions, initial, strict=True))
    critique_prompts = [
        prompts.critique.format(question=q, answer=a, focus=QUESTION_KINDS[kind]) for (_, kind, _), q, a in steps
    ]
    critiques = _ask(answerer, clips, critique_prompts, greedy, "savi: critiques")
    revise_prompts = [
        prompts.revise.format(question=q, answer=a, critique=c) for (_, q, a), c in zip(steps, critiques, strict=True)
    ]
    revised = _ask(answerer, clips, revise_prompts, greedy, "savi: revisions")
    pairs = []
    for number, ((video, kind, i), q, a0) in enumerate(steps):
        a1 = revised[number]
        if q.strip() and materially_different(a1, a0):
            pair = PreferencePair(
                id=f"savi-{iteration}-{video.stem}-{kind}-{i}",
                source="savi",
                question=clips[number],
                prompt=answer_prompts[number],
                chosen=a1.strip(),
                rejected=a0.strip(),
                iteration=iteration,
                meta={"kind": kind, "question": q, "critique": critiques[number]},
            )
            pairs.append(pair)
    return pairs


def verifier_round(
    answerer: Answerer, training_set: QuestionSet, config: Mapping[str, Any], iteration: int
) -> list[PreferencePair]:
    """Verifier-checked pairs from this iteration's window of SF2T items."""
    order = np.random.default_rng(0).permutation(len(training_set.questions))
    questions = rotating([training_set.questions[i] for i in order], config["verifier_items"], iteration)
    shown = [resolved(q, training_set) for q in questions]
    answers = _ask(answerer, shown, [question_text(q) for q in questions], {"max_new_tokens": 16}, "verifier: answers")
    responses = {q.id: a for q, a in zip(questions, answers, strict=True)}
    return verifier_pairs(questions, training_set, responses, iteration)


def run_loop(loop: Loop) -> Iterator[tuple[int, RunRecord | None]]:
    """The iterations, each from the last adapter: (iteration, its record; None when it made no pair)."""
    adapter = None
    for iteration in loop.iterations:
        record = _iteration(loop, iteration, adapter)
        yield iteration, record
        if record is None:
            return
        adapter = record.output


def run_control(loop: Loop) -> str:
    """The control of every iteration, each from the last control adapter; the last control adapter."""
    catalogue = video_catalogue(loop.training_set, loop.videos)
    control: str | None = None
    for iteration in loop.iterations:
        control = _control_iteration(loop, iteration, control, catalogue).output
    return str(control)


def _make_pairs(loop: Loop, iteration: int, adapter: str | None) -> list[PreferencePair]:
    """This iteration's pairs from the current model (the base with the last adapter)."""
    pairs = []
    with loop.models.answerer(adapter) as answerer:
        if loop.config["pairs"] in ("savi", "mixed"):
            videos = rotating(loop.videos, loop.config["videos_per_iteration"], iteration)
            pairs += savi_pairs(answerer, videos, Prompts(), loop.config, iteration)
        if loop.config["pairs"] in ("verifier", "mixed"):
            if loop.training_set is None:
                raise ValueError("verifier pairs need the SF2T training set")
            pairs += verifier_round(answerer, loop.training_set, loop.config, iteration)
    return pairs


def _iteration(loop: Loop, iteration: int, adapter: str | None) -> RunRecord | None:
    """One round: pairs from the current model (kept on disk), then DPO from the last adapter."""
    out = loop.out / f"iter_{iteration}"
    done = out / "train" / "adapter" / "finevidbench_run.json"
    if done.is_file():
        print(f"iteration {iteration}: done before ({done.parent})")
        return RunRecord.read(done.parent)
    pairs_file = out / "pairs.jsonl"
    if pairs_file.is_file():
        pairs = read_pairs(pairs_file)
    else:
        pairs = _make_pairs(loop, iteration, adapter)
        write_pairs(pairs, pairs_file)
    sources = dict(Counter(p.source for p in pairs))
    print(f"iteration {iteration}: {len(pairs)} preference pairs {sources}")
    if not pairs:
        return None
    data = {
        "dataset_hash": hashlib.sha256(pairs_file.read_bytes()).hexdigest(),
        "n_pairs": len(pairs),
        "sources": sources,
        "pairs_file": str(pairs_file),
        "iteration": iteration,
        "guard": dict(loop.guard),
        "prompts": Prompts().to_dict(),
        "settings": dict(loop.config),
    }
    run = TrainingRun("savi", loop.recipe, out / "train", data, init_adapter=adapter)
    record = loop.models.train([p.example() for p in pairs], run)
    losses = f", loss {record.losses[0]['loss']:.3f} -> {record.losses[-1]['loss']:.3f}" if record.losses else ""
    print(f"iteration {iteration}: {record.steps} {'DPO steps' if losses else 'steps'}{losses}")
    return record


def _control_iteration(
    loop: Loop, iteration: int, control: str | None, catalogue: Mapping[str, ControlVideo]
) -> RunRecord:
    """The control of one round: the round's own pairs, uninformative visual input, DPO from the last control.

    The pairs are replayed rather than made by the control model, so that the control trains on the
    same prompts and the same chosen and rejected answers as the adapter did.
    """
    out = loop.out / f"iter_{iteration}"
    examples = control_examples([p.example() for p in read_pairs(out / "pairs.jsonl")], catalogue)
    treated = RunRecord.read(out / "train")
    data = {
        **treated.data,
        "dataset_hash": control_hash(treated.data["dataset_hash"], examples),
        "control_of": treated.data["dataset_hash"],
    }
    done = out / "control" / "adapter" / "finevidbench_run.json"
    if done.is_file() and RunRecord.read(done.parent).data.get("dataset_hash") == data["dataset_hash"]:
        print(f"control {iteration}: done before ({done.parent})")
        return RunRecord.read(done.parent)
    run = TrainingRun("savi", loop.recipe, out / "control", data, arm="control", init_adapter=control)
    record = loop.models.train(examples, run)
    print(f"control {iteration}: {record.steps} DPO steps, loss {loss_span(record)}")
    return record


def planted_dpo(models: Models, recipe: Recipe, train_set: QuestionSet, out: Path, control: bool) -> RunRecord:
    """The positive control's DPO (or, with `control`, its control's): one round on planted items.

    The pairs are the verifier's for a model that answered every item wrong in the right form:
    (the planted answer, the other answer), so only the frames tell chosen from rejected.
    """
    wrong = {q.id: get_type(q.type).answers.format("no" if q.answer == "yes" else "yes") for q in train_set.questions}
    pairs = verifier_pairs(train_set.questions, train_set, wrong)
    examples = [p.example() for p in pairs]
    data = {"dataset_hash": train_set.dataset_hash, "n_pairs": len(pairs), "planted": train_set.manifest["planted"]}
    if control:
        examples = control_examples(examples, video_catalogue(train_set))
        data = {
            **data,
            "dataset_hash": control_hash(train_set.dataset_hash, examples),
            "control_of": train_set.dataset_hash,
        }
    arm = "planted_control" if control else "planted"
    return models.train(examples, TrainingRun("savi", recipe, out, data, arm=arm))
