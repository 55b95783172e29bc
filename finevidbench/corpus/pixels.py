"""Pixels of the synthetic corpus: drawing one frame from its ground truth, and finding the object again.

Drawing and reading back are kept together because they rely on the same contract: the object is a
fully saturated colour and the background a low-saturation texture, so the object can be segmented by
its chroma alone, also in decoded h264 frames.

Geometry: pixel units; the centre of pixel column j is x = j and of row i is y = i (y points
down); angles are degrees, clockwise on screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

CHROMA_THRESHOLD = 110
"""max(RGB) - min(RGB) above which a decoded pixel belongs to the object (background <= ~25)."""
MIN_AREA = 12
"""Fewer object pixels than this count as no object (stray compression noise)."""

BOUNDING_RADIUS = {"square": math.sqrt(2.0), "circle": 1.0, "triangle": 1.0}
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

    def to_row(self) -> list[float | int | bool]:
        """The `[x, y, size, angle, r, g, b, visible]` row written to states.jsonl."""
        return [self.x, self.y, self.size, self.angle, *self.colour, self.visible]


def hue_to_rgb(hue: float) -> tuple[int, int, int]:
    """A fully saturated, full-value colour: every hue keeps max - min = 255, so it segments."""
    h = (hue % 360.0) / 60.0
    ramp = 1.0 - abs(h % 2.0 - 1.0)
    sector = int(h) % 6
    rgb = [(1, ramp, 0), (ramp, 1, 0), (0, 1, ramp), (0, ramp, 1), (ramp, 0, 1), (1, 0, ramp)][sector]
    return tuple(int(round(255 * c)) for c in rgb)  # type: ignore[return-value]


# -- drawing ----------------------------------------------------------------------------------------
def _resize_axis(grid: npt.NDArray[np.float64], n: int, axis: int) -> npt.NDArray[np.float64]:
    """Linear interpolation of `grid` to n samples along `axis` (numpy only, no image library)."""
    positions = np.linspace(0.0, grid.shape[axis] - 1, n)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, grid.shape[axis] - 1)
    shape = [1] * grid.ndim
    shape[axis] = n
    frac = (positions - low).reshape(shape)
    # numpy's stubs type the axis-wise index arrays (and so the blend) as Any; the dtype is float64
    return np.asarray(np.take(grid, low, axis=axis) * (1 - frac) + np.take(grid, high, axis=axis) * frac, np.float64)


def background(rng: np.random.Generator, width: int, height: int) -> npt.NDArray[np.uint8]:
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
    rgb: npt.NDArray[np.float64] = (
        level[..., None] + rng.uniform(-6.0, 6.0, 3) + rng.normal(0.0, 1.5, (height, width, 3))
    )
    return np.clip(np.round(rgb), 20, 235).astype(np.uint8)


def _shape_mask(state: ObjectState, shape: str, height: int, width: int) -> npt.NDArray[np.bool_]:
    """Pixels whose centres lie inside the shape (circle test, or convex point-in-polygon)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(float)
    px, py = xx - state.x, yy - state.y
    if shape == "circle":
        return np.asarray(px**2 + py**2 <= state.size**2, np.bool_)  # np.mgrid is Any in numpy's stubs
    theta = math.radians(state.angle)
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    corners = _VERTICES[shape] @ rotation.T * state.size
    edges = [
        (bx - ax) * (py - ay) - (by - ay) * (px - ax)
        for (ax, ay), (bx, by) in zip(corners, np.roll(corners, -1, axis=0), strict=True)
    ]
    sides = np.stack(edges)  # one signed-distance plane per edge
    return np.asarray(np.all(sides >= 0, axis=0) | np.all(sides <= 0, axis=0), np.bool_)  # axis-wise all: Any


def draw_frame(backdrop: npt.NDArray[np.uint8], state: ObjectState, shape: str) -> npt.NDArray[np.uint8]:
    """A copy of `backdrop` with the object painted in its flat colour (nothing when it is hidden)."""
    frame: npt.NDArray[np.uint8] = backdrop.copy()  # ndarray.copy() returns Self: Any to mypy on Python 3.10
    if state.visible:
        frame[_shape_mask(state, shape, *backdrop.shape[:2])] = state.colour
    return frame


# -- reading an object back from decoded frames ------------------------------------------------------
def object_mask(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Pixels of the saturated object in a (decoded) RGB frame.

    Chroma, max(RGB) - min(RGB), is HSV saturation times value: 255 for every object colour and
    at most ~25 for the grey-ish background, also after h264 (chroma subsampling only blurs the
    object's edge, which the mid-way threshold splits evenly).
    """
    pixels = np.asarray(frame, dtype=np.int16)
    return np.asarray((pixels.max(axis=-1) - pixels.min(axis=-1)) > CHROMA_THRESHOLD, np.bool_)  # axis-wise max: Any


def locate_object(frame: npt.NDArray[np.uint8]) -> tuple[float, float, float] | None:
    """(x, y, area in pixels) of the object in a decoded frame, or None if it is not visible."""
    rows, cols = np.nonzero(object_mask(frame))
    if rows.size < MIN_AREA:
        return None
    return float(cols.mean()), float(rows.mean()), float(rows.size)
