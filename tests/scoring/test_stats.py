"""Clustered Wilson intervals and Kendall-tau partial credit, checked against hand-computed numbers."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

from finevidbench.scoring.stats import (
    Interval,
    chance_interval_contains,
    clustered_interval,
    kendall_partial_credit,
    kendall_tau,
)

Z95 = 1.959963984540054  # standard normal 0.975 quantile, written out so the reference is independent
Z99 = 2.5758293035489004


def wilson_reference(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Textbook Wilson interval, written independently of the module under test."""
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return max(0.0, centre - half), min(1.0, centre + half)


# --- known values ---------------------------------------------------------------------------------


def test_own_clusters_is_plain_wilson_with_n():
    iv = clustered_interval([1, 0, 1, 1], ["a", "b", "c", "d"])
    assert iv.mean == 0.75
    assert iv.n == 4
    assert iv.n_clusters == 4
    assert iv.design_effect == pytest.approx(1.0, abs=1e-12)
    low, high = wilson_reference(0.75, 4)
    assert (iv.low, iv.high) == pytest.approx((low, high), abs=1e-12)
    # Pin the numbers too, so a wrong z or formula in both places would still be caught.
    assert (iv.low, iv.high) == pytest.approx((0.3006418, 0.9544127), abs=1e-6)


def test_clustered_known_design_effect():
    # p = 0.5; residuals +-0.5; cluster sums a: 1, b: -1, c: 0.
    # V_cl = 3/2 * (1 + 1 + 0) / 36 = 1/12; V_iid = (6 * 0.25) / (6 * 5) = 0.05; deff = 5/3.
    iv = clustered_interval([1, 1, 0, 0, 1, 0], ["a", "a", "b", "b", "c", "c"])
    assert iv.mean == 0.5
    assert iv.n_clusters == 3
    assert iv.design_effect == pytest.approx(5 / 3, rel=1e-12)
    low, high = wilson_reference(0.5, 6 / (5 / 3))
    assert (iv.low, iv.high) == pytest.approx((low, high), abs=1e-12)


def test_fractional_scores_use_sample_variance():
    scores = [0.5, 0.75, 0.25, 1.0, 0.0, 0.5]
    clusters = [1, 1, 2, 2, 3, 3]
    p = sum(scores) / 6  # 0.5
    res = [s - p for s in scores]
    sums = [res[0] + res[1], res[2] + res[3], res[4] + res[5]]  # 0.25, 0.25, -0.5
    v_cl = 3 / 2 * sum(x * x for x in sums) / 36
    v_iid = sum(r * r for r in res) / (6 * 5)
    assert v_cl / v_iid < 1  # within-cluster scores disagree here, so the floor must kick in
    iv = clustered_interval(scores, clusters)
    assert iv.mean == pytest.approx(0.5)
    assert iv.design_effect == 1.0
    assert (iv.low, iv.high) == pytest.approx(wilson_reference(0.5, 6), abs=1e-12)

    scores = [0.5, 0.75, 0.25, 0.0, 1.0, 0.5]
    p = sum(scores) / 6
    res = [s - p for s in scores]
    sums = [res[0] + res[1], res[2] + res[3], res[4] + res[5]]
    deff = (3 / 2 * sum(x * x for x in sums) / 36) / (sum(r * r for r in res) / 30)
    assert deff > 1
    iv = clustered_interval(scores, clusters)
    assert iv.design_effect == pytest.approx(deff, rel=1e-12)
    assert (iv.low, iv.high) == pytest.approx(wilson_reference(p, 6 / deff), abs=1e-12)


def test_confidence_level_changes_z():
    iv95 = clustered_interval([1, 0, 1, 1, 0, 1, 1, 1], range(8))
    iv99 = clustered_interval([1, 0, 1, 1, 0, 1, 1, 1], range(8), confidence=0.99)
    assert (iv99.low, iv99.high) == pytest.approx(wilson_reference(0.75, 8, Z99), abs=1e-12)
    assert iv99.low < iv95.low and iv99.high > iv95.high


