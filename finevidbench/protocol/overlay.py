"""A known target pasted into some frames of a fragment item: what makes Localization self-supervised.

The builder only records the overlay (in the item's `evidence["overlay"]`); whoever renders the
frames (the adapters' training hook, the exporters) calls `apply_overlay`, so every consumer
paints the same square at the same place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

CHECKS = 4
"""The target is a CHECKS x CHECKS checkerboard of two colours: nothing natural looks like it."""


def make_overlay(
    shown: list[int], rng: np.random.Generator, size: float = 0.3, event: str = "appear"
) -> dict[str, Any]:
    """An overlay record: where (fractions of the frame), which colours, in which shown positions (0-based)."""
    colors = rng.integers(0, 256, size=(2, 3))
    while np.abs(colors[0] - colors[1]).max() < 128:  # two colours that clearly differ
        colors = rng.integers(0, 256, size=(2, 3))
    x, y = (float(v) for v in rng.uniform(0.0, 1.0 - size, size=2))
    return {
        "event": event,
        "shown": sorted(int(p) for p in shown),
        "box": [round(x, 4), round(y, 4), size],
        "colors": colors.astype(int).tolist(),
    }


def apply_overlay(frames: npt.NDArray[np.uint8], overlay: dict[str, Any] | None) -> npt.NDArray[np.uint8]:
    """The frames (in the order shown, k x H x W x 3 uint8) with the target painted where the record says."""
    if not overlay:
        return frames
    frames = np.array(frames, copy=True)
    height, width = frames.shape[1:3]
    x, y, size = overlay["box"]
    side = max(CHECKS, int(round(size * min(height, width))))
    top, left = int(round(y * height)), int(round(x * width))
    side_y, side_x = min(side, height - top), min(side, width - left)
    rows = (np.arange(side_y) * CHECKS // side)[:, None]
    cols = (np.arange(side_x) * CHECKS // side)[None, :]
    colors = np.asarray(overlay["colors"], dtype=np.uint8)
    patch = colors[(rows + cols) % 2]
    for position in overlay["shown"]:
        frames[position, top : top + side_y, left : left + side_x] = patch
    return frames
