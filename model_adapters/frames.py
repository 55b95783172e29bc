"""Frame loading shared by every model that feeds frames: each video decoded once per run, memory bounded."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from finevidbench.protocol import DEFAULT_SCENE_POLICY
from finevidbench.protocol.overlay import apply_overlay
from finevidbench.video import DEFAULT_CACHE, FramePolicy, Sampling, load_frames, probe
from model_adapters.base import Request
from model_adapters.visuals import VideoFile, visuals_in


def run_policy(
    num_frames: int | None,
    fps: float | None,
    max_frames: int | None,
    frame_mode: str | None,
    base: str = DEFAULT_SCENE_POLICY,
    multiple: int = 1,
) -> FramePolicy:
    """The run's frame policy: `base` with MODEL_ARGS overrides, counts in whole temporal patches of `multiple`.

    Every model that feeds frames (the Video-LLM adapters, the zero-cost model, the pixel oracle) takes
    its policy from here, so the same MODEL_ARGS sample the same frames whatever the model.
    """
    spec = FramePolicy.parse(base).to_dict()
    if num_frames is not None:
        spec.update(num_frames=int(num_frames), fps=None, max_frames=None, min_frames=None)
    if fps is not None:
        spec.update(fps=float(fps), num_frames=None)
    if max_frames is not None:
        spec.update(max_frames=int(max_frames))
    if frame_mode is not None:
        spec.update(mode=frame_mode)
    if spec.get("min_frames") is not None and spec.get("max_frames") is not None:
        spec["min_frames"] = min(spec["min_frames"], spec["max_frames"])
    return FramePolicy.parse({**spec, "multiple": multiple})


class DecodesEachVideoOnce:
    """Frame loading shared by every model that feeds frames: each video is decoded once per run.

    `prepare` (called with all pending requests) notes the union of every frame the run shows of a
    video, over all speeds, windows and fragments; each request then cuts its frames from that one
    decode, kept in the shared frame cache. Needs a `frame_policy`.
    """

    frame_policy: FramePolicy
    _release_lock = threading.Lock()
    """Serialises a prefetch's check-and-load with `release` (shared by instances: one run at a time)."""

    def scene_sampling(self, doc: dict[str, Any]) -> Sampling:
        """The frames the run's policy takes for a scene document (its speed and window), without decoding.

        Remembered per (video, speed, window): a run asks for it when it plans the decodes, when it
        batches and when it answers.
        """
        key = (doc["video_path"], doc["speed"], tuple(doc.get("window") or ()), self.frame_policy.id)
        samplings = self.__dict__.setdefault("_samplings", {})
        if key not in samplings:
            policy = self.frame_policy.for_scene(doc["speed"], doc.get("window"))
            samplings[key] = policy.sample(probe(doc["video_path"]))
        sampling: Sampling = samplings[key]
        return sampling

    def video_sampling(self, video: VideoFile) -> Sampling:
        """The frames the run's policy takes of a task's video file (its time span, when it has one), at 1x."""
        meta = probe(video.path)
        window = None
        if video.start is not None or video.end is not None:
            window = (video.start or 0.0, video.end if video.end is not None else meta.duration)
        return self.frame_policy.for_scene(1.0, window).sample(meta)

    def frames_needed(self, doc: dict[str, Any]) -> tuple[int, ...]:
        """Source frame indices a document shows, in the order shown."""
        return tuple(doc["frames"]) if doc["level"] == "fragment" else self.scene_sampling(doc).indices

    def reads(self, request: Request) -> list[tuple[str, tuple[int, ...]]]:
        """(video path, source frame indices) of every video a request shows, without decoding."""
        if request.messages is None:
            return [(request.doc["video_path"], self.frames_needed(request.doc))]
        videos = [v for v in visuals_in(request.messages) if isinstance(v, VideoFile)]
        return [(video.path, self.video_sampling(video).indices) for video in videos]

    def prepare(self, requests: Sequence[Request]) -> None:
        """Note, per video, every frame the run will show (all speeds, windows, fragments): one decode each."""
        wanted: dict[str, set[int]] = {}
        for request in requests:
            for path, indices in self.reads(request):
                wanted.setdefault(path, set()).update(indices)
        self._union: dict[str, tuple[int, ...]] = {path: tuple(sorted(frames)) for path, frames in wanted.items()}
        self._rows: dict[str, dict[int, int]] = {}
        """Per video, each union frame's row in its decode (made on first use)."""

    def prefetch(self, requests: Sequence[Request]) -> None:
        """Decode (into the shared frame cache) the videos of the next batch.

        A prefetcher that falls behind a fast model must not decode a video whose questions are all
        answered (released) again: it skips released videos, and `release` waits for a load under way.
        """
        for request in requests:
            for path in request.videos:
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
                getattr(self, "_rows", {}).pop(path, None)
                DEFAULT_CACHE.forget(path)

    def frames_at(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames of a video at `indices`, cut from one decode of every frame the run shows of it."""
        union = getattr(self, "_union", {}).get(path)
        rows = getattr(self, "_rows", {})
        if union is not None and path not in rows:
            rows[path] = {index: position for position, index in enumerate(union)}
        row = rows.get(path, {})
        if union is None or any(i not in row for i in indices):  # a video or a frame the run did not announce
            union = tuple(sorted(set(indices)))
            row = {index: position for position, index in enumerate(union)}
        return np.asarray(load_frames(path, union))[[row[i] for i in indices]]

    def frames_of(self, doc: dict[str, Any], indices: Sequence[int]) -> np.ndarray:
        """A document's video's frames at `indices` (`frames_at` of its video)."""
        return self.frames_at(doc["video_path"], indices)

    def fragment_frames(self, doc: dict[str, Any]) -> np.ndarray:
        """A fragment item's frames in the order shown, with its pasted target (if any) painted on."""
        return apply_overlay(self.frames_of(doc, doc["frames"]), doc.get("overlay"))
