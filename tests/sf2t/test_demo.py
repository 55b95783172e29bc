"""The `make sf2t` CPU demonstration, end to end: SF2T data, LoRA training, evaluation before and after."""

import json

import pytest

from model_adapters import sf2t


@pytest.mark.slow(seconds=150)
def test_demo_gains_on_the_fragment_level(tmp_path, capsys):
    out = tmp_path / "demo"
    assert sf2t.main(["--out", str(out), "--tasks", "finevidbench_fragment"]) == 0
    comparison = json.loads((out / "comparison.json").read_text())
    fragment = comparison["by_level"]["fragment"]
    assert fragment["after"] > fragment["before"] and fragment["ci_low"] > 0
    gains = {name: row for name, row in comparison["by_type"].items() if row["ci_low"] > 0}
    assert gains, comparison["by_type"]
    # counting is learnt, not just the answer format: its accuracy after training sits above chance
    counting = json.loads((out / "eval_sf2t" / "results.json").read_text())["scores"]["by_type"]["frame_count"]
    assert counting["ci_low"] > counting["chance"]
    record = json.loads((out / "train" / "finevidbench_run.json").read_text())
    assert record["contaminated"] is False and record["steps"] > 0
    assert record["losses"][-1]["loss"] < record["losses"][0]["loss"]
    assert "the interval excludes zero" in capsys.readouterr().out
    # running it again resumes: no training step and no answer is recomputed
    assert sf2t.main(["--out", str(out), "--tasks", "finevidbench_fragment"]) == 0
    assert "0 computed" in capsys.readouterr().out
