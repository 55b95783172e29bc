"""What an lmms-eval task hands a model besides text, turned into the request record's visuals.

Every request that is not a FineVidBench question in its own form (a task that is not ours, such as
MVBench, TempCompass or an image-QA set, or a blind variant of ours) arrives as the task gives it:
`doc_to_visual`'s list for a simple model (paths, PIL images, numpy frames, dicts with a time span,
nested lists) or `doc_to_messages`' chat turns for a chat model. `task_turns` turns either into the
turns of a `finevidbench.request.Request`, once, at the lmms-eval boundary:

- a video file (and its time span, when the task gives one) becomes a `Clip` the run's frame policy
  samples, decoded once per run by the model's frame cache;
- an image stays an `Image`;
- frames a task decoded itself become `DecodedFrames`, shown as the task gave them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from finevidbench.request import Clip, DecodedFrames, Image, Turn, Visual
from finevidbench.video import FramePolicy

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class VisualError(ValueError):
    """A task handed over a visual no adapter can show; the message names it and the task."""


@dataclass(frozen=True)
class TaskVisuals:
    """How one task's visuals are read: its name (for messages) and the run's frame policy (for its clips)."""

    task: str = ""
    policy: FramePolicy | None = None

    def fail(self, what: str) -> VisualError:
        """The error for a visual of this task no adapter can show."""
        return VisualError(f"task {self.task or '?'}: {what}")

    def visual_of(self, item: Any) -> Visual:
        """One visual from what the task returned: a path, a PIL image, an array, or lmms-eval's dicts."""
        from PIL import Image as PILImage

        if isinstance(item, Clip | Image | DecodedFrames):
            return item
        if isinstance(item, PILImage.Image):
            return Image(item.convert("RGB") if item.mode != "RGB" else item)
        if isinstance(item, str | os.PathLike):
            return self.file(os.fspath(item))
        if isinstance(item, np.ndarray):
            return self.array(item)
        if isinstance(item, dict):
            return self.content_dict(item)
        raise self.fail(
            f"cannot show a visual of type {type(item).__name__} (expected a file path, a PIL image, a numpy "
            "array of frames, or lmms-eval's image/video dicts)"
        )

    def file(self, path: str, start: Any = None, end: Any = None, image: bool = False) -> Visual:
        """An image file (by its extension, or when the task says so) or a video file and its time span."""
        if image or path.lower().endswith(IMAGE_EXTENSIONS):
            return Image(self.open_image(path))
        window = None if start is None and end is None else (_seconds(start), _seconds(end))
        return Clip(path, 1.0, window, self.policy)

    def array(self, item: np.ndarray) -> Visual:
        """An image (H, W[, C]) or frames (N, H, W[, C]); three dimensions not ending in channels: grey frames."""
        from PIL import Image as PILImage

        if item.ndim == 2 or (item.ndim == 3 and item.shape[-1] in (1, 3, 4)):
            return Image(PILImage.fromarray(_rgb(item)))
        if item.ndim in (3, 4):
            return DecodedFrames(np.stack([_rgb(frame) for frame in item]))
        raise self.fail(f"an array visual of shape {item.shape} (expected (H, W[, 3]) or (frames, H, W[, 3]))")

    def content_dict(self, item: dict[str, Any]) -> Visual:
        """lmms-eval's forms: {"type": ..., "url": ...} content and {"video": path, "video_start": s, ...} spans."""
        kind = item.get("type")
        source = next((item[k] for k in ("url", "path", "video", "image") if item.get(k) is not None), None)
        if source is None:
            raise self.fail(f"a visual dict without url/path/video/image: {sorted(item)}")
        if not isinstance(source, str | os.PathLike):  # a PIL image, an array, or a span wrapped as the url
            return self.visual_of(source)
        start, end = item.get("video_start", item.get("start_time")), item.get("video_end", item.get("end_time"))
        image = kind == "image" or (kind is None and "image" in item)  # an image, whatever its file is named
        return self.file(os.fspath(source), start, end, image)

    def visuals_of(self, items: Any) -> list[Visual]:
        """Every visual of a `doc_to_visual` result, nested lists flattened, `None` entries dropped."""
        if items is None:
            return []
        found: list[Visual] = []
        for item in items if isinstance(items, list | tuple) else [items]:
            if isinstance(item, list | tuple):
                found += self.visuals_of(item)
            elif item is not None:
                found.append(self.visual_of(item))
        return found

    def user_turn(self, items: Any, text: str) -> tuple[Turn, ...]:
        """A simple model's request as one turn: the task's visuals, then its prompt (lmms-eval's own order)."""
        return (Turn("user", (*self.visuals_of(items), text)),)

    def turns(self, messages: Iterable[dict[str, Any]]) -> tuple[Turn, ...]:
        """A chat task's messages (lmms-eval's `doc_to_messages`) as turns of text and visuals."""
        return tuple(Turn(message["role"], self.content(message.get("content"))) for message in messages)

    def content(self, content: Any) -> tuple[str | Visual, ...]:
        """One message's content: a string, or blocks of text, images and videos."""
        if isinstance(content, str):
            return (content,)
        shown: list[str | Visual] = []
        for block in content or []:
            kind = block.get("type")
            if kind == "text":
                shown.append(str(block.get("text", "")))
            elif kind in ("image", "video"):
                shown.append(self.visual_of({"type": kind, **{k: v for k, v in block.items() if k != "type"}}))
            else:
                raise self.fail(f"a {kind!r} block; the video adapters show text, images and videos only")
        return tuple(shown)

    def open_image(self, path: str) -> Any:
        """An image file as an RGB PIL image."""
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError

        try:
            with PILImage.open(path) as image:
                return image.convert("RGB")
        except (OSError, UnidentifiedImageError) as exc:
            raise self.fail(
                f"cannot read the image {path} ({exc}) (fix: check the file, or the task's doc_to_visual)"
            ) from None


def _rgb(array: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 image from (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) arrays."""
    if array.ndim == 2:
        array = array[..., None]
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if array.shape[-1] == 4:
        array = array[..., :3]
    if array.dtype != np.uint8:
        scale = 255.0 if array.size and float(np.max(array)) <= 1.0 else 1.0
        array = np.clip(array * scale, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)
