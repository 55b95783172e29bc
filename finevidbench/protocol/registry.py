"""The registry of question types: the only list of them in the project.

A question type is one object that owns its generator, prompt template, answer type, chance
level and scorer, so prompt and scorer can never drift apart. Types live one per module in
`finevidbench/protocol/types/` and register themselves with `@question_type`; the builder, the
lmms-eval task YAMLs, the results breakdown and the docs table are all derived from the registry.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from finevidbench.protocol.answers import ANSWER_TYPES, LETTERS, AnswerSpace, AnswerType, get_answer_type
from finevidbench.protocol.records import Draft, Level, Question, VideoContext
from finevidbench.video.policy import SAMPLING_RULES

PROTOCOL_NAME = "finevidbench-v1"
DEFAULT_SCENE_POLICY = "fps=3,max_frames=24,mode=segment"
"""Frames of a scene item unless a run overrides it: sampling by fps keeps playback speed visible
(a fixed frame count would show the same frames at every speed, see docs/protocol.md)."""
FRAGMENT_FRAME_SECONDS = 1.0
"""Fragment frames given to a model as a video are spaced this far apart, whatever their source
times: real timestamps would give away the order of shuffled frames."""
OPTION_FORMAT = "({letter}) {text}"
FRAGMENT_INTRO = "You are given {count} frames, labelled Frame 1 to Frame {count} in the order shown."
"""Said before every fragment prompt (taskdocs.doc_to_text)."""


class QuestionType(ABC):
    """Base class of a question type. Subclasses set the class attributes and implement `make`."""

    name: ClassVar[str]
    level: ClassVar[Level]
    answer_type: ClassVar[str]
    """The name of an answer type of `finevidbench.protocol.answers` (stored as is in questions.jsonl)."""
    template: ClassVar[str]
    """The question wording; `str.format` fields are filled by `make`."""
    display_name: ClassVar[str]
    description: ClassVar[str]
    needs_label: ClassVar[str | None] = None
    """Label column the type needs (action, effect); None for self-supervised types."""
    params: ClassVar[dict[str, Any]] = {}
    """Generator parameters; hashed into the protocol version."""
    benchmark: ClassVar[bool] = True
    """False for a training-only type (SF2T Localization): built on request, never part of the
    benchmark's default set or of its protocol version."""
    min_frames: ClassVar[int] = 2
    """The fewest distinct frames a video must offer for any item of this type: the builder makes none
    of it for a video below (manifest `too_short`). The one statement of this rule; see `too_short`."""
    oracle_floor: ClassVar[float | None] = None
    """Least accuracy of the pixel oracle (finevidbench.oracle) on this type: a set whose oracle interval lies
    wholly below it has too many items its shown frames cannot decide (`validate --oracle`, docs/protocol.md).
    None: the type needs semantics, outside the oracle's reach. Not hashed: it judges a set, it builds nothing."""

    def frames_needed(self, speeds: Sequence[float]) -> int:
        """The fewest frames a video needs for this type at these playback speeds: `min_frames` unless speeds matter."""
        return self.min_frames

    def too_short(self, ctx: VideoContext) -> str | None:
        """Why the video has too few frames for this type, or None when it has enough.

        Fragment types count the distinct frames of the candidate pool (at most `pool_frames`),
        scene types the whole clip's.
        """
        offered = len(ctx.pool) if self.level == "fragment" else ctx.meta.frame_count
        needed = self.frames_needed(ctx.speeds)
        return None if offered >= needed else f"{offered} distinct frames < {needed}"

    def slots(self, ctx: VideoContext) -> int:
        """How many questions of this type to build for one video (0 when the video cannot have any)."""
        if self.needs_label and not ctx.labels.get(self.needs_label):
            return 0
        return int(self.params.get("per_video", 1))

    def targets(self, ctx: VideoContext) -> Sequence[Any] | None:
        """Answer values to balance over the whole set (None: no balancing for this type)."""
        return None

    @abstractmethod
    def make(self, ctx: VideoContext, slot: int, target: Any, rng: np.random.Generator) -> Draft | None:
        """Build one item whose answer is `target`, or None when this video cannot give one."""

    @abstractmethod
    def expected_answer(self, question: Question, labels: dict[str, str]) -> Any:
        """The answer recomputed from how the item was built (its frames, speed, the video's labels).

        `finevidbench validate` and the tests compare it with the stored answer, so no answer can
        be wrong by construction.
        """

    @property
    def answers(self) -> AnswerType:
        """The answer-type object named by `answer_type`: instruction, reader, answer space."""
        return get_answer_type(self.answer_type)

    def answer_space(self, options: Sequence[str] = (), frames: int | None = None) -> AnswerSpace:
        """What an item's answers range over: its options and frame count, and this type's count range."""
        return AnswerSpace(tuple(options), frames, self.params.get("count_range"))

    def space_of(self, question: Question) -> AnswerSpace:
        """The answer space of one built item."""
        return self.answer_space(question.options, len(question.frames or ()))

    def full_prompt(self, question_text: str, options: Sequence[str] = ()) -> str:
        """Question, lettered options and the answer instruction of this type's answer type."""
        lines = [question_text]
        lines += [OPTION_FORMAT.format(letter=LETTERS[i], text=text) for i, text in enumerate(options)]
        lines.append(self.answers.instruction)
        return "\n".join(lines)

    def chance(self, question: Question) -> float:
        """Expected accuracy of uniform guessing over the answers this item can have."""
        return self.answers.chance(self.space_of(question))

    def score(self, question: Question, parsed: Any) -> float:
        """1.0 for an exact match of the parsed answer, else 0.0 (None, unparsed, is wrong)."""
        if parsed is None:
            return 0.0
        gold = question.answer
        if isinstance(gold, list):
            return float(tuple(parsed) == tuple(gold))
        return float(parsed == gold)

    def answer_text(self, question: Question) -> str:
        """The gold answer written the way the answer instruction asks for it (training targets)."""
        return self.answers.format(question.answer)

    def spec(self) -> dict[str, Any]:
        """The hashed description of this type: level, answer type, template, parameters."""
        return {
            "name": self.name,
            "level": self.level,
            "answer_type": self.answer_type,
            "needs_label": self.needs_label,
            "template": self.template,
            "instruction": self.answers.instruction,
            "params": self.params,
        }


