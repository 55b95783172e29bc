"""Decoding chosen frames to uint8 RGB arrays, with decord (default) or PyAV.

This is the only module of the project that decodes video. Both backends return the same
frames (tests check it); PyAV is the fallback where decord is not installed and the reference
when a decord build misbehaves. Every file is probed first (`meta.probe`), so malformed input is
reported by PyAV as a `VideoError` before decord's native code ever sees it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from finevidbench.video.errors import VideoError
from finevidbench.video.meta import VideoMeta, probe

Backend = Literal["decord", "pyav"]
BACKENDS: tuple[str, ...] = ("decord", "pyav")
DEFAULT_BACKEND_ENV = "FINEVIDBENCH_DECODER"


def default_backend() -> Backend:
    """Decord unless FINEVIDBENCH_DECODER says otherwise, or decord is not installed."""
    chosen = os.environ.get(DEFAULT_BACKEND_ENV, "decord")
    if chosen not in BACKENDS:
        raise ValueError(f"{DEFAULT_BACKEND_ENV}={chosen!r}: choose one of {BACKENDS}")
    if chosen == "decord":
        try:
            import decord  # noqa: F401
        except ImportError:
            return "pyav"
    return chosen  # type: ignore[return-value]


def decode_frames(
    path: str | Path, indices: Sequence[int], backend: Backend | None = None, meta: VideoMeta | None = None
) -> np.ndarray:
    """Frames at `indices` (any order, repeats allowed) as an array of shape (N, H, W, 3), uint8 RGB."""
    meta = meta or probe(path)
    wanted = [int(i) for i in indices]
    if not wanted:
        return np.zeros((0, meta.height, meta.width, 3), dtype=np.uint8)
    bad = [i for i in wanted if not 0 <= i < meta.frame_count]
    if bad:
        raise VideoError(
            path,
            f"frame index {bad[0]} is outside 0..{meta.frame_count - 1}",
            "sample indices with FramePolicy.sample on this file's metadata",
        )
    unique = sorted(set(wanted))
    backend = backend or default_backend()
    if backend == "decord":
        frames = _decode_decord(str(path), unique, meta)
    elif backend == "pyav":
        frames = _decode_pyav(str(path), unique, meta)
    else:
        raise ValueError(f"unknown video backend {backend!r}; choose one of {BACKENDS}")
    position = {index: row for row, index in enumerate(unique)}
    return frames[[position[i] for i in wanted]]


def _decode_decord(path: str, unique: list[int], meta: VideoMeta) -> np.ndarray:
    import decord

    try:
        reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
        if len(reader) < unique[-1] + 1:
            raise VideoError(path, f"decord sees {len(reader)} frames, the container lists {meta.frame_count}")
        frames = reader.get_batch(unique).asnumpy()
    except VideoError:
        raise
    except (decord.DECORDError, RuntimeError) as exc:
        raise VideoError(path, f"decord could not decode it ({exc})".replace("\n", " ")) from None
    finally:
        reader = None  # release the native reader and its file handle now, not at interpreter exit
    return np.ascontiguousarray(frames, dtype=np.uint8)


def _decode_pyav(path: str, unique: list[int], meta: VideoMeta) -> np.ndarray:
    import av

    wanted = set(unique)
    out: dict[int, np.ndarray] = {}
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            for index, frame in enumerate(container.decode(stream)):
                if index in wanted:
                    out[index] = frame.to_ndarray(format="rgb24")
                if index >= unique[-1]:
                    break
    except av.FFmpegError as exc:
        raise VideoError(path, f"PyAV could not decode it ({exc})") from None
    missing = [i for i in unique if i not in out]
    if missing:
        raise VideoError(path, f"truncated: frame {missing[0]} of {meta.frame_count} could not be decoded")
    return np.stack([out[i] for i in unique])
