"""The results files of a run: the one writer and the one reader of results.json and samples.jsonl.

`results.json` is valid against `schemas/results.schema.json` (its `schema_version` is bumped
whenever a field changes meaning); `samples.jsonl` holds one scored sample per line. Both are
written through a temporary file and an atomic rename, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import platform
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from finevidbench.dataset import QuestionSet
from finevidbench.files import (
    FileFormatError,
    atomic_write_text,
    check_schema,
    read_json_object,
    read_jsonl,
    validator,
    write_json,
)
from finevidbench.scoring.extract import EXTRACTOR_VERSION
from finevidbench.scoring.score import SampleResult, aggregate, score_sample
from finevidbench.video import max_side

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1
RUN_COLUMNS = ("run", "model", "adapter", "frame_policy", "protocol_version")
TYPE_COLUMNS = ("type", "level", "n", "acc", "ci_low", "ci_high", "parse_fail_rate", "chance")
TRACKED_PACKAGES = ("finevidbench", "lmms_eval", "transformers", "torch", "peft", "av", "decord", "numpy")


class PredictionsError(Exception):
    """A predictions file cannot be scored: missing, malformed, or naming unknown questions."""


@dataclass(frozen=True)
class ModelInfo:
    """Which model answered: written as `model` in results.json."""

    name: str
    args: str = ""
    revision: str | None = None
    adapter: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    """How the adapter turned documents into inputs (pixel bounds and their source, frames, temporal patch)."""


def schema() -> dict[str, Any]:
    """The JSON Schema of results.json."""
    # jsonschema types a schema as a mapping or a bool; this file holds a JSON object
    return cast("dict[str, Any]", validator("finevidbench", "schemas/results.schema.json").schema)


def provenance(
    seeds: dict[str, Any] | None = None, device: str | None = None, wall_time_s: float | None = None
) -> dict[str, Any]:
    """Git commit, library versions, extractor version, seeds, device and wall time of a run."""
    versions: dict[str, str | None] = {}  # None: not installed
    for package in TRACKED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    versions["python"] = platform.python_version()
    return {
        "git_commit": git_commit(),
        "versions": versions,
        "extractor_version": EXTRACTOR_VERSION,
        "max_side": max_side(),  # frames larger than this were scaled down before any model saw them
        "seeds": seeds or {},
        "device": device,
        "wall_time_s": wall_time_s,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def git_commit() -> str | None:
    """The harness's commit (None outside a git checkout): what a rerun needs to reproduce a run."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None  # not a git checkout (an installed wheel)
    return out.stdout.strip() or None


def build_results(
    qs: QuestionSet,
    samples: Sequence[SampleResult],
    model: ModelInfo,
    frame_policy: dict[str, Any] | None,
    run_info: dict[str, Any] | None = None,
    n_missing: int = 0,
    tasks: str | None = None,
) -> dict[str, Any]:
    """The whole results.json record, assembled in one place."""
    return {
        "schema_version": SCHEMA_VERSION,
        "protocol_version": qs.manifest["protocol_version"],
        "dataset_hash": qs.dataset_hash,
        "model": {
            "name": model.name,
            "args": model.args,
            "revision": model.revision,
            "adapter": model.adapter,
            **({"inputs": model.inputs} if model.inputs else {}),
        },
        "frame_policy": frame_policy,
        "n_missing": n_missing,
        "tasks": tasks,
        "scores": aggregate(samples),
        "provenance": provenance(**(run_info or {})),
    }


def write_results(out: str | Path, results: dict[str, Any], samples: Sequence[SampleResult]) -> Path:
    """Validate against the schema, then write results.json and samples.jsonl into `out`."""
    out = Path(out)
    check_schema(results, "results", out / "results.json")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "samples.jsonl", "".join(json.dumps(s.to_dict(), sort_keys=True) + "\n" for s in samples))
    write_json(out / "results.json", results)
    return out / "results.json"


def read_results(path: str | Path, max_bytes: int | None = None) -> dict[str, Any]:
    """Read a results.json checked against its schema; FileFormatError names the file and field."""
    return read_json_object(Path(path), "results", max_bytes=max_bytes)


