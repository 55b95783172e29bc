"""Qwen-VL position ids as the checkpoints were trained, held against two implementations nobody here wrote.

The first is transformers' own Qwen2.5-Omni thinker (`get_rope_index`, unchanged since the Qwen
reference code): it places Qwen2.5-VL's vision blocks the same way and continues the text one past a
block's largest position. Its audio paths stay unused; Qwen2-VL is one time position per temporal
patch (a rate of 1), Qwen3-VL a block of one time position per frame. The second is vLLM's
`get_mrope_input_positions` of each family, run in the serving engine's own environment
(tests/parity/vllm_positions.py, `make vllm-venv`). Since transformers 5.3 the
Qwen-VL classes themselves continue at `start + max(h, w) // merge` (transformers issue 45381); the
adapters replace that rule (model_adapters/positions.py), for generation and for training alike.
"""

import inspect
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import asked
from transformers.video_utils import VideoMetadata

from model_adapters.positions import RULE, MRoPELayout, rope_index, use_trained_positions
from model_adapters.registry import adapter_class

QWEN = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")


def omni_reference(module, inputs) -> tuple[torch.Tensor, torch.Tensor]:
    """transformers' Qwen2.5-Omni `get_rope_index` on the Qwen-VL `module`'s inputs (no audio)."""
    from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as omni

    layout = MRoPELayout.of(module)
    reference = omni.Qwen2_5OmniPreTrainedModelForConditionalGeneration
    videos = inputs.get("video_grid_thw")
    seconds = inputs.get("second_per_grid_ts")
    if videos is not None and (layout.frame_blocks or seconds is None):
        if layout.frame_blocks:
            videos = torch.repeat_interleave(videos, videos[:, 0], dim=0)
            videos[:, 0] = 1
        seconds = torch.ones(len(videos))
    config = SimpleNamespace(
        image_token_id=layout.image_token_id,
        video_token_id=layout.video_token_id,
        vision_start_token_id=module.config.vision_start_token_id,
        audio_token_id=-1,
        audio_start_token_id=-1,
        position_id_per_seconds=layout.tokens_per_second or 1,
        seconds_per_chunk=2,
    )
    this = SimpleNamespace(spatial_merge_size=layout.spatial_merge_size, config=config)
    this.get_llm_pos_ids_for_vision = reference.get_llm_pos_ids_for_vision.__get__(this)
    return reference.get_rope_index(
        this,
        inputs["input_ids"],
        image_grid_thw=inputs.get("image_grid_thw"),
        video_grid_thw=videos,
        attention_mask=inputs.get("attention_mask"),
        second_per_grids=seconds,
    )


def installed_rule(module, inputs) -> torch.Tensor:
    """The position ids of the installed transformers' own method (the one the adapters replace)."""
    own = type(module).get_rope_index
    wanted = inspect.signature(own).parameters
    return own(module, **{k: v for k, v in inputs.items() if k in wanted})[0]


def ours(module, inputs) -> tuple[torch.Tensor, torch.Tensor]:
    """The module's `get_rope_index`, called as transformers' generation calls it."""
    kwargs = {k: v for k, v in inputs.items() if k != "input_ids"}
    return module.get_rope_index(inputs["input_ids"], **kwargs)


def assert_equal_where_attended(positions: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor | None) -> None:
    kept = mask.bool() if mask is not None else torch.ones(positions.shape[1:], dtype=torch.bool)
    assert torch.equal(positions[:, kept], reference[:, kept])


def processor_inputs(adapter, clips: list[tuple[int, float]], image: bool = False):
    """The processor's inputs for a batch of prompts, one clip each (frames, rate), an image before the first."""
    rng = np.random.default_rng(0)
    texts, videos, metadata = [], [], []
    for number, (frames, fps) in enumerate(clips):
        content = [{"type": "video"}, {"type": "text", "text": "How many times?" + " Count." * number}]
        if image and number == 0:
            content = [{"type": "image"}, {"type": "text", "text": "and"}, *content]
        messages = [{"role": "user", "content": content}]
        texts.append(adapter.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
        videos.append(rng.integers(0, 255, (frames, 64, 64, 3), dtype=np.uint8))
        metadata.append(
            VideoMetadata(total_num_frames=frames, fps=fps, frames_indices=list(range(frames)), duration=frames / fps)
        )
    images = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)] if image else None
    return adapter.processor(
        text=texts,
        images=images,
        videos=videos,
        video_metadata=metadata,
        padding=True,
        do_sample_frames=False,
        return_tensors="pt",
    )


