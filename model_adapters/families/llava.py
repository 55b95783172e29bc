"""The LLaVA families: LLaVA-OneVision and LLaVA-NeXT-Video (both stack a batch's videos)."""

from __future__ import annotations

from model_adapters.base import Shows
from model_adapters.hf import HFVideoModel
from model_adapters.registry import family


# LLaVA-OneVision's recipes train the language model's projections; SigLIP's q/k/v_proj stay frozen
# because only `language_model` trains.
@family("llava_onevision")
class LlavaOneVision(HFVideoModel):
    """LLaVA-OneVision: stacks a batch's videos, so a batch must share one frame count."""

    model_class = "LlavaOnevisionForConditionalGeneration"
    stacks_videos = True
    shows = Shows(videos=True, images=True, mixed=True)  # images and videos come out under their own names


@family(
    "llava_next_video",
    # its processor stacks videos: one frame count per batch, so SF2T batches of one (same effective batch)
    recipes={"sf2t": {"batch_size": 1, "grad_accum": 16}},
)
class LlavaNextVideo(HFVideoModel):
    """LLaVA-NeXT-Video: stacks a batch's videos; fragment frames are numbered images like every family's.

    Its real chat template writes every image before the text; the labels then go into the text next to
    each image's placeholder (model_adapters/chat.py), so "Frame 2" is the second image here too.
    """

    model_class = "LlavaNextVideoForConditionalGeneration"
    stacks_videos = True
    shows = Shows(videos=True, images=True, mixed=True)  # images and videos come out under their own names
