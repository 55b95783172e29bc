"""FineVidBench through real lmms-eval: the task folder, our baselines, the runner, resume."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import build_question_set

from finevidbench import taskdocs
from finevidbench.results import read_results
from finevidbench.taskgen import stale_files, task_files, write_tasks
from finevidbench.video import probe

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "tasks"


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    return build_question_set(tmp_path_factory.mktemp("lmms_set"), videos=6, seed=3)


def offline_env(tmp_path: Path, data: Path | str) -> dict:
    return {
        **os.environ,
        "FINEVIDBENCH_DATA": str(data),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }


def test_checked_in_task_folder_matches_the_registry():
    for name, text in task_files().items():
        path = TASKS / "finevidbench" / name
        assert path.is_file() and path.read_text() == text, f"{path} is stale: run finevidbench tasks --write"
    assert not stale_files(TASKS / "finevidbench"), "a type was renamed: run finevidbench tasks --write"


def test_writing_tasks_removes_the_yaml_of_a_renamed_type(tmp_path):
    write_tasks(tmp_path)
    (tmp_path / "finevidbench_old_type.yaml").write_text((tmp_path / "finevidbench_speed.yaml").read_text())
    (tmp_path / "mine.yaml").write_text("task: my_own\n")  # not generated: kept
    assert "finevidbench_old_type.yaml" in write_tasks(tmp_path)
    assert not (tmp_path / "finevidbench_old_type.yaml").exists() and (tmp_path / "mine.yaml").exists()


def test_documents_hand_over_video_frames_and_blind_variants(small_set, monkeypatch):
    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    scene = next(d for d in taskdocs.docs_for("action") if d["speed"] == 2.0)
    normal = next(d for d in taskdocs.docs_for("action") if d["speed"] == 1.0)
    assert taskdocs.doc_to_visual(normal) == [normal["video_path"]]
    altered = probe(taskdocs.doc_to_visual(scene)[0])
    original = probe(scene["video_path"])
    # twice as fast at the source frame rate: every other frame, half as long
    assert altered.fps == pytest.approx(original.fps) and altered.frame_count == -(-original.frame_count // 2)
    # the three speed items of a video hand over files that a decoder cannot tell apart, only their motion
    speed_docs = [d for d in taskdocs.docs_for("speed") if d["video"] == scene["video"]]
    copies = [probe(p) for d in speed_docs for p in taskdocs.doc_to_visual(d)]
    assert len(speed_docs) == 3 and len({(c.frame_count, c.fps, c.width, c.height) for c in copies}) == 1
    fragment = taskdocs.docs_for("rearrangement")[0]
    images = taskdocs.doc_to_visual(fragment)
    assert len(images) == len(fragment["frames"]) == 4
    assert taskdocs.doc_to_visual(fragment, "novideo") == []
    assert len(taskdocs.doc_to_visual(fragment, "oneframe")) == 1
    shuffled = taskdocs.doc_to_visual(fragment, "shuffled")
    as_bytes = sorted(np.asarray(i).tobytes() for i in images)
    assert sorted(np.asarray(i).tobytes() for i in shuffled) == as_bytes
    assert len(taskdocs.doc_to_visual(scene, "oneframe")) == 1
    assert "Frame 1 to Frame 4" in taskdocs.doc_to_text(fragment)


@pytest.mark.slow(seconds=25)
def test_python_m_lmms_eval_runs_our_tasks_with_our_baseline(small_set, tmp_path):
    """Exactly as a user would: lmms-eval's own CLI, our task folder, a model from our entry point."""
    out = tmp_path / "lmms_out"
    command = [
        sys.executable, "-m", "lmms_eval", "--model", "random", "--model_args", "seed=0",
        "--tasks", "finevidbench", "--include_path", str(TASKS), "--batch_size", "1", "--device", "cpu",
        "--output_path", str(out), "--log_samples",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=offline_env(tmp_path, small_set), cwd=tmp_path)
    results_files = list(out.rglob("*_results.json"))
    assert result.returncode == 0 and len(results_files) == 1, result.stderr[-3000:]
    lmms = json.loads(results_files[0].read_text())
    assert {"finevidbench", "finevidbench_scene", "finevidbench_fragment"} <= set(lmms["groups"])
    sample_files = list(out.rglob("*_samples_finevidbench_*.jsonl"))
    assert len(sample_files) == 8
    records = [json.loads(line) for f in sample_files for line in f.read_text().splitlines()]
    n_questions = json.loads((small_set / "manifest.json").read_text())["n_questions"]
    assert len(records) == n_questions
    mean = np.mean([r["acc"] for r in records])  # lmms-eval's per-sample metric: 1.0 correct, 0.0 not
    assert lmms["results"]["finevidbench"]["acc,none"] == pytest.approx(mean)
    # its table has a standard error for our tasks (it printed N/A while our aggregation was our own)
    speed = [json.loads(line)["acc"] for f in sample_files if f.stem.endswith("_speed") for line in f.open()]
    stderr = lmms["results"]["finevidbench_speed"]["acc_stderr,none"]
    assert isinstance(stderr, float) and stderr == pytest.approx(np.std(speed, ddof=1) / np.sqrt(len(speed)))
    assert "N/A" not in result.stdout.split("finevidbench_speed", 1)[1].splitlines()[0]


