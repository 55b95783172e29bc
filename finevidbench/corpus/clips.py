"""One synthetic clip: the actions, their natural speeds, the per-clip random draws and `render_clip`.

A clip's state at every frame is computed first (one small motion function per action), the
object's start position is then drawn so that the whole motion stays in frame, and only then are
the frames drawn (`finevidbench.corpus.pixels`). Every random choice comes from the generator a
clip is given, in a fixed order, so a clip is reproducible from its seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from finevidbench.corpus.pixels import BOUNDING_RADIUS, ObjectState, background, draw_frame, hue_to_rgb

ACTIONS: dict[str, str] = {
    "move_left": "it ends on the left side",
    "move_right": "it ends on the right side",
    "move_up": "it ends at the top",
    "move_down": "it ends at the bottom",
    "rotate": "it ends turned to a new angle",
    "grow": "it ends larger",
    "shrink": "it ends smaller",
    "change_colour": "it ends a different colour",
    "bounce": "it ends where it started",
    "appear": "it ends visible",
    "disappear": "it ends hidden",
}
"""Action id -> the effect label: the end state it leaves (pairwise distinct phrases)."""

ACTION_TEXT: dict[str, str] = {
    "move_left": "the shape moves to the left",
    "move_right": "the shape moves to the right",
    "move_up": "the shape moves up",
    "move_down": "the shape moves down",
    "rotate": "the shape turns on the spot",
    "grow": "the shape grows",
    "shrink": "the shape shrinks",
    "change_colour": "the shape changes colour",
    "bounce": "the shape moves away and comes back",
    "appear": "the shape appears",
    "disappear": "the shape disappears",
}
"""Action id -> a short phrase for prompts."""

TIME_SYMMETRIC = frozenset({"rotate", "bounce", "change_colour"})
"""Actions whose reversed clip is itself a natural clip of the same action: a rotation the other
way, a bounce, a hue turn the other way. labels.csv marks them so that no forward-or-reversed
question is built over them."""

# -- the natural speeds (per second of the clip at normal playback) ---------------------------
TRANSLATION_SPEED = 16.0
"""Pixels per second for move_* and bounce."""
ROTATION_SPEED = 30.0
"""Degrees per second for rotate (42 to 114 degrees over a clip: never a symmetry of the triangle)."""
GROWTH_RATE = math.log(1.2)
"""Relative size change per second for grow and shrink (x1.2 or /1.2 each second)."""
HUE_SPEED = 60.0
"""Hue degrees per second for change_colour (a hue turn keeps the colour fully saturated)."""

# -- per-clip draws ------------------------------------------------------------------------------
FRAME_SIZES: tuple[tuple[int, int], ...] = ((128, 128), (144, 128), (160, 128), (144, 144))
"""(width, height) choices: small for CPU, even for yuv420p, large enough for every motion."""
FPS_CHOICES: tuple[float, ...] = (10.0, 12.0, 15.0, 24.0, 25.0, 30.0)
DURATION_RANGE = (3.5, 5.5)
"""Seconds."""
HOLD_RANGE = (0.1, 0.3)
"""Idle seconds before the motion starts and after it ends."""
POP_RANGE = (0.3, 0.7)
"""Where in the clip (fraction of its duration) appear/disappear happen."""
SIZE_RANGE = (10.0, 20.0)
"""Half-extent of the shape in pixels at the start of a clip."""
SHAPES: tuple[str, ...] = ("square", "circle", "triangle")
PALETTE: dict[str, float] = {
    "red": 0.0,
    "orange": 30.0,
    "yellow": 60.0,
    "green": 120.0,
    "cyan": 180.0,
    "blue": 240.0,
    "magenta": 300.0,
}
"""Start colours as hues of fully saturated, full-value colours."""
MARGIN = 2.0
"""Pixels kept free between the object and the frame border at all times."""

_DIRECTIONS: dict[str, tuple[float, float]] = {
    "move_left": (-1.0, 0.0),
    "move_right": (1.0, 0.0),
    "move_up": (0.0, -1.0),
    "move_down": (0.0, 1.0),
}


@dataclass(frozen=True)
class Scale:
    """Frame sizes, durations and frame rates a corpus draws from; the default is the mini set's.

    A larger scale (`Scale.sized`) zooms the object, its travel speed and the margin with the frame,
    and caps the motion at `motion_seconds` placed at random in longer clips, so every motion still
    fits in frame. The default draws nothing more than before: the mini set stays byte-identical.
    """

    frame_sizes: tuple[tuple[int, int], ...] = FRAME_SIZES
    duration_range: tuple[float, float] = DURATION_RANGE
    fps_choices: tuple[float, ...] = FPS_CHOICES
    zoom: float = 1.0
    """Object size, travel speed and margin relative to the mini set's."""
    motion_seconds: float | None = None
    """Longest motion; None: the whole clip between its holds."""

    @classmethod
    def sized(cls, width: int, height: int, min_seconds: float, max_seconds: float) -> Scale:
        """Clips of `width` x `height` lasting `min_seconds` to `max_seconds` (frame rates 10-15 fps, for CPU)."""
        if width % 2 or height % 2 or min(width, height) < 64:
            raise ValueError(f"frame size {width}x{height}: width and height must be even and at least 64")
        if not 1.0 <= min_seconds <= max_seconds:
            raise ValueError(f"durations {min_seconds}-{max_seconds} s: need 1 <= min <= max")
        return cls(
            ((width, height),),
            (min_seconds, max_seconds),
            (10.0, 12.0, 15.0),
            min(width, height) / 128,
            max(DURATION_RANGE),
        )


