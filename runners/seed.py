"""`make leaderboard-seeds`: evaluate the reference baselines on the mini set and (re)write their submissions.

python -m runners.seed
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from finevidbench.results import git_commit
from leaderboard.statuses import record_reference, record_verified
from leaderboard.submission import SubmissionError
from leaderboard.submit import SUBMISSIONS, metadata_template, submit
from runners.evaluate import main as evaluate

BASELINES = {"random": "Random baseline", "most_frequent": "Most-frequent-answer baseline"}
"""lmms-eval model name -> display name of the seeded reference baselines."""
REFERENCES = {
    "text_only": "Pixel-blind adversary: text only",
    "metadata_only": "Pixel-blind adversary: metadata only",
    "pixel_oracle": "Pixel oracle (classical vision, Qwen2.5-VL frame size)",
}
"""lmms-eval model name -> display name of the reference rows: shown beside the models, never ranked."""


def seed_baselines(
    into: Path = SUBMISSIONS, work: Path = Path("runs") / "seeds", models: dict[str, str] | None = None
) -> list[Path]:
    """Evaluate each reference baseline (and reference row) on the mini set and write its submission into `into`."""
    written = []
    for model, name in (models or {**BASELINES, **REFERENCES}).items():
        run = Path(work) / model
        if run.exists():
            shutil.rmtree(run)  # a fresh run: stale answers of another protocol version must not be reused
        if evaluate(["--model", model, "--data", "mini", "--out", str(run)]) != 0:
            raise SubmissionError(f"evaluating the {model} baseline failed")
        meta = metadata_template(json.loads((run / "results.json").read_text()))
        meta.update(display_name=name, baseline=model in BASELINES, submitted_by="FineVidBench maintainers")
        meta["model"].update(hub_id=None, revision=None)
        (run / "submission.json").write_text(json.dumps(meta, indent=1) + "\n")
        target = submit(run, None, ["mini"], force=True, into=into)
        record_verified(target.name, target / "samples.jsonl", git_commit())  # this run is the maintainer's rerun
        if model in REFERENCES:
            record_reference(target.name)
        written.append(target)
    return written


def main() -> int:
    """Seed every baseline; one error line and exit code 2 when one fails."""
    try:
        for folder in seed_baselines():
            print(f"seed submission written to {folder}")
    except SubmissionError as exc:
        print(f"make leaderboard-seeds: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
