"""The tiny models of the LLaVA families (LLaVA-OneVision, LLaVA-NeXT-Video) and their checkpoints' processor files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from model_adapters.testing.specs import EngineLayout, HubLayout, TinySpec, register_tiny
from model_adapters.testing.tiny import ENGINE_TEXT, SIDE, TEXT, VISION, chat_template, token_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

    from model_adapters.testing.specs import TinyModel


def _llava_onevision(tok: PreTrainedTokenizerFast) -> TinyModel:
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


def _llava_next_video(tok: PreTrainedTokenizerFast) -> TinyModel:
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
    size, crop_size = {"shortest_edge": SIDE}, {"height": SIDE, "width": SIDE}
    roles = {"user": "USER", "assistant": "ASSISTANT", "system": "SYSTEM"}
    template = chat_template("<video>\n", "<image>\n", turn="{role}: ", end=" ", roles=roles, gen="ASSISTANT:")
    proc = hf.LlavaNextVideoProcessor(
        video_processor=hf.LlavaNextVideoVideoProcessor(size=size, crop_size=crop_size),
        image_processor=hf.LlavaNextImageProcessor(size=size, crop_size=crop_size, image_grid_pinpoints=pinpoints),
        tokenizer=tok,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=template,
    )
    return hf.LlavaNextVideoForConditionalGeneration(cfg), proc


# -- the reference checkpoints' processor files (model_adapters/testing/hub.py) ---------------------------
# the llava-hf repos name the SigLIP / CLIP tower's weights `vision_tower.vision_model.*` (transformers 5 saves
# `vision_tower.*`)
TOWER_NAMES = {"vision_tower.": "vision_tower.vision_model."}
CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
ONEVISION_PINPOINTS = [[384 * h, 384 * w] for h in range(1, 7) for w in range(1, 7)]  # anyres_max_9's grid
NEXT_VIDEO_PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
# transformers' conversion scripts write these templates: every image of a message first, then its videos, then
# its text, so a label never stands next to its image (the adapters put labels in the text: model_adapters/chat.py)
ONEVISION_CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + ' '}}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}"
    "{% endfor %}{{'<|im_end|>\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
NEXT_VIDEO_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' ' }}"
    "{% endfor %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)
ONEVISION_HUB = HubLayout(
    "llava-hf/llava-onevision-qwen2-7b-ov-hf",
    "preprocessor_config.json (384x384, anyres_max_9 pinpoints, mean/std 0.5) and processor_config.json "
    "(729 image tokens, 'full' features) as the repo ships them; transformers 5 builds the video processor from "
    "the root file (its video_processor/ folder is never read); the chat template as the conversion script writes it",
    {
        "preprocessor_config.json": {
            "do_convert_rgb": True,
            "do_normalize": True,
            "do_pad": True,
            "do_rescale": True,
            "do_resize": True,
            "image_grid_pinpoints": ONEVISION_PINPOINTS,
            "image_mean": [0.5] * 3,
            "image_std": [0.5] * 3,
            "image_processor_type": "LlavaOnevisionImageProcessor",
            "processor_class": "LlavaOnevisionProcessor",
            "resample": 3,
            "rescale_factor": 1 / 255,
            "size": {"height": 384, "width": 384},
        },
        "processor_config.json": {
            "num_image_tokens": 729,
            "processor_class": "LlavaOnevisionProcessor",
            "vision_feature_select_strategy": "full",
        },
    },
    ONEVISION_CHAT_TEMPLATE,
    config={"vision_config": {"image_size": 384, "patch_size": 14}, "image_grid_pinpoints": ONEVISION_PINPOINTS},
    weight_names=TOWER_NAMES,
)
NEXT_VIDEO_IMAGE = {
    "crop_size": {"height": 336, "width": 336},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": CLIP_MEAN,
    "image_std": CLIP_STD,
    "resample": 3,
    "rescale_factor": 1 / 255,
    "size": {"shortest_edge": 336},
    "processor_class": "LlavaNextVideoProcessor",
}
NEXT_VIDEO_FILES = {
    "preprocessor_config.json": {
        **NEXT_VIDEO_IMAGE,
        "image_processor_type": "LlavaNextImageProcessor",
        "image_grid_pinpoints": NEXT_VIDEO_PINPOINTS,
        "do_pad": True,
    },
    "processor_config.json": {
        "patch_size": 14,
        "vision_feature_select_strategy": "default",
        "num_additional_image_tokens": 1,
        "processor_class": "LlavaNextVideoProcessor",
    },
}
NEXT_VIDEO_GEOMETRY = {
    "vision_config": {"image_size": 336, "patch_size": 14},
    "image_grid_pinpoints": NEXT_VIDEO_PINPOINTS,
}
NEXT_VIDEO_HUBS = (
    HubLayout(
        "llava-hf/LLaVA-NeXT-Video-34B-hf",
        "the 7B repo's files (CLIP 336, centre crop, CLIP mean/std) plus the video_preprocessor_config.json the 34B "
        "repo carries; the chat template as the conversion script writes it (reconstructed)",
        {
            **NEXT_VIDEO_FILES,
            "video_preprocessor_config.json": {
                **NEXT_VIDEO_IMAGE,
                "video_processor_type": "LlavaNextVideoVideoProcessor",
            },
        },
        NEXT_VIDEO_CHAT_TEMPLATE,
        config=NEXT_VIDEO_GEOMETRY,
        weight_names=TOWER_NAMES,
    ),
    HubLayout(
        "llava-hf/LLaVA-NeXT-Video-7B-hf",
        "preprocessor_config.json only (741 bytes: LlavaNextImageProcessor), no video_preprocessor_config.json: "
        "transformers 5.24 recurses building its processor, the card's own code too",
        NEXT_VIDEO_FILES,
        NEXT_VIDEO_CHAT_TEMPLATE,
        config=NEXT_VIDEO_GEOMETRY,
        name="7b-legacy",
        weight_names=TOWER_NAMES,
    ),
)

# LLaVA-OneVision served by vLLM on CPU (`EngineLayout`): the hub's files and shapes at 56-px frames of 14-px
# patches (16 patches, pooled to 4 tokens a video frame), the pinpoint grid scaled alike, head size 64 in the text.
ENGINE_SIDE = 56
ONEVISION_ENGINE_PINPOINTS = [[ENGINE_SIDE * h, ENGINE_SIDE * w] for h in range(1, 7) for w in range(1, 7)]
ONEVISION_ENGINE = EngineLayout(
    {
        "text_config": ENGINE_TEXT,
        "vision_config": {"image_size": ENGINE_SIDE},
        "image_grid_pinpoints": ONEVISION_ENGINE_PINPOINTS,
    },
    {
        "preprocessor_config.json": {
            "size": {"height": ENGINE_SIDE, "width": ENGINE_SIDE},
            "image_grid_pinpoints": ONEVISION_ENGINE_PINPOINTS,
        },
        "processor_config.json": {"num_image_tokens": (ENGINE_SIDE // 14) ** 2},
    },
)

# LLaVA-NeXT-Video served by vLLM on CPU: its 34B layout at 56-px frames of 7-px patches (64, pooled to 16 tokens a
# video frame), head size 64 in the text. vLLM's pooler needs a frame of at least patch² pixels (336 >= 14² on the
# hub: it divides by image_size // patch_size²), so 14-px patches cannot shrink the frame below 196 px.
NEXT_VIDEO_ENGINE_SIZES = {
    "size": {"shortest_edge": ENGINE_SIDE},
    "crop_size": {"height": ENGINE_SIDE, "width": ENGINE_SIDE},
}
NEXT_VIDEO_ENGINE_PINPOINTS = [[ENGINE_SIDE * h, ENGINE_SIDE * w] for h, w in ((1, 2), (2, 1), (2, 2), (3, 1), (1, 3))]
NEXT_VIDEO_ENGINE = EngineLayout(
    {
        "text_config": ENGINE_TEXT,
        "vision_config": {"image_size": ENGINE_SIDE, "patch_size": 7},
        "image_grid_pinpoints": NEXT_VIDEO_ENGINE_PINPOINTS,
    },
    {
        "preprocessor_config.json": {**NEXT_VIDEO_ENGINE_SIZES, "image_grid_pinpoints": NEXT_VIDEO_ENGINE_PINPOINTS},
        "video_preprocessor_config.json": NEXT_VIDEO_ENGINE_SIZES,
        "processor_config.json": {"patch_size": 7},
    },
)


register_tiny(
    "llava_onevision",
    TinySpec(
        _llava_onevision,
        ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"),
        "<|im_end|>",
        "<|endoftext|>",
        hub=(ONEVISION_HUB,),
        engine=ONEVISION_ENGINE,
    ),
)
register_tiny(
    "llava_next_video",
    TinySpec(
        _llava_next_video,
        ("<unk>", "<s>", "</s>", "<image>", "<video>"),
        "</s>",
        "<unk>",
        hub=NEXT_VIDEO_HUBS,
        engine=NEXT_VIDEO_ENGINE,
    ),
)
