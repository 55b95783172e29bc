"""InternVL, the transformers-native classes ("Frame1: <img>" for video)."""

from __future__ import annotations

from model_adapters.base import Shows
from model_adapters.hf import HFVideoModel
from model_adapters.registry import family


@family("internvl")
class InternVL(HFVideoModel):
    """InternVL (transformers-native): stacks a batch's videos."""

    model_class = "InternVLForConditionalGeneration"
    served_by_vllm = True  # vLLM 0.32 serves the -hf checkpoints through its InternS1 model code, video included
    stacks_videos = True
    shows = Shows(videos=True, images=True, mixed=True)  # images and videos come out under their own names
