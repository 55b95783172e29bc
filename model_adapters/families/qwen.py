"""The Qwen-VL families: Qwen2-VL, Qwen2.5-VL and Qwen3-VL (video tokens per pair of frames)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from model_adapters.base import Shows
from model_adapters.hf import HFVideoModel
from model_adapters.registry import family

# Recipes for real checkpoints (ours: neither paper publishes its settings) train LoRA on the
# language model's q/k/v/o and MLP projections; the vision tower's qkv/proj stay untouched. Every
# Qwen family uses the method defaults (model_adapters/recipes/<method>.yaml) as they are.


class QwenVL(HFVideoModel):
    """What the Qwen families share: frames sized as qwen-vl-utils sizes them on their model cards.

    qwen-vl-utils (`fetch_video`) gives each frame of a clip 128 to 768 tokens' worth of pixels, within
    a total budget shared over the frames, and images 4 to 16384 tokens' worth (`fetch_image`); then
    the processor patchifies without resizing again. A checkpoint's processor files do not carry that
    video budget (Qwen2.5-VL-7B ships only its image budget, which transformers would apply to every
    frame), so the adapter applies the card's, unless the checkpoint's video processor declares a
    capped budget of its own (`cap_pixels_per_frame: true`, which transformers applies as the
    reference does) or MODEL_ARGS set `min_pixels`, `max_pixels`, `total_pixels` (per-frame floor
    and ceiling, whole-clip total, in pixels, as qwen-vl-utils' video keys).
    """

    model_class: ClassVar[str] = "AutoModelForImageTextToText"
    card_frames = "fps=2,max_frames=768,min_frames=4,mode=uniform"  # qwen-vl-utils: FPS 2, 4 to 768, linspace
    served_by_vllm = True
    stacks_videos = False  # concatenates a batch's videos (no padding): any frame counts, images and videos together
    shows = Shows(videos=True, images=True, mixed=True)

    def __init__(
        self,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        total_pixels: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.pixel_args = {
            k: int(v)
            for k, v in {"min_pixels": min_pixels, "max_pixels": max_pixels, "total_pixels": total_pixels}.items()
            if v is not None
        }
        super().__init__(**kwargs)

    @property
    def sizes_frames(self) -> bool:
        """Whether the adapter sizes frames (the card's way) rather than the checkpoint's own capped budget."""
        return bool(self.pixel_args) or not getattr(self.processor.video_processor, "cap_pixels_per_frame", None)

    def factor(self) -> int:
        """Pixels per merged patch side: 28 for Qwen2/2.5-VL, 32 for Qwen3-VL."""
        video = self.processor.video_processor
        return int(video.patch_size * video.merge_size)

    def video_bounds(self, frames: int) -> tuple[int, float]:
        """Per-frame pixel floor and ceiling of a clip of `frames` frames, as `fetch_video` computes them."""
        from qwen_vl_utils import vision_process as card

        area = self.factor() ** 2
        frames = card.ceil_by_factor(frames, card.FRAME_FACTOR)  # a frame list is padded to whole temporal patches
        low = self.pixel_args.get("min_pixels", card.VIDEO_MIN_TOKEN_NUM * area)
        total = self.pixel_args.get("total_pixels", card.MODEL_SEQ_LEN * area * 0.9)
        high = max(min(card.VIDEO_MAX_TOKEN_NUM * area, total / frames * card.FRAME_FACTOR), int(low * 1.05))
        return low, min(high, self.pixel_args.get("max_pixels", high))

    def fit_video(self, frames: np.ndarray) -> np.ndarray:
        if not self.sizes_frames:
            return frames
        import torch
        from qwen_vl_utils.vision_process import smart_resize
        from torchvision.transforms import InterpolationMode, functional

        low, high = self.video_bounds(len(frames))
        height, width = smart_resize(frames.shape[1], frames.shape[2], self.factor(), low, high)
        video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
        resized = functional.resize(video, [height, width], interpolation=InterpolationMode.BICUBIC, antialias=True)
        out: np.ndarray = resized.permute(0, 2, 3, 1).numpy()  # as fetch_video resizes a decoded clip
        return out

    def fit_images(self, images: Sequence[Any]) -> list[Any]:
        images = super().fit_images(images)
        if not self.sizes_frames:
            return images
        from qwen_vl_utils import fetch_image

        patch = int(self.processor.image_processor.patch_size)
        return [fetch_image({"image": image}, image_patch_size=patch) for image in images]

    def processor_kwargs(self, metas: list[Any]) -> dict[str, Any]:
        kwargs = super().processor_kwargs(metas)
        if metas:  # the reference's per-frame cap; also what keeps transformers from warning on every call
            kwargs["videos_kwargs"] = {**kwargs["videos_kwargs"], "cap_pixels_per_frame": True}
        if self.sizes_frames:
            kwargs["do_resize"] = False  # sized already, as the Qwen3-VL card passes after qwen-vl-utils
        return kwargs

    def inputs_record(self) -> dict[str, Any]:
        source = "model_args" if self.pixel_args else "card" if self.sizes_frames else "checkpoint"
        pixels = dict(zip(("min_pixels", "max_pixels"), self.video_bounds(2), strict=True)) if self.sizes_frames else {}
        return {**super().inputs_record(), "video_pixels": {"source": source, **pixels, **self.pixel_args}}


@family("qwen2_vl")
class Qwen2VL(QwenVL):
    """Qwen2-VL: video tokens per pair of frames (temporal patch 2)."""

    model_class = "Qwen2VLForConditionalGeneration"


@family("qwen2_5_vl")
class Qwen2_5VL(QwenVL):  # noqa: N801 - the model's own spelling
    """Qwen2.5-VL: absolute time through `second_per_grid_ts`, computed from our metadata."""

    model_class = "Qwen2_5_VLForConditionalGeneration"


@family("qwen3_vl")
class Qwen3VL(QwenVL):
    """Qwen3-VL: textual timestamps from our metadata; its own frame sampling is switched off."""

    model_class = "Qwen3VLForConditionalGeneration"
