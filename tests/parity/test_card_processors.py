"""LLaVA-OneVision, LLaVA-NeXT-Video, InternVL, VideoLLaMA3 and SmolVLM2 on their checkpoints' processor files.

The reference is the processor call their model cards show, on the same frames: the chat template
renders the prompt, then `processor(text=..., images=... | videos=...)`. For a clip, the frames go
with the metadata a card's decoder would give for the shown clip (frame positions, its length and
rate) and with the processor's own sampling off: the frames are the policy's (the same frames).

Deliberate difference (docs/adding_a_model.md): where a real template renders every image before the
text (LLaVA-OneVision, LLaVA-NeXT-Video), the card's content-block form would put "Frame 1:" after
all the images; the reference for fragment items is then the LLaVA code's own interleaved prompt, the
template's image placeholder written in the text after each label, and the test checks that each
label stands right before its image's tokens.
"""

import pytest
import torch
from conftest import asked
from PIL import Image

from finevidbench import taskdocs
from model_adapters.registry import adapter_class
from model_adapters.testing.hub import build_hub_layout, hub_layouts

FAMILIES = ("llava_onevision", "llava_next_video", "internvl", "videollama3", "hf")
# what a frame of a clip becomes on the cards' checkpoints: (placeholder, tokens a frame, tokens a clip on top);
# LLaVA-OneVision ends a clip with one newline token, InternVL and SmolVLM2 write frames as images
VIDEO_TOKENS = {"llava_onevision": ("video", 196, 1), "llava_next_video": ("video", 144, 0),
                "internvl": ("image", 256, 0), "hf": ("image", 81, 0)}  # fmt: skip
IMAGE_TILES = {"internvl": 13, "hf": 17}  # a 160x128 frame: 12 + 1 tiles (InternVL), 4x4 + 1 (SmolVLM2)


def docs(monkeypatch, mini):
    monkeypatch.setenv("FINEVIDBENCH_DATA", "mini")
    speed = next(d for d in taskdocs.docs_for("speed") if d["speed"] == 0.5 and d.get("window"))
    return [speed, taskdocs.docs_for("rearrangement")[0]]


def card_inputs(adapter, doc: dict, prompt: str):
    """The cards' processor call on the same frames."""
    processor = adapter.processor
    if doc["level"] == "scene":
        sampling = asked(adapter, doc).visuals[0].sampling
        video = adapter.frame_cache.clip(asked(adapter, doc).visuals[0])
        metadata = {
            "fps": sampling.clip_fps,
            "frames_indices": list(sampling.positions),
            "total_num_frames": sampling.clip_frames,
            "duration": sampling.clip_frames / sampling.clip_fps,
        }
        # as transformers' own video loaders describe a file (duration = frames / fps)
        content = [{"type": "video"}, {"type": "text", "text": prompt}]
        visuals = {"videos": [video], "video_metadata": [metadata], "do_sample_frames": False}
    else:
        images = [Image.fromarray(frame) for frame in adapter.frame_cache.labelled(asked(adapter, doc).visuals[0])]
        labels = [f"Frame {n}:" for n in range(1, len(images) + 1)]
        if adapter.layout.interleaves:
            content = [b for label in labels for b in ({"type": "text", "text": label}, {"type": "image"})]
        else:  # the LLaVA code's interleaved prompt: the template's placeholder in the text, after each label
            content = [{"type": "text", "text": label + adapter.layout.image_text} for label in labels]
        content.append({"type": "text", "text": prompt})
        visuals = {"images": [images]}
    text = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
    return processor(text=[text], return_tensors="pt", padding=True, **visuals)


@pytest.mark.parametrize("family", FAMILIES)
def test_inputs_equal_the_cards_processor_call(family, hub_adapter, mini, monkeypatch):
    adapter = hub_adapter(family)
    for doc in docs(monkeypatch, mini):
        prompt = taskdocs.doc_to_text(doc)
        ours = adapter.encode([asked(adapter, doc, prompt, {})])
        theirs = card_inputs(adapter, doc, prompt)
        assert sorted(ours.keys()) == sorted(theirs.keys())
        for key in ours:
            if isinstance(ours[key], torch.Tensor) and ours[key].is_floating_point():
                assert ours[key].shape == theirs[key].shape and torch.allclose(ours[key], theirs[key], atol=1e-5), key
            elif isinstance(ours[key], torch.Tensor):
                assert torch.equal(ours[key], theirs[key]), key
            else:
                assert ours[key] == theirs[key], key


