"""Where the project's files live, for a checkout and for an installed wheel alike."""

from __future__ import annotations

import os
import sys
from pathlib import Path

TASKS_ENV = "FINEVIDBENCH_TASKS_DIR"
CACHE_ENV = "FINEVIDBENCH_CACHE"


def tasks_dir() -> Path:
    """The folder to hand to lmms-eval as `--include_path`.

    Order: $FINEVIDBENCH_TASKS_DIR, the `tasks/` folder of a checkout (editable install), the copy
    a wheel installs under `<prefix>/share/finevidbench/tasks`.
    """
    candidates = []
    if os.environ.get(TASKS_ENV):
        candidates.append(Path(os.environ[TASKS_ENV]))
    candidates.append(Path(__file__).resolve().parents[1] / "tasks")
    candidates.append(Path(sys.prefix) / "share" / "finevidbench" / "tasks")
    for candidate in candidates:
        if (candidate / "README.md").is_file():
            return candidate
    raise FileNotFoundError(
        "FineVidBench's lmms-eval tasks folder was not found (looked in "
        + ", ".join(str(c) for c in candidates)
        + f"); reinstall the package or set {TASKS_ENV} to the repository's tasks/ folder"
    )


def cache_dir() -> Path:
    """Where built question sets (the mini set) are kept: $FINEVIDBENCH_CACHE or ~/.cache/finevidbench."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "finevidbench"
