"""The synthetic corpus: short clips of one saturated shape doing one action, with exact labels.

These clips are the videos of the "mini" benchmark set that runs on CPU in CI. Questions built
from them must not be answerable from a static frame or from the file alone, so:

- frame size, frame rate and duration are drawn per clip, independently of the action;
- the start position, size, colour, angle and shape are randomised, so a single frame is
  consistent with several actions (the only shape that must be a triangle is the rotating one,
  and triangles also appear in every other action);
- every motion runs at one constant *natural speed* across the corpus (pixels, degrees, hue
  degrees or relative growth per second), so "is this clip sped up, slowed down or normal?" is
  answerable from the displacement per second;
- the background is low-saturation textured noise, so `locate_object` can segment the object by
  its saturation even in decoded h264 frames, and `states` records the exact ground truth of
  every frame (the tests check the decoded pixels against it).

Geometry: pixel units; the centre of pixel column j is x = j and of row i is y = i (y points
down); angles are degrees, clockwise on screen.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

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
CHROMA_THRESHOLD = 110
"""max(RGB) - min(RGB) above which a decoded pixel belongs to the object (background <= ~25)."""
MIN_AREA = 12
"""Fewer object pixels than this count as no object (stray compression noise)."""

_DIRECTIONS: dict[str, tuple[float, float]] = {
    "move_left": (-1.0, 0.0),
    "move_right": (1.0, 0.0),
    "move_up": (0.0, -1.0),
    "move_down": (0.0, 1.0),
}
_RADIUS = {"square": math.sqrt(2.0), "circle": 1.0, "triangle": 1.0}
"""Bounding radius of each shape per unit of half-extent, at any angle."""
_VERTICES = {
    "square": np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]),
    # Isosceles, centroid at the origin, no rotational symmetry: a turn is always visible.
    "triangle": np.array([[0.0, -1.0], [0.6, 0.5], [-0.6, 0.5]]),
}


@dataclass(frozen=True)
class ObjectState:
    """The ground truth of one frame: exactly what was drawn."""

    x: float
    """Centre (centroid), pixels."""
    y: float
    size: float
    """Half-extent in pixels."""
    angle: float
    """Degrees, clockwise on screen."""
    colour: tuple[int, int, int]
    visible: bool

    def to_row(self) -> list:
        """The `[x, y, size, angle, r, g, b, visible]` row written to states.jsonl."""
        return [self.x, self.y, self.size, self.angle, *self.colour, self.visible]


@dataclass(frozen=True)
class SynthClip:
    """One rendered clip, before encoding."""

    video_id: str
    action: str
    effect: str
    shape: str
    fps: float
    frames: np.ndarray
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
    distance = TRANSLATION_SPEED * plan.elapsed(t)
    return replace(_rest(plan), dx=plan.direction[0] * distance, dy=plan.direction[1] * distance)


def _bounce(plan: _Plan, t: float) -> _Pose:
    elapsed, span = plan.elapsed(t), plan.end - plan.start
    distance = TRANSLATION_SPEED * min(elapsed, span - elapsed)
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
def _draw_timing(rng: np.random.Generator) -> dict:
    """Frame size, rate, length and motion window: drawn before (and independently of) the action."""
    width, height = FRAME_SIZES[int(rng.integers(len(FRAME_SIZES)))]
    fps = FPS_CHOICES[int(rng.integers(len(FPS_CHOICES)))]
    frame_count = int(round(rng.uniform(*DURATION_RANGE) * fps))
    last = (frame_count - 1) / fps
    start, end = rng.uniform(*HOLD_RANGE), last - rng.uniform(*HOLD_RANGE)
    pop = rng.uniform(*POP_RANGE) * frame_count / fps
    return dict(width=width, height=height, fps=fps, frame_count=frame_count, start=start, end=end, pop=pop)


def _draw_plan(action: str, rng: np.random.Generator, timing: dict) -> _Plan:
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
        size=rng.uniform(*SIZE_RANGE),
        angle=rng.uniform(0.0, 360.0),
        hue=hue,
        direction=direction,
        **timing,
    )


def _placement(plan: _Plan, poses: list[_Pose]) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Ranges of start positions that keep the whole motion in frame, or None if there are none."""
    radius = [p.size * _RADIUS[plan.shape] for p in poses]
    low_x = MARGIN - min(p.dx - r for p, r in zip(poses, radius, strict=True))
    high_x = plan.width - 1 - MARGIN - max(p.dx + r for p, r in zip(poses, radius, strict=True))
    low_y = MARGIN - min(p.dy - r for p, r in zip(poses, radius, strict=True))
    high_y = plan.height - 1 - MARGIN - max(p.dy + r for p, r in zip(poses, radius, strict=True))
    if low_x > high_x or low_y > high_y:
        return None
    return (low_x, high_x), (low_y, high_y)


