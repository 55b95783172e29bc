"""InternVL, the transformers-native classes ("Frame1: <img>" for video)."""

from __future__ import annotations

from model_adapters.hf import HFVideoModel
from model_adapters.registry import TinySpec, family
from model_adapters.testing.tiny import SIDE, TEXT, VISION, chat_template, token_ids

INTERNVL_TOKENS = {
    "start_image_token": "<img>",
    "end_image_token": "</img>",
    "context_image_token": "<IMG_CONTEXT>",
    "video_token": "<video>",
}


def _internvl(tok):
    import transformers as hf

    ids = token_ids(tok, ["<|endoftext|>", "<|im_end|>", "<IMG_CONTEXT>"])
    seq = (SIDE // 8) ** 2 // 4  # patches per frame, then pixel-shuffled by downsample_ratio 0.5
    vision = dict(VISION, image_size=SIDE, patch_size=8)
    text = dict(TEXT, model_type="qwen2", vocab_size=len(tok))
    text.update(pad_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"])
    cfg = hf.InternVLConfig(
        vision_config=vision, text_config=text, image_token_id=ids["<IMG_CONTEXT>"], image_seq_length=seq
    )
    size = {"height": SIDE, "width": SIDE}
    proc = hf.InternVLProcessor(
        image_processor=hf.GotOcr2ImageProcessor(size=size, max_patches=1),
        video_processor=hf.InternVLVideoProcessor(size=size),
        tokenizer=tok,
        image_seq_length=seq,
        chat_template=chat_template(video="<video>\n", image="<IMG_CONTEXT>\n"),
    )
    return hf.InternVLForConditionalGeneration(cfg), proc


@family(
    "internvl",
    tiny=TinySpec(
        _internvl,
        ("<|endoftext|>", "<|im_start|>", "<|im_end|>", *INTERNVL_TOKENS.values()),
        "<|im_end|>",
        "<|endoftext|>",
        INTERNVL_TOKENS,
    ),
)
class InternVL(HFVideoModel):
    """InternVL (transformers-native): stacks a batch's videos."""

    model_class = "InternVLForConditionalGeneration"
    stacks_videos = True
    mixes_images_and_videos = True  # images and videos come out under their own names
