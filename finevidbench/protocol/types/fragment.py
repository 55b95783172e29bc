"""Fragment-level types: an explicit numbered sequence of frames ("Frame 1", "Frame 2", ...).

They mirror the five SF2T self-supervised tasks; every answer follows from how the sequence was
built (which source frames, in which order), never from a label. A type that shows k distinct frames
needs k distinct frames in the video's pool (`min_frames`). Order questions are built only
over frames whose measured inter-frame change shows the order (see `params["min_change"]`).
"""

from __future__ import annotations

from itertools import combinations, permutations
from typing import Any

import numpy as np

from finevidbench.protocol.choices import humanize, place_options
from finevidbench.protocol.records import Draft, Question, VideoContext
from finevidbench.protocol.registry import LETTERS, QuestionType, question_type

MIN_CHANGE = 0.5
"""Smallest visible change (percent of 64x64 thumbnail pixels that differ, see
`VideoContext.change`) between chronologically adjacent frames of an order question, and between
the two frames of a 'different moment' pair."""


def _ordered_selection(ctx: VideoContext, k: int, rng: np.random.Generator, tries: int = 8) -> list[int] | None:
    """K pool positions in chronological order whose adjacent frames all visibly differ."""
    if len(ctx.pool) < k:
        return None
    for _ in range(tries):
        chosen = sorted(int(p) for p in rng.choice(len(ctx.pool), k, replace=False))
        if ctx.min_consecutive_change(chosen) >= MIN_CHANGE:
            return chosen
    return None


def _order_evidence(ctx: VideoContext, chosen: list[int]) -> dict[str, float]:
    """What validate re-checks for an order item: its smallest chronological inter-frame change."""
    return {"min_change": round(ctx.min_consecutive_change(chosen), 3)}


def _shown(ctx: VideoContext, positions: list[int]) -> tuple[int, ...]:
    return tuple(ctx.pool[p] for p in positions)


def _frames(question: Question) -> tuple[int, ...]:
    """The frames a fragment item shows (a fragment item always shows frames; scene items have None)."""
    if question.frames is None:
        raise ValueError(f"{question.id}: a fragment item without frames")
    return question.frames


def _distinct_moments(ctx: VideoContext, k: int, rng: np.random.Generator) -> list[int] | None:
    """K pool positions, chronological, every two of which visibly differ (or None)."""
    chosen: list[int] = []
    for candidate in rng.permutation(len(ctx.pool)):
        if all(ctx.change(int(candidate), c) >= MIN_CHANGE for c in chosen):
            chosen.append(int(candidate))
            if len(chosen) == k:
                return sorted(chosen)
    return None


@question_type
class MomentCount(QuestionType):
    """How many different moments a sequence with repeated frames shows (SF2T Counting, ours).

    Counting the frames given would count inputs, not pixels: a prompt or a processor says how many
    images arrive. Every item therefore shows the same number of frames, some of them repeats of
    one moment, and asks how many different moments there are; the answer is visible only in
    which frames look alike. Distinct moments differ pairwise (`min_change`), repeats are
    identical frames, and the sequence is chronological, so repeats sit next to each other like a
    held shot.
    """

    name = "moment_count"
    level = "fragment"
    answer_type = "integer"
    template = "Some of these frames repeat the same moment. How many different moments do they show?"
    display_name = "Moment count"
    description = "Count the different moments among 8 frames with repeats (2 to 7, uniform)."
    oracle_floor = 0.8
    params = {"per_video": 3, "frames": 8, "count_range": (2, 7), "min_change": MIN_CHANGE, "order": "chronological"}
    min_frames = params["count_range"][1]
    """Every count of the range can be the answer: fewer distinct frames would leave only the small ones."""

    def targets(self, ctx: VideoContext) -> range:
        low, high = self.params["count_range"]
        return range(low, high + 1)

    def expected_answer(self, question: Question, labels: dict[str, str]) -> int:
        return len(set(_frames(question)))

    def make(self, ctx: VideoContext, slot: int, target: Any, rng: np.random.Generator) -> Draft | None:
        moments = _distinct_moments(ctx, int(target), rng)
        if moments is None:
            return None
        copies = np.ones(len(moments), dtype=int) + np.bincount(
            rng.integers(len(moments), size=self.params["frames"] - len(moments)), minlength=len(moments)
        )
        shown = [position for position, n in zip(moments, copies, strict=True) for _ in range(n)]
        smallest = min(ctx.change(a, b) for a, b in combinations(moments, 2))
        return Draft(
            prompt=self.full_prompt(self.template),
            answer=int(target),
            frames=_shown(ctx, shown),
            evidence={"min_change": round(smallest, 3)},
        )


