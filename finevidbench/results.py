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
    seeds: dict[str, Any] | None = None,
    device: str | None = None,
    wall_time_s: float | None = None,
    engine: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Git commit, library versions, extractor version, seeds, device, wall time and serving engine of a run."""
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
    } | ({"engine": engine} if engine else {})


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
    other_tasks: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole results.json record, assembled in one place (`scores` None when no FineVidBench task ran)."""
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
        "scores": aggregate(samples) if samples else None,
        **({"other_tasks": other_tasks} if other_tasks else {}),
        "provenance": provenance(**(run_info or {})),
    }


LOGGED_FIELDS = frozenset(
    {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "token_counts", "doc_hash", "input_media"}
)
"""The fields lmms-eval writes into every logged sample; the others are the task's per-sample metrics."""


def other_task_figures(lmms_results: dict[str, Any], tasks: Sequence[str], source: str) -> dict[str, dict[str, Any]]:
    """{task: figures} of tasks that are not ours, from lmms-eval's results: its own aggregation's numbers."""
    figures = {}
    for task in tasks:
        entry = lmms_results.get("results", {}).get(task)
        if entry is None:
            continue
        metrics = {k: _number(v) for k, v in entry.items() if k != "alias" and "_stderr" not in k}
        stderr = {k: _number(entry.get(k.replace(",", "_stderr,", 1))) for k in metrics}
        counts = lmms_results.get("n-samples", {}).get(task) or {}
        figures[task] = {
            "metrics": metrics,
            "stderr": stderr,
            "n": counts.get("effective"),
            "version": lmms_results.get("versions", {}).get(task),
            "group": task in lmms_results.get("groups", {}),
            "higher_is_better": lmms_results.get("higher_is_better", {}).get(task) or {},
            "source": source,
        }
    return figures


def other_task_samples(lmms_results: dict[str, Any], tasks: Sequence[str]) -> list[dict[str, Any]]:
    """Per-sample records of tasks that are not ours: document id, response and each numeric metric."""
    records = []
    for task in tasks:
        for logged in lmms_results.get("samples", {}).get(task, []):
            responses = logged.get("filtered_resps") or [None]
            scores = {k: v for k, v in logged.items() if k not in LOGGED_FIELDS and _number(v) is not None}
            records.append(
                {
                    "task": task,
                    "doc_id": logged["doc_id"],
                    "doc_hash": logged.get("doc_hash"),
                    "target": str(logged.get("target")),
                    "response": _text(responses[0]),
                    "scores": scores,
                }
            )
    return sorted(records, key=lambda r: (r["task"], r["doc_id"]))


def read_other_samples(folder: str | Path) -> list[dict[str, Any]]:
    """The per-sample records of a run's other tasks (none when it ran FineVidBench only)."""
    path = Path(folder) / OTHER_SAMPLES
    return list(read_jsonl(path, "other_sample")) if path.is_file() else []


OTHER_SAMPLES = "other_samples.jsonl"


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and value == value:  # NaN (lmms-eval's "no stderr") is no number
        return float(value)
    return None


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and value:
        return _text(value[0])
    return str(value)


def write_results(
    out: str | Path,
    results: dict[str, Any],
    samples: Sequence[SampleResult],
    other_samples: Sequence[dict[str, Any]] = (),
) -> Path:
    """Validate against the schema, then write results.json, samples.jsonl (and other_samples.jsonl) into `out`."""
    out = Path(out)
    check_schema(results, "results", out / "results.json")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "samples.jsonl", "".join(json.dumps(s.to_dict(), sort_keys=True) + "\n" for s in samples))
    if other_samples:
        atomic_write_text(out / OTHER_SAMPLES, "".join(json.dumps(r, sort_keys=True) + "\n" for r in other_samples))
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
        if results["scores"] is None:
            raise PredictionsError(f"{folder}: ran no FineVidBench task (only other tasks: its other_tasks hold them)")
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
