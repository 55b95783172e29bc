"""The tiny random Video-LLMs: saved, reloaded offline, and fed one video the way the harness does."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText, AutoProcessor
from transformers.video_utils import VideoMetadata

from model_adapters.testing.tiny import build_tiny, make_tiny, tiny_families

# SmolVLMProcessor raises ImportError at construction without the `num2words` package (a dependency of ours).
NO_NUM2WORDS = importlib.util.find_spec("num2words") is None
PARAMS = [
    pytest.param(
        f,
        marks=pytest.mark.skipif(
            f == "hf" and NO_NUM2WORDS,
            reason="num2words is not installed: SmolVLMProcessor raises ImportError without it",
        ),
    )
    for f in tiny_families()
]

# The placeholder each family repeats in input_ids for a video, and how many times for 8 frames of 64x64
VIDEO_TOKEN = {
    "qwen2_vl": ("<|video_pad|>", 16),  # 56x56 frames: 4 temporal patches x 2x2 merged patches
    "qwen2_5_vl": ("<|video_pad|>", 16),
    "qwen3_vl": ("<|video_pad|>", 16),  # 64x64 frames, 16-px patches; plus "<t seconds>" text per patch
    "llava_onevision": ("<video>", 33),  # 8 x 2x2 pooled + 1 newline
    "llava_next_video": ("<video>", 32),  # 8 x (4x4 patches pooled by 2)
    "internvl": ("<IMG_CONTEXT>", 32),  # "FrameN: <img>" + 4 x <IMG_CONTEXT> + "</img>" per frame
    "videollama3": ("<|video_pad|>", 32),  # "Time t s:" + 4 per frame (random frames: nothing compressed)
    "hf": ("<image>", 32),  # SmolVLM, the generic adapter's tiny model:  # per-frame "Frame from 00:00:" + 4 x <image>
}
# The same for 4 images of 64x64 given as 4 image blocks. Every family's processor takes images (in the
# SF2T fragment items' numbered form), so none is skipped here; Idefics3 would be the image-only exception.
IMAGE_TOKEN = {
    "qwen2_vl": ("<|image_pad|>", 16),  # each image 56x56: 2x2 merged patches
    "qwen2_5_vl": ("<|image_pad|>", 16),
    "qwen3_vl": ("<|image_pad|>", 16),  # each image 64x64, 16-px patches
    "llava_onevision": ("<image>", 68),  # several images: base view only, 4x4 + 1 newline each
    "llava_next_video": ("<image>", 144),  # anyres: base 4x4 + one 4x4 crop + 4 row newlines each
    "internvl": ("<IMG_CONTEXT>", 16),  # "<img>" + 4 x <IMG_CONTEXT> + "</img>" each (max_patches=1)
    "videollama3": ("<|image_pad|>", 64),  # images are not merged (image merge size 1): 4x4 each
    "hf": ("<image>", 16),  # SmolVLM:  # "<fake_token_around_image><global-img>" + 4 x <image> each
}


def _frames(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (8, 64, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="module", params=PARAMS)
def tiny(request, tmp_path_factory):
    """(family, folder, reloaded model, reloaded processor)."""
    family = request.param
    folder = build_tiny(family, tmp_path_factory.mktemp(family))
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    return family, folder, model, AutoProcessor.from_pretrained(folder)


def _generate(model, processor, inputs) -> list[int]:
    prompt = inputs["input_ids"].shape[1]
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    new = out[0, prompt:].tolist()
    assert 1 <= len(new) <= 4
    assert isinstance(processor.decode(new, skip_special_tokens=True), str)
    return new


def test_folder_contents(tiny):
    family, folder, model, processor = tiny
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"} <= names
    assert {"processor_config.json", "chat_template.jinja"} <= names
    generation = json.loads((folder / "generation_config.json").read_text())
    assert generation["eos_token_id"] == processor.tokenizer.eos_token_id
    assert generation["pad_token_id"] == processor.tokenizer.pad_token_id
    assert sum(p.numel() for p in model.parameters()) < 300_000
    assert sum(p.stat().st_size for p in folder.iterdir()) < 2_000_000
    ids = dict(_token_ids(json.loads((folder / "config.json").read_text())))
    assert ids and all(0 <= i < len(processor.tokenizer) for i in ids.values()), ids  # SmolVLM's default pad: 128002


def _token_ids(config: dict, prefix: str = ""):
    """(path, id) of every token id a config names, at any depth."""
    for key, value in config.items():
        if isinstance(value, dict):
            yield from _token_ids(value, f"{prefix}{key}.")
        elif isinstance(value, int) and key.endswith(("token_id", "token_index")):
            yield f"{prefix}{key}", value


def test_vocabulary_has_answers(tiny):
    tokenizer = tiny[3].tokenizer
    assert 320 <= len(tokenizer) <= 400
    for answer in [*"0123456789", *"ABCD", "yes", "no"]:
        assert len(tokenizer.encode(answer, add_special_tokens=False)) == 1, answer


def test_reload_is_bit_identical(tiny):
    family, _, model, _ = tiny
    built = make_tiny(family)[0].state_dict()
    reloaded = model.state_dict()
    assert built.keys() == reloaded.keys()
    assert all(torch.equal(built[k], reloaded[k]) for k in built)


def test_same_seed_same_weights(tiny, tmp_path):
    family, folder, _, _ = tiny
    again = build_tiny(family, tmp_path / "again", seed=0)
    first, second = load_file(folder / "model.safetensors"), load_file(again / "model.safetensors")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert (folder / "tokenizer.json").read_text() == (again / "tokenizer.json").read_text()
    other = load_file(build_tiny(family, tmp_path / "other", seed=1) / "model.safetensors")
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_video_generates(tiny):
    family, _, model, processor = tiny
    meta = VideoMetadata(total_num_frames=8, fps=4.0, frames_indices=list(range(8)), width=64, height=64, duration=2.0)
    question = "How many times does it happen? Answer with a number."
    messages = [
        {"role": "user", "content": [{"type": "video", "video": _frames()}, {"type": "text", "text": question}]}
    ]
    inputs = processor.apply_chat_template(
        messages,
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
        processor_kwargs={"video_metadata": [meta]},
    )
    token, count = VIDEO_TOKEN[family]
    token_id = processor.tokenizer.convert_tokens_to_ids(token)
    assert (inputs["input_ids"][0] == token_id).sum().item() == count
    _generate(model, processor, inputs)


def test_numbered_images_generate(tiny):
    """The fragment items' form: 4 images, each after its number."""
    family, _, model, processor = tiny
    content = []
    for i, frame in enumerate(_frames(1)[:4]):
        content += [{"type": "text", "text": f"Image {i + 1}: "}, {"type": "image", "image": Image.fromarray(frame)}]
    content.append({"type": "text", "text": "Which image comes first? Answer with its number."})
    inputs = processor.apply_chat_template(
        [{"role": "user", "content": content}],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
    )
    token, count = IMAGE_TOKEN[family]
    token_id = processor.tokenizer.convert_tokens_to_ids(token)
    assert (inputs["input_ids"][0] == token_id).sum().item() == count
    _generate(model, processor, inputs)