@question_type
class MeaningfulOrder(QuestionType):
    """Forward or reversed in time (SF2T Disorder Detection, the arrow-of-time form)."""

    name = "meaningful_order"
    level = "fragment"
    answer_type = "choice"
    template = "{context}Are these frames shown in their natural forward order, or reversed in time?"
    display_name = "Meaningful order"
    description = "Tell a forward sequence from a reversed one (2 options)."
    oracle_floor = 0.7
    params = {
        "per_video": 3,
        "frames": 4,
        "min_change": MIN_CHANGE,
        "options": ("forward order", "reversed order"),
    }
    min_frames = params["frames"]

    def slots(self, ctx: VideoContext) -> int:
        # A reversed clip of a time-symmetric event (a bounce, a rotation) is itself natural.
        return 0 if ctx.labels.get("time_symmetric") == "1" else self.params["per_video"]

    def targets(self, ctx: VideoContext) -> list[tuple[bool, int]]:
        return [(reverse, position) for reverse in (False, True) for position in (0, 1)]

    def expected_answer(self, question: Question, labels: dict[str, str]) -> str | None:
        frames = list(_frames(question))
        if frames == sorted(set(frames)):
            text = self.params["options"][0]
        elif frames == sorted(set(frames), reverse=True):
            text = self.params["options"][1]
        else:
            return None
        return LETTERS[question.options.index(text)]

    def make(self, ctx: VideoContext, slot: int, target: Any, rng: np.random.Generator) -> Draft | None:
        reverse, position = target
        chosen = _ordered_selection(ctx, self.params["frames"], rng)
        if chosen is None:
            return None
        forward, backward = self.params["options"]
        correct, other = (backward, forward) if reverse else (forward, backward)
        options, letter = place_options(correct, [other], position, rng)
        action = ctx.labels.get("action")
        context = f"The frames show this event: {humanize(action)}. " if action else ""
        return Draft(
            prompt=self.full_prompt(self.template.format(context=context), options),
            options=options,
            answer=letter,
            frames=_shown(ctx, chosen[::-1] if reverse else chosen),
            evidence=_order_evidence(ctx, chosen),
        )


@question_type
class FrameComparison(QuestionType):
    """Whether two frames are the same moment (SF2T Consistency Verification)."""

    name = "frame_comparison"
    level = "fragment"
    answer_type = "yes_no"
    template = "Are Frame 1 and Frame 2 the same moment of the video?"
    display_name = "Frame comparison"
    description = "Say whether two frames are the same moment; different pairs differ subtly but visibly."
    oracle_floor = 0.8
    params = {"per_video": 4, "min_change": MIN_CHANGE}
    min_frames = 2
    """'Different moment' pairs need two frames: with one, every item would be 'same'."""

    def targets(self, ctx: VideoContext) -> tuple[str, str]:
        return ("yes", "no")

    def expected_answer(self, question: Question, labels: dict[str, str]) -> str:
        first, second = _frames(question)
        return "yes" if first == second else "no"

    def make(self, ctx: VideoContext, slot: int, target: Any, rng: np.random.Generator) -> Draft | None:
        anchor = int(rng.integers(len(ctx.pool)))
        if target == "yes":
            return Draft(
                prompt=self.full_prompt(self.template),
                answer="yes",
                frames=_shown(ctx, [anchor, anchor]),
                evidence={"same_frame": True},
            )
        # the nearest frame that differs visibly: a subtle, but real, difference
        for gap in range(1, len(ctx.pool)):
            for other in rng.permutation([anchor - gap, anchor + gap]):
                if 0 <= other < len(ctx.pool) and ctx.change(anchor, int(other)) >= self.params["min_change"]:
                    pair = [anchor, int(other)]
                    pair = pair if rng.random() < 0.5 else pair[::-1]
                    return Draft(
                        prompt=self.full_prompt(self.template),
                        answer="no",
                        frames=_shown(ctx, pair),
                        evidence={"change": round(ctx.change(anchor, int(other)), 3)},
                    )
        return None


def _shuffles(k: int) -> list[tuple[int, ...]]:
    """Orders of k frames that are neither chronological nor fully reversed."""
    identity, reverse = tuple(range(k)), tuple(range(k))[::-1]
    return [p for p in permutations(range(k)) if p not in (identity, reverse)]


