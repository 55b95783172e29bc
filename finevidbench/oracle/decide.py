"""The pixel oracle's answers: what each item's shown frames say, measured, then decided per type.

`measure` turns what a model is shown of one item (its frames at the model's size, the timestamps
it is told, the prompt and options) into a `Measurement`; the frames are dropped after. `decide`
answers every item from the measurements. Where a decision needs a scale (how different is
"different", how fast is "sped up", which way an event runs), the scale is learned from the other
videos' items and their answers, cross-fitted by video as the pixel-blind adversaries are
(finevidbench.adversaries.fold_of), so no item is answered from its own answer. Types that need
semantics (action, effect: what the event *is*) are outside its reach: it answers them at random,
and every table says so.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from finevidbench.adversaries import FOLDS, answer_key, fold_of
from finevidbench.oracle import vision
from finevidbench.oracle.size import Frames
from finevidbench.protocol import LETTERS, Question, get_type

SEMANTIC_TYPES = ("action", "effect")
"""Types whose answer is what the event is, not what the pixels do: outside the oracle's reach."""
NEIGHBOURS = 7
_EVENT = re.compile(r"The frames show this event: (.*?)\. ")


@dataclass(frozen=True)
class Shown:
    """One item as a model receives it: frames at the model's size, the timestamps it is told, the text."""

    question_id: str
    video: str
    type: str
    frames: Frames
    timestamps: tuple[float, ...]
    prompt: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Measurement:
    """What the oracle measured on one item's frames (the frames themselves are not kept)."""

    question_id: str
    video: str
    type: str
    options: tuple[str, ...]
    values: tuple[float, ...] = ()
    """The type's features: distances (frame_comparison, moment_count), motion (speed, meaningful_order)."""
    order: tuple[int, ...] = ()
    """Shown positions in the order continuity gives (adjust_or_not, rearrangement), up to reversal."""
    event: str = ""
    """The event the prompt names (meaningful_order), the key its learned direction is kept under."""


def measure(shown: Shown) -> Measurement:
    """The measurements `decide` needs for this item's type, from its frames alone."""
    base = Measurement(shown.question_id, shown.video, shown.type, shown.options)
    frames = shown.frames
    if shown.type in SEMANTIC_TYPES or len(frames) == 0:
        return base
    if shown.type in ("frame_comparison", "moment_count"):
        return replace(base, values=vision.adjacent_distances(frames))
    if shown.type in ("adjust_or_not", "rearrangement"):
        return replace(base, order=vision.continuity_path(vision.distance_matrix(frames)))
    if shown.type == "meaningful_order":
        named = _EVENT.search(shown.prompt)
        return replace(base, values=vision.arrow_features(frames), event=named.group(1) if named else "")
    if shown.type == "speed":
        return replace(base, values=vision.motion_rate(frames, shown.timestamps))
    raise ValueError(f"the pixel oracle does not answer {shown.type!r} items")


Fitted = Callable[[Measurement], str]
"""A rule fitted on training measurements: one item's response."""
Fitter = Callable[[Sequence[Measurement], Sequence[str]], Fitted]
"""Learns a rule from training measurements and their answer keys."""


def _log(value: float) -> float:
    return float(np.log(value + 1e-3))


def _best_threshold(scores: Sequence[float], accuracy: Callable[[float], float]) -> float:
    """The cut between two sorted training scores that answers most training items right (midpoints)."""
    values = sorted(set(scores))
    cuts = [values[0] - 1.0] + [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)] + [values[-1] + 1.0]
    return max(cuts, key=lambda cut: (accuracy(cut), -abs(cut)))


def _fit_same_moment(train: Sequence[Measurement], keys: Sequence[str]) -> Fitted:
    """frame_comparison: "yes" (same moment) when the two frames are closer than a learned distance."""
    scores = [_log(m.values[0]) for m in train]

    def accuracy(cut: float) -> float:
        return float(np.mean([(s <= cut) == (k == "yes") for s, k in zip(scores, keys, strict=True)]))

    cut = _best_threshold(scores, accuracy)
    return lambda m: "yes" if _log(m.values[0]) <= cut else "no"


def _count(m: Measurement, cut: float) -> int:
    return 1 + sum(_log(d) > cut for d in m.values)


