"""Accuracy intervals clustered by video, and Kendall-tau partial credit for ordering questions.

FineVidBench asks about 25 questions per video, so the questions are not independent: a model that
misreads a video tends to miss most of its questions. An interval that treats every question as an
independent draw is too narrow. Every accuracy in a results file is therefore reported with a
confidence interval that accounts for clustering by video, computed by :func:`clustered_interval`:

1. **Point estimate.** ``p = mean(scores)``; the plain mean, because that is the accuracy people quote
   and every question carries the same weight.
2. **Cluster-robust variance of the mean** (the "sandwich" / CR1 estimator)::

       V_cl = G / (G - 1) * sum_g (sum_{i in g} (s_i - p))**2 / n**2

   with ``G`` clusters and ``n`` scores. It needs no model of how questions within a video correlate,
   and the factor ``G / (G - 1)`` corrects its downward bias when there are few clusters.
3. **iid variance of the mean**, with the matching small-sample factor::

       V_iid = n / (n - 1) * sum_i (s_i - p)**2 / n**2  =  s**2 / n   (s**2: sample variance, ddof=1)

   For 0/1 scores this is ``p * (1 - p) / (n - 1)``, i.e. ``p * (1 - p) / n`` times ``n / (n - 1)``.
   The factor is there so that like is compared with like: with one score per cluster ``V_cl`` equals
   ``V_iid`` exactly and the design effect is exactly 1, rather than ``n / (n - 1)``.
4. **Design effect** ``deff = max(1, V_cl / V_iid)``: floored at 1 because clustering is never allowed
   to make an interval narrower than the iid one (a negative estimate of within-video correlation is
   far more likely to be noise than real). ``deff = 1`` when ``V_iid == 0`` (all scores equal; there
   is no variance to inflate) and when ``G == 1`` (between-cluster variance cannot be estimated from
   one cluster).
5. **Effective sample size** ``n_eff = n / deff``: the number of independent questions that would
   carry the same information, so the clustering enters the interval in one place.
6. **Wilson score interval** for ``p`` with ``n_eff``, ``z = NormalDist().inv_cdf((1 + confidence) / 2)``::

       centre = (p + z**2 / (2 n_eff)) / (1 + z**2 / n_eff)
       half   = z / (1 + z**2 / n_eff) * sqrt(p (1 - p) / n_eff + z**2 / (4 n_eff**2))

   Wilson rather than the normal (Wald) interval because per-type sample sizes are small (n = 40) and
   accuracies of exactly 0 or 1 occur; Wald collapses to zero width there, Wilson does not, and it
   keeps close to nominal coverage at small n. Bounds are clipped to ``[0, 1]``.

For fractional scores (partial credit) Wilson's built-in Bernoulli variance ``p (1 - p)`` is at least
the actual variance of scores in ``[0, 1]``, so the interval is conservative (wider, never narrower)
for them.

Ordering questions earn partial credit through Kendall's tau-a between the predicted and gold orders,
mapped to ``[0, 1]`` by :func:`kendall_partial_credit`. A uniformly random permutation has expected
tau 0, so the chance level of that credit is 0.5, not ``1 / K!``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "Interval",
    "chance_interval_contains",
    "clustered_interval",
    "kendall_partial_credit",
    "kendall_tau",
]


Clusters = Sequence[Hashable] | npt.NDArray[np.generic]
"""The cluster of each value: video ids, or (the leaderboard's tiers) an array of integer codes."""


@dataclass(frozen=True)
class Interval:
    """An accuracy with its clustered confidence interval.

    Attributes:
        mean: The point estimate, the plain mean of the scores.
        low: Lower bound of the interval, clipped to ``[0, 1]``.
        high: Upper bound of the interval, clipped to ``[0, 1]``.
        n: Number of scores.
        n_clusters: Number of distinct clusters (videos).
        design_effect: Variance inflation due to clustering, ``>= 1.0``; ``1.0`` when clustering adds
            nothing or cannot be estimated. Kept so readers can see how much the clustering cost.
    """

    mean: float
    low: float
    high: float
    n: int
    n_clusters: int
    design_effect: float


def clustered_interval(scores: Sequence[float], clusters: Sequence[Hashable], confidence: float = 0.95) -> Interval:
    """Mean score with a Wilson interval widened by the design effect of clustering.

    See the module docstring for the method and why each step is chosen.

    Args:
        scores: Per-question scores in ``[0, 1]``: 0/1 correctness or fractional partial credit.
        clusters: The cluster (video id) of each score, same length as ``scores``. Any hashable
            labels; only equality matters.
        confidence: Two-sided confidence level, strictly between 0 and 1.

    Returns:
        The mean, the interval bounds, ``n``, the number of clusters and the design effect. With a
        single cluster the design effect is 1.0, because between-cluster variance cannot be estimated
        from one cluster; the interval is then the iid one and is too narrow if the questions are
        correlated.

    Raises:
        ValueError: If ``scores`` is empty, the lengths differ, a score is not a finite number in
            ``[0, 1]``, or ``confidence`` is not in ``(0, 1)``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    values = np.asarray(scores, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"scores must be a flat sequence, got shape {values.shape}")
    n = int(values.size)
    if n == 0:
        raise ValueError("cannot compute an interval from no scores: scores is empty")
    if len(clusters) != n:
        raise ValueError(f"scores and clusters must have the same length, got {n} and {len(clusters)}")
    bad = ~np.isfinite(values) | (values < 0.0) | (values > 1.0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"scores must lie in [0, 1]; score {first} is {values[first]!r}")

    index: dict[Hashable, int] = {}
    cluster_ids = np.fromiter((index.setdefault(c, len(index)) for c in clusters), dtype=np.intp, count=n)
    n_clusters = len(index)

    p = float(values.mean())
    residuals = values - p
    design_effect = 1.0
    if n_clusters > 1:  # n_clusters > 1 implies n > 1, so n - 1 below is safe.
        var_iid = float(np.sum(residuals**2)) / (n * (n - 1))
        if var_iid > 0.0:
            cluster_sums = np.bincount(cluster_ids, weights=residuals, minlength=n_clusters)
            var_cl = n_clusters / (n_clusters - 1) * float(np.sum(cluster_sums**2)) / n**2
            design_effect = max(1.0, var_cl / var_iid)

    low, high = _wilson(p, n / design_effect, confidence)
    return Interval(mean=p, low=low, high=high, n=n, n_clusters=n_clusters, design_effect=design_effect)


def _wilson(p: float, n_eff: float, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed over ``n_eff`` (possibly fractional) trials.

    The bounds are clipped to ``[0, 1]`` and forced to contain ``p``: mathematically they always do,
    and this only removes floating-point rounding at ``p = 0`` or ``p = 1``.
    """
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    z2_n = z * z / n_eff
    denom = 1.0 + z2_n
    centre = (p + z2_n / 2.0) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n_eff + z2_n / (4.0 * n_eff))
    low = min(max(0.0, centre - half), p)
    high = max(min(1.0, centre + half), p)
    return low, high