@question_type
class AdjustOrNot(QuestionType):
    """Whether a sequence needs reordering (SF2T Disorder Detection)."""

    name = "adjust_or_not"
    level = "fragment"
    answer_type = "yes_no"
    template = "Do these frames need to be reordered to be in chronological order?"
    display_name = "Adjust or not"
    description = "Say whether frames are out of order (shuffles exclude the full reversal)."
    oracle_floor = 0.7
    params = {"per_video": 4, "frames": 4, "min_change": MIN_CHANGE}
    min_frames = params["frames"]

    def targets(self, ctx: VideoContext) -> tuple[str, str]:
        return ("yes", "no")

    def expected_answer(self, question: Question, labels: dict[str, str]) -> str:
        frames = _frames(question)
        return "no" if list(frames) == sorted(frames) else "yes"

    def make(self, ctx: VideoContext, slot: int, target: Any, rng: np.random.Generator) -> Draft | None:
        chosen = _ordered_selection(ctx, self.params["frames"], rng)
        if chosen is None:
            return None
        if target == "yes":
            options = _shuffles(len(chosen))
            order = options[int(rng.integers(len(options)))]
            chosen_shown = [chosen[i] for i in order]
        else:
            chosen_shown = chosen
        return Draft(
            prompt=self.full_prompt(self.template),
            answer=target,
            frames=_shown(ctx, chosen_shown),
            evidence=_order_evidence(ctx, chosen),
        )


@question_type
class Rearrangement(QuestionType):
    """Restore the chronological order of shuffled, labelled frames (SF2T Rearrangement)."""

    name = "rearrangement"
    level = "fragment"
    answer_type = "permutation"
    template = "These frames are shuffled. Give the frame numbers in chronological order."
    display_name = "Rearrangement"
    description = "Order shuffled frames; exact match, with Kendall tau partial credit reported beside it."
    oracle_floor = 0.2  # continuity orders frames up to reversal: the oracle guesses which end comes first
    params = {"per_video": 2, "frames": 4, "min_change": MIN_CHANGE, "orders": "balanced, identity excluded"}
    min_frames = params["frames"]

    def targets(self, ctx: VideoContext) -> list[tuple[int, ...]]:
        # every shown order but the chronological one, equally often: no answer is more common
        identity = tuple(range(self.params["frames"]))
        return [order for order in permutations(identity) if order != identity]

    def expected_answer(self, question: Question, labels: dict[str, str]) -> list[int]:
        frames = _frames(question)
        numbers = range(1, len(frames) + 1)
        return [number for _, number in sorted(zip(frames, numbers, strict=True))]

    def make(self, ctx: VideoContext, slot: int, target: Any, rng: np.random.Generator) -> Draft | None:
        chosen = _ordered_selection(ctx, self.params["frames"], rng)
        if chosen is None:
            return None
        order = list(target)
        shown = [chosen[i] for i in order]
        # label (1-based position in the shown sequence) of each frame, chronologically
        answer = [order.index(i) + 1 for i in range(len(chosen))]
        return Draft(
            prompt=self.full_prompt(self.template),
            answer=answer,
            frames=_shown(ctx, shown),
            evidence=_order_evidence(ctx, chosen),
        )


@question_type
class Localization(QuestionType):
    """Where a pasted target appears or disappears in a frame sequence (SF2T Localization, training only).

    Ours, as the paper's construction is not published: a checkered square is pasted into a run of
    frames that starts (appear) or ends (disappear) inside the sequence; the answer is the number
    of the first frame that shows it, or the first that no longer does.
    """

    name = "localization"
    level = "fragment"
    answer_type = "integer"
    benchmark = False
    template = "A small checkered square is added to some of these frames. {question}"
    display_name = "Localization"
    description = "Find the frame where a pasted target first appears or first disappears (training only)."
    params = {
        "per_video": 3,
        "frames": 6,
        "count_range": (2, 6),
        "size": 0.3,
        "questions": {
            "appear": "Which is the first frame that shows it?",
            "disappear": "Which is the first frame that no longer shows it?",
        },
    }
    min_frames = params["frames"]

    def targets(self, ctx: VideoContext) -> list[tuple[str, int]]:
        low, high = self.params["count_range"]
        return [(event, number) for event in self.params["questions"] for number in range(low, high + 1)]

    def expected_answer(self, question: Question, labels: dict[str, str]) -> int:
        overlay = question.evidence["overlay"]
        shown = overlay["shown"]
        return int(shown[0] + 1 if overlay["event"] == "appear" else shown[-1] + 2)  # evidence is JSON: Any

    def make(self, ctx: VideoContext, slot: int, target: Any, rng: np.random.Generator) -> Draft | None:
        from finevidbench.protocol.overlay import make_overlay

        event, number = target
        k = self.params["frames"]
        if len(ctx.pool) < k:
            return None
        chosen = sorted(int(p) for p in rng.choice(len(ctx.pool), k, replace=False))
        # frame `number` (1-based) is the first with the target (appear) or the first without it (disappear)
        shown = list(range(number - 1, k)) if event == "appear" else list(range(0, number - 1))
        overlay = make_overlay(shown, rng, size=self.params["size"], event=event)
        question = self.template.format(question=self.params["questions"][event])
        return Draft(
            prompt=self.full_prompt(question),
            answer=int(number),
            frames=_shown(ctx, chosen),
            evidence={"overlay": overlay},
        )
