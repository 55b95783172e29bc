"""The multi-arm comparison (base, control, adapter): paired differences against a hand computation."""

from statistics import NormalDist

import pytest

from finevidbench.scoring.compare import compare, format_comparison
from finevidbench.scoring.score import SampleResult
from finevidbench.scoring.stats import clustered_interval

Z = NormalDist().inv_cdf(0.975)

# question: (video, type, level, base, control, adapter); 1 = correct
TABLE = {
    "q1": ("v1", "adjust_or_not", "fragment", 0, 1, 1),
    "q2": ("v1", "frame_comparison", "fragment", 0, 0, 1),
    "q3": ("v2", "adjust_or_not", "fragment", 0, 1, 0),
    "q4": ("v2", "frame_comparison", "fragment", 1, 0, 1),
    "q5": ("v3", "adjust_or_not", "fragment", 0, 0, 1),
    "q6": ("v3", "frame_comparison", "fragment", 0, 1, 1),
    "q7": ("v4", "speed", "scene", 1, 1, 1),
}
ARM_COLUMN = {"base": 3, "control": 4, "adapter": 5}


def _samples(arm: str, drop: tuple[str, ...] = (), chance: float = 0.5) -> list[SampleResult]:
    samples = []
    for qid, row in TABLE.items():
        if qid in drop:
            continue
        video, qtype, level, correct = row[0], row[1], row[2], float(row[ARM_COLUMN[arm]])
        # the base fails the answer format on every question it gets wrong; trained arms never do
        parsed = None if arm == "base" and not correct else "yes"
        samples.append(
            SampleResult(
                question_id=qid,
                video=video,
                type=qtype,
                level=level,
                speed=1.0,
                response="r",
                parsed=parsed,
                answer="yes",
                correct=correct,
                partial_credit=None,
                chance=chance,
                frames=None,
            )
        )
    return samples


def _arms(chance: float = 0.5, **changes) -> dict:
    return {**{name: _samples(name, chance=chance) for name in ("base", "control", "adapter")}, **changes}


def test_adapter_minus_control_equals_a_hand_computation():
    comparison = compare(_arms())
    fragment = comparison["by_level"]["fragment"]["diffs"]["adapter-control"]
    # fragment level, adapter - control per question: q1..q6 = 0, 1, -1, 1, 1, 0; mean 1/3
    # residuals summed per video: v1 (-1/3 + 2/3) = 1/3, v2 (-4/3 + 2/3) = -2/3, v3 (2/3 - 1/3) = 1/3
    # clustered variance G/(G-1) * sum of squares / n^2 = 3/2 * (1/9 + 4/9 + 1/9) / 36 = 1/36
    assert fragment["diff"] == pytest.approx(1 / 3)
    assert fragment["ci_low"] == pytest.approx(1 / 3 - Z / 6)
    assert fragment["ci_high"] == pytest.approx(1 / 3 + Z / 6)
    assert fragment["significant"] is True  # 1/3 - 1.96/6 = +0.007
    # frame_comparison: 1, 1, 0 over three videos, mean 2/3, variance 3/2 * (1/9 + 1/9 + 4/9) / 9 = 1/9
    row = comparison["by_type"]["frame_comparison"]["diffs"]["adapter-control"]
    assert (row["diff"], row["ci_low"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3 - Z / 3))
    # adjust_or_not: 0, -1, 1: mean 0, not significant
    row = comparison["by_type"]["adjust_or_not"]["diffs"]["adapter-control"]
    assert row["diff"] == pytest.approx(0.0) and row["significant"] is False
    # adapter - base on the fragment level: 1, 1, 0, 0, 1, 1 = mean 2/3
    assert comparison["by_level"]["fragment"]["diffs"]["adapter-base"]["diff"] == pytest.approx(2 / 3)
    assert comparison["helpful"] == ["frame_comparison"]


def test_every_arm_has_its_clustered_accuracy_and_parse_failures():
    comparison = compare(_arms())
    assert comparison["arms"] == ["base", "control", "adapter"] and comparison["missing"] == []
    assert comparison["contrasts"] == ["adapter-control", "adapter-base"]
    overall = comparison["overall"]
    assert (overall["n"], overall["n_videos"]) == (7, 4)
    videos = [row[0] for row in TABLE.values()]
    for arm, column in ARM_COLUMN.items():
        scores = [row[column] for row in TABLE.values()]
        expected = clustered_interval(scores, videos)
        cell = overall["arms"][arm]
        assert cell["accuracy"] == pytest.approx(sum(scores) / 7)
        assert (cell["ci_low"], cell["ci_high"]) == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert overall["arms"]["base"]["parse_fail"] == pytest.approx(5 / 7)
    assert overall["arms"]["adapter"]["parse_fail"] == overall["arms"]["control"]["parse_fail"] == 0.0


