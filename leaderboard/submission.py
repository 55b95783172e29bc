"""Submissions: what a contributor hands in, how it is checked, and how its scores are recomputed.

A submission is a folder `leaderboard/submissions/<slug>/` with `submission.json` (metadata,
schema in `schemas/submission.schema.json`), `results.json` (the harness's results file) and
`samples.jsonl` (one raw response per question). The leaderboard never trusts the numbers in
results.json: it rescores the raw responses against the question set the run names (by dataset
hash) with the harness's own scorer, and rejects a submission whose claimed scores differ.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finevidbench.dataset import QuestionSet
from finevidbench.files import FileFormatError, check_schema, read_json_object
from finevidbench.results import PredictionsError, read_predictions, read_results, score_predictions
from finevidbench.scoring.score import SampleResult, aggregate

MAX_METADATA_BYTES = 64 * 1024
MAX_RESULTS_BYTES = 2 * 2**20
MAX_SAMPLES_BYTES = 64 * 2**20
CLAIM_TOLERANCE = 1e-6
EXAMPLES_PER_TYPE = 3


class SubmissionError(Exception):
    """A submission is malformed or its claims do not hold; the message says which file and field."""


@dataclass
class Submission:
    """A checked, rescored submission."""

    slug: str
    meta: dict[str, Any]
    results: dict[str, Any]
    scores: dict[str, Any] = field(default_factory=dict)
    correct: dict[str, float] = field(default_factory=dict)
    """Question id -> the recomputed score of its response (what tiers compare)."""
    wrong: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    """Type -> a few wrongly answered questions (question_id, response, answer), shown on the model page."""
    notes: list[str] = field(default_factory=list)
    status: str = "self-reported"
    """`verified` only when statuses.json records a maintainer's rerun of these answers (leaderboard/statuses.py)."""
    baseline: bool = False
    """Listed as a reference baseline in statuses.json (what submission.json claims does not count)."""
    reference: bool = False
    """Listed under `references` in statuses.json: shown beside the models, never ranked."""
    answers: str = ""
    """`answers_digest` of the responses: the same answers under another name are a duplicate."""

    @property
    def identity(self) -> tuple[str, str | None, str]:
        """Which submissions are duplicates of each other: (model, revision, protocol version)."""
        model = self.meta["model"]
        return (
            model.get("hub_id") or self.meta["display_name"],
            model.get("revision"),
            self.results["protocol_version"],
        )