def test_the_text_after_a_clip_resumes_where_the_checkpoints_were_trained(hub_adapter):
    """The issue's table: Qwen2.5-VL (2 time positions a second), the text after a clip starts at start + ..."""
    module = hub_adapter("qwen2_5_vl").model.model
    layout = MRoPELayout.of(module)
    assert layout is not None and layout.tokens_per_second == 2
    table = {  # (frames, fps, grid height, grid width): (the original rule, transformers 5.3 and later)
        (12, 3.0, 22, 26): (13, 13),
        (24, 3.0, 22, 26): (15, 13),
        (16, 1.0, 22, 26): (29, 13),
        (64, 2.0, 16, 16): (63, 8),
    }
    for (frames, fps, height, width), (trained, drifted) in table.items():
        grid = torch.tensor([[frames // 2, height, width]])
        tokens = frames // 2 * height * width // 4
        start = module.config.vision_start_token_id
        ids = torch.tensor([[1] * 4 + [start] + [layout.video_token_id] * tokens + [1] * 3])
        inputs = {"input_ids": ids, "video_grid_thw": grid, "second_per_grid_ts": torch.tensor([2 / fps])}
        inputs["mm_token_type_ids"] = (ids == layout.video_token_id).int() * 2
        after_video = 5 + tokens
        assert int(ours(module, inputs)[0][0, 0, after_video]) == 5 + trained
        assert int(omni_reference(module, inputs)[0][0, 0, after_video]) == 5 + trained
        # Fails once transformers places the text as the checkpoints were trained: then the replacement can go.
        assert int(installed_rule(module, inputs)[0, 0, after_video]) == 5 + drifted


@pytest.mark.parametrize("family", QWEN)
def test_positions_equal_the_reference_rule_on_the_processors_inputs(family, hub_adapter):
    """Clips of several lengths and rates, an image before a clip, and a left-padded batch of unequal prompts."""
    adapter = hub_adapter(family)
    module = adapter.model.model
    for clips, image in [([(16, 1.0)], False), ([(8, 4.0)], True), ([(12, 3.0), (24, 2.0), TIE_CLIP], False)]:
        inputs = processor_inputs(adapter, clips, image)
        positions, deltas = ours(module, inputs)
        reference, reference_deltas = omni_reference(module, inputs)
        assert_equal_where_attended(positions, reference, inputs["attention_mask"])
        assert torch.equal(deltas.flatten(), reference_deltas.flatten())
        if family != "qwen3_vl":  # Qwen3-VL's blocks hold one time position: there the two rules agree
            assert not torch.equal(positions, installed_rule(module, inputs)), "the case shows no drift"
        else:
            assert torch.equal(positions, installed_rule(module, inputs))


@pytest.fixture(scope="module")
def long_clip(noise_scene):
    """A 16-second scene clip, shown at 1 frame a second: 16 frames."""
    return noise_scene("long", 64, 64, 64, 4)


def prefill_positions(adapter, run) -> torch.Tensor:
    """The position ids the language model receives on the first forward pass of `run()`."""
    seen = []

    def hook(_, args, kwargs):
        seen.append(kwargs["position_ids"])

    handle = adapter.model.model.language_model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        run()
    finally:
        handle.remove()
    return seen[0][-3:]  # transformers puts the text positions in a fourth row


@pytest.mark.parametrize("family", ("qwen2_vl", "qwen2_5_vl"))
def test_generation_and_training_run_on_the_trained_positions(family, hub_adapter, long_clip):
    """16 frames at 1 fps through the adapter (generate) and the training hook (a forward with labels)."""
    from finevidbench.taskdocs import question_of
    from finevidbench.training.examples import Example
    from model_adapters.training import TrainingHook

    pretrained = hub_adapter(family).pretrained
    adapter = adapter_class(f"fvb_{family}")(pretrained=pretrained, fps=1, max_frames=16, max_new_tokens=2)
    assert adapter.inputs_record()["positions"] == RULE
    module = adapter.model.model
    request = asked(adapter, long_clip, "How many times?", {})
    inputs = adapter.encode([request])
    positions = prefill_positions(adapter, lambda: adapter.answer_batch([request]))
    assert int(inputs["video_grid_thw"][0, 0]) == 8
    assert_equal_where_attended(positions, omni_reference(module, inputs)[0], inputs.get("attention_mask"))
    if family == "qwen2_5_vl":  # Qwen2-VL's 8 time positions stay within its 12x12 blocks: no drift to show
        assert inputs["second_per_grid_ts"].tolist() == [2.0]
        assert not torch.equal(positions, installed_rule(module, inputs))

    hook = TrainingHook(adapter)
    batch = hook.collate([Example(question_of(long_clip), "How many times?", "3")])
    positions = prefill_positions(adapter, lambda: adapter.model(**batch))
    assert (batch["labels"] != -100).any()
    assert_equal_where_attended(positions, omni_reference(module, batch)[0], batch.get("attention_mask"))


def test_families_without_multimodal_positions_keep_their_own():
    """LLaVA-OneVision numbers every token in one line: nothing is replaced and nothing recorded."""
    from model_adapters.testing.tiny import make_tiny

    model, _ = make_tiny("llava_onevision")
    assert use_trained_positions(model) is None
    assert all(MRoPELayout.of(module) is None for module in model.modules())


def test_a_prompt_with_more_vision_tokens_than_grids_is_refused_with_what_is_missing():
    layout = MRoPELayout(
        image_token_id=5, video_token_id=6, spatial_merge_size=2, tokens_per_second=2, frame_blocks=False
    )
    with pytest.raises(ValueError, match="more video tokens in the prompt than video grids"):
        rope_index(layout, torch.tensor([[1, 6, 6, 6, 6, 1]]))


TIE_CLIP = (24, 36 / 13)
"""24 frames at 36/13 fps: 13/18 s a temporal patch, so Qwen2.5-VL's 10th time position is 9 x 13/18 x 2 = 13, which
float32 arithmetic (the reference code's torch, ours) reaches and float64 (vLLM's numpy) truncates to 12."""


def vllm_prompt(module, inputs) -> dict:
    """A prompt as vLLM's model runner describes it: token ids and where each image or video sits."""
    layout = MRoPELayout.of(module)
    ids = inputs["input_ids"][0].tolist()
    merge = layout.spatial_merge_size**2
    images = iter(inputs.get("image_grid_thw", torch.empty(0, 3)).tolist())
    seconds = inputs.get("second_per_grid_ts")
    videos = iter(inputs.get("video_grid_thw", torch.empty(0, 3)).tolist())
    times = iter(seconds.tolist() if seconds is not None else [])
    items, index = [], 0
    while index < len(ids):
        kind = {layout.image_token_id: "image", layout.video_token_id: "video"}.get(ids[index])
        if kind is None:
            index += 1
            continue
        grid = next(images if kind == "image" else videos)
        offset, tokens = index, grid[0] * grid[1] * grid[2] // merge
        if kind == "video" and layout.frame_blocks:  # Qwen3-VL: timestamps between frames; vLLM finds each frame
            offset -= 1  # from the frame's <|vision_start|>
            while tokens:
                tokens -= ids[index] == layout.video_token_id
                index += 1
        else:
            index += tokens
        second = next(times, None) if kind == "video" else None
        items.append(
            {"modality": kind, "offset": offset, "length": index - offset, "grid": grid, "second_per_grid": second}
        )
    return {"input_ids": ids, "items": items}


def vllm_config(module) -> dict:
    config = module.config
    vision = {"spatial_merge_size": config.vision_config.spatial_merge_size}
    if getattr(config.vision_config, "tokens_per_second", None) is not None:
        vision["tokens_per_second"] = config.vision_config.tokens_per_second
    names = ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")
    return {**{name: getattr(config, name) for name in names}, "vision_config": vision}


@pytest.mark.slow(seconds=30)
def test_positions_equal_vllms_on_scene_fragment_slow_and_mixed_prompts(
    vllm_python, hub_adapter, mini_views, long_clip
):
    """Every speed with its window, fragment frames as images, 16 frames at 1 fps, an image before a clip.

    One vLLM process answers for the three families (its import is most of the cost).
    """
    cases = {}
    for family in QWEN:
        adapter = hub_adapter(family)
        slow = adapter_class(f"fvb_{family}")(pretrained=adapter.pretrained, fps=1, max_frames=16)
        shown = [(adapter, doc) for doc in mini_views] + [(slow, long_clip)]
        inputs = [a.encode([asked(a, doc, "How many?", {})]) for a, doc in shown]
        inputs.append(processor_inputs(adapter, [(8, 4.0)], image=True))
        inputs.append(processor_inputs(adapter, [TIE_CLIP]))
        cases[family] = (adapter.model.model, inputs)
    request = [
        {"family": family, "config": vllm_config(module), "prompts": [vllm_prompt(module, i) for i in inputs]}
        for family, (module, inputs) in cases.items()
    ]
    script = Path(__file__).with_name("vllm_positions.py")
    done = subprocess.run(
        [str(vllm_python), str(script)], input=json.dumps(request), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout)["families"]
    for (family, (module, inputs)), answers in zip(cases.items(), theirs, strict=True):
        for number, (prompt, answer) in enumerate(zip(inputs, answers["prompts"], strict=True)):
            positions, deltas = ours(module, prompt)
            assert int(deltas[0]) == answer["delta"], (family, number)
            if family == "qwen2_5_vl" and number == len(inputs) - 1:  # the tie: vLLM's one lower, time row only
                apart = positions[:, 0] - torch.tensor(answer["positions"])
                assert apart.any() and not apart[1:].any() and set(apart[0].unique().tolist()) == {0, 1}
                continue
            assert positions[:, 0].tolist() == answer["positions"], (family, number)
