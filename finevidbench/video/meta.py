"""Probing a file: what a video contains, read from the container without decoding pixels."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from finevidbench.video.errors import VideoError

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v")
"""File suffixes the builder takes for videos (other media in a videos folder is reported: `corpus.scan`)."""


@dataclass(frozen=True)
class VideoMeta:
    """What a video file holds. Frame indices everywhere in the project count from 0 to frame_count - 1."""

    path: str
    """The file, as given."""
    frame_count: int
    """Frames in the first video stream, counted from its packets (never a container estimate)."""
    fps: float
    """Average frame rate of the stream."""
    duration: float
    """frame_count / fps, in seconds."""
    width: int
    height: int
    codec: str
    """FFmpeg codec name, e.g. h264, mpeg4."""

    def to_json(self) -> str:
        """One JSON line, as `finevidbench probe` prints it."""
        return json.dumps(asdict(self), sort_keys=True)


def file_key(path: str | Path) -> tuple[str, int, int]:
    """Identity of a file's content for caches: resolved path, size and modification time."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise VideoError(path, "file not found", "check the path, or rebuild the question set") from None
    if not stat.S_ISREG(st.st_mode):
        raise VideoError(path, "not a regular file", "pass a video file, not a folder")
    return (_resolved(str(path)), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=65536)
def _resolved(path: str) -> str:
    """The absolute, link-free path (remembered: a run asks for the key of each video on every request)."""
    return str(Path(path).resolve())


def probe(path: str | Path) -> VideoMeta:
    """Read a file's metadata with PyAV, which reports bad input as exceptions, never as a crash.

    This is also the pre-check that runs before any frame is decoded: a file that fails here
    never reaches decord, whose native code can abort the process on malformed input.
    """
    return _probe_cached(*file_key(path), str(path))


@lru_cache(maxsize=4096)
def _probe_cached(resolved: str, size: int, mtime_ns: int, shown: str) -> VideoMeta:
    import av

    if size == 0:
        raise VideoError(shown, "empty file (0 bytes)")
    try:
        with av.open(resolved, metadata_errors="ignore") as container:
            if not container.streams.video:
                raise VideoError(shown, "no video stream in the container")
            stream = container.streams.video[0]
            frame_count = sum(1 for packet in container.demux(stream) if packet.size > 0)
            rate = stream.average_rate or stream.guessed_rate
            if not rate:
                raise VideoError(shown, "the video stream has no frame rate")
            fps = float(Fraction(rate))
            listed = int(stream.frames or 0)
            if listed and frame_count < listed:
                raise VideoError(shown, f"truncated: the container lists {listed} frames, {frame_count} are present")
            meta = VideoMeta(
                path=shown,
                frame_count=frame_count,
                fps=fps,
                duration=round(frame_count / fps, 6),
                width=int(stream.codec_context.width),
                height=int(stream.codec_context.height),
                codec=stream.codec_context.name,
            )
    except VideoError:
        raise
    except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise VideoError(shown, f"not a readable video ({type(exc).__name__}: {exc})") from None
    if meta.frame_count == 0:
        raise VideoError(shown, "the video stream holds no frames")
    if meta.width <= 0 or meta.height <= 0:
        raise VideoError(shown, f"invalid frame size {meta.width}x{meta.height}")
    return meta