def answers_digest(responses: dict[str, str]) -> str:
    """SHA-256 of the responses by question id, blind to line order and to the other fields of samples.jsonl."""
    return hashlib.sha256(json.dumps(responses, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def slugify(name: str) -> str:
    """A folder name that cannot leave the submissions folder: [a-z0-9-], at most 60 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-")
    if not slug:
        raise SubmissionError(f"cannot make a folder name from {name!r}: use letters or digits in display_name")
    return slug


def check_metadata(meta: object, where: str) -> None:
    """Validate submission.json against its schema; the error names the file and the offending field."""
    try:
        check_schema(meta, "submission", where, package="leaderboard")
    except FileFormatError as exc:
        raise SubmissionError(str(exc)) from None


def read_samples(path: Path) -> dict[str, str]:
    """{question_id: response} from samples.jsonl: the harness's own reader, with a size bound."""
    try:
        return read_predictions(path, MAX_SAMPLES_BYTES)
    except PredictionsError as exc:
        raise SubmissionError(str(exc)) from None


def load_submission(folder: Path) -> Submission:
    """Read and validate the three files of a submission folder (no rescoring yet)."""
    folder = Path(folder)
    try:
        meta = read_json_object(folder / "submission.json", "submission", MAX_METADATA_BYTES, package="leaderboard")
        results = read_results(folder / "results.json", max_bytes=MAX_RESULTS_BYTES)
    except FileFormatError as exc:
        raise SubmissionError(str(exc)) from None
    if folder.name != slugify(meta["display_name"]):
        raise SubmissionError(f"{folder}: the folder must be named {slugify(meta['display_name'])!r}")
    _check_training_claims(meta, results, folder)
    return Submission(slug=folder.name, meta=meta, results=results)


def _check_training_claims(meta: dict[str, Any], results: dict[str, Any], folder: Path) -> None:
    """The training metadata may not contradict the run record the adapter carried into results.json."""
    trained = (results["model"].get("adapter") or {}).get("training")
    if not trained:
        return
    claims = meta["training"]
    facts = {
        "fine_tuned": True,
        "sf2t": trained.get("kind") == "sf2t" or claims.get("sf2t"),
        "seen_benchmark_videos": bool(trained.get("contaminated")) or claims.get("seen_benchmark_videos"),
    }
    for name, fact in facts.items():
        if bool(claims.get(name)) != bool(fact):
            raise SubmissionError(
                f"{folder / 'submission.json'}: field 'training/{name}' says {claims.get(name)!r}, but the adapter's "
                f"run record in results.json (model.adapter.training: {trained.get('kind')}, contaminated="
                f"{trained.get('contaminated')}) says {bool(fact)!r}"
            )


def rescore(submission: Submission, folder: Path, question_sets: dict[str, QuestionSet]) -> Submission:
    """Recompute every score from the raw responses; reject truncation, unknown sets and edited claims."""
    qs = question_sets.get(submission.results["dataset_hash"])
    if qs is None:
        raise SubmissionError(
            f"{folder}: unknown question set (protocol {submission.results['protocol_version']}, dataset "
            f"{submission.results['dataset_hash'][:12]}); the leaderboard ranks {sorted(question_sets)[:3]} only"
        )
    responses = read_samples(folder / "samples.jsonl")
    missing = len(qs.questions) - len(set(responses) & {q.id for q in qs.questions})
    if missing:
        raise SubmissionError(
            f"{folder / 'samples.jsonl'}: truncated, {missing} of {len(qs.questions)} questions missing"
        )
    samples, _ = score_predictions(qs, responses)
    scores = aggregate(samples)
    _check_claims(submission.results["scores"], scores, folder)
    submission.scores, submission.correct = scores, {s.question_id: s.correct for s in samples}
    submission.answers = answers_digest(responses)
    submission.wrong = wrong_examples(samples)
    return submission


def wrong_examples(samples: list[SampleResult], per_type: int = EXAMPLES_PER_TYPE) -> dict[str, list[dict[str, str]]]:
    """The first few wrongly answered questions of each type (response cut to 500 characters)."""
    wrong: dict[str, list[dict[str, str]]] = {}
    for s in samples:
        if s.correct < 1 and len(wrong.setdefault(s.type, [])) < per_type:
            wrong[s.type].append({"question_id": s.question_id, "response": s.response[:500], "answer": str(s.answer)})
    return wrong


def _check_claims(claimed: dict[str, Any], recomputed: dict[str, Any], folder: Path) -> None:
    """Every accuracy the board shows (overall, per level, per type) must be claimed and equal the recomputed one.

    A claim that is missing, NaN or not a number rejects the submission like a wrong one: the board
    never shows a figure it did not recompute, nor accepts one it could not compare.
    """
    pairs = [("overall", claimed.get("overall"), recomputed["overall"])]
    for group in ("by_level", "by_type"):
        said = claimed.get(group) or {}
        pairs += [(name, said.get(name), entry) for name, entry in recomputed[group].items()]
        pairs += [(name, entry, None) for name, entry in said.items() if name not in recomputed[group]]
    for name, said, found in pairs:
        value = said.get("acc") if isinstance(said, dict) else None
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise SubmissionError(
                f"{folder / 'results.json'}: no usable claimed {name} accuracy ({value!r}) "
                "(fix: submit the results.json make eval wrote)"
            )
        if found is None or not abs(value - found["acc"]) <= CLAIM_TOLERANCE:
            got = "no such type" if found is None else f"{found['acc']:.4f}"
            raise SubmissionError(
                f"{folder / 'results.json'}: claimed {name} accuracy {value:.4f} does not match the "
                f"{got} recomputed from samples.jsonl"
            )
