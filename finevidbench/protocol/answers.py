"""The answer types: one object per kind of answer, owning everything that depends on that kind.

A question type names its answer type (`QuestionType.answer_type`, the string stored in
questions.jsonl); the object of that name owns the instruction appended to the prompt, the reader
that parses a response, how an answer is written, the answers an item can have (hence its chance
level and the balance `finevidbench validate` checks) and a uniformly drawn answer (the random
baseline). Prompt, extractor, scorer, validation and baselines all ask this object, so they cannot
disagree about an answer type.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import permutations
from typing import Any, ClassVar

import numpy as np

from finevidbench.scoring.parsing.choice import LETTERS, extract_choice, extract_yes_no
from finevidbench.scoring.parsing.integer import extract_integer
from finevidbench.scoring.parsing.permutation import extract_permutation
from finevidbench.scoring.parsing.text import strip_reasoning
from finevidbench.scoring.stats import kendall_partial_credit


@dataclass(frozen=True)
class AnswerSpace:
    """What the answers of one item range over (each answer type reads the fields it needs)."""

    options: tuple[str, ...] = ()
    """Option texts, shown as (A), (B), ... (choice)."""
    frames: int | None = None
    """How many frames the item shows (permutation: the frames to put in order)."""
    count_range: tuple[int, int] | None = None
    """Smallest and largest answer the question type asks for (integer: its `count_range` param)."""


@dataclass(frozen=True)
class AnswerType:
    """One kind of answer; subclasses implement the reader, the answer space and the random draw."""

    name: str
    """The name questions.jsonl stores; hashed into the protocol version with the instruction."""
    instruction: str
    """The line appended to every prompt of this answer type."""
    offers_options: ClassVar[bool] = False
    """True when the answer is the letter of one of the item's options."""
    single_number: ClassVar[bool] = False
    """True when the answer is one number, which a text can name."""

    def parse(self, text: str, space: AnswerSpace = AnswerSpace()) -> Any | None:
        """The answer a raw model output gives, after its reasoning is dropped; None when unreadable."""
        return self._read(strip_reasoning(text), space)

    def _read(self, text: str, space: AnswerSpace) -> Any | None:
        raise NotImplementedError

    def format(self, value: Any) -> str:
        """An answer written the way the instruction asks for it (training targets, baselines)."""
        return str(value)

    def label(self, value: Any) -> str:
        """An answer as balance tables count it (`finevidbench validate`, the manifest)."""
        return self.format(value)

    def values(self, space: AnswerSpace) -> list[Any]:
        """Every answer an item can have, in a fixed order."""
        raise NotImplementedError

    def chance(self, space: AnswerSpace) -> float:
        """Expected accuracy of uniform guessing over the answers an item can have."""
        return 1.0 / len(self.values(space))

    def random_answer(self, rng: np.random.Generator, space: AnswerSpace) -> Any:
        """A uniformly drawn answer (the random baseline; its draws are part of its reproducibility)."""
        raise NotImplementedError

    def key(self, value: Any, space: AnswerSpace) -> str:
        """The answer as a class label independent of where it is offered (the pixel-blind adversaries)."""
        return self.format(value)

    def from_key(self, key: str, space: AnswerSpace) -> str | None:
        """The written answer naming a class label; None when the item cannot give that answer."""
        return key

    def partial_credit(self, parsed: Any | None, gold: Any) -> float | None:
        """Credit for a partly right answer, in [0, 1]; None where this answer type has none."""
        return None


class ChoiceAnswer(AnswerType):
    """The letter of one of the item's options."""

    offers_options = True

    def _read(self, text: str, space: AnswerSpace) -> str | None:
        return extract_choice(text, space.options)

    def values(self, space: AnswerSpace) -> list[str]:
        """The letters of the options offered."""
        return list(LETTERS[: len(space.options)])

    def random_answer(self, rng: np.random.Generator, space: AnswerSpace) -> str:
        """One of the offered letters."""
        return LETTERS[int(rng.integers(len(space.options)))]

    def key(self, value: str, space: AnswerSpace) -> str:
        """The option text under the letter: the same label wherever the option is placed."""
        return space.options[LETTERS.index(value)]

    def from_key(self, key: str, space: AnswerSpace) -> str | None:
        """The letter under which the item offers the option text, or None."""
        return LETTERS[space.options.index(key)] if key in space.options else None