QUESTION_TYPES: dict[str, QuestionType] = {}
"""The benchmark's types: what a default build makes and what the protocol version hashes."""
TRAINING_TYPES: dict[str, QuestionType] = {}
"""Types built only for training data (`benchmark = False`)."""


def question_type(cls: type[QuestionType]) -> type[QuestionType]:
    """Class decorator: register one instance of a question type under its name."""
    if cls.name in QUESTION_TYPES or cls.name in TRAINING_TYPES:
        raise ValueError(f"question type {cls.name!r} is registered twice")
    (QUESTION_TYPES if cls.benchmark else TRAINING_TYPES)[cls.name] = cls()
    return cls


def _discover() -> None:
    from finevidbench.protocol import types as package

    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
        importlib.import_module(f"{package.__name__}.{module}")


def get_type(name: str) -> QuestionType:
    """The registered type called `name`; a clear error names the known ones."""
    found = QUESTION_TYPES.get(name) or TRAINING_TYPES.get(name)
    if found is None:
        raise KeyError(f"unknown question type {name!r}; known: {sorted(QUESTION_TYPES | TRAINING_TYPES)}")
    return found


def types_by_level(level: Level) -> list[QuestionType]:
    """Registered types of one level, in registry order."""
    return [t for t in QUESTION_TYPES.values() if t.level == level]


def rendering_spec() -> dict[str, Any]:
    """Everything a model reads or receives besides the type templates: wording around them and framing."""
    return {
        "fragment_intro": FRAGMENT_INTRO,
        "option_format": OPTION_FORMAT,
        "letters": LETTERS,
        "answer_instructions": {name: answers.instruction for name, answers in ANSWER_TYPES.items()},
        "scene_policy": DEFAULT_SCENE_POLICY,
        "frame_sampling": SAMPLING_RULES,
        "fragment_frame_seconds": FRAGMENT_FRAME_SECONDS,
    }


def protocol_version() -> str:
    """`finevidbench-v1+<hash>`: the hash of every type's spec and of the text around the questions.

    Any change to what a model reads (a template, an instruction, the fragment intro, the option
    format) or to how items are generated gives another version, so scores of two versions are
    never compared by mistake.
    """
    specs = {"types": [t.spec() for t in QUESTION_TYPES.values()], "rendering": rendering_spec()}
    blob = json.dumps(specs, sort_keys=True).encode()
    return f"{PROTOCOL_NAME}+{hashlib.sha256(blob).hexdigest()[:10]}"


_discover()
