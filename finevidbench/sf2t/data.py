"""SF2T training sets: the five self-supervised tasks, built by the benchmark's fragment generators.

One generator, two uses: a training set is a question set like any other (questions.jsonl +
manifest.json, same builder, same validity rules), built with a training seed and the
training-only Localization type, and with an `sf2t` section in its manifest that says which
tasks it holds and what the benchmark guard found.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finevidbench.builder import BuildConfig, build, find_videos
from finevidbench.dataset import QuestionSet
from finevidbench.files import build_folder_once
from finevidbench.paths import cache_dir
from finevidbench.sf2t.guard import check_videos

SF2T_TASKS: dict[str, tuple[str, ...]] = {
    "counting": ("moment_count",),
    "consistency_verification": ("frame_comparison",),
    "localization": ("localization",),
    "disorder_detection": ("adjust_or_not", "meaningful_order"),
    "rearrangement": ("rearrangement",),
}
"""The paper's five tasks and the question types that build them (the mapping is ours)."""
TRAIN_SEED = 1
"""Seed of training builds; the benchmark's mini set uses 0."""
DEMO_VIDEOS = 96
DEMO_SEED = 7
"""The demonstration's synthetic training corpus: its own seed, so none of its clips is a mini clip."""


def training_types(tasks: Sequence[str] | None = None) -> tuple[str, ...]:
    """Question types of the chosen SF2T tasks (all five by default); unknown names are a clear error."""
    tasks = list(tasks or SF2T_TASKS)
    unknown = [t for t in tasks if t not in SF2T_TASKS]
    if unknown:
        raise ValueError(f"unknown SF2T task(s) {unknown}; known: {list(SF2T_TASKS)}")
    return tuple(name for task in tasks for name in SF2T_TASKS[task])


def build_training_set(
    videos: str | Path,
    out: str | Path,
    benchmark: QuestionSet,
    tasks: Sequence[str] | None = None,
    seed: int = TRAIN_SEED,
    labels: str | Path | None = None,
    allow_contaminated: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Build the SF2T training set of `videos` into `out`; returns its manifest.

    Raises ContaminationError before anything is built when a video is one of `benchmark`'s
    (unless `allow_contaminated`). `labels` is optional: without it nothing needs a label, and
    a labels file only lets the arrow-of-time task skip time-symmetric events.
    """
    files = find_videos(Path(videos))
    source = f"the benchmark ({benchmark.root})"
    guard = check_videos(files, benchmark.manifest, allow=allow_contaminated, source=source)
    types = training_types(tasks)
    extra = {
        "sf2t": {
            "tasks": list(tasks or SF2T_TASKS),
            "benchmark_dataset_hash": benchmark.dataset_hash,
            "guard": guard.to_dict(),
        }
    }
    return build(videos, out, labels=labels, config=BuildConfig(seed=seed, types=types), progress=progress, extra=extra)


def ensure_demo_videos(progress: bool = True) -> Path:
    """The demonstration's training corpus (synthetic clips, labels.csv), rendered into the cache once."""
    from finevidbench.corpus.synth import synthesize

    target = cache_dir() / f"sf2t-train-{DEMO_VIDEOS}v-s{DEMO_SEED}"
    return build_folder_once(
        target, "labels.csv", lambda staging: synthesize(staging, videos=DEMO_VIDEOS, seed=DEMO_SEED, progress=progress)
    )