def _hue_to_rgb(hue: float) -> tuple[int, int, int]:
    """A fully saturated, full-value colour: every hue keeps max - min = 255, so it segments."""
    h = (hue % 360.0) / 60.0
    ramp = 1.0 - abs(h % 2.0 - 1.0)
    sector = int(h) % 6
    rgb = [(1, ramp, 0), (ramp, 1, 0), (0, 1, ramp), (0, ramp, 1), (ramp, 0, 1), (1, 0, ramp)][sector]
    return tuple(int(round(255 * c)) for c in rgb)  # type: ignore[return-value]


def _state(pose: _Pose, x0: float, y0: float) -> ObjectState:
    """Round to 3 decimals first, and draw from the rounded values: the record is then exact."""
    return ObjectState(
        x=round(x0 + pose.dx, 3),
        y=round(y0 + pose.dy, 3),
        size=round(pose.size, 3),
        angle=round(pose.angle % 360.0, 3),
        colour=_hue_to_rgb(round(pose.hue, 3)),
        visible=bool(pose.visible),
    )


# -- drawing ----------------------------------------------------------------------------------------
def _resize_axis(grid: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Linear interpolation of `grid` to n samples along `axis` (numpy only, no image library)."""
    positions = np.linspace(0.0, grid.shape[axis] - 1, n)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, grid.shape[axis] - 1)
    shape = [1] * grid.ndim
    shape[axis] = n
    frac = (positions - low).reshape(shape)
    return np.take(grid, low, axis=axis) * (1 - frac) + np.take(grid, high, axis=axis) * frac


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Grey-ish texture: smoothed noise, a random gradient, grain and a faint tint (chroma <= ~25)."""
    coarse = rng.uniform(-1.0, 1.0, tuple(rng.integers(3, 8, size=2)))
    smooth = _resize_axis(_resize_axis(coarse, height, 0), width, 1)
    yy, xx = np.mgrid[0:height, 0:width]
    heading = rng.uniform(0.0, 2.0 * math.pi)
    gradient = (xx * math.cos(heading) + yy * math.sin(heading)) / max(width, height)
    level = (
        rng.uniform(80.0, 160.0)
        + rng.uniform(15.0, 40.0) * smooth
        + rng.uniform(10.0, 40.0) * gradient
        + rng.normal(0.0, 3.0, (height, width))
    )
    rgb = level[..., None] + rng.uniform(-6.0, 6.0, 3) + rng.normal(0.0, 1.5, (height, width, 3))
    return np.clip(np.round(rgb), 20, 235).astype(np.uint8)


def _shape_mask(state: ObjectState, shape: str, height: int, width: int) -> np.ndarray:
    """Pixels whose centres lie inside the shape (circle test, or convex point-in-polygon)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(float)
    px, py = xx - state.x, yy - state.y
    if shape == "circle":
        return px**2 + py**2 <= state.size**2
    theta = math.radians(state.angle)
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    corners = _VERTICES[shape] @ rotation.T * state.size
    sides = []
    for (ax, ay), (bx, by) in zip(corners, np.roll(corners, -1, axis=0), strict=True):
        sides.append((bx - ax) * (py - ay) - (by - ay) * (px - ax))
    sides = np.stack(sides)
    return np.all(sides >= 0, axis=0) | np.all(sides <= 0, axis=0)


def _draw(background: np.ndarray, state: ObjectState, shape: str) -> np.ndarray:
    frame = background.copy()
    if state.visible:
        frame[_shape_mask(state, shape, *background.shape[:2])] = state.colour
    return frame


def render_clip(action: str, rng: np.random.Generator, video_id: str) -> SynthClip:
    """Render one clip of `action`; every random choice comes from `rng`, so it is reproducible.

    The look of the object is redrawn until the whole motion fits in the frame (only long clips
    of large, growing or fast-travelling objects need a second draw).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; choose one of {sorted(ACTIONS)}")
    timing = _draw_timing(rng)
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
    background = _background(rng, plan.width, plan.height)
    frames = np.stack([_draw(background, state, plan.shape) for state in states])
    return SynthClip(
        video_id=video_id,
        action=action,
        effect=ACTIONS[action],
        shape=plan.shape,
        fps=plan.fps,
        frames=frames,
        states=states,
    )


# -- reading an object back from decoded frames ------------------------------------------------------
def object_mask(frame: np.ndarray) -> np.ndarray:
    """Pixels of the saturated object in a (decoded) RGB frame.

    Chroma, max(RGB) - min(RGB), is HSV saturation times value: 255 for every object colour and
    at most ~25 for the grey-ish background, also after h264 (chroma subsampling only blurs the
    object's edge, which the mid-way threshold splits evenly).
    """
    pixels = np.asarray(frame, dtype=np.int16)
    return (pixels.max(axis=-1) - pixels.min(axis=-1)) > CHROMA_THRESHOLD


def locate_object(frame: np.ndarray) -> tuple[float, float, float] | None:
    """(x, y, area in pixels) of the object in a decoded frame, or None if it is not visible."""
    rows, cols = np.nonzero(object_mask(frame))
    if rows.size < MIN_AREA:
        return None
    return float(cols.mean()), float(rows.mean()), float(rows.size)


# -- the corpus ---------------------------------------------------------------------------------------
def assign_actions(videos: int, seed: int) -> list[str]:
    """Actions for clips 0..videos-1: round-robin over a fresh seeded shuffle per round.

    Counts differ by at most 1, and a clip's index does not reveal its action.
    """
    rng = np.random.default_rng([seed, 0])
    names = list(ACTIONS)
    order: list[str] = []
    while len(order) < videos:
        order.extend(names[i] for i in rng.permutation(len(names)))
    return order[:videos]


def _states_record(clip: SynthClip, video: str) -> dict:
    height, width = clip.frames.shape[1:3]
    return {
        "video": video,
        "fps": clip.fps,
        "frame_count": len(clip.states),
        "width": int(width),
        "height": int(height),
        "shape": clip.shape,
        "action": clip.action,
        "states": [s.to_row() for s in clip.states],
    }


def synthesize(out: str | Path, videos: int, seed: int, progress: bool = True) -> Path:
    """Write `videos` clips under out/videos/, out/labels.csv and out/states.jsonl; return labels.csv.

    Each clip has its own generator seeded by (seed, index), so a clip does not depend on how
    many others are rendered, and the same (videos, seed) gives the same files and frames.
    """
    from tqdm import tqdm

    from finevidbench.video import write_video

    if videos < 1:
        raise ValueError(f"videos must be at least 1, got {videos}")
    out = Path(out)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    labels, records = [], []
    actions = assign_actions(videos, seed)
    for index in tqdm(range(videos), desc="synth", unit="video", disable=not progress):
        video_id = f"synth_{index:04d}"
        clip = render_clip(actions[index], np.random.default_rng([seed, 1, index]), video_id)
        video = f"videos/{video_id}.mp4"
        write_video(out / video, clip.frames, fps=clip.fps)
        labels.append((video, clip.action, clip.effect, int(clip.action in TIME_SYMMETRIC)))
        records.append(_states_record(clip, video))
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("video", "action", "effect", "time_symmetric"))
        writer.writerows(labels)
    with open(out / "states.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(record) + "\n" for record in records)
    return out / "labels.csv"
