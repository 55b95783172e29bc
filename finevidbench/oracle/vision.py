"""Classical vision over the frames a model is shown: how alike two frames are, their order, their motion.

Pure functions of (N, H, W, 3) uint8 arrays and the timestamps a model is told; OpenCV does the
image work (grey levels, Gaussian pyramids, Farneback optical flow, image moments). Nothing here
knows a label, a source video or how an item was built.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import permutations

import cv2
import numpy as np
import numpy.typing as npt

from finevidbench.oracle.size import Frames

Grey = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]
PYRAMID_SMALLEST = 8
"""Coarsest pyramid level kept (pixels on the shorter side)."""


def grey(frames: Frames) -> list[Grey]:
    """Each frame's luminance as float32 (OpenCV's RGB to grey weights)."""
    return [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY).astype(np.float32) for f in frames]


def pyramid(image: Grey) -> list[Grey]:
    """Gaussian pyramid of one grey frame down to `PYRAMID_SMALLEST` pixels.

    Coarse levels keep growing with displacement after fine ones saturate (a shape moved past its own
    width differs at full size as much as one moved twice as far), so a distance over every level
    orders frames by how far apart in time they are.
    """
    levels = [image]
    while min(levels[-1].shape) >= 2 * PYRAMID_SMALLEST:
        levels.append(np.asarray(cv2.pyrDown(levels[-1]), dtype=np.float32))
    return levels


def distance_matrix(frames: Frames) -> Floats:
    """Mean absolute grey difference of every pair of frames, averaged over pyramid levels (0: identical)."""
    pyramids = [pyramid(g) for g in grey(frames)]
    n = len(pyramids)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            d = np.mean([float(cv2.absdiff(a, b).mean()) for a, b in zip(pyramids[i], pyramids[j], strict=True)])
            out[i, j] = out[j, i] = d
    return out


def adjacent_distances(frames: Frames) -> tuple[float, ...]:
    """Distance between each shown frame and the next (pyramid levels averaged, as `distance_matrix`)."""
    pyramids = [pyramid(g) for g in grey(frames)]
    return tuple(
        float(np.mean([float(cv2.absdiff(x, y).mean()) for x, y in zip(a, b, strict=True)]))
        for a, b in zip(pyramids, pyramids[1:], strict=False)
    )


def continuity_path(distances: Floats) -> tuple[int, ...]:
    """The order of the frames that changes least from each to the next (a shortest Hamiltonian path).

    A path and its reversal cost the same: continuity orders frames up to the arrow of time. The
    one returned starts at the lower of its two ends.
    """
    n = len(distances)
    best: tuple[float, tuple[int, ...]] | None = None
    for path in permutations(range(n)):
        if path[0] > path[-1]:
            continue
        cost = float(sum(distances[a, b] for a, b in zip(path, path[1:], strict=False)))
        if best is None or cost < best[0] - 1e-9:
            best = (cost, path)
    return best[1] if best is not None else ()


def flow(a: Grey, b: Grey) -> npt.NDArray[np.float32]:
    """Dense Farneback optical flow from `a` to `b` (H, W, 2), pixels of displacement.

    The averaging window grows with the frame (a sixteenth of its longer side, at least 9 pixels), so
    a frame enlarged by a processor is measured over the same part of the scene.
    """
    window = max(9, round(max(a.shape) / 16)) | 1
    field = cv2.calcOpticalFlowFarneback(  # type: ignore[call-overload]
        a.astype(np.uint8), b.astype(np.uint8), None, 0.5, 3, window, 3, 5, 1.1, 0
    )
    return np.asarray(field, dtype=np.float32)


def _mass(image: Grey) -> tuple[float, float, float]:
    """Foreground mass and centroid (x, y as fractions of the frame) of what stands out from the background.

    The background is the frame's median grey; the foreground weight of a pixel is how far it lies
    from it (image moments of that weight, cv2.moments).
    """
    weight = cv2.absdiff(image, np.full_like(image, float(np.median(image))))
    moments = cv2.moments(weight)
    mass = moments["m00"]
    if mass <= 0:
        return 0.0, 0.5, 0.5
    height, width = image.shape
    return float(mass / (height * width)), float(moments["m10"] / mass / width), float(moments["m01"] / mass / height)


def arrow_features(frames: Frames) -> tuple[float, ...]:
    """How the shown sequence moves from first frame to last: a vector that reversing the frames negates.

    Mean optical flow (x, y, as fractions of the frame), the foreground centroid's displacement
    (x, y) and the change of log foreground mass (growing, shrinking, appearing, disappearing).
    """
    greys = grey(frames)
    flows = [flow(a, b) for a, b in zip(greys, greys[1:], strict=False)]
    height, width = greys[0].shape
    mean_flow = np.mean([f.reshape(-1, 2).mean(axis=0) for f in flows], axis=0) / (width, height)
    first, last = _mass(greys[0]), _mass(greys[-1])
    growth = float(np.log(last[0] + 1e-3) - np.log(first[0] + 1e-3))
    return (float(mean_flow[0]), float(mean_flow[1]), last[1] - first[1], last[2] - first[2], growth)


def motion_rate(frames: Frames, timestamps: Sequence[float]) -> tuple[float, ...]:
    """Motion per shown second: how far the moving part travels, how fast the object changes, on a log scale.

    Per consecutive pair: the 95th percentile of optical-flow displacement (the moving part, not the
    still background; a fraction of the frame's longer side), the grey change per unit of foreground
    (a change of colour moves nothing), and the foreground's centroid and mass change. Each is summed
    and divided by the seconds the frames span as the model is told them; a still clip gives the floor.
    """
    greys = grey(frames)
    seconds = max(float(timestamps[-1] - timestamps[0]), 1e-6) if len(timestamps) > 1 else 1.0
    side = max(greys[0].shape)
    displacement = change = foreground = 0.0
    masses = [_mass(g) for g in greys]
    for (a, b), (ma, mb) in zip(
        zip(greys, greys[1:], strict=False), zip(masses, masses[1:], strict=False), strict=True
    ):
        magnitude = np.linalg.norm(flow(a, b), axis=2)
        displacement += float(np.percentile(magnitude, 95)) / side
        change += float(cv2.absdiff(a, b).mean()) / 255.0 / max(ma[0], mb[0], 1e-3)
        foreground += abs(mb[1] - ma[1]) + abs(mb[2] - ma[2]) + abs(np.log(mb[0] + 1e-3) - np.log(ma[0] + 1e-3))
    return tuple(float(np.log(v / seconds + 1e-6)) for v in (displacement, change, foreground))