MINI_SCALE = Scale()


@dataclass(frozen=True)
class SynthClip:
    """One rendered clip, before encoding."""

    video_id: str
    action: str
    effect: str
    shape: str
    fps: float
    frames: npt.NDArray[np.uint8]
    """(T, H, W, 3) uint8 RGB."""
    states: tuple[ObjectState, ...]
    """One per frame."""


@dataclass(frozen=True)
class _Plan:
    """Everything drawn at random for a clip except its position and background."""

    shape: str
    fps: float
    frame_count: int
    width: int
    height: int
    start: float
    """Seconds at which the motion starts..."""
    end: float
    """...and ends (the holds lie outside)."""
    size: float
    angle: float
    hue: float
    direction: tuple[float, float]
    """Unit vector of translation (move_*, bounce)."""
    pop: float
    """Seconds at which appear/disappear happens."""
    zoom: float = 1.0
    """Scale of sizes and travel speed (Scale.zoom)."""

    def elapsed(self, t: float) -> float:
        """Seconds of motion done at time t: 0 in the first hold, the full span in the last."""
        return min(max(t - self.start, 0.0), self.end - self.start)


@dataclass(frozen=True)
class _Pose:
    """A state relative to the start position (dx, dy), before rounding."""

    dx: float
    dy: float
    size: float
    angle: float
    hue: float
    visible: bool


# -- motions: the state at time t, one small function per action ----------------------------------
def _rest(plan: _Plan) -> _Pose:
    return _Pose(0.0, 0.0, plan.size, plan.angle, plan.hue, True)


def _move(plan: _Plan, t: float) -> _Pose:
    distance = TRANSLATION_SPEED * plan.zoom * plan.elapsed(t)
    return replace(_rest(plan), dx=plan.direction[0] * distance, dy=plan.direction[1] * distance)


def _bounce(plan: _Plan, t: float) -> _Pose:
    elapsed, span = plan.elapsed(t), plan.end - plan.start
    distance = TRANSLATION_SPEED * plan.zoom * min(elapsed, span - elapsed)
    return replace(_rest(plan), dx=plan.direction[0] * distance, dy=plan.direction[1] * distance)


def _rotate(plan: _Plan, t: float) -> _Pose:
    return replace(_rest(plan), angle=plan.angle + ROTATION_SPEED * plan.elapsed(t))


def _grow(plan: _Plan, t: float) -> _Pose:
    return replace(_rest(plan), size=plan.size * math.exp(GROWTH_RATE * plan.elapsed(t)))


def _shrink(plan: _Plan, t: float) -> _Pose:
    return replace(_rest(plan), size=plan.size * math.exp(-GROWTH_RATE * plan.elapsed(t)))


def _change_colour(plan: _Plan, t: float) -> _Pose:
    return replace(_rest(plan), hue=(plan.hue + HUE_SPEED * plan.elapsed(t)) % 360.0)


def _appear(plan: _Plan, t: float) -> _Pose:
    return replace(_rest(plan), visible=t >= plan.pop)


def _disappear(plan: _Plan, t: float) -> _Pose:
    return replace(_rest(plan), visible=t < plan.pop)


_MOTIONS: dict[str, Callable[[_Plan, float], _Pose]] = {
    "move_left": _move,
    "move_right": _move,
    "move_up": _move,
    "move_down": _move,
    "rotate": _rotate,
    "grow": _grow,
    "shrink": _shrink,
    "change_colour": _change_colour,
    "bounce": _bounce,
    "appear": _appear,
    "disappear": _disappear,
}


# -- random draws -----------------------------------------------------------------------------------
class _Timing(TypedDict):
    """The `_Plan` fields `_draw_timing` draws."""

    width: int
    height: int
    fps: float
    frame_count: int
    start: float
    end: float
    pop: float
    zoom: float