def test_only_questions_every_arm_answered_are_paired():
    comparison = compare(_arms(control=_samples("control", drop=("q6",))))
    fragment = comparison["by_level"]["fragment"]
    assert fragment["n"] == 5
    # without q6 the adapter's fragment accuracy is 4/5, not 5/6
    assert fragment["arms"]["adapter"]["accuracy"] == pytest.approx(4 / 5)
    assert fragment["diffs"]["adapter-control"]["diff"] == pytest.approx((0 + 1 - 1 + 1 + 1) / 5)


def test_a_missing_control_gives_no_verdict():
    comparison = compare(_arms(control=None))
    assert comparison["missing"] == ["control"] and comparison["helpful"] is None
    row = comparison["by_type"]["frame_comparison"]
    assert row["arms"]["control"] is None and row["diffs"]["adapter-control"] is None
    assert row["diffs"]["adapter-base"]["diff"] == pytest.approx(2 / 3)
    table = format_comparison(comparison)
    assert "control: missing, so no verdict" in table
    assert "helpful" not in table


def test_the_table_shows_every_arm_and_the_verdict():
    table = format_comparison(compare(_arms()))
    header, *_ = table.splitlines()
    for name in ("base", "control", "adapter", "adapter-control", "adapter-base"):
        assert name in header
    line = next(line for line in table.splitlines() if line.strip().startswith("frame_comparison"))
    assert f"+0.667 [{2 / 3 - Z / 3:+.3f}, {2 / 3 + Z / 3:+.3f}] *" in line
    # 3 of 3 right: the adapter's interval [0.439, 1] does not clear a chance of 0.5, and the verdict says so
    assert table.splitlines()[-1] == (
        "helpful (adapter-control above zero) for: frame_comparison (adapter not above chance)"
    )
    table = format_comparison(compare(_arms(chance=0.2)))
    assert table.splitlines()[-1] == "helpful (adapter-control above zero) for: frame_comparison"


def test_arms_sharing_no_question_are_refused():
    with pytest.raises(ValueError, match="share no question"):
        compare(
            {"base": _samples("base", drop=("q1",)), "adapter": _samples("adapter", drop=tuple(TABLE)[1:])},
            contrasts=[("adapter", "base")],
        )


def test_other_tasks_are_compared_by_lmms_eval_figure_and_paired_over_their_documents():
    from finevidbench.scoring.compare import compare_other_tasks, format_other_tasks
    from finevidbench.scoring.stats import paired_difference

    base = [0, 0, 1, 0, 1, 0, 0, 1]
    adapter = [1, 1, 1, 0, 1, 1, 1, 1]  # right on 4 more documents, wrong on none base had right

    def arm(scores):
        figures = {
            "other_mc": {
                "metrics": {"accuracy,none": sum(scores) / len(scores)},
                "stderr": {"accuracy,none": 0.1},
                "n": len(scores),
                "source": "lmms-eval",
            }
        }
        samples = [
            {"task": "other_mc", "doc_id": i, "response": "A", "scores": {"accuracy": float(s)}}
            for i, s in enumerate(scores)
        ]
        return figures, samples

    (fb, sb), (fa, sa) = arm(base), arm(adapter)
    other = compare_other_tasks(
        {"base": fb, "control": None, "adapter": fa}, {"base": sb, "control": None, "adapter": sa}
    )
    row = other["other_mc"]
    assert row["metric"] == "accuracy" and row["n"] == 8
    assert row["arms"]["base"] == {"value": 0.375, "stderr": 0.1, "figure": "accuracy,none"}
    assert row["arms"]["control"] is None and row["diffs"]["adapter-control"] is None
    expected = paired_difference(adapter, base, list(range(8)))
    assert row["diffs"]["adapter-base"]["diff"] == pytest.approx(expected.mean) == pytest.approx(4 / 8)
    assert row["diffs"]["adapter-base"]["ci_low"] == pytest.approx(expected.low)
    text = format_other_tasks(other, ["base", "control", "adapter"], ["adapter-control", "adapter-base"])
    assert "other_mc" in text and "0.375 ± 0.100" in text and "missing" in text and "+0.500" in text
    # a document one arm did not answer is left out of the pairing, not counted as wrong
    partial = compare_other_tasks({"base": fb, "adapter": fa}, {"base": sb[:-1], "adapter": sa})
    assert partial["other_mc"]["n"] == 7
