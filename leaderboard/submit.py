"""`make submit RESULTS=<run folder>`: validate and package a run as a leaderboard submission."""

from __future__ import annotations

import datetime
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from finevidbench.model_args import ModelArgsError, parse_model_args
from leaderboard.build import question_sets
from leaderboard.submission import SubmissionError, check_metadata, load_submission, rescore, slugify

SUBMISSIONS = Path(__file__).resolve().parent / "submissions"


def metadata_template(results: dict[str, Any]) -> dict[str, Any]:
    """A submission.json pre-filled from results.json, for the submitter to complete."""
    try:
        args = parse_model_args(results["model"]["args"])
    except ModelArgsError as exc:
        raise SubmissionError(f"results.json: model.args: {exc}") from None
    adapter = results["model"].get("adapter")
    trained = (adapter or {}).get("training") or {}  # the run record of an adapter made by make sf2t / make savi
    return {
        "schema_version": 1,
        "display_name": results["model"]["name"],
        "model": {
            "hub_id": args.get("pretrained"),
            "revision": results["model"].get("revision"),
            "parameters": None,
            "language_model": None,
            "vision_encoder": None,
        },
        "training": {
            "fine_tuned": bool(adapter),
            "sf2t": trained.get("kind") == "sf2t",
            "adapter": (adapter or {}).get("path"),
            "training_data": f"{trained['kind']} training set {trained.get('data_hash')}" if trained else None,
            "seen_benchmark_videos": bool(trained.get("contaminated")),
        },
        "submitted_by": "YOUR NAME",
        "link": None,
        "date": datetime.date.today().isoformat(),
    }


def submit(
    run: Path, meta_file: Path | None, sources: list[str], force: bool = False, into: Path = SUBMISSIONS
) -> Path:
    """Check a run folder and copy it into `into/<slug>/`; returns that folder."""
    run = Path(run)
    for name in ("results.json", "samples.jsonl"):
        if not (run / name).is_file():
            raise SubmissionError(f"{run / name}: missing (fix: pass the folder `make eval` wrote, e.g. runs/<model>)")
    meta_file = Path(meta_file) if meta_file else run / "submission.json"
    if not meta_file.is_file():
        template = metadata_template(json.loads((run / "results.json").read_text()))
        meta_file.write_text(json.dumps(template, indent=1) + "\n")
        raise SubmissionError(
            f"{meta_file}: written from results.json; complete it (name, parameters, ...) and run again"
        )
    meta = json.loads(meta_file.read_text())
    check_metadata(meta, str(meta_file))
    target = Path(into) / slugify(meta["display_name"])
    if target.exists() and not force:
        raise SubmissionError(f"{target}: a submission of that name exists (fix: another display_name, or FORCE=1)")
    with tempfile.TemporaryDirectory(dir=into, prefix=".incoming-") as tmp:
        staging = Path(tmp) / target.name
        staging.mkdir()
        (staging / "submission.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        shutil.copy2(run / "results.json", staging / "results.json")
        shutil.copy2(run / "samples.jsonl", staging / "samples.jsonl")
        rescore(load_submission(staging), staging, question_sets(sources))
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging), target)
    return target
