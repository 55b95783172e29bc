"""Decoding chosen frames to uint8 RGB arrays, with decord (default) or PyAV.

This is the only module of the project that decodes video. Both backends return the same
frames (tests check it); PyAV is the fallback where decord is not installed and the reference
when a decord build misbehaves. Every file is probed first (`meta.probe`), so malformed input is
reported by PyAV as a `VideoError` before decord's native code ever sees it.

No frame is decoded larger than `max_side()` pixels on its longer side: a larger video is scaled
down by the decoder itself, frame by frame (aspect kept), so a 6000x6000 clip never occupies
memory at full size. Videos within the cap decode exactly as they are.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

from finevidbench.video.errors import VideoError
from finevidbench.video.meta import VideoMeta, probe

Backend = Literal["decord", "pyav"]
BACKENDS: tuple[str, ...] = ("decord", "pyav")
DEFAULT_BACKEND_ENV = "FINEVIDBENCH_DECODER"
MAX_SIDE = 1280
"""Longest side, in pixels, of any decoded frame unless FINEVIDBENCH_MAX_SIDE says otherwise. 1280 keeps
720p footage (1280x720) as it is and takes 1080p and larger down to it, more than video models'
processors usually keep of a frame; a 24-frame clip then holds at most 66 MB (16:9) or 118 MB (square),
where one 6000x6000 frame alone is 108 MB."""
MAX_SIDE_ENV = "FINEVIDBENCH_MAX_SIDE"


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


def max_side() -> int:
    """The cap on a decoded frame's longer side: MAX_SIDE, or FINEVIDBENCH_MAX_SIDE (read at every decode)."""
    raw = os.environ.get(MAX_SIDE_ENV, "").strip()
    if not raw:
        return MAX_SIDE
    if not raw.isdigit() or int(raw) < 16:
        raise ValueError(f"{MAX_SIDE_ENV}={raw!r}: expected a whole number of pixels, at least 16")
    return int(raw)


def decoded_size(width: int, height: int, cap: int | None = None) -> tuple[int, int]:
    """(width, height) of the frames decoded from a `width` x `height` video under `cap` (default `max_side()`).

    Within the cap, the video's own size. Above it, scaled so the longer side is the cap, the
    aspect kept and both sides rounded to even numbers (what yuv420p encoders, and so the
    speed-altered copies, need).
    """
    cap = max_side() if cap is None else cap
    if max(width, height) <= cap:
        return width, height
    scale, limit = cap / max(width, height), cap - cap % 2
    return tuple(min(limit, max(2, 2 * round(side * scale / 2))) for side in (width, height))  # type: ignore[return-value]


def decode_frames(
    path: str | Path, indices: Sequence[int], backend: Backend | None = None, meta: VideoMeta | None = None
) -> npt.NDArray[np.uint8]:
    """Frames at `indices` (any order, repeats allowed) as an array of shape (N, H, W, 3), uint8 RGB.

    H and W are the video's, or `decoded_size`'s when the video is larger than the cap.
    """
    meta = meta or probe(path)
    wanted = [int(i) for i in indices]
    size = decoded_size(meta.width, meta.height)
    if not wanted:
        return np.zeros((0, size[1], size[0], 3), dtype=np.uint8)
    bad = [i for i in wanted if not 0 <= i < meta.frame_count]
    if bad:
        raise VideoError(
            path,
            f"frame index {bad[0]} is outside 0..{meta.frame_count - 1}",
            "sample indices with FramePolicy.sample on this file's metadata",
        )
    unique = sorted(set(wanted))
    backend = backend or default_backend()
    scaled = None if size == (meta.width, meta.height) else size
    if backend == "decord":
        frames = _decode_decord(str(path), unique, meta, scaled)
    elif backend == "pyav":
        frames = _decode_pyav(str(path), unique, meta, scaled)
    else:
        raise ValueError(f"unknown video backend {backend!r}; choose one of {BACKENDS}")
    position = {index: row for row, index in enumerate(unique)}
    return frames[[position[i] for i in wanted]]


def _decode_decord(
    path: str, unique: list[int], meta: VideoMeta, scaled: tuple[int, int] | None
) -> npt.NDArray[np.uint8]:
    import decord

    width, height = scaled or (-1, -1)  # -1: decord's "as decoded"
    try:
        reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1, width=width, height=height)
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


def _decode_pyav(
    path: str, unique: list[int], meta: VideoMeta, scaled: tuple[int, int] | None
) -> npt.NDArray[np.uint8]:
    import av

    # the same swscale bilinear scaling decord's filter graph applies (tests compare the two)
    width, height = scaled if scaled else (None, None)  # None: the stream's own size
    wanted = set(unique)
    out: dict[int, npt.NDArray[np.uint8]] = {}
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            for index, frame in enumerate(container.decode(stream)):
                if index in wanted:
                    rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
                    out[index] = cast("npt.NDArray[np.uint8]", rgb)  # rgb24 is uint8 (PyAV: any format's dtype)
                if index >= unique[-1]:
                    break
    except av.FFmpegError as exc:
        raise VideoError(path, f"PyAV could not decode it ({exc})") from None
    missing = [i for i in unique if i not in out]
    if missing:
        raise VideoError(path, f"truncated: frame {missing[0]} of {meta.frame_count} could not be decoded")
    return np.stack([out[i] for i in unique])
