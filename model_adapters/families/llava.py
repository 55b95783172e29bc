"""The LLaVA families: LLaVA-OneVision and LLaVA-NeXT-Video (both stack a batch's videos)."""

from __future__ import annotations

from model_adapters.hf import HFVideoModel
from model_adapters.registry import TinySpec, family
from model_adapters.testing.tiny import SIDE, TEXT, VISION, chat_template, token_ids


def _llava_onevision(tok):
    import transformers as hf

    ids = token_ids(tok, ["<|endoftext|>", "<|im_end|>", "<image>", "<video>"])
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
    import transformers as hf

    ids = token_ids(tok, ["<unk>", "</s>", "<image>", "<video>"])
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


# LLaVA-OneVision's recipes train the language model's projections; SigLIP's q/k/v_proj stay frozen
# because only `language_model` trains.
@family(
    "llava_onevision",
    tiny=TinySpec(
        _llava_onevision, ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"), "<|im_end|>",
        "<|endoftext|>",
    ),
)  # fmt: skip
class LlavaOneVision(HFVideoModel):
    """LLaVA-OneVision: stacks a batch's videos, so a batch must share one frame count."""

    model_class = "LlavaOnevisionForConditionalGeneration"
    stacks_videos = True
    mixes_images_and_videos = True  # images and videos come out under their own names


@family(
    "llava_next_video",
    tiny=TinySpec(_llava_next_video, ("<unk>", "<s>", "</s>", "<image>", "<video>"), "</s>", "<unk>"),
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
    mixes_images_and_videos = True  # images and videos come out under their own names
