"""`make verify SUB=leaderboard/submissions/<slug>`: a maintainer reruns a submission and records it verified.

    python -m runners.verify SUB [--data mini]

The submitted model is evaluated again, with the name and arguments its results.json records, on
the question set it names; when every answer equals the submitted one, leaderboard/statuses.json
records the SHA-256 of its samples.jsonl and the harness commit, and the board shows "verified".
Commit statuses.json with the submission. A model this machine cannot run (no GPU, no access) is
not verified: the command says why and changes nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from finevidbench.results import PredictionsError, git_commit, read_predictions
from leaderboard.build import question_sets
from leaderboard.statuses import record_verified
from leaderboard.submission import SubmissionError, load_submission
from runners.evaluate import main as evaluate


def verify(folder: Path, data: str = "mini") -> tuple[bool, str]:
    """Rerun the submission in `folder`; (verified, what happened in one line)."""
    submission = load_submission(folder)
    if submission.results["dataset_hash"] not in question_sets([data]):
        return False, f"{folder}: its question set is not {data} (fix: pass --data the set it was evaluated on)"
    model = submission.results["model"]
    with tempfile.TemporaryDirectory(prefix="finevidbench-verify-") as tmp:
        run = Path(tmp) / "run"
        command = ["--model", model["name"], "--model_args", model.get("args") or "", "--data", data, "--out", str(run)]
        if evaluate(command) != 0:
            return False, f"{folder}: the rerun of {model['name']} failed (see above); nothing recorded"
        ours, theirs = read_predictions(run / "samples.jsonl"), read_predictions(folder / "samples.jsonl")
    differ = sorted(q for q in theirs if ours.get(q) != theirs[q])
    if differ or set(ours) != set(theirs):
        return False, f"{folder}: {len(differ)} of {len(theirs)} answers differ from the rerun (first: {differ[:1]})"
    entry = record_verified(folder.name, folder / "samples.jsonl", git_commit())
    return True, f"{folder}: reproduced {len(theirs)} answers; recorded as verified ({entry['samples_sha256'][:12]})"


def main(argv: list[str] | None = None) -> int:
    """Entry point of `make verify`; exit 1 when the rerun does not reproduce the answers."""
    parser = argparse.ArgumentParser(prog="python -m runners.verify", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a submission folder, leaderboard/submissions/<slug>")
    parser.add_argument("--data", default="mini", help="the question set it was evaluated on")
    args = parser.parse_args(argv)
    try:
        verified, message = verify(Path(args.folder), args.data)
    except (SubmissionError, PredictionsError) as exc:
        print(f"make verify: {exc}", file=sys.stderr)
        return 2
    print(message, file=sys.stdout if verified else sys.stderr)
    return 0 if verified else 1


if __name__ == "__main__":
    sys.exit(main())
