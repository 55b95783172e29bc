"""A run's charts and TensorBoard accuracies, from a comparison built by the real comparer."""

import numpy as np
import pytest
from PIL import Image
from test_demo import tensorboard_tags

from finevidbench.scoring.compare import compare
from finevidbench.scoring.score import SampleResult
from finevidbench.training import Recipe, RecipeError
from finevidbench.training.report import arms_chart, write_run_report
from finevidbench.training.trainer import read_losses


def _samples(correct_every: int) -> list[SampleResult]:
    rows = []
    for i in range(60):
        kind = ("speed", "scene") if i % 2 else ("moment_count", "fragment")
        rows.append(SampleResult(f"q{i}", f"v{i // 6}", kind[0], kind[1], 1.0, "x", "x", "x",
                                 float(i % correct_every == 0), None, 0.25, None))  # fmt: skip
    return rows


@pytest.fixture()
def comparison():
    return compare({"base": _samples(5), "control": _samples(3), "adapter": _samples(2)})


def test_the_report_draws_both_charts_and_logs_every_arm(tmp_path, comparison):
    losses = {"adapter": [{"step": 10, "loss": 2.0}, {"step": 20, "loss": 1.0}], "control": [{"step": 10, "loss": 2.1}]}
    written = write_run_report(tmp_path, comparison, losses)
    for name in ("loss_curve.png", "arms_chart.png"):
        image = Image.open(tmp_path / name)
        assert image.size[0] > 500 and np.asarray(image.convert("L")).std() > 10  # a drawing, not a blank
    assert {p.name for p in written} >= {"loss_curve.png", "arms_chart.png", "eval_base", "eval_adapter"}
    logged = tensorboard_tags(tmp_path)
    assert logged[tmp_path / "tensorboard" / "eval_adapter"] >= {"accuracy/speed", "accuracy/overall"}


def test_a_missing_arm_is_left_out_and_nothing_to_draw_is_an_error(tmp_path):
    partial = compare({"base": _samples(5), "control": None, "adapter": _samples(2)})
    assert arms_chart(partial, tmp_path / "chart.png").is_file()
    with pytest.raises(ValueError, match="no loss"):
        write_run_report(tmp_path, partial, {"adapter": []})


def test_losses_of_consecutive_iterations_continue_their_steps(tmp_path):
    for k, steps in ((1, (10, 20)), (2, (10,))):
        (tmp_path / f"iter_{k}").mkdir()
        (tmp_path / f"iter_{k}" / "loss.jsonl").write_text("".join(f'{{"step": {s}, "loss": 1.0}}\n' for s in steps))
    assert [r["step"] for r in read_losses([tmp_path / "iter_1", tmp_path / "iter_2"])] == [10, 20, 30]


def test_report_to_is_checked_and_auto_means_tensorboard_when_installed():
    recipe = Recipe(model="fvb_qwen2_5_vl")
    assert recipe.report_to == "auto" and recipe.reporter() == "tensorboard"
    assert "report_to" not in recipe.training_dict()  # where a run logs does not change what it trains
    with pytest.raises(RecipeError, match="report_to"):
        Recipe(model="fvb_qwen2_5_vl", report_to="tensorbord")
