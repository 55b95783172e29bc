"""Adversaries that never see a pixel: a type one of them answers above chance leaks its answer.

A benchmark number must need the video. Two adversaries read everything a model can know without
perceiving the frames and try to answer anyway:

- `text_only` reads the prompt and options exactly as a model receives them: numbers in the text
  that fall in the answer range, words shared between the text and each answer, and options that
  recur across the questions of one video (the correct label is offered at every speed, the
  distractors are redrawn);
- `metadata_only` reads what a decoder reports before any pixel is looked at: how many images or
  frames arrive, their timestamps, the shown duration, the frame rate, the prompt's and the
  options' lengths, and learns the answer from them with a nearest-neighbour vote.

Both learn from labelled questions, so they are cross-fitted by video: each video's questions are
answered by a model fitted on the other folds' videos only. `run_adversaries` scores them like any
model (video-clustered intervals); a type whose interval lies above chance fails validation. The
verdict is one test over every (adversary, type) pair, so each pair's interval is widened for the
family (Bonferroni): with 16 pairs at 95 % each, an honest set would otherwise fail about one
time in three by chance alone. Scene items are observed under a frame policy (the default one
unless told), since how many frames a model receives depends on it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from finevidbench.dataset import QuestionSet
from finevidbench.protocol import (
    DEFAULT_SCENE_POLICY,
    FRAGMENT_FRAME_SECONDS,
    LETTERS,
    QUESTION_TYPES,
    AnswerSpace,
    AnswerType,
    Question,
    get_type,
)
from finevidbench.request import question_text
from finevidbench.scoring.score import SampleResult, score_sample
from finevidbench.scoring.stats import clustered_interval

FOLDS = 5
NEIGHBOURS = 7
FAMILY_CONFIDENCE = 0.95
"""Confidence that no (adversary, type) pair of a validation is called a leak by chance alone."""
_WORD = re.compile(r"[a-z]+|\d+")


@dataclass(frozen=True)
class Observable:
    """One question as a model sees it, minus the pixels (and minus the answer)."""

    question_id: str
    video: str
    type: str
    answer_type: str
    text: str
    """The prompt exactly as rendered for the model (fragment intro included)."""
    options: tuple[str, ...]
    n_inputs: int
    """Images (fragment) or frames under the observed scene policy (scene) the model receives."""
    timestamps: tuple[float, ...]
    duration: float
    """Seconds of the shown clip (scene: the speed-altered clip; fragment: frames times their spacing)."""
    fps: float


def observe(qs: QuestionSet, policy: str = DEFAULT_SCENE_POLICY) -> list[Observable]:
    """What every question of `qs` shows a model besides its pixels, scene items sampled by `policy`."""
    from finevidbench.video import FramePolicy
    from finevidbench.video.meta import VideoMeta

    scene_policy = FramePolicy.parse(policy)
    out = []
    for q in qs.questions:
        video = qs.manifest["videos"][q.video]
        if q.frames is not None:
            n = len(q.frames)
            timestamps = tuple(i * FRAGMENT_FRAME_SECONDS for i in range(n))
            duration, fps = n * FRAGMENT_FRAME_SECONDS, 1.0 / FRAGMENT_FRAME_SECONDS
        else:
            count, rate = int(video["frame_count"]), float(video["fps"])
            meta = VideoMeta(
                path=q.video, frame_count=count, fps=rate, duration=count / rate, width=0, height=0, codec=""
            )
            view = scene_policy.for_scene(q.speed, q.window)
            first, last = view.frame_range(meta)
            sampling = view.sample(meta)
            n, timestamps = len(sampling.indices), sampling.timestamps
            # the shown clip: its window played at the speed; a file copy keeps the source frame rate
            duration, fps = (last - first + 1) / rate / q.speed, rate
        text = question_text(q)
        out.append(
            Observable(q.id, q.video, q.type, q.answer_type, text, tuple(q.options), n, timestamps, duration, fps)
        )
    return out


def answer_key(q: Question) -> str:
    """The answer as a class label: the option text for choices, else the answer as a model writes it."""
    qtype = get_type(q.type)
    return qtype.answers.key(q.answer, qtype.space_of(q))


Recurrence = Mapping[tuple[str, str], Counter[str]]
"""(video, type) -> how many of that video's questions of that type offer each option (texts only)."""


