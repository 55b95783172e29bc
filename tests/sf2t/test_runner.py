"""`make sf2t` as a command: one clear line (exit 2) for bad input; 2 processes train data-parallel."""

import json
import shutil

import pytest

from finevidbench.scoring.compare import read_comparison
from model_adapters.recipes import FOLDER as RECIPES
from runners import sf2t


def demo_recipe_args(model: str, train_corpus, out) -> list[str]:
    """`make sf2t`'s arguments: `model` with the tiny demonstration's recipe, on the training corpus."""
    recipe = str(RECIPES / "sf2t_demo_tiny.yaml")
    return ["--model", model, "--recipe", recipe, "--videos", str(train_corpus / "videos"), "--out", str(out)]


def test_unknown_model_is_refused(tmp_path, capsys, train_corpus):
    code = sf2t.main(demo_recipe_args("fvb_nope", train_corpus, tmp_path))
    assert code == 2
    assert "MODEL=fvb_nope: not one of our Video-LLM adapters" in capsys.readouterr().err


def test_a_recipe_for_another_model_is_refused(tmp_path, capsys, train_corpus):
    code = sf2t.main(demo_recipe_args("fvb_hf", train_corpus, tmp_path))
    assert code == 2
    assert "the recipe is for fvb_qwen2_5_vl, not fvb_hf" in capsys.readouterr().err


def test_benchmark_videos_are_refused(tmp_path, capsys, train_corpus, mini):
    videos = tmp_path / "videos"
    shutil.copytree(train_corpus / "videos", videos)
    shutil.copy(mini.video_path(mini.questions[0]), videos / "copy.mp4")
    code = sf2t.main(
        ["--videos", str(videos), "--labels", str(train_corpus / "labels.csv"), "--out", str(tmp_path / "run")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "copy.mp4" in err and "--allow-contaminated" in err
    assert not (tmp_path / "run" / "train").exists()


def test_missing_video_folder(tmp_path, capsys):
    code = sf2t.main(["--videos", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")])
    assert code == 2
    assert "nowhere: not a folder of videos" in capsys.readouterr().err


def test_corrupt_training_video_is_named(tmp_path, capsys, train_corpus):
    videos = tmp_path / "videos"
    shutil.copytree(train_corpus / "videos", videos)
    (videos / "broken.mp4").write_bytes(b"this is a text file, not a video\n" * 20)
    code = sf2t.main(["--videos", str(videos), "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("make sf2t:") and "broken.mp4" in last and "fix:" in last
    assert "Traceback" not in err
    assert not (tmp_path / "run" / "train").exists()


@pytest.mark.slow(seconds=30)
def test_two_processes_train_data_parallel(tmp_path, train_corpus):
    """torchrun with 2 CPU processes (gloo): one builds the data, both train one model on halves of each batch."""
    import os
    import subprocess
    import sys

    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29561",
        "-m",
        "runners.sf2t",
        "--train-only",
        "--videos",
        str(train_corpus / "videos"),
        "--out",
        str(out),
        "--set",
        "max_steps=4,save_steps=2,logging_steps=1,control=false",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("trained: 4 steps") == 2  # both ranks finished the same 4 steps
    record = json.loads((out / "train" / "finevidbench_run.json").read_text())
    n_items = json.loads((out / "data" / "manifest.json").read_text())["n_questions"]
    single_process_epochs = 4 * 8 / n_items  # the demo recipe's batch of 8 on one process
    assert record["epochs"] == pytest.approx(2 * single_process_epochs, rel=0.2)
    assert (out / "train" / "adapter" / "adapter_config.json").is_file()


@pytest.mark.slow(seconds=60)
def test_control_can_be_skipped_and_added_later_and_other_benchmarks_compared(tmp_path, train_corpus, capsys):
    """control=false: no control arm and no verdict; control=true later trains only the control.

    The second run also asks EXTRA_TASKS: every arm answers two other benchmarks' tasks (their answers
    added to the stored FineVidBench ones), compared beside FineVidBench.
    """
    from conftest import write_indexed_clip

    from model_adapters.testing.foreign_tasks import write_foreign_tasks

    clips = [write_indexed_clip(tmp_path / f"clip{i}.mp4", frames=24, fps=8.0) for i in range(2)]
    other = [
        "--extra_tasks",
        "local_mvbench,local_imageqa",
        "--include_path",
        str(write_foreign_tasks(tmp_path / "tasks", clips)),
    ]
    out = tmp_path / "run"

    def run(control: str, extra: tuple[str, ...] = ()) -> dict:
        steps = f"max_steps=3,save_steps=3,logging_steps=1,control={control},positive_control=false"
        argv = [
            "--videos",
            str(train_corpus / "videos"),
            "--labels",
            str(train_corpus / "labels.csv"),
            "--out",
            str(out),
            "--set",
            steps,
            "--tasks",
            "finevidbench_fragment",
            "--limit",
            "2",
            *extra,
        ]
        assert sf2t.main(argv) == 0
        return read_comparison(out / "comparison.json")

    without = run("false")
    assert not (out / "control").exists() and not (out / "eval_control").exists()
    assert without["missing"] == ["control"] and without["helpful"] is None
    assert without["overall"]["arms"]["control"] is None and without["overall"]["diffs"]["adapter-control"] is None
    assert without["overall"]["diffs"]["adapter-base"] is not None
    printed = capsys.readouterr().out
    assert "control: missing, so no verdict" in printed and "helpful" not in printed
    trained = (out / "train" / "finevidbench_run.json").read_text()

    assert "other_tasks" not in without
    with_control = run("true", tuple(other))
    assert (out / "train" / "finevidbench_run.json").read_text() == trained  # the adapter is reused, not retrained
    control = json.loads((out / "control" / "finevidbench_run.json").read_text())
    assert control["kind"] == "sf2t_control" and control["steps"] == 3
    assert with_control["missing"] == [] and isinstance(with_control["helpful"], list)
    assert with_control["overall"]["arms"]["control"]["accuracy"] is not None
    printed = capsys.readouterr().out
    assert "trained the control: 3 steps" in printed
    assert "other tasks (lmms-eval figures)" in printed and "local_imageqa" in printed
    assert set(with_control["other_tasks"]) == {"local_mvbench", "local_imageqa"}
    for row in with_control["other_tasks"].values():
        assert row["metric"] == "accuracy" and row["n"] == 2  # --limit 2 holds for the other tasks too
        assert all(row["arms"][arm]["figure"] == "accuracy,none" for arm in ("base", "control", "adapter"))
        assert row["diffs"]["adapter-control"] is not None and row["diffs"]["adapter-base"] is not None
    assert with_control["by_level"].keys() == {"fragment"}  # FineVidBench's rows unchanged beside them
