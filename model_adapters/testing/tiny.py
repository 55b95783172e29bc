"""Tiny random Video-LLMs of the real transformers architectures, built offline for tests and benchmarks.

`build_tiny(family, out)` saves a model (hidden 64, 2 layers, a 2-layer width-32 vision tower) and its
processor (tokenizer and chat template included) into `out`; both reload with
`AutoModelForImageTextToText.from_pretrained(out)` / `AutoProcessor.from_pretrained(out)` under
`HF_HUB_OFFLINE=1`. Nothing is downloaded: the tokenizer is a byte-level BPE trained in-process on
`SENTENCES`, and the processors are configured for tiny frames so that token counts stay small.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import transformers as hf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

FAMILIES: tuple[str, ...] = (
    "qwen2_vl",
    "qwen2_5_vl",
    "qwen3_vl",
    "llava_onevision",
    "llava_next_video",
    "internvl",
    "videollama3",
    "smolvlm",
)

# Fixed training text: answers (letters A-D, digits, yes/no) and the usual prompt words become tokens.
SENTENCES: tuple[str, ...] = (
    "yes no yes no Yes No yes. no. yes\nno\n",
    "A B C D A. B. C. D. (A) (B) (C) (D) A\nB\nC\nD\n",
    "0 1 2 3 4 5 6 7 8 9 10 12 16 24 32 64 100 0.5 1.0 2.0 seconds",
    "Answer with the option's letter from the given choices directly.",
    "Answer the question using a single word or phrase. Answer yes or no.",
    "How many times does the action happen in the video? Count the repetitions.",
    "Which frame comes first? Image 1: Image 2: Image 3: Image 4: Frame1: Frame2:",
    "What is the person doing? Is the object moving to the left or to the right?",
    "system user assistant USER: ASSISTANT: User: Assistant: You are a helpful assistant.",
    "The video shows a man and a woman who open the door, then close it again.",
)

# LLaVA-OneVision, LLaVA-NeXT-Video, InternVL and SmolVLM see frames and images as SIDE x SIDE with
# 8-px patches (4x4 patches); the Qwen-style families size them by pixel budgets (see their builders).
SIDE = 32
NUM_MERGES = 64  # BPE merges on top of the 256 bytes and the specials: vocabularies of ~330-370 tokens

# Text side and vision tower shared by every family.
TEXT = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=4096,
)
VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
QWEN_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]


def make_tokenizer(
    specials: list[str], eos: str, pad: str, extra_special_tokens: dict | None = None
) -> hf.PreTrainedTokenizerFast:
    """A byte-level BPE trained on `SENTENCES` (deterministic); `specials` become atomic tokens.

    Every byte is a token, so any text encodes and digits 0-9 and letters A-D are single tokens;
    "yes" and "no" are learned merges.
    """
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=256 + len(specials) + NUM_MERGES,
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(SENTENCES) * 4, trainer)
    return hf.PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token=eos, pad_token=pad, extra_special_tokens=extra_special_tokens or {}
    )


def chat_template(
    video: str,
    image: str,
    turn: str = "<|im_start|>{role}\n",
    end: str = "<|im_end|>\n",
    roles: dict | None = None,
    start: str = "",
    gen: str | None = None,
) -> str:
    """A Jinja chat template: `video`/`image` for video/image blocks, the text of text blocks.

    `start` opens the conversation; `turn` opens each message (`{role}` is the message's role, renamed
    through `roles`) and `end` closes it; the generation prompt is `gen` (default: the assistant's `turn`).
    """
    roles = roles or {}
    gen = turn.replace("{role}", roles.get("assistant", "assistant")) if gen is None else gen
    return (
        start
        + f"{{% for message in messages %}}{{% set role = {roles!r}.get(message['role'], message['role']) %}}"
        + turn.replace("{role}", "{{ role }}")
        + "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
        "{% for c in message['content'] %}"
        f"{{% if c['type'] == 'video' %}}{video}{{% elif c['type'] == 'image' %}}{image}"
        "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
        + end
        + f"{{% endfor %}}{{% if add_generation_prompt %}}{gen}{{% endif %}}"
    )


def _ids(tok, names: list[str]) -> dict[str, int]:
    return {n: tok.convert_tokens_to_ids(n) for n in names}


def _qwen_text(tok, **rope) -> dict:
    ids = _ids(tok, QWEN_SPECIALS)
    return dict(
        TEXT,
        vocab_size=len(tok),
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0, **rope},
    )


def _qwen_ids(tok) -> dict:
    ids = _ids(tok, QWEN_SPECIALS)
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


def _qwen2_vl(tok):
    vision = dict(depth=2, embed_dim=32, hidden_size=64, mlp_ratio=2, num_heads=2, patch_size=14)
    cfg = hf.Qwen2VLConfig(text_config=_qwen_text(tok), vision_config=vision, **_qwen_ids(tok))
    proc = hf.Qwen2VLProcessor(
        image_processor=hf.Qwen2VLImageProcessor(**QWEN2_PX),
        video_processor=hf.Qwen2VLVideoProcessor(**QWEN2_PX, cap_pixels_per_frame=True),
        tokenizer=tok,
        chat_template=QWEN_TEMPLATE,
    )
    return hf.Qwen2VLForConditionalGeneration(cfg), proc


def _qwen2_5_vl(tok):
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
    proc = hf.Qwen2_5_VLProcessor(
        image_processor=hf.Qwen2VLImageProcessor(**QWEN2_PX),
        video_processor=hf.Qwen2VLVideoProcessor(**QWEN2_PX, cap_pixels_per_frame=True),
        tokenizer=tok,
        chat_template=QWEN_TEMPLATE,
    )
    return hf.Qwen2_5_VLForConditionalGeneration(cfg), proc


def _qwen3_vl(tok):
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


def _llava_onevision(tok):
    ids = _ids(tok, ["<|endoftext|>", "<|im_end|>", "<image>", "<video>"])
    pinpoints = [[SIDE, SIDE], [SIDE, 2 * SIDE], [2 * SIDE, SIDE], [2 * SIDE, 2 * SIDE]]
    vision = dict(VISION, model_type="siglip_vision_model", image_size=SIDE, patch_size=8, vision_use_head=False)
    text = dict(TEXT, model_type="qwen2", vocab_size=len(tok))
    text.update(pad_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"])
    cfg = hf.LlavaOnevisionConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=ids["<image>"],
        video_token_index=ids["<video>"],
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        image_grid_pinpoints=pinpoints,
    )
    size = {"height": SIDE, "width": SIDE}
    proc = hf.LlavaOnevisionProcessor(
        image_processor=hf.LlavaOnevisionImageProcessor(size=size, image_grid_pinpoints=pinpoints),
        video_processor=hf.LlavaOnevisionVideoProcessor(size=size),
        tokenizer=tok,
        num_image_tokens=(SIDE // 8) ** 2,
        vision_feature_select_strategy="full",
        chat_template=chat_template(video="<video>\n", image="<image>\n"),
    )
    return hf.LlavaOnevisionForConditionalGeneration(cfg), proc


def _llava_next_video(tok):
    ids = _ids(tok, ["<unk>", "</s>", "<image>", "<video>"])
    pinpoints = [[SIDE, SIDE]]  # anyres with a single grid: an image is its base view plus one crop
    vision = dict(VISION, model_type="clip_vision_model", image_size=SIDE, patch_size=8, projection_dim=32)
    text = dict(TEXT, model_type="llama", vocab_size=len(tok))
    text.update(pad_token_id=ids["<unk>"], eos_token_id=ids["</s>"])
    cfg = hf.LlavaNextVideoConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=ids["<image>"],
        video_token_index=ids["<video>"],
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
        image_grid_pinpoints=pinpoints,
    )
    px = dict(size={"shortest_edge": SIDE}, crop_size={"height": SIDE, "width": SIDE})
    roles = {"user": "USER", "assistant": "ASSISTANT", "system": "SYSTEM"}
    template = chat_template("<video>\n", "<image>\n", turn="{role}: ", end=" ", roles=roles, gen="ASSISTANT:")
    proc = hf.LlavaNextVideoProcessor(
        video_processor=hf.LlavaNextVideoVideoProcessor(**px),
        image_processor=hf.LlavaNextImageProcessor(**px, image_grid_pinpoints=pinpoints),
        tokenizer=tok,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=template,
    )
    return hf.LlavaNextVideoForConditionalGeneration(cfg), proc


INTERNVL_TOKENS = {
    "start_image_token": "<img>",
    "end_image_token": "</img>",
    "context_image_token": "<IMG_CONTEXT>",
    "video_token": "<video>",
}


def _internvl(tok):
    ids = _ids(tok, ["<|endoftext|>", "<|im_end|>", "<IMG_CONTEXT>"])
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


def _videollama3(tok):
    # 14-px patches, temporal patch 1, merged 2x2: each frame or image becomes 56x56 -> 4 tokens per frame.
    # Its video budget is `longest_edge // num_frames` per frame, so longest_edge allows 16 frames of 56x56.
    ids = _ids(tok, QWEN_SPECIALS)
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


SMOLVLM_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>"]
SMOLVLM_SPECIALS += ["<image>", "<global-img>", "<video>"]
SMOLVLM_SPECIALS += [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]


def _smolvlm(tok):
    # Needs the `num2words` package: SmolVLMProcessor raises ImportError without it.
    ids = _ids(tok, ["<|endoftext|>", "<end_of_utterance>", "<image>"])
    text = dict(TEXT, model_type="llama", vocab_size=len(tok))
    text.update(pad_token_id=ids["<|endoftext|>"], eos_token_id=ids["<end_of_utterance>"])
    vision = dict(VISION, image_size=SIDE, patch_size=8)
    cfg = hf.SmolVLMConfig(text_config=text, vision_config=vision, image_token_id=ids["<image>"], scale_factor=2)
    px = dict(size={"longest_edge": SIDE}, max_image_size={"longest_edge": SIDE}, do_image_splitting=False)
    roles = {"user": "User", "assistant": "Assistant", "system": "System"}
    end = "<end_of_utterance>\n"  # as SmolVLM's own template: "<|im_start|>User: ...<end_of_utterance>\nAssistant:"
    template = chat_template("<video>", "<image>", "{role}: ", end, roles, start="<|im_start|>", gen="Assistant:")
    proc = hf.SmolVLMProcessor(
        image_processor=hf.SmolVLMImageProcessor(**px),
        video_processor=hf.SmolVLMVideoProcessor(**px),
        tokenizer=tok,
        image_seq_len=(SIDE // 8) ** 2 // 4,
        chat_template=template,
    )
    return hf.SmolVLMForConditionalGeneration(cfg), proc


# family -> (builder, tokenizer specials, eos, pad, named special tokens)
_BUILDERS: dict[str, tuple[Callable, list[str], str, str, dict | None]] = {
    "qwen2_vl": (_qwen2_vl, QWEN_SPECIALS, "<|im_end|>", "<|endoftext|>", None),
    "qwen2_5_vl": (_qwen2_5_vl, QWEN_SPECIALS, "<|im_end|>", "<|endoftext|>", None),
    "qwen3_vl": (_qwen3_vl, QWEN_SPECIALS, "<|im_end|>", "<|endoftext|>", None),
    "llava_onevision": (
        _llava_onevision,
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"],
        "<|im_end|>",
        "<|endoftext|>",
        None,
    ),
    "llava_next_video": (_llava_next_video, ["<unk>", "<s>", "</s>", "<image>", "<video>"], "</s>", "<unk>", None),
    "internvl": (
        _internvl,
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *INTERNVL_TOKENS.values()],
        "<|im_end|>",
        "<|endoftext|>",
        INTERNVL_TOKENS,
    ),
    "videollama3": (_videollama3, QWEN_SPECIALS, "<|im_end|>", "<|endoftext|>", None),
    "smolvlm": (_smolvlm, SMOLVLM_SPECIALS, "<end_of_utterance>", "<|endoftext|>", None),
}


def make_tiny(family: str, seed: int = 0):
    """The tiny random `(model, processor)` of `family`, in eval mode; the weights depend only on `seed`."""
    if family not in _BUILDERS:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    builder, specials, eos, pad, named = _BUILDERS[family]
    tok = make_tokenizer(specials, eos=eos, pad=pad, extra_special_tokens=named)
    torch.manual_seed(seed)
    model, proc = builder(tok)
    model.eval()
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return model, proc


def build_tiny(family: str, out: str | Path, seed: int = 0) -> Path:
    """Build the tiny random model of `family` and save model and processor into `out`; returns `out`."""
    model, proc = make_tiny(family, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out
