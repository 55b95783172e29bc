import dataclasses
import json
from pathlib import Path

import pytest

from finevidbench.protocol import QUESTION_TYPES, Question, get_type, protocol_version
from finevidbench.protocol.answers import ANSWER_TYPES
from finevidbench.protocol.describe import markdown_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(QUESTION_TYPES))
def test_every_type_is_complete(name):
    qtype = get_type(name)
    assert qtype.name == name and qtype.level in ("scene", "fragment")
    assert qtype.answer_type in ANSWER_TYPES
    assert qtype.template and qtype.display_name and qtype.description
    json.dumps(qtype.spec())  # the spec is plain data (it is hashed into the protocol version)


def test_registry_covers_protocol_v1():
    assert {t for t, q in QUESTION_TYPES.items() if q.level == "scene"} == {"action", "effect", "speed"}
    assert {t for t, q in QUESTION_TYPES.items() if q.level == "fragment"} == {
        "moment_count",
        "meaningful_order",
        "frame_comparison",
        "adjust_or_not",
        "rearrangement",
    }


def test_protocol_version_is_a_hash_of_templates_and_parameters(monkeypatch):
    version = protocol_version()
    assert version.startswith("finevidbench-v1+") and version == protocol_version()
    monkeypatch.setattr(type(get_type("moment_count")), "template", "How many scenes are there?")
    changed = protocol_version()
    monkeypatch.undo()
    monkeypatch.setitem(type(get_type("rearrangement")).params, "frames", 5)
    assert len({version, changed, protocol_version()}) == 3


@pytest.mark.parametrize(
    "name, value",
    [
        ("FRAGMENT_INTRO", "Here are {count} images, numbered in order."),
        ("OPTION_FORMAT", "{letter}. {text}"),
        ("LETTERS", "abcdefgh"),
        ("DEFAULT_SCENE_POLICY", "fps=2,max_frames=24,mode=segment"),
        ("FRAGMENT_FRAME_SECONDS", 0.5),
    ],
)
def test_protocol_version_changes_when_any_text_the_model_reads_changes(monkeypatch, name, value):
    from finevidbench import request
    from finevidbench.protocol import Question, registry

    version = protocol_version()
    monkeypatch.setattr(registry, name, value)
    assert protocol_version() != version
    if name == "FRAGMENT_INTRO":  # the prompt renderer reads the same constant
        monkeypatch.setattr(request, name, value)
        fragment = Question("q", "v", "v.mp4", "fragment", "rearrangement", 1.0, (3, 1), "Q", (), None, "permutation")
        assert request.question_text(fragment).startswith("Here are 2")


def test_protocol_version_changes_with_an_answer_instruction(monkeypatch):
    version = protocol_version()
    reworded = dataclasses.replace(ANSWER_TYPES["yes_no"], instruction="Reply with yes or no.")
    monkeypatch.setitem(ANSWER_TYPES, "yes_no", reworded)
    assert protocol_version() != version


def test_unknown_type_names_the_known_ones():
    with pytest.raises(KeyError, match="moment_count"):
        get_type("moment_counting")


def test_docs_table_matches_the_registry():
    assert markdown_table() in (ROOT / "docs" / "protocol.md").read_text(), (
        "docs/protocol.md is stale: paste the output of `finevidbench protocol` between its markers"
    )


def _fragment(qtype: str, frames, answer, options=()) -> Question:
    return Question("x", "v", "v.mp4", "fragment", qtype, 1.0, tuple(frames), "", tuple(options), answer, "")


def test_expected_answers_follow_from_the_frames():
    assert get_type("rearrangement").expected_answer(_fragment("rearrangement", [30, 10, 20], None), {}) == [
        2,
        3,
        1,
    ]
    assert get_type("adjust_or_not").expected_answer(_fragment("adjust_or_not", [1, 3, 2], None), {}) == "yes"
    assert get_type("adjust_or_not").expected_answer(_fragment("adjust_or_not", [1, 2, 3], None), {}) == "no"
    assert get_type("frame_comparison").expected_answer(_fragment("frame_comparison", [4, 4], None), {}) == "yes"
    # distinct moments, not frames: repeats of one source frame count once
    assert get_type("moment_count").expected_answer(_fragment("moment_count", [1, 1, 5, 9, 9, 9], None), {}) == 3
    options = ("reversed order", "forward order")
    order = get_type("meaningful_order")
    assert order.expected_answer(_fragment("meaningful_order", [9, 5, 1], None, options), {}) == "A"
    assert order.expected_answer(_fragment("meaningful_order", [1, 5, 9], None, options), {}) == "B"
