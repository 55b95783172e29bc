"""`make submit RESULTS=<run folder>`: validate and package a run as a leaderboard submission."""

from __future__ import annotations

import datetime
import json
import shutil
import tempfile
from pathlib import Path

from leaderboard.build import question_sets
from leaderboard.submission import SubmissionError, check_metadata, load_submission, rescore, slugify

SUBMISSIONS = Path(__file__).resolve().parent / "submissions"


def metadata_template(results: dict) -> dict:
    """A submission.json pre-filled from results.json, for the submitter to complete."""
    args = dict(kv.split("=", 1) for kv in results["model"]["args"].split(",") if "=" in kv)
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


BASELINES = {"random": "Random baseline", "most_frequent": "Most-frequent-answer baseline"}


def seed_baselines(into: Path = SUBMISSIONS, work: Path = Path("runs") / "seeds") -> list[Path]:
    """Evaluate the reference baselines on the mini set and (re)write their submissions."""
    from model_adapters.evaluate import main as evaluate

    written = []
    for model, name in BASELINES.items():
        run = Path(work) / model
        if run.exists():
            shutil.rmtree(run)  # a fresh run: stale answers of another protocol version must not be reused
        if evaluate(["--model", model, "--data", "mini", "--out", str(run)]) != 0:
            raise SubmissionError(f"evaluating the {model} baseline failed")
        meta = metadata_template(json.loads((run / "results.json").read_text()))
        meta.update(display_name=name, baseline=True, submitted_by="FineVidBench maintainers")
        meta["model"].update(hub_id=None, revision=None)
        (run / "submission.json").write_text(json.dumps(meta, indent=1) + "\n")
        written.append(submit(run, None, ["mini"], force=True, into=into))
    return written
