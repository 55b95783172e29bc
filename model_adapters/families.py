"""The Video-LLM families: each is the shared `HFVideoModel` plus what is really its own.

| name | class | fragment frames shown as |
|---|---|---|
| fvb_hf | any AutoModelForImageTextToText video model | numbered images |
| fvb_qwen2_vl / fvb_qwen2_5_vl / fvb_qwen3_vl | Qwen2-VL, Qwen2.5-VL, Qwen3-VL | numbered images |
| fvb_llava_onevision | LLaVA-OneVision | numbered images |
| fvb_llava_next_video | LLaVA-NeXT-Video | a clip, 1 s per frame (its processor has no interleaved images) |
| fvb_internvl | InternVL (transformers-native) | numbered images |
| fvb_videollama3 | VideoLLaMA3 | numbered images |

Scene clips always go in as a video with our frames and timestamps (`VideoMetadata`), never by path.
"""

from __future__ import annotations

from model_adapters.hf import HFVideoModel


class Qwen2VL(HFVideoModel):
    """Qwen2-VL: video tokens per pair of frames (temporal patch 2)."""

    model_class = "Qwen2VLForConditionalGeneration"


class Qwen2_5VL(HFVideoModel):  # noqa: N801 - the model's own spelling
    """Qwen2.5-VL: absolute time through `second_per_grid_ts`, computed from our metadata."""

    model_class = "Qwen2_5_VLForConditionalGeneration"


class Qwen3VL(HFVideoModel):
    """Qwen3-VL: textual timestamps from our metadata; its own frame sampling is switched off."""

    model_class = "Qwen3VLForConditionalGeneration"

    def processor_kwargs(self, metas: list) -> dict:
        return {**super().processor_kwargs(metas), "do_sample_frames": False}


class LlavaOneVision(HFVideoModel):
    """LLaVA-OneVision: stacks a batch's videos, so a batch must share one frame count."""

    model_class = "LlavaOnevisionForConditionalGeneration"
    stacks_videos = True


class LlavaNextVideo(HFVideoModel):
    """LLaVA-NeXT-Video."""

    model_class = "LlavaNextVideoForConditionalGeneration"
    fragment_form = "video"
    stacks_videos = True


class InternVL(HFVideoModel):
    """InternVL, the transformers-native classes ("Frame1: <img>" for video)."""

    model_class = "InternVLForConditionalGeneration"
    stacks_videos = True


class VideoLlama3(HFVideoModel):
    """VideoLLaMA3: timestamps ("Time 1.2s") from our metadata."""

    model_class = "VideoLlama3ForConditionalGeneration"