def _draw_timing(rng: np.random.Generator, scale: Scale = MINI_SCALE) -> _Timing:
    """Frame size, rate, length and motion window: drawn before (and independently of) the action."""
    width, height = scale.frame_sizes[int(rng.integers(len(scale.frame_sizes)))]
    fps = scale.fps_choices[int(rng.integers(len(scale.fps_choices)))]
    frame_count = int(round(rng.uniform(*scale.duration_range) * fps))
    last = (frame_count - 1) / fps
    start, end = rng.uniform(*HOLD_RANGE), last - rng.uniform(*HOLD_RANGE)
    pop = rng.uniform(*POP_RANGE) * frame_count / fps
    if scale.motion_seconds is not None and end - start > scale.motion_seconds:
        start += rng.uniform(0.0, end - start - scale.motion_seconds)
        end = start + scale.motion_seconds
    return _Timing(
        width=width, height=height, fps=fps, frame_count=frame_count, start=start, end=end, pop=pop, zoom=scale.zoom
    )


def _draw_plan(action: str, rng: np.random.Generator, timing: _Timing) -> _Plan:
    """The object's look and the motion's direction; rotate always turns the (asymmetric) triangle."""
    shape = "triangle" if action == "rotate" else SHAPES[int(rng.integers(len(SHAPES)))]
    hue = list(PALETTE.values())[int(rng.integers(len(PALETTE)))]
    heading = rng.uniform(0.0, 2.0 * math.pi)  # drawn for every action: same stream length
    direction = (0.0, 0.0)
    if action in _DIRECTIONS:
        direction = _DIRECTIONS[action]
    elif action == "bounce":
        direction = (math.cos(heading), math.sin(heading))
    return _Plan(
        shape=shape,
        size=rng.uniform(*SIZE_RANGE) * timing["zoom"],
        angle=rng.uniform(0.0, 360.0),
        hue=hue,
        direction=direction,
        **timing,
    )


def _placement(plan: _Plan, poses: list[_Pose]) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Ranges of start positions that keep the whole motion in frame, or None if there are none."""
    radius = [p.size * BOUNDING_RADIUS[plan.shape] for p in poses]
    margin = MARGIN * plan.zoom
    low_x = margin - min(p.dx - r for p, r in zip(poses, radius, strict=True))
    high_x = plan.width - 1 - margin - max(p.dx + r for p, r in zip(poses, radius, strict=True))
    low_y = margin - min(p.dy - r for p, r in zip(poses, radius, strict=True))
    high_y = plan.height - 1 - margin - max(p.dy + r for p, r in zip(poses, radius, strict=True))
    if low_x > high_x or low_y > high_y:
        return None
    return (low_x, high_x), (low_y, high_y)


def _state(pose: _Pose, x0: float, y0: float) -> ObjectState:
    """Round to 3 decimals first, and draw from the rounded values: the record is then exact."""
    return ObjectState(
        x=round(x0 + pose.dx, 3),
        y=round(y0 + pose.dy, 3),
        size=round(pose.size, 3),
        angle=round(pose.angle % 360.0, 3),
        colour=hue_to_rgb(round(pose.hue, 3)),
        visible=bool(pose.visible),
    )


def render_clip(action: str, rng: np.random.Generator, video_id: str, scale: Scale = MINI_SCALE) -> SynthClip:
    """Render one clip of `action`; every random choice comes from `rng`, so it is reproducible.

    The look of the object is redrawn until the whole motion fits in the frame (only long clips
    of large, growing or fast-travelling objects need a second draw).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; choose one of {sorted(ACTIONS)}")
    timing = _draw_timing(rng, scale)
    times = [i / timing["fps"] for i in range(timing["frame_count"])]
    for _ in range(200):
        plan = _draw_plan(action, rng, timing)
        poses = [_MOTIONS[action](plan, t) for t in times]
        ranges = _placement(plan, poses)
        if ranges is not None:
            break
    else:  # pragma: no cover - the constants above leave room for every motion at size 10
        raise RuntimeError(f"{video_id}: no placement keeps {action} in frame")
    x0, y0 = rng.uniform(*ranges[0]), rng.uniform(*ranges[1])
    states = tuple(_state(pose, x0, y0) for pose in poses)
    backdrop = background(rng, plan.width, plan.height)
    frames = np.stack([draw_frame(backdrop, state, plan.shape) for state in states])
    return SynthClip(
        video_id=video_id,
        action=action,
        effect=ACTIONS[action],
        shape=plan.shape,
        fps=plan.fps,
        frames=frames,
        states=states,
    )