def _fit_moment_count(train: Sequence[Measurement], keys: Sequence[str]) -> Fitted:
    """moment_count: one moment, plus one for each shown frame farther from the previous than a learned distance."""
    scores = [_log(d) for m in train for d in m.values]

    def accuracy(cut: float) -> float:
        return float(np.mean([str(_count(m, cut)) == k for m, k in zip(train, keys, strict=True)]))

    cut = _best_threshold(scores, accuracy)
    return lambda m: str(_count(m, cut))


def _fit_speed(train: Sequence[Measurement], keys: Sequence[str]) -> Fitted:
    """speed: the answer most common among the training items nearest in motion per shown second."""
    x = np.array([m.values for m in train], dtype=float)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    z = (x - mean) / std

    def answer(m: Measurement) -> str:
        distance = np.linalg.norm(z - (np.array(m.values) - mean) / std, axis=1)
        nearest = np.argsort(distance, kind="stable")[:NEIGHBOURS]
        votes: dict[str, float] = defaultdict(float)
        for i in nearest:
            votes[keys[i]] += 1.0 / (1.0 + distance[i])
        best = max((o for o in m.options if o in votes), key=lambda o: votes[o], default=m.options[0])
        return LETTERS[m.options.index(best)]

    return answer


def _fit_direction(train: Sequence[Measurement], keys: Sequence[str]) -> Fitted:
    """meaningful_order: forward when the motion agrees with the direction learned for the named event.

    Reversing the frames negates the motion vector, so each event's forward direction is the mean of
    its training items' motion, signed by their answers; an event no training video shows gets the
    direction learned over all events.
    """
    forward, _ = get_type("meaningful_order").params["options"]
    x = np.array([m.values for m in train], dtype=float)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    signs = np.array([1.0 if k == forward else -1.0 for k in keys])
    signed = x / std * signs[:, None]
    overall = signed.mean(axis=0)
    by_event = {e: signed[[m.event == e for m in train]].mean(axis=0) for e in {m.event for m in train}}

    def answer(m: Measurement) -> str:
        direction = by_event.get(m.event, overall)
        goes_forward = float(np.dot(direction, np.array(m.values) / std)) >= 0
        wanted = forward if goes_forward else next(o for o in m.options if o != forward)
        return LETTERS[m.options.index(wanted)]

    return answer


FITTERS: dict[str, Fitter] = {
    "frame_comparison": _fit_same_moment,
    "moment_count": _fit_moment_count,
    "speed": _fit_speed,
    "meaningful_order": _fit_direction,
}
"""The types whose decision needs a scale learned from other videos."""


def _coin(question_id: str) -> np.random.Generator:
    """A generator seeded by the question id: deterministic guesses, as the random baseline's."""
    return np.random.default_rng(int.from_bytes(hashlib.sha256(question_id.encode()).digest()[:8], "little"))


def _unfitted(m: Measurement, question: Question) -> str:
    """Answers that need no learned scale: continuity decides order, a coin what pixels cannot."""
    qtype = get_type(m.type)
    if m.type == "adjust_or_not":
        shown = tuple(range(len(m.order)))
        return "no" if m.order in (shown, shown[::-1]) else "yes"
    if m.type == "rearrangement":  # continuity orders the frames up to reversal; which end is first is a coin
        path = m.order if _coin(m.question_id).random() < 0.5 else m.order[::-1]
        return qtype.answers.format([p + 1 for p in path])
    return qtype.answers.format(qtype.answers.random_answer(_coin(m.question_id), qtype.space_of(question)))


def decide(measurements: Sequence[Measurement], questions: Sequence[Question]) -> dict[str, str]:
    """Question id -> the oracle's response; learned scales cross-fitted by video over `FOLDS` folds."""
    by_id = {q.id: q for q in questions}
    answers = {m.question_id: _unfitted(m, by_id[m.question_id]) for m in measurements if m.type not in FITTERS}
    folds = max(1, min(FOLDS, len({m.video for m in measurements})))
    for type_name, fit in FITTERS.items():
        items = [m for m in measurements if m.type == type_name]
        keys = [answer_key(by_id[m.question_id]) for m in items]
        fold = [fold_of(m.video, folds) for m in items]
        for k in sorted(set(fold)):
            train = [(m, y) for m, y, f in zip(items, keys, fold, strict=True) if f != k]
            rule = fit([m for m, _ in train], [y for _, y in train]) if train else None
            for m, f in zip(items, fold, strict=True):
                if f == k:
                    answers[m.question_id] = rule(m) if rule else _unfitted(m, by_id[m.question_id])
    return answers
