"""The one frame-sampling policy of the project.

Every scene-level question, every adapter and every training sample chooses frames through
`FramePolicy.sample`; nothing else in the project picks frame indices from a clip. A policy is a
frozen value: it is logged with every sample, hashed into the resume key, and parsed from the
same `key=value` string everywhere (`FramePolicy.parse("fps=2,max_frames=16,speed=2")`).

Semantics, stated once:
- The *window* is the part of the clip between `start` and `end` (seconds of the source clip).
- `speed` is a playback-speed factor: 2.0 plays the window twice as fast (half as long), 0.5 at
  half speed. Frames are taken from the *altered clip*: the window's source frames played at the
  speed at the source frame rate (`altered_indices`: 2.0 keeps every other frame, 0.5 shows each
  frame twice), the clip that lmms-eval's built-in models receive as a file
  (`finevidbench.video.speed`).
- `num_frames=N` takes N frames over the altered clip; `fps=F` takes F frames per second of it, at
  most `max_frames`.
- `mode="uniform"` spreads frames from the first to the last frame of the altered clip (both
  included), timestamped at those frames; `mode="segment"` cuts it into equal segments and takes
  the source frame under the centre of each (the moment shown there, even where a sped-up file
  copy skipped that frame), timestamped at the segment centre; `mode="start"` takes the first frame
  of each equal segment (transformers' default sampler, `arange(0, n, n / count)`).
- `multiple=M` rounds the count down to a multiple of M (never below M): a model whose vision
  encoder patches M frames together (Qwen's temporal patch of 2) gets whole patches instead of a
  last frame repeated to fill one. `min_frames` raises an `fps` count on short clips (qwen-vl-utils
  takes at least 4). Both act on the count alone, so a speed item's views still match.
- A sample never holds more frames than the altered clip, so its count and its timestamps depend
  only on the clip's shown length, never on the speed that produced it: two windows of one shown
  length (a speed item's views, see `for_scene`) give the same count and the same timestamps at
  every speed. A slowed-down clip can need a source frame twice (as its file copy shows it twice);
  otherwise a frame is never repeated. When the altered clip is shorter than the count asked for,
  `Sampling.shortfall` says how many frames are missing; a caller that needs an exact count checks it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np

from finevidbench.model_args import ModelArgsError, parse_model_args
from finevidbench.video.meta import VideoMeta

Mode = Literal["uniform", "segment", "start"]

SAMPLING_RULES = 2
"""Revision of the rules above; part of every policy id, so answers sampled by older rules are not reused.
2: frames come from the altered clip (before, from the source window: a slowed-down view could show fewer)."""


@dataclass(frozen=True)
class FramePolicy:
    """How frames are chosen from a clip. Exactly one of `num_frames` and `fps` is set."""

    num_frames: int | None = None
    """A fixed number of frames over the window."""
    fps: float | None = None
    """Frames per second of the (speed-altered) clip; needs `max_frames`."""
    max_frames: int | None = None
    """Upper bound on frames in `fps` mode."""
    mode: Mode = "uniform"
    """`uniform` (first to last frame) or `segment` (centre of equal segments)."""
    start: float | None = None
    """Window start, seconds of the source clip (default: its beginning)."""
    end: float | None = None
    """Window end, seconds of the source clip (default: its end)."""
    speed: float = 1.0
    """Playback-speed factor: 2.0 twice as fast, 0.5 half speed."""
    multiple: int = 1
    """Counts are rounded down to a multiple of this (the model's temporal patch), never below it."""
    min_frames: int | None = None
    """Lower bound on frames in `fps` mode (as far as the altered clip holds them)."""

    def __post_init__(self) -> None:
        if (self.num_frames is None) == (self.fps is None):
            raise ValueError("FramePolicy: give exactly one of num_frames and fps")
        if self.num_frames is not None:
            if self.num_frames < 1:
                raise ValueError(f"FramePolicy: num_frames must be >= 1, got {self.num_frames}")
            if self.max_frames is not None:
                raise ValueError("FramePolicy: max_frames only applies with fps (num_frames is exact)")
        if self.fps is not None:
            if not self.fps > 0:
                raise ValueError(f"FramePolicy: fps must be > 0, got {self.fps}")
            if self.max_frames is None or self.max_frames < 1:
                raise ValueError("FramePolicy: fps needs max_frames >= 1 so that long videos stay bounded")
        if self.mode not in ("uniform", "segment", "start"):
            raise ValueError(f"FramePolicy: mode must be 'uniform', 'segment' or 'start', got {self.mode!r}")
        if self.multiple < 1:
            raise ValueError(f"FramePolicy: multiple must be >= 1, got {self.multiple}")
        if self.min_frames is not None and (
            self.fps is None or self.max_frames is None or not 1 <= self.min_frames <= self.max_frames
        ):
            raise ValueError("FramePolicy: min_frames needs fps and must lie in [1, max_frames]")
        if not self.speed > 0:
            raise ValueError(f"FramePolicy: speed must be > 0, got {self.speed}")
        if self.start is not None and self.start < 0:
            raise ValueError(f"FramePolicy: start must be >= 0, got {self.start}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"FramePolicy: end ({self.end}) must be after start ({self.start})")

    # -- identity ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """All fields, defaults included: the form written to results and sample files."""
        return asdict(self)

    @cached_property
    def id(self) -> str:
        """A short stable hash of the policy, for cache and resume keys (remembered: asked for every request)."""
        fields_ = self.to_dict()
        for name, default in _LATER_FIELDS.items():  # added after ids were published: only a set value counts
            if fields_[name] == default:
                del fields_[name]
        blob = json.dumps({**fields_, "rules": SAMPLING_RULES}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def __str__(self) -> str:
        """The `key=value` form that `parse` reads, with default fields left out."""
        return ",".join(
            f"{f.name}={getattr(self, f.name):g}"
            if isinstance(getattr(self, f.name), float)
            else f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) != f.default
        )

    @classmethod
    def parse(cls, spec: str | dict[str, Any] | FramePolicy) -> FramePolicy:
        """Build a policy from `"num_frames=8,mode=segment"`, a dict, or a policy (returned as is)."""
        if isinstance(spec, FramePolicy):
            return spec
        if isinstance(spec, str):
            try:
                spec = dict(parse_model_args(spec))  # the one key=value parser
            except ModelArgsError:
                raise ValueError(f"FramePolicy: expected key=value,key=value, got {spec!r}") from None
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(spec) - set(known))
        if unknown:
            raise ValueError(f"FramePolicy: unknown key(s) {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {k: _coerce(k, v) for k, v in spec.items()}  # typed by __post_init__'s checks
        return cls(**values)

    def with_speed(self, speed: float) -> FramePolicy:
        """The same policy at another playback speed."""
        return replace(self, speed=float(speed))

    def for_scene(self, speed: float, window: Sequence[float] | None = None) -> FramePolicy:
        """The policy of one scene item: its playback speed, and its source window when it has one.

        Every consumer of a scene item (adapters, blind previews, adversaries, benchmarks) goes
        through here, so an item shows the same frames to all of them.
        """
        start, end = (float(window[0]), float(window[1])) if window else (self.start, self.end)
        return replace(self, speed=float(speed), start=start, end=end)

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, meta: VideoMeta) -> Sampling:
        """Choose frame indices of `meta`'s clip, with their timestamps in the altered clip."""
        first, last = self.frame_range(meta)
        available = last - first + 1
        altered = altered_length(available, self.speed)
        if self.num_frames is not None:
            wanted = self.num_frames
        else:
            assert self.fps is not None and self.max_frames is not None  # __post_init__: fps mode has both
            altered_seconds = available / meta.fps / self.speed
            wanted = min(self.max_frames, max(self.min_frames or 1, math.floor(altered_seconds * self.fps + 1e-9)))
        # capped by the altered clip, not by the source window: a slowed-down view of a short window
        # would otherwise show fewer frames than its sped-up twin, and the count would tell the speed
        count = min(wanted, altered)
        if count >= self.multiple:
            count -= count % self.multiple
            wanted -= wanted % self.multiple
        if self.mode == "uniform":
            positions = np.round(np.linspace(0, altered - 1, count)).astype(int)
            indices = tuple(altered_frame(first, last, int(p), self.speed) for p in positions)
            times = positions / meta.fps
        elif self.mode == "start":
            positions = np.floor(np.arange(count) * altered / count + 1e-9).astype(int)
            indices = tuple(altered_frame(first, last, int(p), self.speed) for p in positions)
            times = positions / meta.fps
        else:
            centres = (np.arange(count) + 0.5) * available / count  # in source frames
            indices = tuple(int(first + c) for c in np.floor(centres))
            times = centres / meta.fps / self.speed
            positions = np.minimum(altered - 1, np.floor(times * meta.fps + 1e-9).astype(int))
        timestamps = tuple(round(float(t), 6) for t in times)
        return Sampling(
            indices=indices,
            timestamps=timestamps,
            requested=wanted,
            policy_id=self.id,
            positions=tuple(int(p) for p in positions),
            clip_frames=altered,
            clip_fps=float(meta.fps),
        )

    def frame_range(self, meta: VideoMeta) -> tuple[int, int]:
        """First and last source frame of the window (both included)."""
        first = 0 if self.start is None else math.ceil(self.start * meta.fps - 1e-9)
        last = meta.frame_count - 1
        if self.end is not None:
            last = min(last, math.ceil(self.end * meta.fps - 1e-9) - 1)
        if first > last:
            raise ValueError(
                f"FramePolicy: window start={self.start}s end={self.end}s holds no frame of "
                f"{meta.path} ({meta.duration:.2f}s at {meta.fps:g} fps)"
            )
        return first, last


_LATER_FIELDS = {"multiple": 1, "min_frames": None}
"""Fields added after policy ids were first stored, with their defaults: at the default they leave the id as it was."""


def altered_length(available: int, speed: float) -> int:
    """Frames of a window of `available` source frames played at `speed` at the source frame rate."""
    return math.ceil(available / speed - 1e-9)


def altered_frame(first: int, last: int, position: int, speed: float) -> int:
    """The source frame that the window [first, last] played at `speed` shows at frame `position`."""
    return min(last, first + math.floor(position * speed + 1e-9))


def altered_indices(first: int, last: int, speed: float) -> list[int]:
    """Source frames of the window [first, last] played at `speed` at the source frame rate."""
    return [altered_frame(first, last, j, speed) for j in range(altered_length(last - first + 1, speed))]


@dataclass(frozen=True)
class Sampling:
    """The frames a policy chose from one clip."""

    indices: tuple[int, ...]
    """Source frame indices, non-decreasing; repeated only where a slowed-down clip shows a frame twice."""
    timestamps: tuple[float, ...]
    """Seconds from the window start in the speed-altered clip, one per index."""
    requested: int
    """How many frames the policy asked for before clamping to the distinct frames available."""
    policy_id: str
    positions: tuple[int, ...] = ()
    """Where each frame sits in the altered clip (frame numbers at `clip_fps`): the moment a model is told."""
    clip_frames: int = 0
    """Length of the altered clip in frames: the shown clip that `positions` index."""
    clip_fps: float = 0.0
    """Frame rate of the altered clip (the source's: speed changes which frames play, not the rate)."""

    @property
    def told_timestamps(self) -> tuple[float, ...]:
        """Seconds of each frame in the shown clip, as a model is told them (its position at the clip's rate)."""
        if self.positions and self.clip_fps:
            return tuple(p / self.clip_fps for p in self.positions)
        return tuple(self.timestamps)

    @property
    def shortfall(self) -> int:
        """Frames asked for that the altered clip does not hold."""
        return self.requested - len(self.indices)

    @property
    def sampled_fps(self) -> float:
        """Frames per second of the altered clip that the sample represents (for processors)."""
        if len(self.timestamps) < 2:
            return 1.0
        return (len(self.timestamps) - 1) / (self.timestamps[-1] - self.timestamps[0])


def _coerce(key: str, value: object) -> object:
    if not isinstance(value, str):
        return value
    if value.lower() in ("none", ""):
        return None
    if key in ("num_frames", "max_frames", "multiple", "min_frames"):
        return int(value)
    if key in ("fps", "start", "end", "speed"):
        return float(value)
    return value
