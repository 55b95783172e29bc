"""The LLaVA families: LLaVA-OneVision and LLaVA-NeXT-Video (both stack a batch's videos)."""

from __future__ import annotations

from model_adapters.base import Shows
from model_adapters.hf import HFVideoModel
from model_adapters.registry import family
from model_adapters.serving import PromptLimit

# vLLM (0.32) reads their SigLIP / CLIP tower as the hub checkpoints name it; transformers 5 saves it without
# `vision_model.` (model_adapters/serving.py: `check_weight_names`)
TOWER_WEIGHTS = {"vision_tower.": "vision_tower.vision_model."}


# LLaVA-OneVision's recipes train the language model's projections; SigLIP's q/k/v_proj stay frozen
# because only `language_model` trains.
@family("llava_onevision")
class LlavaOneVision(HFVideoModel):
    """LLaVA-OneVision: stacks a batch's videos, so a batch must share one frame count."""

    model_class = "LlavaOnevisionForConditionalGeneration"
    served_by_vllm = True
    engine_weight_names = TOWER_WEIGHTS
    # LLaVA-NeXT's training shows each of several images by its base view ("pad"), as transformers does
    engine_prompt_limit = PromptLimit(
        images=1, because="vLLM 0.32 tiles each of several images (anyres), where the model was trained on base views"
    )
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
    served_by_vllm = True
    engine_weight_names = TOWER_WEIGHTS
    engine_prompt_limit = PromptLimit(
        images=0, videos=1, because="vLLM 0.32's LLaVA-NeXT-Video takes one video a prompt and no image"
    )
    stacks_videos = True
    shows = Shows(videos=True, images=True, mixed=True)  # images and videos come out under their own names
