"""The FineVidBench protocol: question records and the registry of question types."""

from finevidbench.protocol.answers import ANSWER_TYPES, AnswerSpace, AnswerType, get_answer_type
from finevidbench.protocol.records import Draft, Question, VideoContext
from finevidbench.protocol.registry import (
    DEFAULT_SCENE_POLICY,
    FRAGMENT_FRAME_SECONDS,
    FRAGMENT_INTRO,
    LETTERS,
    OPTION_FORMAT,
    QUESTION_TYPES,
    TRAINING_TYPES,
    QuestionType,
    get_type,
    protocol_version,
    question_type,
    types_by_level,
)

__all__ = [
    "ANSWER_TYPES",
    "DEFAULT_SCENE_POLICY",
    "FRAGMENT_FRAME_SECONDS",
    "FRAGMENT_INTRO",
    "LETTERS",
    "OPTION_FORMAT",
    "QUESTION_TYPES",
    "TRAINING_TYPES",
    "AnswerSpace",
    "AnswerType",
    "Draft",
    "Question",
    "QuestionType",
    "VideoContext",
    "get_answer_type",
    "get_type",
    "protocol_version",
    "question_type",
    "types_by_level",
]
