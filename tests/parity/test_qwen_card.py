"""Qwen2/2.5/3-VL on their checkpoints' processor files: the adapter's inputs equal the model card's path.

The reference is the cards' own code, run offline on the same frames: qwen-vl-utils'
`process_vision_info` (its decoder swapped for one that returns the policy's frames and describes
them as a decoder describes a file: frame positions in the shown clip, its length and rate), then
the processor as the card calls it. Everything after decoding is theirs: the per-frame pixel budget,
the resize, `fetch_image`, the chat template, the processor's patching and timing.

Deliberate difference (docs/adding_a_model.md): qwen-vl-utils 0.0.14's default route hands
`fps=[...]` to the processor, which transformers 5 refuses; the cards' metadata route
(`return_video_metadata=True`, `video_metadata=`) is the one both Qwen3-VL's card and we use.
"""

import inspect

import pytest
import torch
from conftest import asked
from PIL import Image

from finevidbench import taskdocs
from model_adapters.registry import adapter_class
from model_adapters.testing.hub import build_hub_layout

QWEN = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")


@pytest.fixture(scope="module")
def hd_doc(noise_scene):
    """A 720p scene item (above every per-frame budget): 12 frames of noise at 24 fps."""
    return noise_scene("hd", 12, 720, 1280, 24)


