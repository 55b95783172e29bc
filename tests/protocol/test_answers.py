"""Answer types: one object per kind of answer, and every answer it can give reads back as itself."""

import numpy as np
import pytest

from finevidbench.protocol import ANSWER_TYPES, QUESTION_TYPES, TRAINING_TYPES, AnswerType, Question, get_answer_type
from finevidbench.scoring.extract import extract

ALL_TYPES = QUESTION_TYPES | TRAINING_TYPES
OPTIONS = ("moves to the right", "moves to the left", "moves up", "stays still")


def _item(qtype) -> Question:
    """A stand-in item of `qtype`: four options for a choice, its own frame count for a fragment type."""
    frames = tuple(range(qtype.params.get("frames", 4))) if qtype.level == "fragment" else None
    options = OPTIONS if qtype.answers.offers_options else ()
    answer = list(range(1, len(frames) + 1)) if frames else None  # what a permutation type's chance reads
    return Question("x", "v", "v.mp4", qtype.level, qtype.name, 1.0, frames, "", options, answer, qtype.answer_type)


@pytest.mark.parametrize("name", sorted(ALL_TYPES))
def test_every_question_type_names_a_registered_answer_type(name):
    qtype = ALL_TYPES[name]
    assert isinstance(get_answer_type(qtype.answer_type), AnswerType)
    assert qtype.answers is ANSWER_TYPES[qtype.answer_type] and qtype.answers.name == qtype.answer_type


@pytest.mark.parametrize("name", sorted(ALL_TYPES))
@pytest.mark.parametrize("seed", range(5))
def test_a_random_answer_written_out_parses_back(name, seed):
    qtype = ALL_TYPES[name]
    answers, space = qtype.answers, qtype.space_of(_item(qtype))
    value = answers.random_answer(np.random.default_rng(seed), space)
    assert answers.parse(answers.format(value), space) == value
    assert extract(qtype.answer_type, answers.format(value), options=space.options, k=space.frames) == value


@pytest.mark.parametrize("name", sorted(ALL_TYPES))
def test_every_possible_answer_parses_back_and_sets_the_chance_level(name):
    qtype = ALL_TYPES[name]
    item = _item(qtype)
    answers, space = qtype.answers, qtype.space_of(item)
    values = answers.values(space)
    assert [answers.parse(answers.format(v), space) for v in values] == values
    assert len({answers.label(v) for v in values}) == len(values)
    assert qtype.chance(item) == answers.chance(space) == pytest.approx(1 / len(values))


def test_choice_keys_are_option_texts_wherever_they_are_offered():
    choice = get_answer_type("choice")
    space = QUESTION_TYPES["action"].answer_space(OPTIONS)
    assert choice.key("B", space) == "moves to the left" and choice.from_key("moves to the left", space) == "B"
    assert choice.from_key("jumps", space) is None


def test_answer_written_as_the_instruction_asks():
    assert get_answer_type("permutation").format((3, 1, 2)) == "3, 1, 2"
    assert get_answer_type("permutation").label([3, 1, 2]) == "3 1 2"
    assert get_answer_type("integer").format(7) == "7"


def test_unknown_answer_type_names_the_known_ones():
    with pytest.raises(ValueError, match="yes_no"):
        get_answer_type("frame_set")


def test_permutation_needs_a_frame_count():
    with pytest.raises(ValueError, match="needs k"):
        get_answer_type("permutation").parse("3 1 2")
