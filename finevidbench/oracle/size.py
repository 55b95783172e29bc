"""The size a model gets its frames at: the oracle sees no more pixels than the model it stands beside.

A Video-LLM's processor resizes every frame before the vision encoder sees it, and what a frame
decides (a subtle change, a few pixels of motion) can vanish in that resize. The oracle resizes the
frames the run's policy shows to the size a named family's model card gives them (`SIZES`), or to a
pixel budget, before it looks at them. The Qwen budgets are qwen-vl-utils' (`fetch_video` for clips,
`fetch_image` for fragment images; tests/test_oracle.py checks them against its `smart_resize`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from finevidbench.protocol.records import Level

Frames = npt.NDArray[np.uint8]
"""(N, H, W, 3) uint8 RGB, as finevidbench.video decodes them."""


@dataclass(frozen=True)
class FrameSize:
    """How frames are sized before a model sees them: as decoded, a square, a pixel budget, or a Qwen card's."""

    name: str
    square: int | None = None
    """Every frame stretched to side x side (LLaVA-OneVision 384, InternVL 448: their processors' `size`)."""
    max_pixels: int | None = None
    """At most this many pixels a frame, aspect kept (a budget given as a number)."""
    qwen_factor: int | None = None
    """Pixels per merged patch side of a Qwen card (28, Qwen3-VL 32): its token budgets apply."""

    def shape(self, height: int, width: int, frames: int, level: Level) -> tuple[int, int]:
        """(height, width) a frame of `height` x `width` reaches the model at, in a clip of `frames` (scene)."""
        if self.square is not None:
            return self.square, self.square
        if self.max_pixels is not None and height * width > self.max_pixels:
            scale = math.sqrt(self.max_pixels / (height * width))
            return max(1, int(height * scale)), max(1, int(width * scale))
        if self.qwen_factor is not None:
            return _qwen_shape(height, width, frames, level, self.qwen_factor)
        return height, width

    def fit(self, frames: Frames, level: Level) -> Frames:
        """`frames` resized to `shape` (area averaging when shrinking, bicubic when enlarging, as processors do)."""
        height, width = self.shape(frames.shape[1], frames.shape[2], len(frames), level)
        if (height, width) == frames.shape[1:3]:
            return frames
        shrink = height * width < frames.shape[1] * frames.shape[2]
        method = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
        return np.stack([cv2.resize(f, (width, height), interpolation=method) for f in frames])

    @classmethod
    def parse(cls, spec: str) -> FrameSize:
        """A name of `SIZES`, or a number of pixels a frame may hold; a clear error otherwise."""
        if spec in SIZES:
            return SIZES[spec]
        if spec.isdigit() and int(spec) >= 64:
            return cls(spec, max_pixels=int(spec))
        raise ValueError(f"size={spec!r}: expected one of {sorted(SIZES)} or a pixel budget of at least 64")


# qwen-vl-utils' budgets (tokens of factor x factor pixels): clips 128 to 768 a frame within 90 % of a
# 128,000-token sequence shared by the frames (counted in pairs), images 4 to 16,384
QWEN_VIDEO_TOKENS = (128, 768)
QWEN_SEQUENCE = 128000
QWEN_IMAGE_TOKENS = (4, 16384)


def _qwen_shape(height: int, width: int, frames: int, level: Level, factor: int) -> tuple[int, int]:
    """What qwen-vl-utils' `smart_resize` gives a frame under the card's video or image budget."""
    area = factor * factor
    if level == "scene":
        low = QWEN_VIDEO_TOKENS[0] * area
        padded = 2 * math.ceil(frames / 2)
        high = max(min(QWEN_VIDEO_TOKENS[1] * area, QWEN_SEQUENCE * area * 0.9 / padded * 2), int(low * 1.05))
    else:
        low, high = QWEN_IMAGE_TOKENS[0] * area, QWEN_IMAGE_TOKENS[1] * area
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > high:
        beta = math.sqrt(height * width / high)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < low:
        beta = math.sqrt(low / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


SIZES: dict[str, FrameSize] = {
    "decoded": FrameSize("decoded"),
    "qwen2_vl": FrameSize("qwen2_vl", qwen_factor=28),
    "qwen2_5_vl": FrameSize("qwen2_5_vl", qwen_factor=28),
    "qwen3_vl": FrameSize("qwen3_vl", qwen_factor=32),
    "llava_onevision": FrameSize("llava_onevision", square=384),
    "internvl": FrameSize("internvl", square=448),
}
"""Named sizes: as decoded, and the cards' sizes of the families whose processors fix one."""
DEFAULT_SIZE = "qwen2_5_vl"
"""The oracle's default: Qwen2.5-VL's card budgets, the family most runs use."""
