"""A speed-altered copy of a clip, for models that read video files themselves.

Our adapters apply a playback speed through `FramePolicy.for_scene`. lmms-eval's built-in models
only take a path, so a scene item at another speed, or showing a window of its clip, hands them a
copy: the window's source frames resampled at the speed (0.5 repeats each frame twice, 2.0 keeps
every other frame) and written at the source frame rate. The frame rate, and, for the windows of
speed items, the frame count and duration, are then the same at every speed: only the motion per
second differs, as in what our adapters sample.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from finevidbench.video.clip import load_frames
from finevidbench.video.decode import max_side
from finevidbench.video.encode import write_video
from finevidbench.video.meta import file_key, probe
from finevidbench.video.policy import FramePolicy, altered_indices


def speed_altered_copy(
    path: str | Path, speed: float, window: Sequence[float] | None = None, cache: str | Path | None = None
) -> Path:
    """The cached copy of `path` (its `window`, in source seconds, when given) at `speed`, made atomically."""
    from finevidbench.paths import cache_dir

    resolved, size, mtime = file_key(path)
    view = f"x{speed:g}" + (f"-w{window[0]:.6f}-{window[1]:.6f}" if window else "") + f"-max{max_side()}"
    digest = hashlib.sha256(f"{resolved}:{size}:{mtime}:{view}".encode()).hexdigest()[:16]
    target = Path(cache or cache_dir() / "speed") / f"{Path(path).stem}-{digest}-x{speed:g}.mp4"
    if target.is_file():
        return target
    meta = probe(path)
    first, last = FramePolicy(num_frames=1).for_scene(speed, window).frame_range(meta)
    frames = load_frames(path, altered_indices(first, last, speed), cache=None)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.mp4")
    write_video(tmp, frames, fps=meta.fps)
    os.replace(tmp, target)
    return target