def option_recurrence(observed: Sequence[Observable]) -> dict[tuple[str, str], Counter[str]]:
    """How often each option is offered across the questions of one video and type, counted once."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for obs in observed:
        counts[obs.video, obs.type].update(set(obs.options))
    return counts


def _answers(obs: Observable) -> tuple[AnswerType, AnswerSpace]:
    """The answer type of an observed item and the part of its answer space an adversary may see."""
    qtype = get_type(obs.type)
    return qtype.answers, qtype.answer_space(obs.options)


def _response(obs: Observable, key: str) -> str:
    """A class label written the way the answer instruction asks for it (an option not offered: A)."""
    answers, space = _answers(obs)
    response = answers.from_key(key, space)
    return LETTERS[0] if response is None else response


class Adversary:
    """Fitted on labelled questions of other videos, answers a question from what it observes."""

    name: str

    def fit(self, observed: Sequence[Observable], keys: Sequence[str]) -> None:
        """Learn from the training folds (observables and their answer keys)."""

    def answer(self, obs: Observable, recurrence: Recurrence) -> str:
        """A response to `obs`; `recurrence` describes the whole set's options (no answers)."""
        raise NotImplementedError


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class TextOnly(Adversary):
    """Reads the rendered prompt and options: numbers, shared words, options recurring within a video."""

    name = "text_only"

    def fit(self, observed: Sequence[Observable], keys: Sequence[str]) -> None:
        """Word counts of the rendered text per answer key, and the answer priors, per type."""
        self.counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        self.priors: dict[str, Counter[str]] = defaultdict(Counter)
        for obs, key in zip(observed, keys, strict=True):
            self.priors[obs.type][key] += 1
            self.counts[obs.type][key].update(set(_tokens(obs.text)))

    def _log_likelihood(self, obs: Observable, key: str) -> float:
        prior, counts = self.priors[obs.type], self.counts[obs.type][key]
        seen = prior[key]
        score = np.log((seen + 1) / (sum(prior.values()) + len(prior) + 1))
        tokens = sorted(set(_tokens(obs.text)))  # a fixed order: the same float sum in every process
        return float(score + sum(np.log((counts[t] + 1) / (seen + 2)) for t in tokens))

    def answer(self, obs: Observable, recurrence: Recurrence) -> str:
        """A number in range named by the text, else the option recurring most in the video, else naive Bayes."""
        answers, space = _answers(obs)
        if answers.single_number:
            possible = set(answers.values(space))
            numbers = Counter(int(t) for t in _tokens(obs.text) if t.isdigit() and int(t) in possible)
            if numbers:
                return answers.format(max(numbers, key=lambda n: (numbers[n], n)))
        if answers.offers_options:
            recurring = recurrence[obs.video, obs.type]
            best = max(obs.options, key=lambda o: (recurring[o], self._log_likelihood(obs, o)))
            return _response(obs, best)
        keys = list(self.priors[obs.type]) or ["1"]
        return _response(obs, max(keys, key=lambda k: self._log_likelihood(obs, k)))


def _features(obs: Observable) -> list[float]:
    gaps = np.diff(obs.timestamps) if len(obs.timestamps) > 1 else np.zeros(1)
    lengths = [len(o) for o in obs.options] + [0] * (8 - len(obs.options))
    return [obs.n_inputs, obs.duration, float(gaps.mean()), obs.fps, len(obs.text), len(obs.options), *lengths]


class MetadataOnly(Adversary):
    """A nearest-neighbour vote over counts, timestamps, durations, frame rates and text lengths."""

    name = "metadata_only"

    def fit(self, observed: Sequence[Observable], keys: Sequence[str]) -> None:
        """Standardised metadata features and answer keys, per type."""
        self.by_type: dict[
            str, tuple[npt.NDArray[np.float64], list[str], npt.NDArray[np.float64], npt.NDArray[np.float64]]
        ] = {}
        grouped: dict[str, list[tuple[Observable, str]]] = defaultdict(list)
        for obs, key in zip(observed, keys, strict=True):
            grouped[obs.type].append((obs, key))
        for name, rows in grouped.items():
            x = np.array([_features(o) for o, _ in rows], dtype=float)
            mean, std = x.mean(axis=0), x.std(axis=0)
            std[std == 0] = 1.0
            self.by_type[name] = ((x - mean) / std, [k for _, k in rows], mean, std)

    def answer(self, obs: Observable, recurrence: Recurrence) -> str:
        """The answer most common among the nearest training items that this item offers."""
        if obs.type not in self.by_type:  # no other video holds an item of this type to learn from (a small set)
            return _response(obs, obs.options[0] if obs.options else "1")
        x, keys, mean, std = self.by_type[obs.type]
        distance = np.linalg.norm(x - (np.array(_features(obs)) - mean) / std, axis=1)
        # every item as close as the k-th nearest votes: identical metadata gives one pooled vote, not
        # the first k items in file order
        radius = np.partition(distance, min(NEIGHBOURS, len(distance)) - 1)[min(NEIGHBOURS, len(distance)) - 1]
        nearest = np.flatnonzero(distance <= radius + 1e-9)
        votes = Counter(keys[i] for i in nearest)
        if _answers(obs)[0].offers_options:
            offered = [o for o in obs.options if votes[o]] or list(obs.options)
            return _response(obs, max(offered, key=lambda o: votes[o]))
        return _response(obs, max(votes, key=lambda k: (votes[k], k)))


