"""The synthetic corpus: short clips of one saturated shape doing one action, with exact labels.

These clips are the videos of the "mini" benchmark set that runs on CPU in CI. Questions built
from them must not be answerable from a static frame or from the file alone, so:

- frame size, frame rate and duration are drawn per clip, independently of the action;
- the start position, size, colour, angle and shape are randomised, so a single frame is
  consistent with several actions (the only shape that must be a triangle is the rotating one,
  and triangles also appear in every other action);
- every motion runs at one constant *natural speed* across the corpus (pixels, degrees, hue
  degrees or relative growth per second), so "is this clip sped up, slowed down or normal?" is
  answerable from the displacement per second;
- the background is low-saturation textured noise, so `locate_object` can segment the object by
  its saturation even in decoded h264 frames, and `states` records the exact ground truth of
  every frame (the tests check the decoded pixels against it).

This module writes the corpus (videos, labels.csv, states.jsonl) and is where its public names
are imported from; one clip's actions, speeds and random draws live in `finevidbench.corpus.clips`,
drawing frames and finding the object in them in `finevidbench.corpus.pixels`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from finevidbench.corpus.clips import (
    ACTION_TEXT,
    ACTIONS,
    DURATION_RANGE,
    FPS_CHOICES,
    FRAME_SIZES,
    GROWTH_RATE,
    HOLD_RANGE,
    HUE_SPEED,
    MARGIN,
    MINI_SCALE,
    PALETTE,
    POP_RANGE,
    ROTATION_SPEED,
    SHAPES,
    SIZE_RANGE,
    TIME_SYMMETRIC,
    TRANSLATION_SPEED,
    Scale,
    SynthClip,
    render_clip,
)
from finevidbench.corpus.pixels import CHROMA_THRESHOLD, MIN_AREA, ObjectState, locate_object, object_mask
from finevidbench.workers import ordered_map

__all__ = [
    "ACTIONS",
    "ACTION_TEXT",
    "CHROMA_THRESHOLD",
    "DURATION_RANGE",
    "FPS_CHOICES",
    "FRAME_SIZES",
    "GROWTH_RATE",
    "HOLD_RANGE",
    "HUE_SPEED",
    "MARGIN",
    "MINI_SCALE",
    "MIN_AREA",
    "PALETTE",
    "POP_RANGE",
    "ROTATION_SPEED",
    "SHAPES",
    "SIZE_RANGE",
    "TIME_SYMMETRIC",
    "TRANSLATION_SPEED",
    "ObjectState",
    "Scale",
    "SynthClip",
    "assign_actions",
    "locate_object",
    "object_mask",
    "render_clip",
    "synthesize",
]


# -- the corpus ---------------------------------------------------------------------------------------
def assign_actions(videos: int, seed: int) -> list[str]:
    """Actions for clips 0..videos-1: round-robin over a fresh seeded shuffle per round.

    Counts differ by at most 1, and a clip's index does not reveal its action.
    """
    rng = np.random.default_rng([seed, 0])
    names = list(ACTIONS)
    order: list[str] = []
    while len(order) < videos:
        order.extend(names[i] for i in rng.permutation(len(names)))
    return order[:videos]


def _states_record(clip: SynthClip, video: str) -> dict[str, Any]:
    height, width = clip.frames.shape[1:3]
    return {
        "video": video,
        "fps": clip.fps,
        "frame_count": len(clip.states),
        "width": int(width),
        "height": int(height),
        "shape": clip.shape,
        "action": clip.action,
        "states": [s.to_row() for s in clip.states],
    }


def synthesize(
    out: str | Path, videos: int, seed: int, progress: bool = True, scale: Scale = MINI_SCALE, workers: int = 1
) -> Path:
    """Write `videos` clips under out/videos/, out/labels.csv and out/states.jsonl; return labels.csv.

    Each clip has its own generator seeded by (seed, index), so a clip does not depend on how
    many others are rendered, nor on how many `workers` processes render them: the same (videos,
    seed, scale) gives the same files and frames.
    """
    from tqdm import tqdm

    if videos < 1:
        raise ValueError(f"videos must be at least 1, got {videos}")
    out = Path(out)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    actions = assign_actions(videos, seed)
    jobs = [(out, index, actions[index], seed, scale) for index in range(videos)]
    bar = tqdm(total=videos, desc="synth", unit="video", disable=not progress)
    rendered = []
    for result in ordered_map(_render_and_write, jobs, workers):
        rendered.append(result)
        bar.update()
    bar.close()
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("video", "action", "effect", "time_symmetric"))
        writer.writerows(label for label, _ in rendered)
    with open(out / "states.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(record) + "\n" for _, record in rendered)
    return out / "labels.csv"


def _render_and_write(job: tuple[Path, int, str, int, Scale]) -> tuple[tuple[str, str, str, int], dict[str, Any]]:
    """Render and encode clip `index`; its labels.csv row and states record (runs in a worker process)."""
    from finevidbench.video import write_video

    out, index, action, seed, scale = job
    video_id = f"synth_{index:04d}"
    clip = render_clip(action, np.random.default_rng([seed, 1, index]), video_id, scale)
    video = f"videos/{video_id}.mp4"
    write_video(out / video, clip.frames, fps=clip.fps)
    return (video, clip.action, clip.effect, int(clip.action in TIME_SYMMETRIC)), _states_record(clip, video)
