"""What any lmms-eval task hands a model besides text, in one form.

A FineVidBench document carries its own frames (explicit indices, speeds, windows), and the adapters
read it on its exact path. Every other request, from a task that is not ours (MVBench, TempCompass,
an image-QA set) or from a blind variant of ours, arrives as the task gives it: `doc_to_visual`'s
list for a simple model (paths, PIL images, numpy frames, dicts with a time span, nested lists) or
`doc_to_messages`' chat turns for a chat model. `task_messages` turns either into chat messages
whose visual blocks hold one of three records, so the adapters handle each kind once:

- `VideoFile`: a video on disk (and its time span, when the task gives one): the run's frame
  policy samples it, and the frame cache decodes it once per run;
- `Picture`: one image, kept as an image;
- `FrameArray`: frames a task decoded itself, shown as the task gave them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class VisualError(ValueError):
    """A task handed over a visual no adapter can show; the message names it and the task."""


@dataclass(frozen=True)
class VideoFile:
    """A video file, sampled by the run's frame policy; `start`/`end` (seconds) bound the part shown."""

    path: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True, eq=False)
class Picture:
    """One image, shown as an image (RGB)."""

    image: Any
    """A PIL image."""


@dataclass(frozen=True, eq=False)
class FrameArray:
    """Frames a task decoded itself, (frames, height, width, 3) uint8, shown as given."""

    frames: np.ndarray = field(repr=False)


Visual = VideoFile | Picture | FrameArray


def visual_of(item: Any, task: str = "") -> Visual:
    """One visual from what a task returned: a path, a PIL image, an array, or lmms-eval's dicts."""
    from PIL import Image

    if isinstance(item, VideoFile | Picture | FrameArray):
        return item
    if isinstance(item, Image.Image):
        return Picture(item.convert("RGB") if item.mode != "RGB" else item)
    if isinstance(item, str | os.PathLike):
        path = os.fspath(item)
        if path.lower().endswith(IMAGE_EXTENSIONS):
            return Picture(_open_image(path, task))
        return VideoFile(path)
    if isinstance(item, np.ndarray):
        if item.ndim == 2 or (item.ndim == 3 and item.shape[-1] in (1, 3, 4)):
            return Picture(Image.fromarray(_rgb(item)))
        if item.ndim in (3, 4):  # (frames, H, W[, C]); three dimensions not ending in channels: grey frames
            return FrameArray(np.stack([_rgb(frame) for frame in item]))
        raise VisualError(f"task {task or '?'}: an array visual of shape {item.shape} (expected (H, W[, 3]) or "
                          "(frames, H, W[, 3]))")  # fmt: skip
    if isinstance(item, dict):
        # lmms-eval's forms: {"type": ..., "url": ...} content and {"video": path, "video_start": s, ...} spans
        kind = item.get("type")
        source = next((item[k] for k in ("url", "path", "video", "image") if item.get(k) is not None), None)
        if source is None:
            raise VisualError(f"task {task or '?'}: a visual dict without url/path/video/image: {sorted(item)}")
        if isinstance(source, dict):  # lmms-eval wraps a video with a time span as the url itself
            return visual_of(source, task)
        start, end = item.get("video_start", item.get("start_time")), item.get("video_end", item.get("end_time"))
        if kind == "image" or (kind is None and "image" in item):  # an image, whatever its file is named
            return Picture(_open_image(os.fspath(source), task)) if isinstance(source, str | os.PathLike) else (
                visual_of(source, task))  # fmt: skip
        if isinstance(source, str | os.PathLike):
            return VideoFile(os.fspath(source), _seconds(start), _seconds(end))
        return visual_of(source, task)
    raise VisualError(
        f"task {task or '?'}: cannot show a visual of type {type(item).__name__} (expected a file path, a PIL "
        "image, a numpy array of frames, or lmms-eval's image/video dicts)"
    )


def visuals_of(items: Any, task: str = "") -> list[Visual]:
    """Every visual of a `doc_to_visual` result, nested lists flattened, `None` entries dropped."""
    if items is None:
        return []
    if not isinstance(items, list | tuple):
        items = [items]
    found: list[Visual] = []
    for item in items:
        if isinstance(item, list | tuple):
            found += visuals_of(item, task)
        elif item is not None:
            found.append(visual_of(item, task))
    return found


def user_turn(visuals: Sequence[Visual], text: str) -> list[dict[str, Any]]:
    """A simple model's request as a chat turn: the task's visuals, then its prompt (lmms-eval's own order)."""
    return [{"role": "user", "content": [*({"type": "visual", "visual": v} for v in visuals), _text(text)]}]


def task_messages(messages: Iterable[dict[str, Any]], task: str = "") -> list[dict[str, Any]]:
    """A chat task's messages (lmms-eval's `doc_to_messages`) with each image/video block as a `Visual`."""
    shown = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            shown.append({"role": message["role"], "content": [_text(content)]})
            continue
        blocks = []
        for block in content or []:
            kind = block.get("type")
            if kind == "text":
                blocks.append(_text(str(block.get("text", ""))))
            elif kind in ("image", "video"):
                source = {"type": kind, **{k: v for k, v in block.items() if k != "type"}}
                blocks.append({"type": "visual", "visual": visual_of(source, task)})
            else:
                raise VisualError(f"task {task or '?'}: a {kind!r} block; the video adapters show text, images and "
                                  "videos only")  # fmt: skip
        shown.append({"role": message["role"], "content": blocks})
    return shown


def visuals_in(messages: Sequence[dict[str, Any]]) -> list[Visual]:
    """The visuals of task messages, in order."""
    return [b["visual"] for m in messages for b in m["content"] if b["type"] == "visual"]


def digest(messages: Sequence[dict[str, Any]]) -> str:
    """A short hash of what a request shows and asks: its texts, and each visual's bytes or file.

    A video is identified by its path, size and time span (the frames are the run's policy's, which
    the answer key holds apart); an image or a frame array by its pixels.
    """
    hasher = hashlib.sha256()
    for message in messages:
        hasher.update(f"<{message['role']}>".encode())
        for block in message["content"]:
            if block["type"] == "text":
                hasher.update(b"T" + block["text"].encode())
                continue
            visual = block["visual"]
            if isinstance(visual, VideoFile):
                size = os.path.getsize(visual.path) if os.path.exists(visual.path) else -1
                hasher.update(f"V{visual.path}|{size}|{visual.start}|{visual.end}".encode())
            elif isinstance(visual, Picture):
                hasher.update(f"I{visual.image.size}".encode() + visual.image.tobytes())
            else:
                hasher.update(f"F{visual.frames.shape}".encode() + np.ascontiguousarray(visual.frames).tobytes())
    return hasher.hexdigest()[:16]


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


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


def _open_image(path: str, task: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise VisualError(f"task {task or '?'}: cannot read the image {path} ({exc}) (fix: check the file, or "
                          "the task's doc_to_visual)") from None  # fmt: skip


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)