@pytest.mark.parametrize("family", FAMILIES)
def test_every_frame_reaches_the_model_at_the_cards_token_counts(family, hub_adapter, mini, monkeypatch):
    """No resampling (SmolVLM2's config would keep 1 frame a second), and each frame costs what the card says."""
    adapter = hub_adapter(family)
    scene, fragment = docs(monkeypatch, mini)
    shown = len(asked(adapter, scene).visuals[0].sampling.indices)
    inputs = adapter.encode([asked(adapter, scene, "?", {})])
    frames = next(v for k, v in inputs.items() if k.startswith("pixel_values"))
    if "video_grid_thw" in inputs:  # VideoLLaMA3: patches a frame, temporal patch 1
        assert int(inputs["video_grid_thw"][0, 0]) == shown
    else:  # (frames, 3, H, W) for InternVL, (1, frames, 3, H, W) for the others
        assert frames.shape[0 if frames.dim() == 4 else 1] == shown
    if family in VIDEO_TOKENS:
        kind, per_frame, per_clip = VIDEO_TOKENS[family]
        token = adapter.processor.tokenizer.convert_tokens_to_ids(getattr(adapter.processor, f"{kind}_token"))
        assert int((inputs["input_ids"][0] == token).sum()) == per_frame * shown + per_clip
    if family in IMAGE_TILES:
        images = adapter.encode([asked(adapter, fragment, "?", {})])["pixel_values"]
        tiles = images.shape[0] if images.dim() == 4 else images.shape[1]
        assert tiles == IMAGE_TILES[family] * len(fragment["frames"])


@pytest.mark.parametrize("family", ["llava_onevision", "llava_next_video"])
def test_frame_labels_stand_next_to_their_images_under_a_template_that_puts_images_first(
    family, hub_adapter, mini, monkeypatch
):
    adapter = hub_adapter(family)
    assert not adapter.layout.interleaves and adapter.inputs_record()["labels_in_text"]
    fragment = docs(monkeypatch, mini)[1]
    ids = adapter.encode([asked(adapter, fragment, "?", {})])["input_ids"][0].tolist()
    tokenizer = adapter.processor.tokenizer
    image = tokenizer.convert_tokens_to_ids(adapter.processor.image_token)
    starts = [i for i, t in enumerate(ids) if t == image and ids[i - 1] != image]
    assert len(starts) == len(fragment["frames"])
    for number, start in enumerate(starts, start=1):
        assert tokenizer.decode(ids[:start]).rstrip().endswith(f"Frame {number}:"), number


def test_a_checkpoint_whose_processor_cannot_be_built_is_one_clear_error(tmp_path):
    """LLaVA-NeXT-Video-7B-hf's files make transformers recurse; the adapter says what is wrong and what to do."""
    from model_adapters.hf import AdapterError

    assert "7b-legacy" in hub_layouts("llava_next_video")
    path = build_hub_layout("llava_next_video", tmp_path / "7b", name="7b-legacy")
    with pytest.raises(AdapterError, match=r"video_preprocessor_config\.json.*fix:"):
        adapter_class("fvb_llava_next_video")(pretrained=str(path))


@pytest.mark.slow(seconds=30)
@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_answers_on_a_clip_equal_the_cards_inputs_answers(family, hub_adapter, mini, monkeypatch):
    adapter = hub_adapter(family)
    scene = docs(monkeypatch, mini)[0]
    request = asked(adapter, scene, taskdocs.doc_to_text(scene), {"max_new_tokens": 2})
    theirs = card_inputs(adapter, scene, request.text)
    with torch.inference_mode():
        greedy = adapter.model.generate(**theirs, max_new_tokens=2, do_sample=False)
    answer = adapter.processor.batch_decode(greedy[:, theirs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert adapter.answer_batch([request]) == [a.strip() for a in answer]
