"""The adapters answer lmms-eval tasks that are not FineVidBench's, as lmms-eval hands them over.

The tasks (model_adapters/testing/foreign_tasks.py) keep the shapes of lmms-eval's mvbench (a video
path, lettered options), tempcompass (three answer formats, a stop string), an image-QA task (a PIL
image), a multi-image task, a text-only task and a video with a time span (`doc_to_messages`).
"""

import copy
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import build_question_set, write_indexed_clip
from PIL import Image

from finevidbench import taskdocs
from finevidbench.protocol import DEFAULT_SCENE_POLICY
from finevidbench.request import Clip, DecodedFrames, content_digest
from finevidbench.request import Image as RecordImage
from finevidbench.results import read_other_samples, read_results
from finevidbench.video import FramePolicy
from model_adapters.backends import cut_at_stops
from model_adapters.registry import adapter_class, families
from model_adapters.testing.foreign_tasks import GROUPS, LEAVES, write_foreign_tasks
from model_adapters.testing.tiny import build_tiny
from model_adapters.visuals import TaskVisuals, VisualError

OTHERS = "local_mvbench,local_tempcompass,local_imageqa,local_multi_image,local_textqa,local_span"


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("other-videos")
    return [write_indexed_clip(folder / f"clip{i}.mp4", frames=24 + 8 * i, fps=8.0) for i in range(2)]


@pytest.fixture(scope="module")
def other_tasks(videos, tmp_path_factory) -> Path:
    return write_foreign_tasks(tmp_path_factory.mktemp("other-tasks"), videos)


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    return build_question_set(tmp_path_factory.mktemp("other-set"), videos=2, seed=5)


def n_docs(folder: Path, task: str) -> int:
    return len((folder / f"{task}.jsonl").read_text().splitlines())


_INDEXED: dict[Path, dict] = {}


def lmms_eval_cli(monkeypatch, *argv: str) -> None:
    """`python -m lmms_eval ...` in this process (its CLI, its parser, its evaluator).

    Its task manager indexes lmms-eval's ~2,000 built-in task YAMLs on every call (8.5 s here, twice
    that under coverage); that folder's index is read once per test process and handed out as a copy.
    Folders given with --include_path are indexed on every call, as lmms-eval does.
    """
    from lmms_eval.__main__ import cli_evaluate
    from lmms_eval.tasks import TaskManager

    builtin = Path(sys.modules[TaskManager.__module__].__file__).parent.resolve()
    index = TaskManager._get_task_and_group

    def indexed_once(self, task_dir: str) -> dict:
        folder = Path(task_dir).resolve()
        if folder != builtin:
            return index(self, task_dir)
        if folder not in _INDEXED:
            _INDEXED[folder] = index(self, task_dir)
        return copy.deepcopy(_INDEXED[folder])

    monkeypatch.setattr(TaskManager, "_get_task_and_group", indexed_once)
    monkeypatch.setattr(sys, "argv", ["lmms_eval", *argv])
    cli_evaluate()


