"""Reading a labels file: one row per video with its action and, optionally, its effect."""

from __future__ import annotations

import csv
from pathlib import Path

LABEL_COLUMNS = ("action", "effect", "time_symmetric")


def read_labels(path: str | Path) -> dict[str, dict[str, str]]:
    """Labels keyed by video id (the file stem of the `video` column).

    The `video` column may hold a file name, a relative path or a bare id. Only the known label
    columns are kept; empty cells are dropped, so a video without an effect gets no effect items.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: labels file not found (fix: pass --labels a CSV with a 'video' column)")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "video" not in reader.fieldnames or "action" not in reader.fieldnames:
            raise ValueError(
                f"{path}: a labels file needs the columns 'video' and 'action' (optional: 'effect'); "
                f"found {reader.fieldnames}"
            )
        labels: dict[str, dict[str, str]] = {}
        for line, row in enumerate(reader, start=2):
            video = Path((row.get("video") or "").strip()).stem
            if not video:
                raise ValueError(f"{path}:{line}: empty 'video' cell")
            if video in labels:
                raise ValueError(f"{path}:{line}: video {video!r} is labelled twice")
            labels[video] = {k: row[k].strip() for k in LABEL_COLUMNS if (row.get(k) or "").strip()}
    return labels
