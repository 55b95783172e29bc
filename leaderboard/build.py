"""`make leaderboard`: every submission checked and rescored, ranked with intervals and tiers, rendered.

`make submit-check` runs the same checks on one submission folder (`check_submission`).

The site is a pure function of the submitted per-sample responses and the registry: scores are
recomputed with the harness's scorer, duplicates (the same model, revision and protocol, or the same
answers) keep the verified entry or the first to arrive, and models whose paired difference on the
shared questions is not significant share a tier.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from finevidbench.dataset import QuestionSet, load_question_set
from finevidbench.protocol import types_by_level
from finevidbench.scoring.stats import paired_difference
from leaderboard.rescored import RescoreCache
from leaderboard.statuses import arrivals, known_commit, load_statuses, status_of
from leaderboard.submission import (
    Submission,
    SubmissionError,
    answers_digest,
    load_submission,
    read_samples,
    rescore,
)


def question_sets(sources: list[str]) -> dict[str, QuestionSet]:
    """The question sets submissions may be ranked on, keyed by dataset hash."""
    loaded = [load_question_set(source) for source in sources]
    return {qs.dataset_hash: qs for qs in loaded}


def collect(
    submissions_dir: Path, sets: dict[str, QuestionSet], cache: RescoreCache | None = None
) -> tuple[list[Submission], list[dict[str, Any]]]:
    """Every valid, rescored submission (from `cache` when its files are unchanged), and the rejected ones."""
    accepted, rejected = [], []
    cache, statuses = cache or RescoreCache(None), load_statuses()
    for folder in sorted(p for p in Path(submissions_dir).iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            accepted.append(_stamp(cache.rescore(load_submission(folder), folder, sets), folder, statuses))
        except SubmissionError as exc:
            rejected.append({"slug": folder.name, "reason": str(exc).replace(str(submissions_dir) + "/", "")})
        except Exception as exc:  # noqa: BLE001 - one stranger's folder must never take the whole board down
            reason = f"{folder.name}: unreadable submission ({type(exc).__name__}: {exc})"
            rejected.append({"slug": folder.name, "reason": reason})
    cache.save()
    return accepted, rejected


def _stamp(submission: Submission, folder: Path, statuses: dict[str, Any]) -> Submission:
    """Status and baseline badge from the repository's records; a note for a harness commit it does not know."""
    submission.baseline = submission.slug in statuses["baselines"]
    submission.reference = submission.slug in statuses["references"]
    submission.status = status_of(submission.slug, folder, statuses)
    commit = submission.results.get("provenance", {}).get("git_commit")
    if known_commit(commit) is False:
        submission.notes.append(f"harness commit {commit[:12]} is not in this repository's history")
    return submission


def check_submission(folder: Path, sets: dict[str, QuestionSet]) -> list[str]:
    """What stops one submission folder from being ranked, one line per problem (empty: it would be ranked).

    The same checks `make leaderboard` applies (schema, sizes, rescoring, claims), plus whether
    another submission already holds the same model, revision and protocol version, or the very
    same answers under another name.
    """
    folder = Path(folder)
    try:
        submission = rescore(load_submission(folder), folder, sets)
    except SubmissionError as exc:
        return [str(exc)]
    problems = []
    for other in sorted(p for p in folder.parent.iterdir() if p.is_dir() and p.name != folder.name):
        try:
            theirs = load_submission(other)
            theirs.answers = answers_digest(read_samples(other / "samples.jsonl"))
        except SubmissionError:
            continue  # a broken neighbour is its own problem, not this submission's
        if clash := _clash(submission, theirs):
            problems.append(f"{folder}: {other.name} already holds {clash} (fix: replace that folder, do not add one)")
    return problems


def _clash(one: Submission, other: Submission) -> str | None:
    """What makes two submissions the same entry: the same model, revision and protocol, or the same answers."""
    if one.identity == other.identity:
        return "the same model, revision and protocol version"
    if one.answers and one.answers == other.answers:
        return "the same answers"
    return None


def deduplicate(
    submissions: list[Submission], arrived: dict[str, int] | None = None
) -> tuple[list[Submission], list[dict[str, str]]]:
    """One entry per model and per set of answers: a verified entry first, then the first to arrive.

    Arrival is when git first saw the folder (`statuses.arrivals`); a folder it has not seen
    arrives now, and ties fall back to the claimed date. A later folder, whatever date it claims,
    never displaces an entry already on the board: its owner replaces the folder instead.
    """
    arrived = arrived or {}
    order = sorted(
        submissions, key=lambda s: (s.status != "verified", arrived.get(s.slug, math.inf), s.meta["date"], s.slug)
    )
    kept: list[Submission] = []
    duplicates: list[dict[str, str]] = []
    for sub in order:
        holder = next(((k, clash) for k in kept if (clash := _clash(sub, k))), None)
        if holder is None:
            kept.append(sub)
        else:
            duplicates.append({"slug": sub.slug, "kept": holder[0].slug, "reason": f"{holder[1]} as {holder[0].slug}"})
    chosen = {id(s) for s in kept}
    return [s for s in submissions if id(s) in chosen], sorted(duplicates, key=lambda d: d["slug"])