def logged_answers(out: Path) -> dict[tuple[str, int], str]:
    """{(task, doc id): response} from lmms-eval's per-sample logs under `out`."""
    answers = {}
    for path in out.rglob("*_samples_*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            task = path.stem.split("_samples_", 1)[1]
            shown = record["filtered_resps"]  # lmms-eval writes a one-element list as its element
            answers[(task, record["doc_id"])] = shown[0] if isinstance(shown, list) else shown
    return answers


# -- what a task hands over, in one form -----------------------------------------------------------
def test_every_form_of_visual_lmms_eval_tasks_return_becomes_one_record(tmp_path):
    picture = Image.new("L", (8, 6), 90)
    still = tmp_path / "still.png"
    Image.new("RGB", (4, 4), (1, 2, 3)).save(still)
    span = {"type": "video", "url": {"video": "span.mp4", "video_start": 1, "video_end": 2.5}}
    grey = np.zeros((3, 6, 8), np.float32)  # three grey frames, values in [0, 1]
    policy = FramePolicy.parse(DEFAULT_SCENE_POLICY)
    reader = TaskVisuals("t", policy)
    found = reader.visuals_of([["clip.mp4", None], picture, str(still), np.zeros((6, 8, 3), np.uint8), grey, span])
    assert [type(v) for v in found] == [Clip, RecordImage, RecordImage, RecordImage, DecodedFrames, Clip]
    assert found[4].frames.shape == (3, 6, 8, 3) and found[4].frames.dtype == np.uint8
    assert found[0] == Clip("clip.mp4", policy=policy) and found[5] == Clip("span.mp4", 1.0, (1.0, 2.5), policy)
    assert found[1].image.mode == "RGB" and found[2].image.getpixel((0, 0)) == (1, 2, 3)
    frames = reader.visuals_of([np.zeros((3, 6, 8, 3), np.uint8)])[0]
    assert isinstance(frames, DecodedFrames) and frames.frames.shape == (3, 6, 8, 3)
    with pytest.raises(VisualError, match="task mine: cannot show a visual of type int"):
        TaskVisuals("mine").visuals_of([3])
    with pytest.raises(VisualError, match="cannot read the image"):
        reader.visuals_of([str(tmp_path / "missing.jpg")])
    with pytest.raises(VisualError, match="'audio' block"):
        reader.turns([{"role": "user", "content": [{"type": "audio", "url": "a.wav"}]}])


def test_a_requests_key_changes_with_its_text_and_its_pixels():
    def turn(shade: int, text: str):
        image = Image.fromarray(np.full((4, 4, 3), shade, np.uint8))
        content = [{"type": "image", "url": image}, {"type": "text", "text": text}]
        return TaskVisuals().turns([{"role": "user", "content": content}])

    assert content_digest(turn(1, "a")) == content_digest(turn(1, "a"))
    assert len({content_digest(turn(1, "a")), content_digest(turn(2, "a")), content_digest(turn(1, "b"))}) == 3


def test_a_tasks_stop_strings_cut_the_answer_as_lmms_eval_models_cut_it():
    assert cut_at_stops("yes\n\nbecause", ["\n\n"]) == "yes" and cut_at_stops("A) left", "A)") == ""
    assert cut_at_stops("no stop", None) == "no stop" and cut_at_stops("x</s>y", ["", "</s>"]) == "x"


# -- requests of other tasks through one adapter ---------------------------------------------------
def _leaves(task_dict):
    for name, task in task_dict.items():
        if isinstance(task, dict):
            yield from _leaves(task)
        else:
            yield str(name), task


@pytest.mark.parametrize("family", ["qwen2_5_vl", "llava_onevision"])
def test_batched_answers_to_other_tasks_equal_one_at_a_time_and_a_killed_run_resumes(family, other_tasks, tmp_path):
    """Videos of different lengths, one and two images, text only, a time span: batches of 4 answer as batches of 1.

    LLaVA-OneVision stacks a call's videos (equal frame counts per call); Qwen concatenates them.
    """
    from lmms_eval.tasks import TaskManager, get_task_dict

    model_dir = build_tiny(family, tmp_path / "model")
    names = [t for t in LEAVES if t != "local_span"] + ["local_span"]
    manager = TaskManager("ERROR", include_path=str(other_tasks), include_defaults=False)
    tasks = dict(_leaves(get_task_dict(names, manager, "chat")))  # as lmms-eval builds them for a chat model

    def answer(batch_size: int, store: Path | None = None):
        model = adapter_class(f"fvb_{family}")(pretrained=str(model_dir), max_new_tokens=3, batch_size=batch_size,
                                               store=str(store) if store else None)  # fmt: skip
        model.task_dict = {name: {"test": list(task.dataset["test"])} for name, task in tasks.items()}
        instances = [SimpleNamespace(args=(task.doc_to_text(doc), task.doc_to_messages,
                                           dict(task.config.generation_kwargs), i, name, "test"))
                     for name, task in tasks.items()
                     for i, doc in enumerate(model.task_dict[name]["test"])]  # fmt: skip
        return model, model.generate_until(instances)

    _, one = answer(1)
    model, four = answer(4, tmp_path / "answers.sqlite")
    assert four == one and len(one) == sum(n_docs(other_tasks, t) for t in names)
    assert all(isinstance(a, str) for a in one) and model.computed == len(one)
    again, resumed = answer(4, tmp_path / "answers.sqlite")
    assert resumed == one and again.computed == 0 and again.reused == len(one)


def test_a_baseline_refuses_another_benchmarks_documents_by_name(other_tasks):
    from model_adapters.baselines import RandomBaseline

    model = RandomBaseline()
    model.task_dict = {"local_textqa": {"test": [{"question": "?", "answer": "4"}]}}
    instance = SimpleNamespace(args=("?", {}, lambda doc: [], 0, "local_textqa", "test"))
    with pytest.raises(ValueError, match="RandomBaseline answers FineVidBench questions only; task 'local_textqa'"):
        model.generate_until([instance])


def test_a_blind_variant_reaches_the_adapter_without_the_video(small_set, tmp_path, monkeypatch):
    """finevidbench_novideo_*: the task hands over no visual, and the adapter shows none (it used to read the doc)."""
    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    model = adapter_class("fvb_qwen2_5_vl")(pretrained=str(build_tiny("qwen2_5_vl", tmp_path / "m")), max_new_tokens=2)
    docs = taskdocs.docs_for("speed")[:1] + taskdocs.docs_for("moment_count")[:1]
    from lmms_eval.api.task import ConfigurableMessagesTask

    seen = []
    real = model.encode
    monkeypatch.setattr(model, "encode", lambda requests: seen.append(requests) or real(requests))
    for variant, shown in (("novideo", 0), ("oneframe", 1)):
        model.task_dict = {f"finevidbench_{variant}_{d['type']}": {"test": [d]} for d in docs}

        def messages(doc, variant=variant):
            return ConfigurableMessagesTask._build_user_turn(taskdocs.doc_to_visual(doc, variant), "Answer.")

        instances = [SimpleNamespace(args=("Answer.", messages, {"max_new_tokens": 2}, 0, name, "test"))
                     for name in model.task_dict]  # fmt: skip
        assert len(model.generate_until(instances)) == 2
        requests = [r for batch in seen for r in batch]
        assert all(r.question is not None and r.key.startswith(f"{r.question.id}#") for r in requests)
        assert all(r.videos == () and all(isinstance(v, RecordImage) for v in r.visuals) for r in requests)
        assert [len(r.visuals) for r in requests] == [shown, shown], variant
        seen.clear()


# -- end to end: plain lmms-eval, and make eval TASKS= ---------------------------------------------
@pytest.mark.slow(seconds=60)
@pytest.mark.parametrize("family", list(families()))
def test_every_family_answers_every_document_through_lmms_eval_and_make_eval(
    family, other_tasks, small_set, tmp_path, monkeypatch, run_make_eval
):
    """Plain lmms-eval first, storing its answers where make eval keeps them: make eval then reuses every one."""
    model_dir = build_tiny(family, tmp_path / "model")
    args = f"pretrained={model_dir},max_new_tokens=3,batch_size=2"
    out = tmp_path / "run"
    lmms_eval_cli(monkeypatch, "--model", f"fvb_{family}", "--model_args", f"{args},store={out / 'answers.sqlite'}",
                  "--tasks", OTHERS, "--include_path", str(other_tasks), "--log_samples", "--output_path",
                  str(tmp_path / "lmms"))  # fmt: skip
    answers = logged_answers(tmp_path / "lmms")
    expected = {(t, i) for t in LEAVES for i in range(n_docs(other_tasks, t))}
    assert set(answers) == expected and all(isinstance(a, str) for a in answers.values())

    result = run_make_eval("--model", f"fvb_{family}", "--model_args", args, "--data", small_set, "--out", out,
                           "--tasks", f"finevidbench_moment_count,{OTHERS}", "--include_path", other_tasks)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"computed, {len(expected)} from the store" in result.stdout  # keyed by task, document and content
    results = read_results(out / "results.json")
    assert set(results["scores"]["by_type"]) == {"moment_count"}
    assert set(results["other_tasks"]) == {*LEAVES, *GROUPS}
    for task in LEAVES:
        entry = results["other_tasks"][task]
        assert entry["n"] == n_docs(other_tasks, task) and entry["source"].startswith("lmms-eval ")
        assert 0 <= entry["metrics"]["accuracy,none"] <= 1 and entry["stderr"]["accuracy,none"] is not None
    samples = read_other_samples(out)
    assert {(s["task"], s["doc_id"]) for s in samples} == expected
    assert all(isinstance(s["response"], str) and set(s["scores"]) == {"accuracy"} for s in samples)
    assert {(s["task"], s["doc_id"]): s["response"] for s in samples} == answers  # the same answers, reused
    assert "local_tempcompass_yes_no" in result.stdout and "accuracy,none" in result.stdout


@pytest.mark.slow(seconds=60)
def test_our_qwen_answers_other_tasks_as_lmms_eval_builtin_qwen2_5_vl_does(other_tasks, tmp_path, monkeypatch):
    """lmms-eval's own `qwen2_5_vl` and ours, on the same weights (its processor files as the hub ships them).

    Matched where the frames can be: both bf16, the built-in's pixel bounds given to ours, its 8 frames
    sampled as qwen-vl-utils samples them (uniform over the clip).
    """
    from model_adapters.testing.hub import build_hub_layout

    model = build_hub_layout("qwen2_5_vl", tmp_path / "model")
    tasks = "local_imageqa,local_multi_image,local_mvbench,local_textqa"
    runs = {
        "qwen2_5_vl": f"pretrained={model},device=cpu,device_map=cpu,min_pixels=3136,max_num_frames=8",
        "fvb_qwen2_5_vl": f"pretrained={model},dtype=bfloat16,min_pixels=3136,max_pixels=1605632,num_frames=8,"
        "frame_mode=uniform,max_new_tokens=4",
    }
    answers = {}
    for name, args in runs.items():
        lmms_eval_cli(monkeypatch, "--model", name, "--model_args", args, "--tasks", tasks, "--include_path",
                      str(other_tasks), "--log_samples", "--output_path", str(tmp_path / name))  # fmt: skip
        answers[name] = logged_answers(tmp_path / name)
    assert len(answers["qwen2_5_vl"]) == sum(n_docs(other_tasks, t) for t in tasks.split(","))
    assert answers["fvb_qwen2_5_vl"] == answers["qwen2_5_vl"]
