"""The tiny model of VideoLLaMA3 (on Qwen's tokenizer markers) and its checkpoint's processor files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from model_adapters.testing.families.qwen import QWEN_SPECIALS, qwen_tiny
from model_adapters.testing.specs import HubLayout, register_tiny
from model_adapters.testing.tiny import TEXT, VISION, chat_template, token_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

    from model_adapters.testing.specs import TinyModel

VL3_PIXELS = {
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.5] * 3,
    "image_std": [0.5] * 3,
    "resample": 3,
    "rescale_factor": 1 / 255,
    "patch_size": 14,
    "temporal_patch_size": 1,
    "processor_class": "VideoLlama3Processor",
}
VIDEOLLAMA3_HUB = HubLayout(
    "DAMO-NLP-SG/VideoLLaMA3-7B (transformers-native classes)",
    "reconstructed: the real files were not visible offline, so these are transformers 5.24's class defaults "
    "(images 4 to 1280 tokens of 28x28, videos 128 to 768 a frame, merge 1 / 2, temporal patch 1, at most 180 "
    "frames, its own sampling off); the tiny model's chat template",
    {
        "preprocessor_config.json": {
            **VL3_PIXELS,
            "image_processor_type": "VideoLlama3ImageProcessor",
            "size": {"longest_edge": 1003520, "shortest_edge": 3136},
            "merge_size": 1,
        },
        "video_preprocessor_config.json": {
            **VL3_PIXELS,
            "video_processor_type": "VideoLlama3VideoProcessor",
            "size": {"longest_edge": 602112, "shortest_edge": 100352},
            "merge_size": 2,
            "min_frames": 4,
            "max_frames": 180,
            "do_sample_frames": False,
            "return_metadata": True,
            "use_token_compression": True,
        },
    },
)


def _videollama3(tok: PreTrainedTokenizerFast) -> TinyModel:
    import transformers as hf

    # 14-px patches, temporal patch 1, merged 2x2: each frame or image becomes 56x56 -> 4 tokens per frame.
    # Its video budget is `longest_edge // num_frames` per frame, so longest_edge allows 16 frames of 56x56.
    ids = token_ids(tok, QWEN_SPECIALS)
    text = dict(TEXT, model_type="qwen2", vocab_size=len(tok))
    text.update(pad_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"])
    cfg = hf.VideoLlama3Config(
        text_config=text,
        vision_config=dict(VISION, patch_size=14),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
    )
    proc = hf.VideoLlama3Processor(
        image_processor=hf.VideoLlama3ImageProcessor(size={"shortest_edge": 56 * 56, "longest_edge": 56 * 56}),
        video_processor=hf.VideoLlama3VideoProcessor(size={"shortest_edge": 56 * 56, "longest_edge": 16 * 56 * 56}),
        tokenizer=tok,
        chat_template=chat_template(video="<|video_pad|>\n", image="<|image_pad|>\n"),
    )
    return hf.VideoLlama3ForConditionalGeneration(cfg), proc


register_tiny("videollama3", qwen_tiny(_videollama3, (VIDEOLLAMA3_HUB,)))