class YesNoAnswer(AnswerType):
    """A verdict, "yes" or "no"."""

    def _read(self, text: str, space: AnswerSpace) -> str | None:
        return extract_yes_no(text)

    def values(self, space: AnswerSpace) -> list[str]:
        """Both verdicts."""
        return ["yes", "no"]

    def random_answer(self, rng: np.random.Generator, space: AnswerSpace) -> str:
        """Either verdict, with probability one half."""
        return "yes" if rng.random() < 0.5 else "no"


class IntegerAnswer(AnswerType):
    """A count within the question type's `count_range`."""

    single_number = True

    def _read(self, text: str, space: AnswerSpace) -> int | None:
        return extract_integer(text)

    def _range(self, space: AnswerSpace) -> tuple[int, int]:
        if space.count_range is None:
            raise ValueError(f"answer type {self.name!r} needs a count range")
        return space.count_range

    def values(self, space: AnswerSpace) -> list[int]:
        """Every count from the smallest to the largest the type asks for."""
        low, high = self._range(space)
        return list(range(low, high + 1))

    def random_answer(self, rng: np.random.Generator, space: AnswerSpace) -> int:
        """A count drawn uniformly from the type's range."""
        low, high = self._range(space)
        return int(rng.integers(low, high + 1))


class PermutationAnswer(AnswerType):
    """The chronological order of shuffled frames, as their labels 1..k."""

    def _read(self, text: str, space: AnswerSpace) -> tuple[int, ...] | None:
        return extract_permutation(text, self._frames(space))

    def parse(self, text: str, space: AnswerSpace = AnswerSpace()) -> tuple[int, ...] | None:
        """The order a raw model output gives; raises when the frame count is missing (a wrong call)."""
        self._frames(space)
        return super().parse(text, space)

    def _frames(self, space: AnswerSpace) -> int:
        if space.frames is None:
            raise ValueError(f"answer type {self.name!r} needs k (the number of frames)")
        return space.frames

    def format(self, value: Sequence[int]) -> str:
        """Labels separated by commas, as the instruction asks."""
        return ", ".join(map(str, value))

    def label(self, value: Sequence[int]) -> str:
        """Labels separated by spaces."""
        return " ".join(map(str, value))

    def values(self, space: AnswerSpace) -> list[tuple[int, ...]]:
        """Every order but the chronological one: frames shown in order are no shuffle to undo."""
        labels = tuple(range(1, self._frames(space) + 1))
        return [order for order in permutations(labels) if order != labels]

    def chance(self, space: AnswerSpace) -> float:
        """One over the k! - 1 orders an item can have (computed, not enumerated)."""
        return 1.0 / (math.factorial(self._frames(space)) - 1)

    def random_answer(self, rng: np.random.Generator, space: AnswerSpace) -> tuple[int, ...]:
        """Any of the k! orders, the chronological one included (as the random baseline always drew)."""
        return tuple(int(label) for label in rng.permutation(self._frames(space)) + 1)

    def partial_credit(self, parsed: Sequence[int] | None, gold: Sequence[int]) -> float:
        """Kendall-tau credit (chance 0.5); an unparsed answer earns 0."""
        return kendall_partial_credit(list(parsed) if parsed else None, list(gold))


CHOICE = ChoiceAnswer("choice", "Answer with the option's letter from the given choices directly.")
YES_NO = YesNoAnswer("yes_no", "Answer yes or no.")
INTEGER = IntegerAnswer("integer", "Answer with a single number.")
PERMUTATION = PermutationAnswer(
    "permutation", "Answer with the frame numbers in chronological order, separated by commas."
)

ANSWER_TYPES: dict[str, AnswerType] = {t.name: t for t in (CHOICE, YES_NO, INTEGER, PERMUTATION)}
"""Every answer type by name, in the order the docs list them (a plain dict, like `QUESTION_TYPES`)."""


def get_answer_type(name: str) -> AnswerType:
    """The answer type called `name`; a clear error names the known ones."""
    found = ANSWER_TYPES.get(name)
    if found is None:
        raise ValueError(f"unknown answer type {name!r}; known: {list(ANSWER_TYPES)}")
    return found
