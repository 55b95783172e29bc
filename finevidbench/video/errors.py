"""The one error type of the video layer."""

from __future__ import annotations

from pathlib import Path


class VideoError(Exception):
    """A video could not be read: missing, empty, truncated or not a video.

    The message always names the file, the cause and what to do about it, so that a run over
    a thousand videos reports the one bad file in a single line instead of a decoder traceback.
    """

    def __init__(self, path: str | Path, cause: str, fix: str = "") -> None:
        self.path = str(path)
        self.cause = cause
        self.fix = fix or "re-encode or re-download the file, or remove it from the collection"
        super().__init__(f"{self.path}: {cause} (fix: {self.fix})")

    def __reduce__(self) -> tuple[type[VideoError], tuple[str, str, str]]:
        # raised in a worker process (finevidbench.workers), it crosses back whole: path, cause and fix
        return type(self), (self.path, self.cause, self.fix)
