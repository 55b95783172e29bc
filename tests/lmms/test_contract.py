"""The contract every model and backend keeps (model_adapters/base.py, model_adapters/backends.py), held once.

Each model takes a batch of request records and answers each, in order, as it answers them one at a
time; its fingerprint is stable for the same arguments; it shows what it declares (`shows`): a
request mixing images and a video reaches a model that declares `mixed`, and any other model refuses
it in one line; a request showing nothing is still answered from its text.
"""

import re
from pathlib import Path

import pytest
from conftest import build_question_set
from PIL import Image as PILImage

from finevidbench import taskdocs
from finevidbench.request import Clip, Image, Request, Turn, question_text
from model_adapters import baselines
from model_adapters.loading import AdapterError
from model_adapters.registry import adapter_class, families
from model_adapters.testing.tiny import build_tiny
from model_adapters.testing.zero_cost import ZeroCostModel

REFERENCE = {
    "random": baselines.RandomBaseline,
    "most_frequent": baselines.MostFrequentBaseline,
    "text_only": baselines.TextOnlyAdversary,
    "metadata_only": baselines.MetadataOnlyAdversary,
    "pixel_oracle": lambda: baselines.PixelOracle(size="decoded", num_frames=4),
    "bench_zero_cost": ZeroCostModel,
}
VLLM = {"max_new_tokens": 3, "backend": "vllm", "enforce_eager": True}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    return build_question_set(tmp_path_factory.mktemp("contract"), videos=3, seed=7)


def benchmark_records(model, small_set: Path, monkeypatch) -> list[Request]:
    """A clip at 0.5x, a clip at 2x, labelled frames, and the first of them showing nothing (a blind variant)."""
    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    qs = taskdocs.question_set()
    speeds = [next(q for q in qs.questions if q.type == "speed" and q.speed == s) for s in (0.5, 2.0)]
    fragment = next(q for q in qs.questions if q.type == "rearrangement")
    shown = [model.request_for(q, qs, task="t") for q in (*speeds, fragment)]
    blind = Request(f"{speeds[0].id}#blind", "t_blind", (Turn("user", (question_text(speeds[0]),)),), {}, speeds[0])
    return [*shown, blind]


def mixed_record(model, small_set: Path) -> Request:
    """Another task's request: an image, then a video, then the question."""
    video = str(next(small_set.rglob("*.mp4")))
    image = Image(PILImage.new("RGB", (40, 32), (200, 30, 60)))
    turn = Turn("user", (image, Clip(video, policy=model.frame_policy), "What is shown?"))
    return Request("7#mixed", "local_task", (turn,), {"max_new_tokens": 3})


def hold_to_the_contract(make, small_set: Path, monkeypatch, built_twice: bool = True) -> None:
    model = make()
    requests = benchmark_records(model, small_set, monkeypatch)
    together = model.answer_batch(requests)
    assert len(together) == len(requests) and all(isinstance(a, str) for a in together)
    assert together == [model.answer_batch([r])[0] for r in requests]
    assert re.fullmatch(r"[0-9a-f]{16}", model.fingerprint)
    assert not built_twice or make().fingerprint == model.fingerprint
    usage = model.usage() if hasattr(model, "usage") else None
    assert usage is None or usage["prompts"] >= 2 * len(requests)
    if not model.answers_any_task:
        return
    mixed = mixed_record(model, small_set)
    if model.shows.mixed:
        assert len(model.answer_batch([mixed])) == 1
    else:
        with pytest.raises(AdapterError, match="shows images and videos in one request"):
            model.answer_batch([mixed])
        with pytest.raises(AdapterError, match="shows images and videos in one request"):
            model.prepare([*requests, mixed])  # a run refuses it before its first answer


@pytest.mark.parametrize("name", list(REFERENCE))
def test_every_reference_model_keeps_the_contract(name, small_set, monkeypatch):
    hold_to_the_contract(REFERENCE[name], small_set, monkeypatch)


@pytest.mark.parametrize("family", list(families()))
def test_every_family_keeps_the_contract_on_transformers(family, small_set, tmp_path, monkeypatch):
    path = str(build_tiny(family, tmp_path / family))
    adapter = adapter_class(f"fvb_{family}")
    hold_to_the_contract(lambda: adapter(pretrained=path, max_new_tokens=3), small_set, monkeypatch)


@pytest.mark.slow(seconds=40)
def test_the_serving_engine_keeps_the_contract(vllm_python, small_set, tmp_path, monkeypatch):
    from model_adapters.testing.hub import build_engine_checkpoint

    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "1")
    path = str(build_engine_checkpoint("qwen2_5_vl", tmp_path / "model"))
    served = adapter_class("fvb_qwen2_5_vl")(pretrained=path, **VLLM)
    try:  # one engine start: the fingerprint's stability is held on the transformers side
        hold_to_the_contract(lambda: served, small_set, monkeypatch, built_twice=False)
    finally:
        served.engine.close()