def run_folder(path: str | Path) -> Path:
    """The folder of a run given as the folder or as its results.json, checked to hold both files."""
    path = Path(path)
    folder = path.parent if path.name == "results.json" else path
    for name in ("results.json", "samples.jsonl"):
        if not (folder / name).is_file():
            raise PredictionsError(f"{folder}: no {name} (fix: pass a run folder written by make eval)")
    return folder


def read_samples(path: str | Path) -> list[SampleResult]:
    """The scored samples of a samples.jsonl (or of a run folder)."""
    path = Path(path)
    path = run_folder(path) / "samples.jsonl" if path.is_dir() else path
    try:
        return [SampleResult.from_dict(record) for record in read_jsonl(path, "sample")]
    except FileFormatError as exc:
        raise PredictionsError(str(exc)) from None


def results_frame(runs: Sequence[str | Path]) -> pd.DataFrame:
    """One row per run and question type: the table every comparison and the leaderboard start from.

    Columns: run, model, adapter, frame_policy, protocol_version, type, level, n, acc, ci_low,
    ci_high, parse_fail_rate, chance.
    """
    import pandas as pd

    from finevidbench.protocol import get_type
    from finevidbench.video import FramePolicy

    rows = []
    for run in runs:
        folder = run_folder(run)
        results = read_results(folder / "results.json")
        model = results["model"]
        common = {
            "run": folder.name,
            "model": model["name"],
            "adapter": (model.get("adapter") or {}).get("path"),
            "frame_policy": str(FramePolicy.parse(results["frame_policy"])) if results.get("frame_policy") else None,
            "protocol_version": results["protocol_version"],
        }
        for name, entry in sorted(results["scores"]["by_type"].items()):
            figures = {k: entry[k] for k in ("n", "acc", "ci_low", "ci_high", "parse_fail_rate", "chance")}
            rows.append({**common, "type": name, "level": get_type(name).level, **figures})
    # pandas' stubs type the constructor's Self from `typing`, which has none on Python 3.10: Any to mypy
    frame: pd.DataFrame = pd.DataFrame(rows, columns=[*RUN_COLUMNS, *TYPE_COLUMNS])
    return frame


def plain_prediction(record: object) -> bool:
    """True for a record prediction.schema.json surely accepts: an id and a response of bounded length.

    A shortcut past jsonschema for the common case (tests/test_fuzz.py checks it never accepts what
    the schema refuses); any other record goes through the schema, which names what is wrong.
    """
    if type(record) is not dict:
        return False
    qid, response = record.get("question_id"), record.get("response", ...)
    if type(qid) is not str or not 1 <= len(qid) <= 256:
        return False
    return response is None or (type(response) is str and len(response) <= 100_000) or type(response) in (int, float)


def read_predictions(path: str | Path, max_bytes: int | None = None) -> dict[str, str]:
    """{question_id: raw response} from a JSONL of {"question_id", "response"} records (samples.jsonl is one)."""
    path = Path(path)
    if not path.is_file():
        raise PredictionsError(
            f"{path}: predictions file not found (fix: pass the samples.jsonl a run wrote, or a JSON Lines file "
            'of {"question_id", "response"} records)'
        )
    predictions: dict[str, str] = {}
    try:
        for record in read_jsonl(path, "prediction", plain=plain_prediction, max_bytes=max_bytes):
            qid, response = record["question_id"], record["response"]
            if qid in predictions:
                raise PredictionsError(
                    f"{path}: question {qid!r} is answered twice (fix: keep one response per question)"
                )
            predictions[qid] = "" if response is None else str(response)
    except FileFormatError as exc:
        raise PredictionsError(str(exc)) from None
    return predictions


def score_predictions(qs: QuestionSet, predictions: dict[str, str]) -> tuple[list[SampleResult], int]:
    """Score every question; a question without a prediction counts as an unparsed (wrong) answer."""
    known = {q.id for q in qs.questions}
    unknown = sorted(set(predictions) - known)
    if unknown:
        raise PredictionsError(
            f"{len(unknown)} prediction(s) name questions not in this set, e.g. {unknown[:3]} "
            "(fix: score against the question set the predictions were made for)"
        )
    samples = [score_sample(q, predictions.get(q.id, "")) for q in qs.questions]
    return samples, len(known - set(predictions))
