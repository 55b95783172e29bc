"""The self-alignment loop end to end on a tiny model: pairs, DPO, iterations, control, reload, resume."""

import json

import pytest
import yaml

from finevidbench.dataset import load_question_set
from finevidbench.savi import read_pairs
from finevidbench.scoring.compare import read_comparison
from finevidbench.specs import ModelSpec
from finevidbench.training import RunRecord
from finevidbench.training.examples import WHOLE_CLIP, request
from model_adapters.testing.tiny import build_tiny
from model_adapters.training import load_for_training
from runners import savi

RECIPE = {
    "model": "fvb_qwen2_5_vl",
    "tuner": "lora",
    "lora_r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.0,
    "lora_target": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "learning_rate": 5e-3,
    "epochs": 2,
    "batch_size": 4,
    "grad_accum": 1,
    "warmup_ratio": 0.0,
    "logging_steps": 1,
    "save_steps": 4,
    "frames": "num_frames=4,mode=segment",
    "extra": {
        "iterations": 2,
        "pairs": "mixed",
        "questions_per_kind": 1,
        "videos_per_iteration": 2,
        "verifier_items": 16,
        "max_new_tokens": 8,
        "beta": 0.1,
    },
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny("qwen2_5_vl", tmp_path_factory.mktemp("tiny-savi"))


def _main(tmp_path, tiny, corpus, *extra: str) -> int:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    return savi.main([
        "--model", "fvb_qwen2_5_vl", "--model_args", f"pretrained={tiny}", "--recipe", str(recipe),
        "--videos", str(corpus / "videos"), "--labels", str(corpus / "labels.csv"), "--out", str(tmp_path / "run"),
        "--tasks", "finevidbench_fragment", "--limit", "3", *extra,
    ])  # fmt: skip


@pytest.mark.slow(seconds=45)
def test_loop_runs_end_to_end_and_resumes(tmp_path, tiny, train_corpus, capsys):
    assert _main(tmp_path, tiny, train_corpus) == 0
    run = tmp_path / "run"
    first, second = read_pairs(run / "iter_1" / "pairs.jsonl"), read_pairs(run / "iter_2" / "pairs.jsonl")
    assert {p.source for p in first} == {"savi", "verifier"} and second
    for pair in first + second:
        assert pair.chosen.strip() and pair.chosen != pair.rejected
        if pair.source == "savi":
            assert pair.meta["kind"] in ("spatial", "temporal") and pair.meta["question"] and "critique" in pair.meta
            assert pair.question.level == "scene" and pair.question.type == WHOLE_CLIP
            assert pair.prompt.startswith(pair.meta["question"])
    records = [RunRecord.read(run / f"iter_{i}" / "train") for i in (1, 2)]
    for record in records:
        assert record.kind == "savi" and record.steps > 0
        assert record.losses[-1]["loss"] < record.losses[0]["loss"]  # the DPO loss falls
    # iteration 2 starts from iteration 1's adapter
    inputs = json.loads((run / "iter_2" / "train" / "run_inputs.json").read_text())
    assert inputs["init_adapter"] == records[0].output
    assert records[1].data["iteration"] == 2
    # the control replays each iteration's own pairs (same count, same recipe) from the last control
    controls = [RunRecord.read(run / f"iter_{i}" / "control") for i in (1, 2)]
    for record, control in zip(records, controls, strict=True):
        assert control.kind == "savi_control" and control.steps == record.steps
        assert control.data["control_of"] == record.data["dataset_hash"] != control.data["dataset_hash"]
        assert control.data["n_pairs"] == record.data["n_pairs"]
    inputs = json.loads((run / "iter_2" / "control" / "run_inputs.json").read_text())
    assert inputs["init_adapter"] == controls[0].output
    comparison = read_comparison(run / "comparison.json")
    assert comparison["run"]["adapter"] == records[1].output
    assert comparison["run"]["control_adapter"] == controls[1].output
    assert comparison["arms"] == ["base", "control", "adapter"] and comparison["missing"] == []
    assert isinstance(comparison["helpful"], list)
    for row in [comparison["overall"], *comparison["by_level"].values(), *comparison["by_type"].values()]:
        assert set(row["arms"]) == {"base", "control", "adapter"}
        for cell in row["arms"].values():
            assert cell["ci_low"] <= cell["accuracy"] <= cell["ci_high"]
        for diff in row["diffs"].values():
            assert diff["ci_low"] <= diff["diff"] <= diff["ci_high"]
    for name in ("eval_base", "eval_control", "eval_savi"):
        assert (run / name / "results.json").is_file()
    results = json.loads((run / "eval_control" / "results.json").read_text())
    assert results["model"]["adapter"]["training"]["kind"] == "savi_control"
    out = capsys.readouterr().out
    assert "Self-alignment (mixed pairs, 2 iterations)" in out and "adapter-control" in out

    # the adapter reloads through adapter= and changes the model's answers
    from model_adapters.families.qwen import Qwen2_5VL

    base = Qwen2_5VL(pretrained=str(tiny), num_frames=4, max_new_tokens=6)
    tuned = Qwen2_5VL(pretrained=str(tiny), num_frames=4, max_new_tokens=6, adapter=records[1].output)
    assert tuned.adapter_info["training"]["kind"] == "savi"
    requests = [request(p.question, p.prompt, base.frame_policy) for p in second[:4]]
    assert base.answer_batch(requests) != tuned.answer_batch(requests)

    # the same command again: finished iterations are reused, no answer is recomputed
    assert _main(tmp_path, tiny, train_corpus) == 0
    out = capsys.readouterr().out
    assert "iteration 1: done before" in out and "iteration 2: done before" in out
    assert "control 1: done before" in out and "control 2: done before" in out
    assert out.count("answers: 0 computed") == 3


def test_preference_batches_put_chosen_rows_first(tmp_path, tiny, training_set):
    from finevidbench.savi import verifier_pairs

    questions = training_set.questions[:3]
    pairs = verifier_pairs(questions, training_set, {q.id: "xx" for q in questions})
    hook = load_for_training(ModelSpec.parse("fvb_qwen2_5_vl", f"pretrained={tiny}"))
    batch = hook.collate_preference([p.example() for p in pairs])
    tokenizer = hook.processor.tokenizer
    rows = batch["input_ids"].shape[0]
    assert rows == 2 * len(pairs)
    for row in range(rows):
        completion = tokenizer.decode(batch["input_ids"][row][batch["completion_mask"][row].bool()])
        expected = pairs[row].chosen if row < len(pairs) else "xx"
        assert completion.strip().startswith(expected)
    assert bool((batch["completion_mask"].sum(1) > 0).all())  # every row, chosen and rejected, carries its answer


def test_benchmark_videos_are_refused(tmp_path, tiny, train_corpus, mini, capsys):
    import shutil

    videos = tmp_path / "videos"
    shutil.copytree(train_corpus / "videos", videos)
    shutil.copy(mini.video_path(mini.questions[0]), videos / "leaked.mp4")
    code = savi.main(["--model", "fvb_qwen2_5_vl", "--model_args", f"pretrained={tiny}", "--videos", str(videos),
                      "--out", str(tmp_path / "run")])  # fmt: skip
    assert code == 2
    assert "leaked.mp4" in capsys.readouterr().err
    assert not (tmp_path / "run" / "iter_1").exists()


def test_unknown_self_alignment_setting_is_refused(tmp_path, tiny, train_corpus, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({**RECIPE, "extra": {"betta": 0.2}}))
    code = savi.main(["--model", "fvb_qwen2_5_vl", "--model_args", f"pretrained={tiny}", "--recipe", str(recipe),
                      "--videos", str(train_corpus / "videos"), "--out", str(tmp_path / "run")])  # fmt: skip
    assert code == 2
    assert "unknown self-alignment key(s) ['betta']" in capsys.readouterr().err


@pytest.mark.slow(seconds=90)
def test_the_demo_positive_control_detects_answers_planted_in_the_pixels(tmp_path, capsys):
    out = tmp_path / "demo"
    assert savi.main(["--positive-only", "--out", str(out)]) == 0  # the demonstration's recipe and model
    printed = capsys.readouterr().out
    assert "Positive control" in printed and "DETECTED" in printed
    planted = read_comparison(out / "positive" / "comparison.json")
    diff = planted["overall"]["diffs"]["adapter-control"]
    assert diff["ci_low"] > 0 and planted["overall"]["n"] >= 64
    items = len(load_question_set(out / "positive" / "data" / "train").questions)
    for arm, kind in (("train", "savi_planted"), ("control", "savi_planted_control")):
        record = RunRecord.read(out / "positive" / arm)
        # one pair per planted item: (its planted answer, the other one)
        assert record.kind == kind and record.steps > 0 and record.data["n_pairs"] == items
    # only the positive control ran: no self-alignment iteration, no real comparison
    assert not (out / "iter_1").exists() and not (out / "comparison.json").exists()