# --- boundaries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1])
def test_all_equal_scores_give_nonzero_width(value):
    scores = [value] * 40
    iv = clustered_interval(scores, [i // 8 for i in range(40)])
    assert iv.mean == value
    assert 0.0 <= iv.low < iv.high <= 1.0
    assert iv.low <= value <= iv.high
    assert iv.design_effect == 1.0
    # Wilson at p = 0 is [0, z^2 / (n + z^2)]; at p = 1 its mirror.
    edge = Z95**2 / (40 + Z95**2)
    expected = (0.0, edge) if value == 0 else (1 - edge, 1.0)
    assert (iv.low, iv.high) == pytest.approx(expected, abs=1e-12)


def test_single_score():
    iv = clustered_interval([1.0], ["v"])
    assert (iv.n, iv.n_clusters, iv.design_effect) == (1, 1, 1.0)
    assert iv.low < 1.0 == iv.high


def test_single_cluster_has_design_effect_one():
    scores = [1, 1, 1, 0, 0, 1, 0, 1]
    iv = clustered_interval(scores, ["only"] * len(scores))
    assert iv.n_clusters == 1
    assert iv.design_effect == 1.0
    assert (iv.low, iv.high) == pytest.approx(wilson_reference(5 / 8, 8), abs=1e-12)


def test_negative_within_cluster_correlation_is_floored():
    # Each video has exactly one right and one wrong answer: cluster sums of residuals are all 0.
    scores = [1, 0] * 10
    iv = clustered_interval(scores, [i // 2 for i in range(20)])
    assert iv.design_effect == 1.0
    assert (iv.low, iv.high) == pytest.approx(wilson_reference(0.5, 20), abs=1e-12)


# --- clustering -----------------------------------------------------------------------------------


def test_all_or_nothing_videos_have_design_effect_near_cluster_size():
    rng = np.random.default_rng(20240601)
    video_right = rng.random(40) < 0.5
    scores = np.repeat(video_right.astype(float), 25)
    videos = np.repeat(np.arange(40), 25)
    clustered = clustered_interval(scores.tolist(), videos.tolist())
    flat = clustered_interval(scores.tolist(), list(range(scores.size)))
    assert clustered.n == 1000 and clustered.n_clusters == 40
    # Exactly: deff = 40/39 * 25 * 999/1000 (independent of which videos are right).
    assert clustered.design_effect == pytest.approx(40 / 39 * 25 * 0.999, rel=1e-9)
    assert clustered.design_effect > 15
    assert flat.design_effect == pytest.approx(1.0, abs=1e-9)
    assert (clustered.high - clustered.low) > 3 * (flat.high - flat.low)


def test_independent_answers_have_design_effect_near_one():
    deffs = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        scores = (rng.random(1000) < 0.6).astype(float)
        iv = clustered_interval(scores, np.repeat(np.arange(40), 25).tolist())
        assert 1.0 <= iv.design_effect < 1.5
        deffs.append(iv.design_effect)
    assert np.mean(deffs) < 1.3


def test_accepts_arbitrary_hashable_clusters():
    a = clustered_interval([1, 1, 0, 0, 1, 0], [("v", 1), ("v", 1), None, None, 3.5, 3.5])
    b = clustered_interval([1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 2, 2])
    assert a == b


def test_coverage_simulation():
    # 300 datasets of 40 videos x 5 questions. Each video has its own accuracy drawn from Beta(1, 3)
    # (mean exactly 0.25, intra-video correlation 1 / (1 + 3 + 1) = 0.2, so true deff = 1.8).
    start = time.perf_counter()
    rng = np.random.default_rng(12345)
    true_p, n_sets, n_videos, per_video = 0.25, 300, 40, 5
    videos = np.repeat(np.arange(n_videos), per_video).tolist()
    covered = 0
    covered_iid = 0
    deffs = []
    for _ in range(n_sets):
        video_p = rng.beta(1.0, 3.0, size=n_videos)
        scores = (rng.random((n_videos, per_video)) < video_p[:, None]).astype(float).ravel()
        iv = clustered_interval(scores, videos)
        covered += iv.low <= true_p <= iv.high
        deffs.append(iv.design_effect)
        iid = clustered_interval(scores, range(scores.size))
        covered_iid += iid.low <= true_p <= iid.high
    coverage = covered / n_sets
    assert coverage >= 0.90, coverage
    assert coverage > covered_iid / n_sets  # ignoring the clustering under-covers
    assert 1.3 < np.mean(deffs) < 2.3
    assert time.perf_counter() - start < 2.0


def test_chance_interval_contains():
    iv = Interval(mean=0.3, low=0.2, high=0.4, n=40, n_clusters=40, design_effect=1.0)
    assert chance_interval_contains(iv, 0.25)
    assert chance_interval_contains(iv, 0.2)
    assert chance_interval_contains(iv, 0.4)
    assert not chance_interval_contains(iv, 0.5)
    assert not chance_interval_contains(iv, 0.1)
    # 40 of 40 right is clearly above four-option chance; 12 of 40 is not.
    assert not chance_interval_contains(clustered_interval([1] * 40, range(40)), 0.25)
    assert chance_interval_contains(clustered_interval([1] * 12 + [0] * 28, range(40)), 0.25)


def test_interval_is_frozen():
    iv = clustered_interval([1, 0], [0, 1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        iv.mean = 0.0  # type: ignore[misc]


# --- errors ---------------------------------------------------------------------------------------


def test_empty_scores_raise():
    with pytest.raises(ValueError, match="empty"):
        clustered_interval([], [])


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="same length"):
        clustered_interval([1, 0, 1], ["a", "b"])


@pytest.mark.parametrize("bad", [-0.1, 1.0001, 2, float("nan"), float("inf")])
def test_scores_out_of_range_raise(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        clustered_interval([1, bad, 0], ["a", "b", "c"])


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95, -0.5])
def test_bad_confidence_raises(confidence):
    with pytest.raises(ValueError, match="confidence"):
        clustered_interval([1, 0], ["a", "b"], confidence=confidence)


# --- Kendall tau ----------------------------------------------------------------------------------


def test_kendall_identical_and_reversed():
    assert kendall_tau([3, 1, 4, 2], [3, 1, 4, 2]) == 1.0
    assert kendall_tau([2, 4, 1, 3], [3, 1, 4, 2]) == -1.0


def test_kendall_one_adjacent_swap():
    assert kendall_tau([1, 3, 2, 4], [1, 2, 3, 4]) == pytest.approx(1 - 2 * 1 / 6)
    assert kendall_tau([2, 1, 3, 4], [1, 2, 3, 4]) == pytest.approx(2 / 3)


def test_kendall_known_values():
    # gold 1..5; predicted [2, 5, 1, 3, 4]: discordant pairs (2,1), (5,1), (5,3), (5,4) -> 4 of 10.
    assert kendall_tau([2, 5, 1, 3, 4], [1, 2, 3, 4, 5]) == pytest.approx((6 - 4) / 10)
    # Labels are matched by identity, not by value: gold order need not be sorted.
    # gold c < a < b; predicted a, c, b: only the pair (a, c) is discordant -> (2 - 1) / 3.
    assert kendall_tau(["a", "c", "b"], ["c", "a", "b"]) == pytest.approx(1 / 3)
    assert kendall_tau(["b", "a", "c"], ["c", "a", "b"]) == -1.0


def test_kendall_single_item():
    assert kendall_tau([7], [7]) == 1.0


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [
        ([1, 2, 3], [1, 2, 4]),  # different sets
        ([1, 2], [1, 2, 3]),  # different lengths
        ([1, 1, 2], [1, 2, 3]),  # repeated prediction
        ([1, 2, 2], [1, 2, 2]),  # repeated gold
        ([], []),  # nothing to order
    ],
)
def test_kendall_invalid_raises(predicted, gold):
    with pytest.raises(ValueError):
        kendall_tau(predicted, gold)
    with pytest.raises(ValueError):
        kendall_partial_credit(predicted, gold)


def test_partial_credit_values():
    gold = [1, 2, 3, 4]
    assert kendall_partial_credit(gold, gold) == 1.0
    assert kendall_partial_credit([4, 3, 2, 1], gold) == 0.0
    assert kendall_partial_credit([1, 3, 2, 4], gold) == pytest.approx(5 / 6)
    assert kendall_partial_credit(None, gold) == 0.0
    assert kendall_partial_credit([5], [5]) == 1.0


def test_partial_credit_average_over_all_permutations_is_half():
    import itertools

    gold = [0, 1, 2, 3]
    credits = [kendall_partial_credit(list(p), gold) for p in itertools.permutations(gold)]
    assert np.mean(credits) == pytest.approx(0.5)
    assert min(credits) == 0.0 and max(credits) == 1.0


def test_partial_credit_feeds_clustered_interval():
    gold = [1, 2, 3]
    answers = [[1, 2, 3], [2, 1, 3], None, [3, 2, 1], [1, 3, 2], [1, 2, 3]]
    credits = [kendall_partial_credit(a, gold) for a in answers]
    assert credits == pytest.approx([1.0, 2 / 3, 0.0, 0.0, 2 / 3, 1.0])
    iv = clustered_interval(credits, [0, 0, 1, 1, 2, 2])
    assert iv.mean == pytest.approx(sum(credits) / 6)
    assert 0.0 <= iv.low < iv.mean < iv.high <= 1.0


def test_paired_difference_detects_a_real_gap_and_not_noise():
    from finevidbench.scoring.stats import paired_difference

    rng = np.random.default_rng(3)
    videos = np.repeat(np.arange(40), 25)
    base = (rng.random(1000) < 0.5).astype(float)
    better = np.where(rng.random(1000) < 0.3, 1.0, base)  # right wherever base is, and on 30% more
    gap = paired_difference(better, base, videos)
    assert gap.significant and gap.low > 0 and gap.mean == pytest.approx(better.mean() - base.mean())
    # two equally good models: about 5 % of such pairs may look different at 95 %, not more
    small = np.repeat(np.arange(40), 5)
    false_alarms = sum(
        paired_difference(
            (rng.random(200) < 0.5).astype(float), (rng.random(200) < 0.5).astype(float), small
        ).significant
        for _ in range(400)
    )
    assert false_alarms / 400 < 0.09
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 0.0], [0])
