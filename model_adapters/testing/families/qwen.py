"""The tiny models of the Qwen-VL families (Qwen2-VL, Qwen2.5-VL, Qwen3-VL) and their checkpoints' processor files.

Each is the real transformers classes at toy sizes on Qwen's tokenizer markers; the hub layouts write
down the processor files the 7B/8B-Instruct repos ship (model_adapters/testing/hub.py lays them over).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from model_adapters.testing.specs import EngineLayout, HubLayout, TinySpec, register_tiny
from model_adapters.testing.tiny import ENGINE_TEXT, TEXT, chat_template, token_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast, ProcessorMixin

    from model_adapters.testing.specs import TinyModel

QWEN_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]


def _qwen_text(tok: PreTrainedTokenizerFast, **rope: Any) -> dict[str, Any]:
    ids = token_ids(tok, QWEN_SPECIALS)
    return dict(
        TEXT,
        vocab_size=len(tok),
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0, **rope},
    )


def _qwen_ids(tok: PreTrainedTokenizerFast) -> dict[str, Any]:
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
QWEN2_SIZE = {"shortest_edge": 56 * 56, "longest_edge": 56 * 56}


def _qwen2_processor(processor_class: type[ProcessorMixin], tok: PreTrainedTokenizerFast) -> ProcessorMixin:
    """Qwen2-VL's and Qwen2.5-VL's processor: the same image and video processors at 56x56."""
    import transformers as hf

    return processor_class(
        image_processor=hf.Qwen2VLImageProcessor(size=QWEN2_SIZE),
        video_processor=hf.Qwen2VLVideoProcessor(size=QWEN2_SIZE, cap_pixels_per_frame=True),
        tokenizer=tok,
        chat_template=QWEN_TEMPLATE,
    )


def _qwen2_vl(tok: PreTrainedTokenizerFast) -> TinyModel:
    import transformers as hf

    vision = dict(depth=2, embed_dim=32, hidden_size=64, mlp_ratio=2, num_heads=2, patch_size=14)
    cfg = hf.Qwen2VLConfig(text_config=_qwen_text(tok), vision_config=vision, **_qwen_ids(tok))
    proc = _qwen2_processor(hf.Qwen2VLProcessor, tok)
    return hf.Qwen2VLForConditionalGeneration(cfg), proc


def _qwen2_5_vl(tok: PreTrainedTokenizerFast) -> TinyModel:
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


def _qwen3_vl(tok: PreTrainedTokenizerFast) -> TinyModel:
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
    size = {"shortest_edge": 64 * 64, "longest_edge": 64 * 64}
    video = hf.Qwen3VLVideoProcessor(size=size, patch_size=16, cap_pixels_per_frame=True, do_sample_frames=False)
    proc = hf.Qwen3VLProcessor(
        image_processor=hf.Qwen2VLImageProcessor(size=size, patch_size=16),
        video_processor=video,
        tokenizer=tok,
        chat_template=QWEN_TEMPLATE,
    )
    return hf.Qwen3VLForConditionalGeneration(cfg), proc


# -- the reference checkpoints' processor files (model_adapters/testing/hub.py) ---------------------------
CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
# Qwen2-VL's and Qwen2.5-VL's chat_template.json (the default system prompt, then blocks in order)
QWEN2_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Qwen3-VL's template, the part a single-turn user message reaches (no default system prompt; tools and
# thinking left out): blocks in order
QWEN3_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# the legacy file Qwen2-VL-7B-Instruct and Qwen2.5-VL-7B-Instruct ship: the image budget only (4 to 16384
# tokens), no video_preprocessor_config.json
QWEN2_PREPROCESSOR = {
    "min_pixels": 3136,
    "max_pixels": 12845056,
    "patch_size": 14,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": CLIP_MEAN,
    "image_std": CLIP_STD,
    "image_processor_type": "Qwen2VLImageProcessor",
}
QWEN2_SOURCE = (
    "preprocessor_config.json as the 7B-Instruct repos ship it (values quoted in mlx-vlm#1175); chat_template.json: "
    "the Qwen2-VL template; no video processor config"
)
QWEN3_MEANS = {
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
    "patch_size": 16,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "processor_class": "Qwen3VLProcessor",
}
QWEN3_FILES = {
    "preprocessor_config.json": {
        **QWEN3_MEANS,
        "size": {"longest_edge": 16777216, "shortest_edge": 65536},
        "image_processor_type": "Qwen2VLImageProcessorFast",
    },
    # its own frame sampling on (fps 2): the adapter must switch it off
    "video_preprocessor_config.json": {
        **QWEN3_MEANS,
        "size": {"longest_edge": 25165824, "shortest_edge": 4096},
        "video_processor_type": "Qwen3VLVideoProcessor",
        "do_sample_frames": True,
        "fps": 2,
        "min_frames": 4,
        "max_frames": 768,
        "return_metadata": False,
    },
}
QWEN2_HUB = HubLayout(
    "Qwen/Qwen2-VL-7B-Instruct",
    QWEN2_SOURCE,
    {"preprocessor_config.json": {**QWEN2_PREPROCESSOR, "processor_class": "Qwen2VLProcessor"}},
    QWEN2_CHAT_TEMPLATE,
)
QWEN2_5_HUB = HubLayout(
    "Qwen/Qwen2.5-VL-7B-Instruct",
    QWEN2_SOURCE,
    {"preprocessor_config.json": {**QWEN2_PREPROCESSOR, "processor_class": "Qwen2_5_VLProcessor"}},
    QWEN2_CHAT_TEMPLATE,
    config={"vision_config": {"tokens_per_second": 2}},
)
QWEN3_HUB = HubLayout(
    "Qwen/Qwen3-VL-8B-Instruct",
    "preprocessor_config.json and video_preprocessor_config.json as Qwen3-VL repos ship them (quoted in public "
    "serving code); the chat template reconstructed for a single user turn",
    QWEN3_FILES,
    QWEN3_CHAT_TEMPLATE,
)


def qwen_engine(tower_width: str = "out_hidden_size") -> EngineLayout:
    """A Qwen-VL checkpoint vLLM serves on CPU: head size 64, the tower's output as wide as the text.

    Its 3-D rotary sections are resized to the head; Qwen2-VL's tower names its output width `hidden_size`.
    """
    text = dict(ENGINE_TEXT, rope_parameters={"mrope_section": [8, 12, 12]})
    return EngineLayout({"text_config": text, "vision_config": {tower_width: 128, "initializer_range": 0.1}})


def qwen_tiny(
    build: Callable[[PreTrainedTokenizerFast], TinyModel],
    hub: tuple[HubLayout, ...],
    engine: EngineLayout | None = None,
) -> TinySpec:
    """The tiny spec of a family on Qwen's tokenizer (its specials, end of turn and padding)."""
    return TinySpec(build, tuple(QWEN_SPECIALS), eos="<|im_end|>", pad="<|endoftext|>", hub=hub, engine=engine)


register_tiny("qwen2_vl", qwen_tiny(_qwen2_vl, (QWEN2_HUB,), qwen_engine("hidden_size")))
register_tiny("qwen2_5_vl", qwen_tiny(_qwen2_5_vl, (QWEN2_5_HUB,), qwen_engine()))
register_tiny("qwen3_vl", qwen_tiny(_qwen3_vl, (QWEN3_HUB,), qwen_engine()))