def _gold_positions(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> dict[Hashable, int]:
    """Check that two orderings are permutations of the same distinct items; map each item to its gold index.

    Raises:
        ValueError: If ``gold`` is empty or has repeated items, or ``predicted`` is not a permutation
            of ``gold``.
    """
    positions = {item: i for i, item in enumerate(gold)}
    if not gold:
        raise ValueError("gold ordering is empty")
    if len(positions) != len(gold):
        raise ValueError(f"gold ordering repeats an item: {list(gold)!r}")
    if len(predicted) != len(gold) or set(predicted) != positions.keys():
        raise ValueError(f"predicted ordering {list(predicted)!r} is not a permutation of gold ordering {list(gold)!r}")
    return positions


def kendall_tau(predicted: Sequence[int], gold: Sequence[int]) -> float:
    """Kendall's tau-a between a predicted and a gold ordering of the same items.

    For every pair of items, the pair is concordant when both orderings put them in the same relative
    order and discordant otherwise; tau = (concordant - discordant) / (K (K - 1) / 2). Tau-a suffices
    because a permutation has no ties, and it credits getting most of an order right, which exact
    match does not.

    Args:
        predicted: The items in the order the model gave.
        gold: The same items in the correct order.

    Returns:
        Tau in ``[-1, 1]``: 1 for the gold order, -1 for its reverse, 1.0 when there is one item.

    Raises:
        ValueError: If the two are not permutations of the same set of distinct items, or are empty.
    """
    positions = _gold_positions(predicted, gold)
    k = len(gold)
    if k == 1:
        return 1.0
    ranks = [positions[item] for item in predicted]
    # Predicted positions increase along `ranks`, so a pair is discordant exactly when its gold ranks
    # decrease.
    discordant = sum(1 for i in range(k) for j in range(i + 1, k) if ranks[i] > ranks[j])
    pairs = k * (k - 1) // 2
    return (pairs - 2 * discordant) / pairs


def kendall_partial_credit(predicted: Sequence[int] | None, gold: Sequence[int]) -> float:
    """Partial credit for an ordering answer, ``(tau + 1) / 2`` in ``[0, 1]``.

    The rescaling puts the credit on the same ``[0, 1]`` scale as 0/1 correctness so both can be fed to
    :func:`clustered_interval`. A random order earns 0.5 in expectation, which is the chance level to
    compare against.

    Args:
        predicted: The parsed ordering, or ``None`` when the answer could not be parsed; an unparsed
            answer earns nothing. Answer extraction should map an answer that is not a permutation of
            the items to ``None``; a non-permutation given here raises.
        gold: The correct ordering.

    Returns:
        The credit in ``[0, 1]``; 0.0 for ``None``.

    Raises:
        ValueError: If ``predicted`` is given and is not a permutation of ``gold``, or ``gold`` is
            empty or repeats an item.
    """
    if predicted is None:
        _gold_positions(gold, gold)
        return 0.0
    return (kendall_tau(predicted, gold) + 1.0) / 2.0


def chance_interval_contains(interval: Interval, chance: float) -> bool:
    """Whether the chance level lies inside the interval (bounds inclusive).

    A result whose interval contains chance is not distinguishable from guessing at that confidence,
    which results tables should flag rather than rank.

    Args:
        interval: An interval from :func:`clustered_interval`.
        chance: The score expected from guessing, e.g. 0.25 for four options, 0.5 for Kendall credit.

    Returns:
        ``interval.low <= chance <= interval.high``.
    """
    return interval.low <= chance <= interval.high


@dataclass(frozen=True)
class PairedDifference:
    """Mean per-question difference of two models on shared questions, with a clustered interval."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero."""
        return self.low > 0 or self.high < 0


def _cluster_sums(values: npt.NDArray[np.float64], clusters: Clusters) -> npt.NDArray[np.float64]:
    """The sum of `values` within each cluster (vectorised when the clusters are strings or numbers)."""
    labels = np.asarray(clusters)
    if labels.dtype != object and labels.ndim == 1:
        sums_by_code = np.bincount(np.unique(labels, return_inverse=True)[1], weights=values)
        return cast("npt.NDArray[np.float64]", sums_by_code)  # weighted: float64 (numpy's stubs say intp)
    sums: dict[Hashable, float] = {}
    for value, cluster in zip(values, clusters, strict=True):
        sums[cluster] = sums.get(cluster, 0.0) + float(value)
    return np.fromiter(sums.values(), dtype=float, count=len(sums))


def paired_difference(
    a: Sequence[float] | npt.NDArray[np.float64],
    b: Sequence[float] | npt.NDArray[np.float64],
    clusters: Clusters,
    confidence: float = 0.95,
) -> PairedDifference:
    """Difference a - b on the same questions, with a cluster-robust normal interval.

    Pairing removes the questions' shared difficulty, so two models can be told apart with far
    fewer questions than comparing their separate intervals; clustering by video keeps the ~25
    questions of one video from counting as independent evidence.
    """
    if not (len(a) == len(b) == len(clusters)) or len(a) == 0:
        raise ValueError("paired_difference needs equally long, non-empty a, b and clusters")
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n, mean = len(d), float(d.mean())
    sums = _cluster_sums(d - mean, clusters)
    g = len(sums)
    variance = (g / (g - 1) if g > 1 else 1.0) * float(np.sum(sums * sums)) / n**2
    half = NormalDist().inv_cdf((1 + confidence) / 2) * math.sqrt(variance)
    return PairedDifference(mean=mean, low=mean - half, high=mean + half, n=n)
