"""Frame loading shared by every model that feeds frames: each video decoded once per run, memory bounded."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from finevidbench.protocol.overlay import apply_overlay
from finevidbench.video import DEFAULT_CACHE, FramePolicy, Sampling, load_frames, probe
from model_adapters.base import Request


class DecodesEachVideoOnce:
    """Frame loading shared by every model that feeds frames: each video is decoded once per run.

    `prepare` (called with all pending requests) notes the union of every frame the run shows of a
    video, over all speeds, windows and fragments; each request then cuts its frames from that one
    decode, kept in the shared frame cache. Needs a `frame_policy`.
    """

    frame_policy: FramePolicy
    _release_lock = threading.Lock()
    """Serialises a prefetch's check-and-load with `release` (shared by instances: one run at a time)."""

    def scene_sampling(self, doc: dict) -> Sampling:
        """The frames the run's policy takes for a scene document (its speed and window), without decoding."""
        return self.frame_policy.for_scene(doc["speed"], doc.get("window")).sample(probe(doc["video_path"]))

    def frames_needed(self, doc: dict) -> tuple[int, ...]:
        """Source frame indices a document shows, in the order shown."""
        return tuple(doc["frames"]) if doc["level"] == "fragment" else self.scene_sampling(doc).indices

    def prepare(self, requests: Sequence[Request]) -> None:
        """Note, per video, every frame the run will show (all speeds, windows, fragments): one decode each."""
        self._union: dict[str, tuple[int, ...]] = {}
        for request in requests:
            path = request.doc["video_path"]
            self._union[path] = tuple(sorted({*self._union.get(path, ()), *self.frames_needed(request.doc)}))

    def prefetch(self, requests: Sequence[Request]) -> None:
        """Decode (into the shared frame cache) the videos of the next batch.

        A prefetcher that falls behind a fast model must not decode a video whose questions are all
        answered (released) again: it skips released videos, and `release` waits for a load under way.
        """
        for request in requests:
            path = request.doc["video_path"]
            # checked and loaded under the lock `release` takes: a video is never loaded once released
            with self._release_lock:
                union = getattr(self, "_union", {}).get(path)
                if union is not None:
                    load_frames(path, union)

    def release(self, videos: Sequence[str]) -> None:
        """Drop the answered videos' decoded frames: memory stays bounded by the videos in flight."""
        with self._release_lock:
            for path in videos:
                getattr(self, "_union", {}).pop(path, None)
                DEFAULT_CACHE.forget(path)

    def frames_of(self, doc: dict, indices: Sequence[int]) -> np.ndarray:
        """Frames at `indices`, cut from one decode of every frame the run shows of the document's video."""
        union = getattr(self, "_union", {}).get(doc["video_path"], ())
        if not set(indices) <= set(union):  # a document the run did not announce
            union = tuple(sorted(set(indices)))
        row = {index: position for position, index in enumerate(union)}
        return np.asarray(load_frames(doc["video_path"], union))[[row[i] for i in indices]]

    def fragment_frames(self, doc: dict) -> np.ndarray:
        """A fragment item's frames in the order shown, with its pasted target (if any) painted on."""
        return apply_overlay(self.frames_of(doc, doc["frames"]), doc.get("overlay"))