ADVERSARIES: dict[str, Callable[[], Adversary]] = {TextOnly.name: TextOnly, MetadataOnly.name: MetadataOnly}


def fold_of(video: str, folds: int = FOLDS) -> int:
    """The cross-fitting fold of a video (stable across runs and machines)."""
    return int.from_bytes(hashlib.sha256(video.encode()).digest()[:4], "little") % folds


def cross_fitted_answers(qs: QuestionSet, adversary: str, observed: list[Observable] | None = None) -> dict[str, str]:
    """Question id -> the adversary's response, each fold answered by a model fitted on the others."""
    observed = observe(qs) if observed is None else observed
    recurrence = option_recurrence(observed)
    keys = [answer_key(q) for q in qs.questions]
    folds = min(FOLDS, len({o.video for o in observed}))
    fold = [fold_of(o.video, folds) for o in observed]
    answers = {}
    for k in range(folds):
        model = ADVERSARIES[adversary]()
        model.fit(
            [o for o, f in zip(observed, fold, strict=True) if f != k],
            [y for y, f in zip(keys, fold, strict=True) if f != k],
        )
        for obs, f in zip(observed, fold, strict=True):
            if f == k:
                answers[obs.question_id] = model.answer(obs, recurrence)
    return answers


@dataclass(frozen=True)
class Finding:
    """One adversary's score on one benchmark type."""

    adversary: str
    type: str
    acc: float
    ci_low: float
    ci_high: float
    chance: float
    n: int
    confidence: float = FAMILY_CONFIDENCE
    """Two-sided level of this finding's interval: the family's 95 % shared among its pairs."""

    @property
    def beats_chance(self) -> bool:
        """True when the whole interval lies above chance: the type can be answered without the video."""
        return self.ci_low > self.chance

    def line(self) -> str:
        """One line naming type, adversary, accuracy with its interval, and chance."""
        verdict = "LEAKS: answerable without the video" if self.beats_chance else "at chance"
        return (
            f"{self.type}: {self.adversary} {self.acc:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}] "
            f"against chance {self.chance:.3f} (n={self.n}): {verdict}"
        )


def run_adversaries(
    qs: QuestionSet, names: Sequence[str] = tuple(ADVERSARIES), policy: str = DEFAULT_SCENE_POLICY
) -> list[Finding]:
    """Every adversary on every benchmark type of `qs`, with video-clustered intervals corrected for the family."""
    by_id = {q.id: q for q in qs.questions}
    observed = observe(qs, policy)
    samples: dict[tuple[str, str], list[SampleResult]] = defaultdict(list)
    for name in names:
        for qid, response in cross_fitted_answers(qs, name, observed).items():
            q = by_id[qid]
            if q.type in QUESTION_TYPES:
                samples[name, q.type].append(score_sample(q, response))
    confidence = 1 - (1 - FAMILY_CONFIDENCE) / max(1, len(samples))
    findings = []
    for name, type_name in sorted(samples, key=lambda pair: (names.index(pair[0]), pair[1])):
        group = samples[name, type_name]
        interval = clustered_interval([s.correct for s in group], [s.video for s in group], confidence)
        chance = sum(s.chance for s in group) / len(group)
        findings.append(
            Finding(
                name,
                type_name,
                round(interval.mean, 6),
                round(interval.low, 6),
                round(interval.high, 6),
                round(chance, 6),
                interval.n,
                confidence,
            )
        )
    return findings


def format_findings(findings: Sequence[Finding]) -> str:
    """One line per adversary and type, then the leaks."""
    level = f", {findings[0].confidence:.2%} intervals: 95 % for the {len(findings)} together" if findings else ""
    lines = [f"pixel-blind adversaries (cross-fitted by video{level}):"] + [f"  {f.line()}" for f in findings]
    leaks = [f for f in findings if f.beats_chance]
    if leaks:
        lines.append(f"\n{len(leaks)} leak(s): these types can be answered without the video")
        lines += [
            f"  - {f.type}: {f.adversary} {f.acc:.3f} (interval low {f.ci_low:.3f}) > chance {f.chance:.3f}"
            for f in leaks
        ]
    else:
        lines.append("\nno adversary beats chance on any benchmark type")
    return "\n".join(lines)
