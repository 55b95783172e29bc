"""A speed-altered copy of a clip, for models that read video files themselves.

Our adapters apply a playback speed through `FramePolicy.speed`. lmms-eval's built-in models only
take a path, so scene items at another speed hand them a copy with the same frames and the frame
rate multiplied by the speed: 2.0 plays twice as fast, 0.5 at half speed, and no frame is repeated
or dropped, which is exactly what `FramePolicy(speed=...)` samples from.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from finevidbench.video.clip import load_frames
from finevidbench.video.encode import write_video
from finevidbench.video.meta import file_key, probe


def speed_altered_copy(path: str | Path, speed: float, cache: str | Path | None = None) -> Path:
    """The cached copy of `path` at `speed` (made on first use, atomically)."""
    from finevidbench.paths import cache_dir

    resolved, size, mtime = file_key(path)
    digest = hashlib.sha256(f"{resolved}:{size}:{mtime}".encode()).hexdigest()[:16]
    target = Path(cache or cache_dir() / "speed") / f"{Path(path).stem}-{digest}-x{speed:g}.mp4"
    if target.is_file():
        return target
    meta = probe(path)
    frames = load_frames(path, range(meta.frame_count), cache=None)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.mp4")
    write_video(tmp, frames, fps=meta.fps * speed)
    os.replace(tmp, target)
    return target
