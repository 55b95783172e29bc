"""The frame cache of every model that shows frames: one decode per video, bounded."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from finevidbench.model_args import take_group
from finevidbench.protocol.overlay import apply_overlay
from finevidbench.request import Clip, LabelledFrames, Request
from finevidbench.specs import FrameArgs
from finevidbench.video import DEFAULT_CACHE, FramePolicy, Sampling, decoded_size, load_frames, probe
from model_adapters.base import FineVidModel


class FrameCache:
    """The frames a model is shown, each video decoded once per run, memory bounded; owned by the model.

    `plan` (called with every pending request) notes the union of every frame the run shows of a
    video, over all speeds, windows and fragments; each request then cuts its frames from that one
    decode, kept in the shared decode cache until `release` says the video's questions are answered.
    """

    def __init__(self) -> None:
        self._union: dict[str, tuple[int, ...]] = {}
        self._rows: dict[str, dict[int, int]] = {}
        """Per video, each union frame's row in its decode (made on first use)."""
        self._lock = threading.Lock()
        """Guards the plan against a prefetch and `release` running at once (never held while decoding)."""
        self._loading: set[str] = set()
        """Videos a prefetch is decoding now: released meanwhile, their frames are dropped when it ends."""

    def sampling(self, clip: Clip) -> Sampling:
        """The frames the run's policy takes of a clip (a subclass may read the file's metadata elsewhere)."""
        return clip.sampling

    def reads(self, request: Request) -> list[tuple[str, tuple[int, ...]]]:
        """(video file, source frame indices) of every visual of `request` read from a file, without decoding."""
        found: list[tuple[str, tuple[int, ...]]] = []
        for visual in request.visuals:
            if isinstance(visual, Clip):
                found.append((visual.path, self.sampling(visual).indices))
            elif isinstance(visual, LabelledFrames):
                found.append((visual.path, visual.indices))
        return found

    def plan(self, requests: Sequence[Request]) -> None:
        """Note, per video, every frame the run will show (all speeds, windows, fragments): one decode each."""
        wanted: dict[str, set[int]] = {}
        for request in requests:
            for path, indices in self.reads(request):
                wanted.setdefault(path, set()).update(indices)
        self._union = {path: tuple(sorted(frames)) for path, frames in wanted.items()}
        self._rows = {}

    def planned_bytes(self) -> int:
        """What the planned decodes hold together, at their decoded size."""
        total = 0
        for path, union in self._union.items():
            meta = probe(path)
            width, height = decoded_size(meta.width, meta.height)
            total += len(union) * width * height * 3
        return total

    def prefetch(self, requests: Sequence[Request]) -> None:
        """Decode (into the shared decode cache) the videos of the next batch.

        A prefetcher that falls behind a fast model must not decode a video whose questions are all
        answered (released) again: it skips released videos. `release` never waits for a decode under
        way (the model answers on meanwhile); a video released while it decodes is dropped when it ends.
        """
        for request in requests:
            for path in request.videos:
                with self._lock:
                    union = self._union.get(path)
                    if union is None:
                        continue
                    self._loading.add(path)
                try:
                    load_frames(path, union)
                finally:
                    with self._lock:
                        self._loading.discard(path)
                        if path not in self._union:  # answered while it decoded
                            DEFAULT_CACHE.forget(path)

    def release(self, videos: Sequence[str]) -> None:
        """Drop the answered videos' decoded frames: memory stays bounded by the videos in flight."""
        with self._lock:
            for path in videos:
                self._union.pop(path, None)
                self._rows.pop(path, None)
                if path not in self._loading:
                    DEFAULT_CACHE.forget(path)

    def frames(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames of a video at `indices`, cut from one decode of every frame the run shows of it."""
        union = self._union.get(path)
        if union is not None and path not in self._rows:
            self._rows[path] = {index: position for position, index in enumerate(union)}
        row = self._rows.get(path, {})
        if union is None or any(i not in row for i in indices):  # a video or a frame the run did not announce
            union = tuple(sorted(set(indices)))
            row = {index: position for position, index in enumerate(union)}
        return np.asarray(load_frames(path, union))[[row[i] for i in indices]]

    def clip(self, clip: Clip) -> np.ndarray:
        """A clip's frames, as its policy samples them."""
        return self.frames(clip.path, self.sampling(clip).indices)

    def labelled(self, frames: LabelledFrames) -> np.ndarray:
        """Labelled frames in the order shown, with their pasted target (if any) painted on."""
        overlay = None if frames.overlay is None else dict(frames.overlay)
        return apply_overlay(self.frames(frames.path, frames.indices), overlay)


class ShowsFrames(FineVidModel):
    """A model that shows frames: its frame cache follows the run (plan, prefetch, release) from `FineVidModel`."""

    frame_cache: FrameCache
    frame_policy: FramePolicy
    argument_groups: ClassVar[tuple[type[Any], ...]] = (FrameArgs,)

    def __init__(self, **kwargs: Any) -> None:
        self.frame_args = take_group(FrameArgs, kwargs)
        """The run's frame arguments; the model makes its policy of them (`FrameArgs.policy`)."""
        self.frame_cache = FrameCache()
        super().__init__(**kwargs)

    def prepare(self, requests: Sequence[Request]) -> None:
        """Plan the run's decodes: one per video."""
        self.frame_cache.plan(requests)

    def prefetch(self, requests: Sequence[Request]) -> None:
        """Decode the next batch's videos."""
        self.frame_cache.prefetch(requests)

    def release(self, videos: Sequence[str]) -> None:
        """Free the answered videos' frames."""
        self.frame_cache.release(videos)
