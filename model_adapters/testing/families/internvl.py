"""The tiny model of InternVL (transformers-native classes) and the -hf checkpoints' processor files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from model_adapters.testing.specs import EngineLayout, HubLayout, TinySpec, register_tiny
from model_adapters.testing.tiny import ENGINE_TEXT, SIDE, TEXT, VISION, chat_template, token_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

    from model_adapters.testing.specs import TinyModel

INTERNVL_TOKENS = {
    "start_image_token": "<img>",
    "end_image_token": "</img>",
    "context_image_token": "<IMG_CONTEXT>",
    "video_token": "<video>",
}


IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
INTERNVL_PIXELS = {
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": IMAGENET_MEAN,
    "image_std": IMAGENET_STD,
    "resample": 3,
    "rescale_factor": 1 / 255,
    "size": {"height": 448, "width": 448},
    "processor_class": "InternVLProcessor",
}
# InternVL-hf's chat template: blocks in order, an image as <IMG_CONTEXT> (expanded to <img>...</img> by the processor)
INTERNVL_CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}{% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{{ '<IMG_CONTEXT>\n' }}{% elif content['type'] == 'video' %}{{ '<video>\n' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}{{'<|im_end|>\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{'<|im_start|>assistant\n' }}{% endif %}"
)
INTERNVL_HUB = HubLayout(
    "OpenGVLab/InternVL3-8B-hf",
    "preprocessor_config.json (GotOcr2ImageProcessorFast, 448, ImageNet mean/std, 1 to 12 tiles), "
    "video_preprocessor_config.json (InternVLVideoProcessor, 448) and processor_config.json (256 tokens an image) as "
    "the -hf repos ship them; the chat template reconstructed (blocks in order)",
    {
        "preprocessor_config.json": {
            **INTERNVL_PIXELS,
            "image_processor_type": "GotOcr2ImageProcessorFast",
            "crop_to_patches": False,
            "max_patches": 12,
            "min_patches": 1,
        },
        "video_preprocessor_config.json": {**INTERNVL_PIXELS, "video_processor_type": "InternVLVideoProcessor"},
        "processor_config.json": {"image_seq_length": 256, "processor_class": "InternVLProcessor"},
    },
    INTERNVL_CHAT_TEMPLATE,
    config={"vision_config": {"image_size": [448, 448], "patch_size": [14, 14]}, "image_seq_length": 256},
)

# Served by vLLM on CPU (`EngineLayout`): 56-px frames of 14-px patches, pixel-shuffled to 4 tokens a frame or image
# (448 px and 256 tokens on the hub), head size 64 in the text.
ENGINE_SIZE = {"size": {"height": 56, "width": 56}}
INTERNVL_ENGINE = EngineLayout(
    {"text_config": ENGINE_TEXT, "vision_config": {"image_size": [56, 56]}, "image_seq_length": 4},
    {
        "preprocessor_config.json": ENGINE_SIZE,
        "video_preprocessor_config.json": ENGINE_SIZE,
        "processor_config.json": {"image_seq_length": 4},
    },
)


def _internvl(tok: PreTrainedTokenizerFast) -> TinyModel:
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


register_tiny(
    "internvl",
    TinySpec(
        _internvl,
        ("<|endoftext|>", "<|im_start|>", "<|im_end|>", *INTERNVL_TOKENS.values()),
        "<|im_end|>",
        "<|endoftext|>",
        INTERNVL_TOKENS,
        hub=(INTERNVL_HUB,),
        engine=INTERNVL_ENGINE,
    ),
)
