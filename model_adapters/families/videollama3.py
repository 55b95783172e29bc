"""VideoLLaMA3: timestamps ("Time 1.2s") from our metadata."""

from __future__ import annotations

from model_adapters.base import Shows
from model_adapters.hf import HFVideoModel
from model_adapters.registry import family


@family("videollama3")
class VideoLlama3(HFVideoModel):
    """VideoLLaMA3: timestamps ("Time 1.2s") from our metadata."""

    model_class = "VideoLlama3ForConditionalGeneration"
    not_served_because = "vLLM 0.32 has no VideoLLaMA3 model"
    card_frames = "fps=1,max_frames=180,mode=uniform"  # its card's video element: {"fps": 1, "max_frames": 180}
    stacks_videos = False  # concatenates a batch's videos (no padding): any frame counts, images and videos together
    shows = Shows(videos=True, images=True, mixed=True)
