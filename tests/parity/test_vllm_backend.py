"""`backend=vllm` against the transformers backend: the same prompts, the same greedy answers.

The second implementation is vLLM itself, run in the serving engine's own environment (`make vllm-venv`),
on tiny checkpoints of every served family (model_adapters.testing.hub.build_engine_checkpoint: a head size vLLM's
CPU attention takes, weights wide enough that answers follow the input). Where the two backends' inputs
or positions differ, the answers do: with the transformers rule of position ids instead of the trained
one, the Qwen2.5-VL answers below part on the slow clips.
"""

import json

import numpy as np
import pytest
from conftest import asked
from PIL import Image

from finevidbench import taskdocs
from finevidbench.request import Request, content_digest
from model_adapters.chat import blocks_of_kind
from model_adapters.loading import AdapterError
from model_adapters.registry import adapter_class, families
from model_adapters.serving import VLLMBackend
from model_adapters.visuals import TaskVisuals

SHOWN = "fps=1,max_frames=16"  # a slower policy than the benchmark's, where the two position rules part


@pytest.fixture
def quick_engine(monkeypatch):
    """vLLM on CPU in the test's budget: the engine in the worker's own process, a 1 GB KV cache."""
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "1")


def idle() -> list[int]:
    """The engine processes of this process waiting, vLLM imported, for its next engine."""
    from model_adapters import engine

    return sorted(process.pid for process, _ in engine.IDLE_PROCESSES.get(engine.engine_python(), []))


@pytest.fixture(scope="module")
def long_clip(noise_scene) -> dict:
    """A 16-second scene item: 16 frames at the slower policy."""
    return noise_scene("slow", 64, 64, 80, 4)