def test_our_runner_gives_lmms_evals_standard_errors_without_importing_nltk(small_set, tmp_path):
    from lmms_eval import evaluator_utils
    from lmms_eval.api import metrics

    from runners.lmms_patches import closed_form_stderr

    original = evaluator_utils.stderr_for_metric
    with closed_form_stderr():
        for metric in (metrics.mean, metrics.acc_all):  # what lmms-eval itself returns for them
            assert evaluator_utils.stderr_for_metric(metric, 100000) is original(metric, 100000) is not None
        assert evaluator_utils.stderr_for_metric(metrics.mean, 0) is None
        bootstrapped = evaluator_utils.stderr_for_metric(metrics.median, 10)  # any other: lmms-eval's own
        assert bootstrapped is not None and bootstrapped([1.0, 2.0, 3.0]) >= 0
    assert evaluator_utils.stderr_for_metric is original
    run = ("import sys; from runners.evaluate import main; "
           f"code = main(['--data', {str(small_set)!r}, '--out', {str(tmp_path / 'run')!r}, '--limit', '2']); "
           "print(code, 'nltk' in sys.modules)")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, cwd=ROOT,
                            env=offline_env(tmp_path, small_set))  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "0 False", result.stderr[-3000:]


@pytest.mark.slow
def test_runner_writes_schema_valid_results_and_random_sits_at_chance(tmp_path, run_make_eval):
    result = run_make_eval("--data", "mini", "--out", tmp_path / "run", "--model", "random")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "overall" in result.stdout and "chance" in result.stdout
    results = read_results(tmp_path / "run" / "results.json")
    assert results["model"]["name"] == "random" and results["tasks"] == "finevidbench"
    assert 1000 <= results["scores"]["overall"]["n"] <= 1500
    for name, entry in results["scores"]["by_type"].items():
        assert entry["ci_low"] <= entry["chance"] <= entry["ci_high"], (name, entry)
    lines = (tmp_path / "run" / "samples.jsonl").read_text().splitlines()
    assert len(lines) == results["scores"]["overall"]["n"]
    # one progress bar for the run (the model's, over every question), and a line per stage
    drawn = [line for line in result.stderr.replace("\r", "\n").splitlines() if line.strip()]
    start = drawn.index("make eval: random on 1 task(s) of mini: answering")  # (the first run builds mini before)
    bars = {line.split(":")[0] for line in drawn[start:] if "|" in line}
    assert bars == {"RandomBaseline"}, drawn[start:][:20]
    assert f"{len(lines)}/{len(lines)}" in drawn[-2]
    assert drawn[-1].startswith(f"make eval: scoring {len(lines)} answers and writing ")