def assign_tiers(ranked: list[Submission], videos: dict[str, str]) -> list[int]:
    """Tier numbers: a model joins the current tier unless it differs significantly from its leader.

    `videos` maps question id -> video, the cluster of the paired interval.
    """
    order = sorted(videos)
    clusters = np.unique([videos[q] for q in order], return_inverse=True)[1]
    scores = {id(sub): np.array([sub.correct.get(q, np.nan) for q in order]) for sub in ranked}
    tiers, leader, tier = [], None, 0
    for sub in ranked:
        if leader is None or _significant(scores[id(leader)], scores[id(sub)], clusters):
            leader, tier = sub, tier + 1
        tiers.append(tier)
    return tiers


def _significant(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], clusters: npt.NDArray[np.intp]) -> bool:
    """Whether a - b on the questions both answered has an interval that excludes zero (NaN: not answered)."""
    shared = ~np.isnan(a) & ~np.isnan(b)
    if not shared.any():
        return True
    return paired_difference(a[shared], b[shared], clusters[shared]).significant


def _entry(sub: Submission, rank: int | None, tier: int | None) -> dict[str, Any]:
    scores = {"overall": sub.scores["overall"], **sub.scores["by_level"], **sub.scores["by_type"]}
    keep = ("acc", "ci_low", "ci_high", "n", "chance")
    return {
        "slug": sub.slug,
        "display_name": sub.meta["display_name"],
        "rank": rank,
        "tier": tier,
        "status": sub.status,
        "baseline": sub.baseline,
        "reference": sub.reference,
        "model": sub.meta["model"],
        "frame_policy": _policy_text(sub.results.get("frame_policy")),
        "training": sub.meta["training"],
        "submitted_by": sub.meta["submitted_by"],
        "link": sub.meta.get("link"),
        "date": sub.meta["date"],
        "scores": {name: {k: entry[k] for k in keep} for name, entry in scores.items()},
        "speed_consistency": sub.scores["speed_consistency"],
        "notes": sub.notes,
        "wrong_examples": {kind: [dict(example) for example in examples] for kind, examples in sub.wrong.items()},
    }


def _policy_text(policy: dict[str, Any] | None) -> str:
    if not policy:
        return "none (blind)"
    from finevidbench.video import FramePolicy

    return str(FramePolicy.parse(policy))


def leaderboard_data(submissions_dir: Path, sources: list[str], cache: RescoreCache | None = None) -> dict[str, Any]:
    """Everything the site shows, as one JSON-able dict (also written as leaderboard.json)."""
    sets = question_sets(sources)
    accepted, rejected = collect(Path(submissions_dir), sets, cache)
    kept, duplicates = deduplicate(accepted, arrivals(submissions_dir))
    # reference rows (adversaries, the pixel oracle) are shown for scale, never ranked nor tiered
    references = [_entry(sub, None, None) for sub in sorted(kept, key=lambda s: s.slug) if sub.reference]
    ranked = sorted((s for s in kept if not s.reference), key=lambda s: (-s.scores["overall"]["acc"], s.slug))
    tiers = assign_tiers(ranked, {q.id: q.video for qs in sets.values() for q in qs.questions})
    prompts = {q.id: q.prompt for qs in sets.values() for q in qs.questions}
    entries = [_entry(sub, rank, tier) for rank, (sub, tier) in enumerate(zip(ranked, tiers, strict=True), start=1)]
    for entry in entries + references:
        for examples in entry["wrong_examples"].values():
            for example in examples:
                example["prompt"] = prompts.get(example["question_id"], "")
    first = next(iter(sets.values()))
    return {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "protocol_version": first.manifest["protocol_version"],
        "dataset": ", ".join(sources),
        "types": [
            {"name": t.name, "level": t.level, "display_name": t.display_name, "description": t.description}
            for level in ("scene", "fragment")
            for t in types_by_level(level)
        ],
        "entries": entries,
        "references": references,
        "rejected": rejected,
        "duplicates": duplicates,
    }


def build_site(submissions_dir: Path, out: Path, sources: list[str]) -> tuple[Path, dict[str, Any]]:
    """Build the static site into `out`; returns the index page and the data.

    Rescored submissions are cached in `out/.rescored/` by content hash: a rebuild after one new
    submission rescores that one only.
    """
    from leaderboard.site import render_site

    data = leaderboard_data(submissions_dir, sources, RescoreCache(Path(out) / ".rescored"))
    return render_site(data, out), data
