"""Video-LLM adapters on tiny random models of the real architectures (built offline, never downloaded)."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import asked, build_question_set

import finevidbench.video.clip as clip_module
from finevidbench import taskdocs
from finevidbench.request import Turn
from finevidbench.results import read_results
from model_adapters.hf import AdapterError
from model_adapters.registry import adapter_class, families
from model_adapters.testing.tiny import build_tiny

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    return build_question_set(tmp_path_factory.mktemp("adapter_set"), videos=4, seed=11)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cache: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in cache:
            cache[family] = build_tiny(family, tmp_path_factory.mktemp(family))
        return cache[family]

    return get


def requests_for(model, small_set: Path, monkeypatch, per_type: int = 1):
    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    docs = [d for t in ("action", "speed", "moment_count", "rearrangement") for d in taskdocs.docs_for(t)[:per_type]]
    return [asked(model, d, generation={"max_new_tokens": 4}) for d in docs]


def load(family: str, path: Path, **kwargs):
    return adapter_class(f"fvb_{family}")(pretrained=str(path), max_new_tokens=4, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("family", list(families()))
def test_every_family_evaluates_a_slice_through_the_make_eval_path(family, tiny, small_set, tmp_path, run_make_eval):
    path = tiny(family)  # fvb_hf: the generic adapter, on an architecture with no family class (SmolVLM)
    out = tmp_path / "run"
    model_args = f"pretrained={path},max_new_tokens=4,batch_size=2"
    result = run_make_eval("--model", f"fvb_{family}", "--model_args", model_args, "--data", small_set,
                           "--limit", "2", "--out", out)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results = read_results(out / "results.json")
    assert set(results["scores"]["by_level"]) == {"scene", "fragment"}
    assert results["model"]["revision"].startswith("sha256:")
    assert results["frame_policy"]["fps"] == 3.0
    assert results["model"]["inputs"]["frames"] == "benchmark"  # how the adapter built the inputs, recorded
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 16 and all(isinstance(s["response"], str) for s in samples)


@pytest.mark.parametrize("family", list(families()))
def test_batch_of_four_equals_batch_of_one(family, tiny, small_set, monkeypatch):
    """Batched greedy answers are the one-at-a-time answers, and a batch still reaches the model batched.

    Requests are scene clips (action, speed) then fragment images (moment_count, rearrangement): batches of
    four from 0 hold clips of different lengths, then images; the batch from 2 mixes clips and images.
    """
    model = load(family, tiny(family))
    requests = requests_for(model, small_set, monkeypatch, per_type=2)
    one = [model.answer_batch([r])[0] for r in requests]
    calls = []
    real = model.backend.generate
    monkeypatch.setattr(
        model.backend, "generate", lambda adapter, batch: calls.append(len(batch)) or real(adapter, batch)
    )
    assert model.answer_batch(requests[:4]) + model.answer_batch(requests[4:]) == one
    assert model.answer_batch(requests[2:6]) == one[2:6]
    # one clip under two prompts of different lengths: a left-padded call of two
    longer = Turn("user", (*requests[2].visuals, requests[2].text + " Look at every frame, then answer."))
    padded = [requests[2], replace(requests[2], turns=(longer,))]
    assert model.answer_batch(padded) == [model.answer_batch([r])[0] for r in padded]
    assert max(calls) > 1, calls  # exact because batched right, not because it ran one at a time


@pytest.mark.parametrize("family", list(families()))
def test_every_speed_of_a_speed_item_reaches_the_model_as_the_same_number_of_tokens(family, tiny, small_set,
                                                                                    monkeypatch):  # fmt: skip
    """More frames asked for than the 0.5x window holds: the slowed clip repeats frames, no view is shorter."""
    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    docs = taskdocs.docs_for("speed")
    views = [d for d in docs if d["video"] == docs[0]["video"]]
    model = load(family, tiny(family), num_frames=48)
    requests = [asked(model, d, generation={"max_new_tokens": 2}) for d in views]
    slow = next(r for r in requests if r.question.speed == 0.5).visuals[0].sampling
    assert len(set(slow.indices)) < len(slow.indices)  # the case under test: repeated source frames
    tokens = {r.question.speed: tuple(model.encode([r])["input_ids"].shape) for r in requests}
    assert len(tokens) == 3 and len(set(tokens.values())) == 1, tokens
    assert all(isinstance(a, str) for a in model.answer_batch(requests))


def test_stacking_processors_batch_clips_of_different_lengths(tiny, small_set, monkeypatch):
    model = load("llava_onevision", tiny("llava_onevision"))
    requests = requests_for(model, small_set, monkeypatch, per_type=2)
    assert len({model.frame_counts(r) for r in requests}) > 1
    assert model.answer_batch(requests) == [model.answer_batch([r])[0] for r in requests]


def _lora(model_dir: Path, out: Path, targets=("q_proj", "v_proj")) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    torch.manual_seed(0)
    base = AutoModelForImageTextToText.from_pretrained(model_dir)
    config = LoraConfig(r=4, lora_alpha=32, target_modules=list(targets), init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(out)
    return out


def test_lora_adapter_loads_unmerged_changes_outputs_and_goes_away(tiny, small_set, monkeypatch, tmp_path):
    path = tiny("qwen2_5_vl")
    base = load("qwen2_5_vl", path)
    requests = requests_for(base, small_set, monkeypatch)
    adapter = _lora(path, tmp_path / "adapter")
    plain = base.answer_batch(requests)
    tuned_model = load("qwen2_5_vl", path, adapter=str(adapter))
    assert tuned_model.adapter_info["peft_type"] == "LORA" and len(tuned_model.adapter_info["sha256"]) == 64
    assert type(tuned_model.model).__name__ == "PeftModel"  # unmerged
    assert tuned_model.answer_batch(requests) != plain
    assert load("qwen2_5_vl", path).answer_batch(requests) == plain
    assert tuned_model.fingerprint != load("qwen2_5_vl", path).fingerprint


def test_bad_adapter_and_bad_paths_are_clear_errors(tiny, tmp_path):
    path = tiny("qwen2_5_vl")
    with pytest.raises(AdapterError, match="no adapter_config.json"):
        load("qwen2_5_vl", path, adapter=str(tmp_path))
    foreign = _lora(tiny("llava_onevision"), tmp_path / "foreign", targets=("linear_1",))
    with pytest.raises(AdapterError, match="does not fit"):
        load("qwen2_5_vl", path, adapter=str(foreign))
    with pytest.raises(AdapterError, match="no such folder, and not a hub id"):
        load("qwen2_5_vl", tmp_path / "missing")
    with pytest.raises(ValueError, match=r"unknown model argument\(s\) \['temprature'\]"):
        load("qwen2_5_vl", path, temprature=0)
    with pytest.raises(AdapterError, match="needs the model to load.*fix: MODEL_ARGS=pretrained="):
        adapter_class("fvb_qwen2_5_vl")()
    with pytest.raises(AdapterError, match="frames=cards: expected 'benchmark'"):
        load("qwen2_5_vl", path, frames="cards")
    untemplated = tmp_path / "untemplated"
    shutil.copytree(path, untemplated)
    (untemplated / "chat_template.jinja").unlink()
    with pytest.raises(AdapterError, match="no chat template that renders a user turn.*fix:"):
        load("qwen2_5_vl", untemplated)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "llava_onevision", "videollama3"])
def test_frames_card_takes_the_cards_sampling_and_the_policy_id_records_it(family, tiny):
    from finevidbench.video import FramePolicy

    benchmark, card = load(family, tiny(family)), load(family, tiny(family), frames="card")
    expected = FramePolicy.parse(
        {**FramePolicy.parse(type(card).card_frames).to_dict(), "multiple": card.temporal_patch()}
    )
    assert card.frame_policy == expected and card.inputs_record()["frames"] == "card"
    assert card.frame_policy.id != benchmark.frame_policy.id and card.fingerprint != benchmark.fingerprint
    assert load(family, tiny(family), frames="card", num_frames=4).frame_policy.num_frames == 4  # overrides on top


def test_each_video_is_decoded_once_per_frame_policy(tiny, small_set, monkeypatch):
    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    decodes = []
    real = clip_module.decode_frames
    monkeypatch.setattr(
        clip_module,
        "decode_frames",
        lambda path, idx, *a, **k: decodes.append(Path(path).stem) or real(path, idx, *a, **k),
    )
    clip_module.DEFAULT_CACHE.clear()
    model = load("qwen2_5_vl", tiny("qwen2_5_vl"), batch_size=4)
    docs = {
        t: taskdocs.docs_for(t) for t in ("action", "effect", "speed", "moment_count", "rearrangement", "adjust_or_not")
    }
    model.task_dict = {t: {"test": d} for t, d in docs.items()}
    instances = [SimpleNamespace(args=(taskdocs.doc_to_text(d), None, {"max_new_tokens": 2}, i, t, "test"))
                 for t, ds in docs.items() for i, d in enumerate(ds)]  # fmt: skip
    answers = model.generate_until(instances)
    assert len(answers) == len(instances) > 40
    # every speed, window and fragment of a video is cut from a single decode of their union
    assert sorted(decodes) == sorted({d["video"] for ds in docs.values() for d in ds})


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


LAUNCHERS = {
    # accelerate's multi-process launcher; ACCELERATE_USE_CPU makes it use gloo on CPU
    "accelerate": ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                   "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "{port}"],
    "torchrun": ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "{port}"],
}  # fmt: skip


@pytest.mark.slow(seconds=45)
def test_two_torchrun_processes_give_the_same_answers_as_one(small_set, tmp_path, run_make_eval):
    """torchrun here, accelerate on full-size clips below: each launcher's ranks share the questions."""
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "ACCELERATE_USE_CPU": "true"}  # fmt: skip
    common = ["-m", "runners.evaluate", "--model", "random", "--data", str(small_set)]
    one = run_make_eval(*common[2:], "--out", tmp_path / "one")
    launch = [part.format(port=free_port()) for part in LAUNCHERS["torchrun"]]
    two = subprocess.run([sys.executable, *launch, *common, "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip
    assert one.returncode == 0, one.stderr[-3000:]
    assert two.returncode == 0, two.stderr[-5000:]
    assert_same_answers_shared(tmp_path / "one", tmp_path / "two", two.stdout)


def assert_same_answers_shared(one: Path, two: Path, printed_by_two: str) -> None:
    """The two-process run gave the single process's answers, and its rank 0 computed only part of them."""
    assert (one / "samples.jsonl").read_text() == (two / "samples.jsonl").read_text()
    total = len((one / "samples.jsonl").read_text().splitlines())
    computed_on_rank_0 = int(printed_by_two.split("answers: ")[1].split()[0])
    assert computed_on_rank_0 < total  # the questions were really shared between two processes


@pytest.mark.parametrize("code", [0, 1])
def test_a_finished_run_shuts_its_process_group_down(code, monkeypatch):
    """Left to interpreter exit, gloo aborts now and then (SIGABRT) after a finished data-parallel run.

    After a failure the group is left alone: another rank may be waiting in a collective.
    """
    import torch.distributed as dist

    from runners import evaluate as runner

    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    monkeypatch.setattr(runner, "evaluate", lambda *args: code)
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        assert runner.main([]) == code
        assert dist.is_initialized() == (code != 0)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_the_decoder_works_two_videos_ahead_and_is_handed_each_video_once():
    from model_adapters.base import VideoLookahead

    shown = ["a"] * 3 + ["b"] * 2 + ["c"] + ["d"] * 3  # batches sorted by video, as generate_until sorts them
    lookahead = VideoLookahead([[SimpleNamespace(videos=(video,))] for video in shown], depth=2)
    handed = [[request.videos[0] for request in lookahead.to_decode(number)] for number in range(len(shown))]
    assert handed == [["a", "b", "c"], [], [], ["d"], [], [], [], [], []]


def test_next_batch_is_decoded_in_the_background(small_set, monkeypatch):
    """While the model answers one batch, the prefetch threads decode the next videos."""
    import threading
    import time

    from model_adapters.testing.zero_cost import ZeroCostModel

    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    threads = []
    real = clip_module.decode_frames
    monkeypatch.setattr(
        clip_module, "decode_frames", lambda *a, **k: threads.append(threading.current_thread().name) or real(*a, **k)
    )
    clip_module.DEFAULT_CACHE.clear()

    class SlowModel(ZeroCostModel):
        def answer_batch(self, requests):
            time.sleep(0.3)  # a model slower than the decoder
            return super().answer_batch(requests)

    model = SlowModel(batch_size=3)
    docs = {t: taskdocs.docs_for(t) for t in ("action", "speed", "rearrangement")}
    model.task_dict = {t: {"test": d} for t, d in docs.items()}
    instances = [SimpleNamespace(args=("q", None, {}, i, t, "test")) for t, ds in docs.items() for i in range(len(ds))]
    assert model.generate_until(instances) == ["A"] * len(instances)
    assert len(threads) == len({d["video"] for ds in docs.values() for d in ds}) >= 3  # one decode per video
    in_foreground = sum(not name.startswith("prefetch") for name in threads)
    assert in_foreground <= 1, threads  # at most the first video; every later one was ready in time


@pytest.mark.slow
def test_a_mini_run_opens_each_video_once_and_frees_its_frames(run_make_eval, tmp_path, monkeypatch):
    """End to end on the whole mini set: one decoder open per video, and no frame left cached after."""
    from finevidbench.dataset import ensure_mini

    ensure_mini(progress=False)  # built first: building decodes each video's pool, which is not the run's
    opened = []
    real = clip_module.decode_frames
    monkeypatch.setattr(clip_module, "decode_frames", lambda path, *a, **k: opened.append(Path(path).stem) or real(
        path, *a, **k))  # fmt: skip
    clip_module.DEFAULT_CACHE.clear()
    from model_adapters.testing.zero_cost import register as register_zero_cost  # a bench model, not the product's

    result = run_make_eval("--model", register_zero_cost(), "--data", "mini", "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr[-2000:]
    videos = {json.loads(line)["video"] for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()}
    assert len(videos) == 48 and sorted(opened) == sorted(videos)
    assert clip_module.DEFAULT_CACHE.nbytes == 0  # each video's frames were dropped once its questions were answered


@pytest.mark.slow(seconds=120)
def test_two_processes_answer_full_size_clips_as_one_does(tiny, tmp_path, run_make_eval):
    """A slice of the full-size set (320x240, 5-15 s clips) under accelerate's 2 processes: the same answers,
    the questions shared between them.

    The tiny Qwen2.5-VL answers from the frames, so a frame cut differently in one process would show.
    """
    from finevidbench.builder import build
    from finevidbench.corpus.synth import Scale, synthesize

    labels = synthesize(tmp_path / "corpus", videos=4, seed=3, progress=False, scale=Scale.sized(320, 240, 5, 15))
    build(tmp_path / "corpus" / "videos", tmp_path / "set", labels=labels, progress=False)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "ACCELERATE_USE_CPU": "true"}  # fmt: skip
    model_args = f"pretrained={tiny('qwen2_5_vl')},max_new_tokens=3,batch_size=2"
    common = ["-m", "runners.evaluate", "--model", "fvb_qwen2_5_vl", "--model_args", model_args,
              "--data", str(tmp_path / "set")]  # fmt: skip
    one = run_make_eval(*common[2:], "--out", tmp_path / "one")
    launch = [part.format(port=free_port()) for part in LAUNCHERS["accelerate"]]
    two = subprocess.run([sys.executable, *launch, *common, "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-3000:]
    assert_same_answers_shared(tmp_path / "one", tmp_path / "two", two.stdout)


def test_the_device_check_compares_batched_and_single_answers_and_reports_a_broken_model(tiny, small_set, tmp_path):
    """`python -m runners.device_check` (run on an accelerator by maintainers), here on the CPU."""
    from runners.device_check import main

    models = tmp_path / "models"
    shutil.copytree(tiny("qwen2_5_vl"), models / "qwen2_5_vl")
    (models / "hf").mkdir()
    (models / "hf" / "config.json").write_text("{not json")  # a model that cannot load
    out = tmp_path / "check.json"
    argv = ["--device", "cpu", "--dtypes", "float32", "--models", str(models), "--data", str(small_set), "--out"]
    assert main([*argv, str(out), "--families", "qwen2_5_vl"]) == 0
    (record,) = json.loads(out.read_text())["records"]
    assert record["equal"] and record["n"] == 8 and record["parameter_device"] == "cpu"
    assert record["layout"] == "unknown" and record["frames"] == "decoded"  # a folder not made by build_fixture
    assert record["inputs"]["video_pixels"]["source"] == "checkpoint"  # the plain tiny model caps its own pixels
    assert main([*argv, str(out), "--families", "qwen2_5_vl,hf"]) == 1
    broken = json.loads(out.read_text())["records"][1]
    assert broken["family"] == "hf" and "cannot load it" in broken["error"]


@pytest.mark.slow(seconds=30)
def test_archived_frames_are_the_frames_the_adapter_decodes(tiny, small_set, tmp_path, monkeypatch):
    """The offline bundle's frames (`device_check.FrameArchive`): what the adapter would decode, never decoding."""
    import numpy as np

    from runners.device_check import FrameArchive, questions_of, requests_of

    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    questions = questions_of()
    qs = taskdocs.question_set()
    for video, path in {q.video: qs.video_path(q) for q in questions}.items():
        FrameArchive.write(tmp_path / "frames", video, Path(path))
    folder = tiny("qwen2_5_vl")
    plain = adapter_class("fvb_qwen2_5_vl")(pretrained=str(folder), device="cpu")
    archived = adapter_class("fvb_qwen2_5_vl")(pretrained=str(folder))
    archived.frame_cache = FrameArchive(tmp_path / "frames").cache()
    requests = requests_of(plain, questions)
    expected = [(plain.frame_cache.reads(r), plain.conversation(r)) for r in requests]
    import finevidbench.request
    import model_adapters.frames

    monkeypatch.setattr(finevidbench.request, "probe", None)  # the archive path decodes nothing
    monkeypatch.setattr(model_adapters.frames, "load_frames", None)
    for request, (reads, (messages, metas)) in zip(requests_of(archived, questions), expected, strict=True):
        shown, shown_metas = archived.conversation(request)
        assert archived.frame_cache.reads(request) == reads and len(metas) == len(shown_metas)
        for block, other in zip(messages[0]["content"], shown[0]["content"], strict=True):
            key = block["type"]
            if key in ("video", "image"):
                assert np.array_equal(np.asarray(block[key]), np.asarray(other[key]))
            else:
                assert block == other


@pytest.mark.slow(seconds=10)
def test_without_lmms_eval_the_adapters_base_stands_in_for_it():
    """Where lmms-eval is not installed (the offline device check), FineVidModel's base is `WithoutLmmsEval`."""
    block = ("import sys\nclass Hide:\n    def find_spec(self, name, path=None, target=None):\n"
             "        if name.split('.')[0] == 'lmms_eval' and name in HIDDEN:\n"
             "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
             "sys.meta_path.insert(0, Hide())\n")  # fmt: skip
    stand_in = ("HIDDEN = {'lmms_eval'}\n" + block + "from model_adapters.base import FineVidModel, WithoutLmmsEval\n"
                "m = FineVidModel()\nassert isinstance(m, WithoutLmmsEval) and m.rank == 0 and m.world_size == 1\n"
                "try:\n    m.set_cache_hook(None)\nexcept ImportError as e:\n    print(e)\n")  # fmt: skip
    shown = subprocess.run([sys.executable, "-c", stand_in], cwd=ROOT, capture_output=True, text=True)
    assert "set_cache_hook needs lmms-eval" in shown.stdout, shown.stderr[-2000:]
    broken = "HIDDEN = {'lmms_eval.api.model'}\n" + block + "import model_adapters.base\n"
    failed = subprocess.run([sys.executable, "-c", broken], cwd=ROOT, capture_output=True, text=True)
    assert failed.returncode != 0 and "lmms_eval.api.model" in failed.stderr  # a broken lmms-eval still raises
    from lmms_eval.api.model import lmms

    from model_adapters.base import FineVidModel

    assert FineVidModel.__mro__[1] is lmms  # installed: the adapters are lmms-eval models, as before