def card_inputs(adapter, doc: dict, prompt: str, monkeypatch):
    """The Qwen cards' path: process_vision_info on the same frames, then the processor as the card calls it."""
    from qwen_vl_utils import process_vision_info
    from qwen_vl_utils import vision_process as card

    processor = adapter.processor
    if doc["level"] == "scene":
        sampling = asked(adapter, doc).visuals[0].sampling
        frames = torch.from_numpy(adapter.frame_cache.clip(asked(adapter, doc).visuals[0])).permute(0, 3, 1, 2)
        metadata = {"fps": sampling.clip_fps, "frames_indices": list(sampling.positions),
                    "total_num_frames": sampling.clip_frames, "video_backend": "policy"}  # fmt: skip
        monkeypatch.setitem(card.VIDEO_READER_BACKENDS, "policy", lambda ele: (frames, metadata, 0.0))
        monkeypatch.setattr(card, "get_video_reader_backend", lambda: "policy")
        content = [{"type": "video", "video": doc["video_path"]}]
    else:
        content = []
        for number, frame in enumerate(adapter.frame_cache.labelled(asked(adapter, doc).visuals[0]), start=1):
            image = Image.fromarray(frame)
            content += [{"type": "text", "text": f"Frame {number}:"}, {"type": "image", "image": image}]
    messages = [{"role": "user", "content": [*content, {"type": "text", "text": prompt}]}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    images, videos, video_kwargs = process_vision_info(
        messages, return_video_kwargs=True, return_video_metadata=True,
        image_patch_size=processor.image_processor.patch_size,
    )  # fmt: skip
    metas = None
    if videos:
        videos, metas = (list(part) for part in zip(*videos, strict=True))
    card_kwargs = {"do_resize": False} if type(adapter).__name__ == "Qwen3VL" else {}  # as the Qwen3-VL card passes
    return processor(text=[text], images=images, videos=videos, video_metadata=metas, padding=True,
                     return_tensors="pt", **video_kwargs, **card_kwargs)  # fmt: skip


def position_ids(model, inputs) -> torch.Tensor:
    """MRoPE position ids (temporal, height, width) the model computes from the inputs."""
    inner = model.model
    wanted = inspect.signature(inner.get_rope_index).parameters
    return inner.get_rope_index(**{k: v for k, v in inputs.items() if k in wanted})[0]


def assert_same_inputs(ours, theirs) -> None:
    assert sorted(ours.keys()) == sorted(theirs.keys())
    for key in ours:
        a, b = ours[key], theirs[key]
        if key.startswith("pixel_values"):
            assert a.shape == b.shape, key
            assert torch.allclose(a, b, atol=1e-5), (key, (a - b).abs().max())
        elif isinstance(a, torch.Tensor):
            assert torch.equal(a, b.to(a.dtype)), key
        else:
            assert a == b, key


@pytest.mark.slow(seconds=40)
@pytest.mark.parametrize("family", QWEN)
def test_inputs_timing_and_answers_equal_the_cards_path(family, hub_adapter, mini_views, monkeypatch):
    adapter = hub_adapter(family)
    for doc in mini_views:
        prompt = taskdocs.doc_to_text(doc)
        request = asked(adapter, doc, prompt, {"max_new_tokens": 3})
        ours, theirs = adapter.encode([request]), card_inputs(adapter, doc, prompt, monkeypatch)
        assert_same_inputs(ours, theirs)
        assert torch.equal(position_ids(adapter.model, ours), position_ids(adapter.model, theirs))
        with torch.inference_mode():
            greedy = adapter.model.generate(**theirs, max_new_tokens=3, do_sample=False)
        answer = adapter.processor.batch_decode(greedy[:, ours["input_ids"].shape[1] :], skip_special_tokens=True)
        assert adapter.answer_batch([request]) == [t.strip() for t in answer]


@pytest.mark.parametrize("family", QWEN)
def test_frame_sizes_are_the_cards_on_a_mini_clip_and_a_720p_clip(family, hub_adapter, hd_doc, mini_views, monkeypatch):
    """The sizes docs/adding_a_model.md reports for a 160x128 mini clip and a 720p clip, on the card's budget."""
    adapter = hub_adapter(family)
    action = mini_views[3]
    factor = 28 if family != "qwen3_vl" else 32
    # qwen-vl-utils: at least 128 tokens a frame (128x160 scaled up), at most 768 (720p scaled down)
    mini_size, hd_size = ((308, 364), (560, 1008)) if factor == 28 else ((352, 416), (640, 1152))
    expected = {action["question_id"]: mini_size, "hd-0": hd_size}
    for doc in (action, hd_doc):
        ours = adapter.encode([asked(adapter, doc, "?", {})])
        theirs = card_inputs(adapter, doc, "?", monkeypatch)
        grid = ours["video_grid_thw"][0].tolist()
        assert grid == theirs["video_grid_thw"][0].tolist()
        patch = factor // 2
        assert (grid[1] * patch, grid[2] * patch) == expected[doc["question_id"]], grid


@pytest.mark.parametrize("family", QWEN)
def test_pixel_bounds_in_model_args_reach_the_frames_and_the_record(family, tmp_path, mini_views, monkeypatch):
    path = build_hub_layout(family, tmp_path / family)
    adapter = adapter_class(f"fvb_{family}")(pretrained=str(path), max_pixels=64 * 64 * 4, min_pixels=32 * 32)
    action = mini_views[3]
    grid = adapter.encode([asked(adapter, action, "?", {})])["video_grid_thw"][0]
    patch = adapter.processor.video_processor.patch_size
    assert int(grid[1] * grid[2]) * patch * patch <= 64 * 64 * 4
    record = adapter.inputs_record()["video_pixels"]
    assert record["source"] == "model_args" and record["max_pixels"] == 64 * 64 * 4 and record["min_pixels"] == 32 * 32


@pytest.mark.parametrize("family", QWEN)
def test_frame_counts_fill_whole_temporal_patches_and_sampling_stays_off(family, hub_adapter, mini_views, monkeypatch):
    """No frame repeated to fill a patch; a checkpoint whose files turn sampling on (Qwen3-VL's) keeps every frame."""
    adapter = hub_adapter(family)
    assert adapter.frame_policy.multiple == 2
    for doc in mini_views[:4]:
        sampling = asked(adapter, doc).visuals[0].sampling
        inputs = adapter.encode([asked(adapter, doc, "?", {})])
        assert len(sampling.indices) % 2 == 0
        assert int(inputs["video_grid_thw"][0, 0]) * 2 == len(sampling.indices)  # nothing dropped, nothing padded
