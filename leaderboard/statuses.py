"""What the board says about a submission beyond its scores, from records kept in this repository.

The submitter can claim anything in submission.json; the badges come from here instead:

- **baseline**: the submission's folder is listed under `baselines` in `leaderboard/statuses.json`.
- **verified**: a maintainer reran the submitted model with `make verify SUB=...`, it reproduced the
  submitted answers, and `statuses.json` records the SHA-256 of that samples.jsonl. Any later edit
  of the file drops the badge.
- **self-reported**: everything else.
- **reference**: the folder is listed under `references`: a row shown beside the models for scale, never
  ranked (the pixel-blind adversaries, the pixel oracle).

A results file naming a harness commit that is not in this repository's history gets a note.
"""

from __future__ import annotations

import datetime
import functools
import json
import subprocess
from pathlib import Path
from typing import Any

from finevidbench.files import atomic_write_text, sha256_file

STATUS_FILE = Path(__file__).resolve().parent / "statuses.json"
ROOT = Path(__file__).resolve().parents[1]


def load_statuses(path: Path | None = None) -> dict[str, Any]:
    """The kept records: {"baselines": [slug, ...], "references": [slug, ...], "verified": {slug: {...}}}."""
    path = path or STATUS_FILE
    data = json.loads(path.read_text()) if path.is_file() else {}
    return {
        "baselines": list(data.get("baselines", [])),
        "references": list(data.get("references", [])),
        "verified": dict(data.get("verified", {})),
    }


def status_of(slug: str, folder: Path, statuses: dict[str, Any]) -> str:
    """`verified` when a maintainer's rerun reproduced these very answers, else `self-reported`."""
    record = statuses["verified"].get(slug)
    if record and record.get("samples_sha256") == sha256_file(Path(folder) / "samples.jsonl"):
        return "verified"
    return "self-reported"


def record_verified(slug: str, samples: Path, commit: str | None, path: Path | None = None) -> dict[str, Any]:
    """Note in statuses.json that a rerun reproduced `samples` (the maintainer commits the file)."""
    path = path or STATUS_FILE
    data = load_statuses(path)
    entry = {
        "samples_sha256": sha256_file(samples),
        "harness_commit": commit,
        "verified_on": datetime.date.today().isoformat(),
    }
    data["verified"][slug] = entry
    data["verified"] = dict(sorted(data["verified"].items()))
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    return entry


def record_reference(slug: str, path: Path | None = None) -> None:
    """List `slug` among the reference rows in statuses.json (shown beside the models, never ranked)."""
    path = path or STATUS_FILE
    data = load_statuses(path)
    data["references"] = sorted({*data["references"], slug})
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")


@functools.lru_cache(maxsize=1024)
def known_commit(commit: str | None) -> bool | None:
    """Whether `commit` is in this repository's history (None: no commit given, or no git to ask).

    Asked once per commit and process: a board of 200 submissions from one harness commit asks git once.
    """
    if not commit:
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 and b"not a git repository" in done.stderr:
        return None
    return done.returncode == 0


def arrivals(submissions_dir: Path) -> dict[str, int]:
    """When each submission folder first entered the repository (commit time, seconds), by slug.

    The order of arrival decides which of two entries for the same model stays on the board: the
    `date` in submission.json is the submitter's word, git's history is not. A folder git does not
    know (a pull request being checked before it is committed) is absent: it arrives now.
    """
    folder = Path(submissions_dir).resolve()
    try:
        command = ["git", "-C", str(folder), "log", "--diff-filter=A", "--format=%ct", "--name-only", "--relative"]
        done = subprocess.run([*command, "--", "."], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    first: dict[str, int] = {}
    when = None
    for line in done.stdout.splitlines() if done.returncode == 0 else []:
        if line.isdigit():
            when = int(line)
        elif line and when is not None:
            first[line.split("/")[0]] = when  # newest commits come first: the last seen is the first add
    return first