def test_the_bars_make_eval_turns_off_are_drawn_where_lmms_eval_drew_them():
    """runners.lmms_patches.one_progress_bar replaces these names; an lmms-eval that draws elsewhere fails here."""
    import inspect

    from lmms_eval import evaluator
    from lmms_eval.api import task

    building = inspect.getsource(task.Task.build_all_requests)
    assert "tqdm(" in building and "total=num_docs" in building and "desc=" not in building
    assert 'tqdm(total=total_docs, desc="Postprocessing"' in inspect.getsource(evaluator)
    assert task.tqdm is evaluator.tqdm  # the class both modules imported, restored after every run


def test_the_heap_is_frozen_while_lmms_eval_collects_garbage_and_unfrozen_after(small_set, tmp_path, monkeypatch):
    """runners.lmms_patches.frozen_heap: lmms-eval's full collections, which it exists for, happen inside the run
    with the imported heap frozen; an lmms-eval that stops collecting fails here, and so does a heap left frozen."""
    import gc

    from runners.evaluate import main

    frozen_at_collection = []
    collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *a: frozen_at_collection.append(gc.get_freeze_count()) or collect(*a))
    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    assert main(["--model", "random", "--data", str(small_set), "--out", str(tmp_path / "run")]) == 0
    assert len(frozen_at_collection) >= 2 and min(frozen_at_collection) > 100_000  # torch and lmms-eval's objects
    assert gc.get_freeze_count() == 0


@pytest.mark.slow
def test_most_frequent_and_a_blind_variant(small_set, tmp_path, run_make_eval):
    result = run_make_eval("--data", small_set, "--out", tmp_path / "mf", "--model", "most_frequent")
    assert result.returncode == 0, result.stderr[-3000:]
    for name, entry in read_results(tmp_path / "mf" / "results.json")["scores"]["by_type"].items():
        assert entry["ci_low"] <= entry["chance"] <= entry["ci_high"], (name, entry)
    blind = run_make_eval("--data", small_set, "--out", tmp_path / "blind", "--model", "random",
                          "--tasks", "finevidbench_novideo")  # fmt: skip
    assert blind.returncode == 0, blind.stderr[-3000:]
    assert read_results(tmp_path / "blind" / "results.json")["tasks"] == "finevidbench_novideo"


@pytest.mark.slow
def test_adversaries_run_as_lmms_eval_models_and_answer_as_the_core_does(small_set, tmp_path, run_make_eval):
    from finevidbench.adversaries import cross_fitted_answers
    from finevidbench.dataset import load_question_set

    expected = cross_fitted_answers(load_question_set(small_set), "text_only")
    for tasks in ("finevidbench", "finevidbench_novideo"):  # a blind variant reads the same text
        out = tmp_path / tasks
        result = run_make_eval("--data", small_set, "--out", out, "--model", "text_only", "--tasks", tasks)
        assert result.returncode == 0, result.stderr[-3000:]
        samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
        assert len(samples) == len(expected)
        assert all(s["response"] == expected[s["question_id"]] for s in samples)


@pytest.mark.slow(seconds=60)
@pytest.mark.parametrize("variant", taskdocs.BLIND_VARIANTS)
def test_blind_variants_sit_at_chance_for_the_text_adversary_on_mini(variant, tmp_path, run_make_eval):
    """No video, one frame or shuffled frames: what is left to read must not answer any type."""
    out = tmp_path / variant
    result = run_make_eval("--data", "mini", "--out", out, "--model", "text_only", "--tasks", f"finevidbench_{variant}")
    assert result.returncode == 0, result.stderr[-3000:]
    by_type = read_results(out / "results.json")["scores"]["by_type"]
    assert len(by_type) == 8
    for name, entry in by_type.items():
        assert entry["ci_low"] <= entry["chance"], (variant, name, entry)


