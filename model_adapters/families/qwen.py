"""The Qwen-VL families: Qwen2-VL, Qwen2.5-VL and Qwen3-VL (video tokens per pair of frames)."""

from __future__ import annotations

from model_adapters.hf import HFVideoModel
from model_adapters.registry import TinySpec, family
from model_adapters.testing.tiny import TEXT, chat_template, token_ids

QWEN_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# Recipes for real checkpoints (ours: neither paper publishes its settings) train LoRA on the
# language model's q/k/v/o and MLP projections; the vision tower's qkv/proj stay untouched. Every
# Qwen family uses the method defaults (model_adapters/recipes/<method>.yaml) as they are.


def _qwen_text(tok, **rope) -> dict:
    ids = token_ids(tok, QWEN_SPECIALS)
    return dict(
        TEXT,
        vocab_size=len(tok),
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0, **rope},
    )


def _qwen_ids(tok) -> dict:
    ids = token_ids(tok, QWEN_SPECIALS)
    return dict(
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )


QWEN_TEMPLATE = chat_template(
    video="<|vision_start|><|video_pad|><|vision_end|>", image="<|vision_start|><|image_pad|><|vision_end|>"
)
# Qwen2/2.5-VL: 14-px patches merged 2x2, so each frame or image becomes 56x56 -> 4 tokens (per 2 frames)
QWEN2_PX = dict(size={"shortest_edge": 56 * 56, "longest_edge": 56 * 56})


def _qwen2_processor(processor_class, tok):
    """Qwen2-VL's and Qwen2.5-VL's processor: the same image and video processors at 56x56."""
    import transformers as hf

    return processor_class(
        image_processor=hf.Qwen2VLImageProcessor(**QWEN2_PX),
        video_processor=hf.Qwen2VLVideoProcessor(**QWEN2_PX, cap_pixels_per_frame=True),
        tokenizer=tok,
        chat_template=QWEN_TEMPLATE,
    )


def _qwen2_vl(tok):
    import transformers as hf

    vision = dict(depth=2, embed_dim=32, hidden_size=64, mlp_ratio=2, num_heads=2, patch_size=14)
    cfg = hf.Qwen2VLConfig(text_config=_qwen_text(tok), vision_config=vision, **_qwen_ids(tok))
    proc = _qwen2_processor(hf.Qwen2VLProcessor, tok)
    return hf.Qwen2VLForConditionalGeneration(cfg), proc


def _qwen2_5_vl(tok):
    import transformers as hf

    vision = dict(
        depth=2,
        hidden_size=32,
        out_hidden_size=64,
        intermediate_size=64,
        num_heads=2,
        patch_size=14,
        window_size=56,
        fullatt_block_indexes=[1],
    )
    cfg = hf.Qwen2_5_VLConfig(text_config=_qwen_text(tok), vision_config=vision, **_qwen_ids(tok))
    proc = _qwen2_processor(hf.Qwen2_5_VLProcessor, tok)
    return hf.Qwen2_5_VLForConditionalGeneration(cfg), proc


def _qwen3_vl(tok):
    import transformers as hf

    # 16-px patches merged 2x2 (factor 32): frames and images become 64x64 -> 4 tokens (per 2 frames).
    # The video budget counts frames x pixels: `cap_pixels_per_frame` caps each frame at 1.05*shortest_edge.
    vision = dict(
        depth=2,
        hidden_size=32,
        intermediate_size=64,
        num_heads=2,
        patch_size=16,
        out_hidden_size=64,
        num_position_embeddings=16,
        deepstack_visual_indexes=[0],
    )
    text = _qwen_text(tok, mrope_interleaved=True)
    cfg = hf.Qwen3VLConfig(text_config=dict(text, head_dim=16), vision_config=vision, **_qwen_ids(tok))
    px = dict(size={"shortest_edge": 64 * 64, "longest_edge": 64 * 64}, patch_size=16)
    video = hf.Qwen3VLVideoProcessor(**px, cap_pixels_per_frame=True, do_sample_frames=False)
    proc = hf.Qwen3VLProcessor(
        image_processor=hf.Qwen2VLImageProcessor(**px),
        video_processor=video,
        tokenizer=tok,
        chat_template=QWEN_TEMPLATE,
    )
    return hf.Qwen3VLForConditionalGeneration(cfg), proc


QWEN_TINY = dict(specials=tuple(QWEN_SPECIALS), eos="<|im_end|>", pad="<|endoftext|>")


@family("qwen2_vl", tiny=TinySpec(_qwen2_vl, **QWEN_TINY))
class Qwen2VL(HFVideoModel):
    """Qwen2-VL: video tokens per pair of frames (temporal patch 2)."""

    model_class = "Qwen2VLForConditionalGeneration"
    stacks_videos = False  # concatenates a batch's videos (no padding): any frame counts, images and videos together
    mixes_images_and_videos = True


@family("qwen2_5_vl", tiny=TinySpec(_qwen2_5_vl, **QWEN_TINY))
class Qwen2_5VL(HFVideoModel):  # noqa: N801 - the model's own spelling
    """Qwen2.5-VL: absolute time through `second_per_grid_ts`, computed from our metadata."""

    model_class = "Qwen2_5_VLForConditionalGeneration"
    stacks_videos = False  # concatenates a batch's videos (no padding): any frame counts, images and videos together
    mixes_images_and_videos = True


@family("qwen3_vl", tiny=TinySpec(_qwen3_vl, **QWEN_TINY))
class Qwen3VL(HFVideoModel):
    """Qwen3-VL: textual timestamps from our metadata; its own frame sampling is switched off."""

    model_class = "Qwen3VLForConditionalGeneration"
    stacks_videos = False  # concatenates a batch's videos (no padding): any frame counts, images and videos together
    mixes_images_and_videos = True

    def processor_kwargs(self, metas: list) -> dict:
        return {**super().processor_kwargs(metas), "do_sample_frames": False}
