"""The tiny model of the generic adapter (`fvb_hf`, family `hf`): SmolVLM2's architecture, and its checkpoint's files.

No family class covers SmolVLM, so tests of the generic adapter run on a model it was not written for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from model_adapters.testing.specs import HubLayout, TinySpec, register_tiny
from model_adapters.testing.tiny import SIDE, TEXT, VISION, chat_template, token_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

    from model_adapters.testing.specs import TinyModel

SMOLVLM_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>"]
SMOLVLM_SPECIALS += ["<image>", "<global-img>", "<video>"]
SMOLVLM_SPECIALS += [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]


# SmolVLM2's chat template: "<|im_start|>User: ...<end_of_utterance>\nAssistant:", blocks in order
SMOLVLM_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ '<video>' }}{% endif %}"
    "{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
SMOLVLM_HUB = HubLayout(
    "HuggingFaceTB/SmolVLM2-2.2B-Instruct",
    "preprocessor_config.json (longest edge 1536 split into 384 tiles, mean/std 0.5, and `video_sampling`: fps 1, "
    "at most 64 frames, 384 px) and processor_config.json (81 tokens a tile) as the repo ships them; the chat "
    "template reconstructed (blocks in order)",
    {
        "preprocessor_config.json": {
            "do_convert_rgb": True,
            "do_image_splitting": True,
            "do_normalize": True,
            "do_pad": True,
            "do_rescale": True,
            "do_resize": True,
            "image_mean": [0.5] * 3,
            "image_std": [0.5] * 3,
            "image_processor_type": "SmolVLMImageProcessor",
            "max_image_size": {"longest_edge": 384},
            "processor_class": "SmolVLMProcessor",
            "resample": 1,
            "rescale_factor": 1 / 255,
            "size": {"longest_edge": 1536},
            "video_sampling": {"fps": 1, "max_frames": 64, "video_size": {"longest_edge": 384}},
        },
        "processor_config.json": {"image_seq_len": 81, "processor_class": "SmolVLMProcessor"},
    },
    SMOLVLM_CHAT_TEMPLATE,
    config={"vision_config": {"image_size": 384, "patch_size": 14}, "scale_factor": 3},
)


def _smolvlm(tok: PreTrainedTokenizerFast) -> TinyModel:
    import transformers as hf

    # Needs the `num2words` package: SmolVLMProcessor raises ImportError without it.
    ids = token_ids(tok, ["<|endoftext|>", "<end_of_utterance>", "<image>"])
    text = dict(TEXT, model_type="llama", vocab_size=len(tok))
    text.update(pad_token_id=ids["<|endoftext|>"], eos_token_id=ids["<end_of_utterance>"])
    vision = dict(VISION, image_size=SIDE, patch_size=8)
    # pad_token_id also at the top: SmolVLMConfig's own default (128002) lies outside a tiny vocabulary
    cfg = hf.SmolVLMConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<image>"],
        scale_factor=2,
        pad_token_id=ids["<|endoftext|>"],
    )  # type: ignore[call-arg]
    # (pad_token_id reaches PretrainedConfig through **kwargs; SmolVLMConfig's typed signature leaves it out)
    roles = {"user": "User", "assistant": "Assistant", "system": "System"}
    end = "<end_of_utterance>\n"  # as SmolVLM's own template: "<|im_start|>User: ...<end_of_utterance>\nAssistant:"
    template = chat_template("<video>", "<image>", "{role}: ", end, roles, start="<|im_start|>", gen="Assistant:")
    image = hf.SmolVLMImageProcessor(
        size={"longest_edge": SIDE}, max_image_size={"longest_edge": SIDE}, do_image_splitting=False
    )
    # not among the video processor's typed arguments (it never splits frames), yet kept as an attribute and
    # saved with its config, as the image processor's twin: the tiny model's files have always carried it
    untyped: dict[str, Any] = {"do_image_splitting": False}
    video = hf.SmolVLMVideoProcessor(size={"longest_edge": SIDE}, max_image_size={"longest_edge": SIDE}, **untyped)
    proc = hf.SmolVLMProcessor(
        image_processor=image,
        video_processor=video,
        tokenizer=tok,
        image_seq_len=(SIDE // 8) ** 2 // 4,
        chat_template=template,
    )
    return hf.SmolVLMForConditionalGeneration(cfg), proc


register_tiny(
    "hf", TinySpec(_smolvlm, tuple(SMOLVLM_SPECIALS), "<end_of_utterance>", "<|endoftext|>", hub=(SMOLVLM_HUB,))
)