def requests(model, mini, long_clip: dict, monkeypatch) -> list[Request]:
    """Scene items at every speed with their windows, fragment items, a long clip, and another task's request."""
    monkeypatch.setenv("FINEVIDBENCH_DATA", "mini")
    speed = taskdocs.docs_for("speed")
    docs = [next(d for d in speed if d["speed"] == s and d.get("window")) for s in (0.5, 1.0, 2.0)]
    kinds = ("action", "moment_count", "rearrangement", "frame_comparison")
    docs += [taskdocs.docs_for(kind)[i] for kind in kinds for i in (0, 1)]
    generation = {"max_new_tokens": 6}
    shown = [asked(model, d, generation=generation) for d in docs]
    shown.append(asked(model, long_clip, long_clip["prompt"], generation))
    picture = Image.fromarray(np.random.default_rng(3).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    turns = TaskVisuals("local_task", model.frame_policy).user_turn([picture, long_clip["video_path"]], "What happens?")
    return [*shown, Request(f"7#{content_digest(turns)}", "local_task", turns, generation)]


SERVED = [name for name, entry in families().items() if entry.adapter.served_by_vllm]
"""Every family whose adapter offers `backend=vllm`: each is held to the transformers backend's answers here."""
REFUSED = {
    "llava_onevision": ("tiles each of several images", lambda images: images > 1),
    "llava_next_video": ("takes one video a prompt and no image", lambda images: images > 0),
}
"""Prompts a family's vLLM model code would not show as the checkpoint was trained, refused through vLLM
(docs/adding_a_model.md): LLaVA-OneVision's several images (vLLM tiles each, training showed base views),
LLaVA-NeXT-Video's images (vLLM takes none)."""

VIDEO_FRAMES_MARKED_AS_VIDEO = ("internvl",)
"""Families whose vLLM prompt marks a video frame's placeholders with the video token where transformers writes the
image token: the same positions, both replaced by the frame's features before the language model (listed in
docs/adding_a_model.md)."""


@pytest.mark.slow(seconds=40)
@pytest.mark.parametrize("family", SERVED)
def test_vllm_answers_equal_transformers_answers_for_every_served_family(
    family, vllm_python, quick_engine, mini, long_clip, tmp_path, monkeypatch
):
    from model_adapters.testing.hub import build_engine_checkpoint

    checkpoint = str(build_engine_checkpoint(family, tmp_path / family))
    model = adapter_class(f"fvb_{family}")
    policy = dict(item.split("=") for item in SHOWN.split(","))
    ours = model(pretrained=checkpoint, **policy)
    asked = requests(ours, mini, long_clip, monkeypatch)
    expected = ours.answer_batch(asked)  # as one at a time (tests/lmms/test_contract.py)
    served = model(pretrained=checkpoint, backend="vllm", enforce_eager=True, **policy)
    try:
        images = [len(blocks_of_kind(ours.conversation(r)[0], "image")) for r in asked]
        reason, refused = REFUSED.get(family, ("", lambda _: False))
        same = [p for p, count in enumerate(images) if not refused(count)]
        for position in set(range(len(asked))) - set(same):  # refused before anything is answered
            with pytest.raises(AdapterError, match=reason):
                served.prepare([asked[p] for p in same] + [asked[position]])
        answers = served.answer_batch([asked[p] for p in same])
        assert served.engine is not None and isinstance(served.backend, VLLMBackend)
        ours_ids = [ours.encode([asked[p]])["input_ids"][0].tolist() for p in same]
        theirs_ids = served.backend.last_prompt_ids
        if family in VIDEO_FRAMES_MARKED_AS_VIDEO:
            video, image = (ours.processor.tokenizer.convert_tokens_to_ids(t) for t in ("<video>", "<IMG_CONTEXT>"))
            assert any(video in ids for ids in theirs_ids) and not any(video in ids for ids in ours_ids)
            theirs_ids = [[image if t == video else t for t in ids] for ids in theirs_ids]
        assert answers == [expected[p] for p in same], family
        assert theirs_ids == ours_ids, family  # vLLM's processor made the same prompts
        assert (len(same) < len(asked)) == (family in REFUSED) and len(same) >= 4, (family, images)
        assert len({expected[p] for p in same}) > 3, "the answers hardly depend on the input"
        inputs = served.inputs_record()
        assert inputs["engine"] == "vllm 0.32.0" and inputs["positions"] == "vllm"
        assert ours.fingerprint != served.fingerprint  # the answer store keeps the backends' answers apart
        assert served.engine.prompt_tokens == sum(len(ids) for ids in theirs_ids)
    finally:
        if served.engine is not None:
            served.engine.close()


@pytest.mark.slow(seconds=40)
def test_make_eval_through_vllm_writes_results_and_resumes(vllm_python, quick_engine, run_make_eval, tmp_path):
    from model_adapters.testing.hub import build_engine_checkpoint

    checkpoint = build_engine_checkpoint("qwen2_5_vl", tmp_path / "model")
    args = f"pretrained={checkpoint},backend=vllm,enforce_eager=True,batch_size=16"
    out = tmp_path / "run"
    first = run_make_eval("--model", "fvb_qwen2_5_vl", "--model_args", args, "--limit", "3", "--out", str(out))
    assert first.returncode == 0, first.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert "backend=vllm" in results["model"]["args"] and results["model"]["inputs"]["engine"] == "vllm 0.32.0"
    asked = results["scores"]["overall"]["n"]
    assert f"answers: {asked} computed, 0 from the store" in first.stdout
    engine = results["provenance"]["engine"]
    assert engine["prompts"] == asked and engine["prompt_tokens"] > asked
    # a video's questions run together: its frames are processed once, its other questions hit the cache
    assert 0 < engine["mm_cache_hit_rate"] < 1 and 0 <= engine["prefix_cache_hit_rate"] <= 1
    # the run dropped its engine at the end; the next run's engine starts in the same process, vLLM imported
    waiting = idle()
    assert waiting  # the first run's engine process
    resumed = run_make_eval("--model", "fvb_qwen2_5_vl", "--model_args", args, "--limit", "3", "--out", str(out))
    assert f"answers: 0 computed, {asked} from the store" in resumed.stdout
    assert json.loads((out / "results.json").read_text())["scores"] == results["scores"]
    again = run_make_eval("--model", "fvb_qwen2_5_vl", "--model_args", args, "--out", str(tmp_path / "again"),
                          "--limit", "3")  # fmt: skip
    assert again.returncode == 0 and f"answers: {asked} computed" in again.stdout
    assert idle() == waiting  # taken, then given back: no new process, vLLM not imported again
    redone = json.loads((tmp_path / "again" / "results.json").read_text())
    assert redone["scores"] == results["scores"]  # the engine started again in that process answers as the first
    assert redone["provenance"]["engine"]["prompts"] == asked  # its counters start from zero
    assert redone["provenance"]["engine"]["mm_cache_hit_rate"] == engine["mm_cache_hit_rate"]


@pytest.mark.slow(seconds=20)
def test_make_eval_refuses_prompts_vllm_would_show_unlike_training_before_answering(
    vllm_python, quick_engine, run_make_eval, tmp_path
):
    """LLaVA-OneVision's fragment items (numbered images) through vLLM: one line, exit 2, nothing answered."""
    from model_adapters.testing.hub import build_engine_checkpoint

    checkpoint = build_engine_checkpoint("llava_onevision", tmp_path / "model")
    out = tmp_path / "run"
    args = f"pretrained={checkpoint},backend=vllm,enforce_eager=True"
    refused = run_make_eval(
        "--model", "fvb_llava_onevision", "--model_args", args, "--tasks", "finevidbench_fragment", "--limit", "2",
        "--out", str(out),
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr[-2000:]
    said = [line for line in refused.stderr.splitlines() if line.startswith("make eval: backend=vllm:")]
    assert len(said) == 1 and "tiles each of several images" in said[0] and "fix: backend=transformers" in said[0]
    assert "Traceback" not in refused.stderr and "answers:" not in refused.stdout
    assert not (out / "results.json").exists()


def test_unserved_choices_are_refused_with_the_way_on(monkeypatch, tmp_path):
    """No such backend, a family vLLM does not serve here, a checkpoint whose weights vLLM would not find, no
    adapter, LoRA vLLM would drop (the vision tower's: it answers as the base model there, checked), no vLLM at
    all; each before any engine starts."""
    from model_adapters.testing.tiny import build_tiny

    qwen = adapter_class("fvb_qwen2_5_vl")
    with pytest.raises(AdapterError, match="backend=tgi: expected one of transformers, vllm"):
        qwen(pretrained="unused", backend="tgi")
    with pytest.raises(AdapterError, match="VideoLlama3 is not served through vLLM here .*has no VideoLLaMA3 model"):
        adapter_class("fvb_videollama3")(pretrained="unused", backend="vllm")
    # a LLaVA-OneVision saved by transformers 5 (a full fine-tune here): its tower's names are not the ones vLLM reads
    saved = build_tiny("llava_onevision", tmp_path / "saved")
    with pytest.raises(AdapterError, match=r"saved: .*vision_tower\.embeddings.*reads vision_tower\.vision_model\."):
        adapter_class("fvb_llava_onevision")(pretrained=str(saved), backend="vllm")
    tiny = str(build_tiny("qwen2_5_vl", tmp_path / "qwen"))
    with pytest.raises(AdapterError, match="no adapter_config.json there"):
        qwen(pretrained=tiny, backend="vllm", adapter=str(tmp_path))
    tower = random_lora(tiny, tmp_path / "tower", parts=("model.visual",))
    with pytest.raises(
        AdapterError, match=r"weights outside the language model's layers' LoRA .*model\.visual\.blocks"
    ):
        qwen(pretrained=tiny, backend="vllm", adapter=tower)
    from model_adapters import engine

    monkeypatch.delenv(engine.ENGINE_PYTHON_VARIABLE, raising=False)
    monkeypatch.setattr(engine, "LOCAL_ENGINE_PYTHON", tmp_path / "absent" / "python")
    with pytest.raises(AdapterError, match=r"fix: make vllm-venv"):
        engine.engine_python()


def test_an_engine_that_dies_on_start_is_one_clear_error(monkeypatch):
    from model_adapters.engine import VLLMEngine

    with pytest.raises(AdapterError, match=r"exited \(1\) while starting vLLM.*fix: make vllm-venv"):
        VLLMEngine({"model": "unused"}, python="false")


def random_lora(checkpoint: str, out, parts: tuple[str, ...] = ("model.language_model",)) -> str:
    """A PEFT LoRA adapter of rank 8 on `parts`' attention projections, its B drawn at random (it changes answers)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_pretrained(checkpoint)
    attention = ("q_proj", "k_proj", "v_proj", "o_proj", "qkv")
    linear = [name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)]
    names = [name for name in linear if name.startswith(parts) and name.endswith(attention)]
    config = LoraConfig(r=8, lora_alpha=16, target_modules=names, init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(str(out))
    return str(out)


@pytest.mark.slow(seconds=40)
def test_make_sf2t_evaluates_its_three_arms_through_vllm(vllm_python, quick_engine, train_corpus, tmp_path, capsys):
    """Training on transformers, the three evaluations through the serving engine, one engine at a time.

    The default SF2T recipe trains LoRA on the language model's projections only, which vLLM applies.
    """
    from finevidbench.scoring.compare import read_comparison
    from model_adapters.testing.hub import build_engine_checkpoint
    from runners import sf2t

    checkpoint = build_engine_checkpoint("qwen2_5_vl", tmp_path / "model")
    before = idle()
    steps = "max_steps=2,save_steps=2,logging_steps=1,batch_size=2,grad_accum=1,gradient_checkpointing=false"
    code = sf2t.main([
        "--model", "fvb_qwen2_5_vl", "--model_args", f"pretrained={checkpoint},backend=vllm,enforce_eager=True",
        "--videos", str(train_corpus / "videos"), "--labels", str(train_corpus / "labels.csv"),
        "--out", str(tmp_path / "run"), "--set", f"{steps},positive_control=false",
        "--tasks", "finevidbench_fragment", "--limit", "1",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err[-3000:]
    comparison = read_comparison(tmp_path / "run" / "comparison.json")
    assert comparison["arms"] == ["base", "control", "adapter"] and comparison["missing"] == []
    for folder, kind in (("eval_base", None), ("eval_control", "sf2t_control"), ("eval_sf2t", "sf2t")):
        results = json.loads((tmp_path / "run" / folder / "results.json").read_text())
        assert results["model"]["inputs"]["engine"].startswith("vllm"), folder
        assert (results["model"]["adapter"] or {}).get("training", {}).get("kind") == kind, folder
    # each evaluation dropped its engine: the three ran one after another in one engine process
    assert len(idle()) == max(len(before), 1)


@pytest.mark.slow(seconds=40)
def test_make_savi_asks_and_evaluates_through_vllm_one_engine_at_a_time(
    vllm_python, quick_engine, train_corpus, tmp_path, capsys, monkeypatch
):
    """The loop's own questions, answers, critiques and revisions, and the evaluations, through the serving engine
    (the adapter's by vLLM's LoRA); DPO on transformers. Each engine is dropped before the next thing runs."""
    import yaml

    from finevidbench.savi import read_pairs
    from model_adapters.testing.hub import build_engine_checkpoint
    from runners import savi

    checkpoint = build_engine_checkpoint("qwen2_5_vl", tmp_path / "model")
    recipe = tmp_path / "recipe.yaml"
    loop = {"iterations": 1, "pairs": "mixed", "questions_per_kind": 1, "videos_per_iteration": 1, "verifier_items": 4}
    recipe.write_text(yaml.safe_dump({
        "lora_r": 8, "lora_target": ["q_proj", "v_proj"], "train": ["language_model"], "epochs": 1, "batch_size": 2,
        "grad_accum": 1, "logging_steps": 1, "save_steps": 4, "gradient_checkpointing": False, "control": False,
        "positive_control": False, "frames": "num_frames=4,mode=segment", "extra": {**loop, "max_new_tokens": 6},
    }))  # fmt: skip
    from model_adapters import engine

    started, process_of = [], engine._engine_process
    monkeypatch.setattr(engine, "_engine_process", lambda python: started.append(process_of(python)) or started[-1])
    code = savi.main([
        "--model", "fvb_qwen2_5_vl", "--model_args", f"pretrained={checkpoint},backend=vllm,enforce_eager=True",
        "--recipe", str(recipe), "--videos", str(train_corpus / "videos"), "--labels", str(train_corpus / "labels.csv"),
        "--out", str(tmp_path / "run"), "--tasks", "finevidbench_fragment", "--limit", "1",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err[-3000:]
    run = tmp_path / "run"
    pairs = read_pairs(run / "iter_1" / "pairs.jsonl")
    assert pairs and {p.source for p in pairs} <= {"savi", "verifier"}
    for folder in ("eval_base", "eval_savi"):
        results = json.loads((run / folder / "results.json").read_text())
        assert results["model"]["inputs"]["engine"].startswith("vllm"), folder
    # the loop's questions, then two evaluations: three engines, each in the process the one before dropped
    assert len(started) == 3 and len({process.pid for process, _ in started}) == 1


@pytest.mark.slow(seconds=40)
def test_a_lora_adapter_answers_through_vllm_as_it_does_unmerged_through_transformers(
    vllm_python, quick_engine, mini, long_clip, tmp_path, monkeypatch
):
    from model_adapters.testing.hub import build_engine_checkpoint

    checkpoint = str(build_engine_checkpoint("qwen2_5_vl", tmp_path / "model"))
    adapter = random_lora(checkpoint, tmp_path / "adapter")
    model = adapter_class("fvb_qwen2_5_vl")
    plain = model(pretrained=checkpoint)
    asked = requests(plain, mini, long_clip, monkeypatch)
    base = [plain.answer_batch([r])[0] for r in asked[:4]]
    ours = model(pretrained=checkpoint, adapter=adapter)
    expected = ours.answer_batch(asked)  # as one at a time (tests/lmms/test_contract.py)
    assert expected[:4] != base, "the adapter does not change the answers: a weak probe"
    served = model(pretrained=checkpoint, adapter=adapter, backend="vllm", enforce_eager=True)
    try:
        assert served.answer_batch(asked) == expected
        assert served.adapter_info == ours.adapter_info  # results.json records the same adapter
    finally:
        assert served.engine is not None
        served.engine.close()


@pytest.mark.slow(seconds=45)
def test_make_bench_times_both_backends_on_the_same_questions_and_answers(
    vllm_python, quick_engine, tmp_path, monkeypatch
):
    """make bench's serving figures, on two questions a type, each backend through the bench's own worker: here in
    this process (the bench gives each its own), so the engine starts in the process an earlier engine left."""
    import decord

    from runners import bench

    monkeypatch.setattr(decord, "VideoReader", decord.VideoReader)  # the worker counts decodes through it: put back
    monkeypatch.setenv("FINEVIDBENCH_DATA", "mini")  # the runner sets it: put back
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("FINEVIDBENCH_BENCH_ENGINE_ARGS", "enforce_eager=True")

    def in_process(name, checkpoint, out, env, limit):
        return bench.worker(name, checkpoint, out, limit)

    record = bench._serving(tmp_path, {}, limit=2, measure=in_process)
    vllm = record["figures"]["served_vllm"]
    assert record["same_answers"] is True
    assert vllm["prompts"] == 16 and 0 < vllm["start_seconds"] < vllm["seconds"]
    assert record["questions_per_second_vllm"] > 0 and record["questions_per_second_transformers"] > 0
    assert 0 <= record["mm_cache_hit_rate"] <= 1
