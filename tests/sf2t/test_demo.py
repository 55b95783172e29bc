"""The `make sf2t` CPU demonstration, end to end: the positive control, SF2T data, adapter and control training,
three evaluations; and the same demonstration with the frames withheld from training, which must stop.

It asserts what the demonstration must show whatever the tiny model learns: a detected positive
control first, three arms with their intervals, both trained arms learning the answer format, and a
verdict that follows the adapter - control intervals. It asserts no gain on the real comparison: a
gain there is a finding, not a property of the code. The planted effect is asserted, because it is
the property of the code the positive control exists to show.
"""

import json

import pytest
import torch

from finevidbench.scoring.compare import read_comparison
from runners import sf2t

ARMS = ["base", "control", "adapter"]
DEMO = ["--tasks", "finevidbench_fragment", "--limit", "30"]
"""The demonstration's training, recipe and positive control whole; each arm evaluated on 30 items of each
fragment type (150 of mini's 621), which keeps every assertion below meaningful at a quarter of the
evaluation time (the suite's longest test, on 2 shared cores)."""


def tensorboard_tags(root):
    """Scalar tags per TensorBoard run folder under `root`, read with TensorBoard's own reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = {}
    for events in root.rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events.parent))
        accumulator.Reload()
        tags.setdefault(events.parent, set()).update(accumulator.Tags()["scalars"])
    return tags


@pytest.mark.slow(seconds=380)
def test_demo_compares_base_control_and_adapter(tmp_path, capsys):
    out = tmp_path / "demo"
    assert sf2t.main(["--out", str(out), *DEMO]) == 0
    comparison = read_comparison(out / "comparison.json")
    assert comparison["arms"] == ARMS and comparison["missing"] == []
    assert comparison["contrasts"] == ["adapter-control", "adapter-base"]
    assert comparison["verdict"] == "adapter-control"
    rows = [comparison["overall"], *comparison["by_level"].values(), *comparison["by_type"].values()]
    assert "fragment" in comparison["by_level"] and len(comparison["by_type"]) >= 4
    for row in rows:
        assert list(row["arms"]) == ARMS and row["n"] > 0
        for cell in row["arms"].values():
            assert cell["ci_low"] <= cell["accuracy"] <= cell["ci_high"]
        for diff in row["diffs"].values():
            assert diff["ci_low"] <= diff["diff"] <= diff["ci_high"]
            assert diff["significant"] == (diff["ci_low"] > 0 or diff["ci_high"] < 0)
    # both trained arms learnt the answer format: their parse failures fall against the base
    fragment = comparison["by_level"]["fragment"]["arms"]
    assert fragment["base"]["parse_fail"] > 0.5
    for arm in ("control", "adapter"):
        assert fragment[arm]["parse_fail"] < fragment["base"]["parse_fail"] / 2, (arm, fragment)
    # the verdict is exactly the types whose adapter - control interval lies above zero
    by_type = comparison["by_type"]
    assert comparison["helpful"] == sorted(t for t, r in by_type.items() if r["diffs"]["adapter-control"]["ci_low"] > 0)

    records = {arm: json.loads((out / arm / "finevidbench_run.json").read_text()) for arm in ("train", "control")}
    assert (records["train"]["kind"], records["control"]["kind"]) == ("sf2t", "sf2t_control")
    assert records["train"]["steps"] == records["control"]["steps"] > 0  # same items, same recipe
    assert records["control"]["data"]["control_of"] == records["train"]["data"]["dataset_hash"]
    for record in records.values():
        assert record["contaminated"] is False
        assert record["losses"][-1]["loss"] < record["losses"][0]["loss"]
    for folder, kind in (("eval_control", "sf2t_control"), ("eval_sf2t", "sf2t")):
        results = json.loads((out / folder / "results.json").read_text())
        assert results["model"]["adapter"]["training"]["kind"] == kind
    printed = capsys.readouterr().out
    assert "adapter-control" in printed and "helpful" in printed
    # the positive control came first: answers planted in brightness, detected, and printed before the real table
    positive = comparison["positive_control"]
    assert positive["detected"] is True and positive["diff"]["ci_low"] > 0 and positive["type"] == "frame_comparison"
    assert printed.index("Positive control") < printed.index("SF2T on mini") and "DETECTED" in printed
    planted = read_comparison(out / "positive" / "comparison.json")
    assert planted["arms"] == ["control", "adapter"] and planted["verdict"] == "adapter-control"
    assert planted["overall"]["n"] == positive["n"] >= 64
    for arm, kind in (("train", "sf2t_planted"), ("control", "sf2t_planted_control")):
        record = json.loads((out / "positive" / arm / "finevidbench_run.json").read_text())
        assert record["kind"] == kind and record["data"]["planted"]["code"] == {"yes": "bright", "no": "dark"}
    # what a reader looks at: charts, and TensorBoard logs of training and of every arm's accuracy
    for chart in ("loss_curve.png", "arms_chart.png"):
        assert str(out / chart) in printed and (out / chart).stat().st_size > 10_000
    assert f"tensorboard --logdir {out}" in printed
    logged = tensorboard_tags(out)
    for arm in ("train", "control"):
        assert {"train/loss", "train/learning_rate"} <= logged[out / arm / "tensorboard"], logged
    for arm in ARMS:
        assert "accuracy/moment_count" in logged[out / "tensorboard" / f"eval_{arm}"]
    # running it again resumes: no training step and no answer is recomputed
    assert sf2t.main(["--out", str(out), *DEMO]) == 0
    printed = capsys.readouterr().out
    assert printed.count("answers: 0 computed") == 5 and "trained" in printed  # the positive control's two too


@pytest.mark.slow(seconds=90)
def test_frames_withheld_from_training_leave_the_positive_control_undetected(tmp_path, capsys, monkeypatch):
    from model_adapters.training import TrainingHook

    collate = TrainingHook.collate

    def without_frames(self, examples):  # the deliberate break: every visual input of training blanked
        batch = collate(self, examples)
        shown = [key for key in ("pixel_values", "pixel_values_videos") if key in batch]
        assert shown, "the collator no longer returns the visual inputs this break blanks"
        return {**batch, **{key: torch.zeros_like(batch[key]) for key in shown}}

    monkeypatch.setattr(TrainingHook, "collate", without_frames)
    out = tmp_path / "demo"
    assert sf2t.main(["--out", str(out), *DEMO]) == 1
    err = capsys.readouterr().err
    assert "NOT DETECTED" in err and "the frames reach training" in err and "real comparison was not run" in err
    planted = read_comparison(out / "positive" / "comparison.json")
    assert planted["overall"]["diffs"]["adapter-control"]["ci_low"] <= 0
    assert not (out / "train").exists() and not (out / "comparison.json").exists()