def test_bad_model_name_and_argument_are_one_line_errors(small_set, tmp_path, run_make_eval):
    wrong = run_make_eval("--data", small_set, "--out", tmp_path / "x", "--model", "randon")
    assert wrong.returncode == 2 and "unknown model 'randon'" in wrong.stderr.splitlines()[-1]
    typo = run_make_eval("--data", small_set, "--out", tmp_path / "x", "--model", "random", "--model_args", "sed=1")
    assert typo.returncode == 2 and "unknown model argument(s) ['sed']" in typo.stderr.splitlines()[-1]
    missing = run_make_eval("--data", tmp_path / "nowhere", "--out", tmp_path / "x", "--model", "random")
    assert missing.returncode == 2 and "no such question-set folder" in missing.stderr


def _stored(path: Path) -> int:
    try:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow(seconds=25)
def test_killed_run_resumes_without_recomputing_and_matches_an_uninterrupted_run(small_set, tmp_path, run_make_eval):
    total = json.loads((small_set / "manifest.json").read_text())["n_questions"]
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "runners.evaluate", "--data", str(small_set), "--out", str(out),
               "--model", "random", "--model_args", "seconds_per_answer=0.05"]  # fmt: skip
    process = subprocess.Popen(command, env=offline_env(tmp_path, small_set), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 240
    while _stored(out / "answers.sqlite") < total // 3 and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = _stored(out / "answers.sqlite")
    assert total // 3 <= done < total, done
    assert not (out / "results.json").exists()

    resumed = run_make_eval("--data", small_set, "--out", out, "--model", "random")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"answers: {total - done} computed, {done} from the store" in resumed.stdout
    straight = run_make_eval("--data", small_set, "--out", tmp_path / "straight", "--model", "random")
    assert straight.returncode == 0
    assert (out / "samples.jsonl").read_text() == (tmp_path / "straight" / "samples.jsonl").read_text()
    scores = [read_results(p / "results.json")["scores"] for p in (out, tmp_path / "straight")]
    assert scores[0] == scores[1]


def test_groups_shrink_to_the_types_a_set_has():
    from finevidbench.protocol import QUESTION_TYPES
    from finevidbench.taskgen import runnable_tasks

    every = set(QUESTION_TYPES)
    assert runnable_tasks("finevidbench,finevidbench_novideo", every) == (["finevidbench", "finevidbench_novideo"], [])
    tasks, left_out = runnable_tasks("finevidbench_scene,finevidbench_speed", every - {"effect"})
    assert left_out == ["finevidbench_effect"] and "finevidbench_scene" not in tasks
    assert tasks == ["finevidbench_action", "finevidbench_speed"]
    assert runnable_tasks("finevidbench_scene", {"moment_count"}) == ([], ["finevidbench_action",
                          "finevidbench_effect", "finevidbench_speed"])  # fmt: skip


def test_make_eval_imports_evaluate_only_when_a_task_uses_it():
    """runners/imports.py defers lmms-eval's top-level `import evaluate`; this fails once lmms-eval stops making it."""
    import inspect

    from lmms_eval.api import registry

    assert "\nimport evaluate as hf_evaluate\n" in inspect.getsource(registry)  # upstream still imports it first
    probe = (
        "import sys, runners.imports as deferral; deferral.defer(); "
        "import runners.evaluate, lmms_eval.evaluator, lmms_eval.tasks, lmms_eval.models; "
        "print('transformers.pipelines' in sys.modules, type(sys.modules['evaluate']).__name__); "
        "from lmms_eval.api import registry; load = registry.hf_evaluate.load; "
        "print(load.__module__, type(sys.modules['evaluate']).__name__)"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert shown == ["False", "DeferredModule", "evaluate.loading", "module"]
