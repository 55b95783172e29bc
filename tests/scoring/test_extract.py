"""Table test of the project's one answer extractor on realistic raw model outputs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from finevidbench.scoring.extract import (
    ANSWER_TYPES,
    EXTRACTOR_VERSION,
    extract,
    extract_choice,
    extract_integer,
    extract_permutation,
    extract_yes_no,
    strip_reasoning,
)

MOTION = {"options": ("moves to the right", "moves to the left", "moves up", "stays still")}
DOOR = {"options": ("opens the door", "closes the door", "picks up a cup", "puts down a cup")}
RED = {"options": ("red", "dark red", "blue")}
K3 = {"k": 3}
K4 = {"k": 4}

ECHO = "(A) moves to the right\n(B) moves to the left\n(C) moves up\n(D) stays still"

ROWS = [
    # --- choice: terse letters in every house style
    ("choice", "B", MOTION, "B"),
    ("choice", "b)", MOTION, "B"),
    ("choice", "(B)", MOTION, "B"),
    ("choice", "B.", MOTION, "B"),
    ("choice", "B:", MOTION, "B"),
    ("choice", "[B]", MOTION, "B"),
    ("choice", "**B**", MOTION, "B"),
    ("choice", "b", MOTION, "B"),
    ("choice", "C) moves up", MOTION, "C"),
    ("choice", "Option B", MOTION, "B"),
    ("choice", "option (B)", MOTION, "B"),
    ("choice", "Answer: B", MOTION, "B"),
    ("choice", "The answer is B", MOTION, "B"),
    ("choice", "**Answer:** C", MOTION, "C"),
    ("choice", "Answer: **D**", MOTION, "D"),
    ("choice", "\\boxed{B}", MOTION, "B"),
    ("choice", "the correct answer is (C) moves up.", MOTION, "C"),
    # --- choice: option text, and a letter followed by its text
    ("choice", "It moves to the left", MOTION, "B"),
    ("choice", "B. moves to the left", MOTION, "B"),
    ("choice", "A square moves to the left.", MOTION, "B"),
    ("choice", "It closes the door.", DOOR, "B"),
    ("choice", "The light is dark red.", RED, "B"),
    # --- choice: reasoning, then the last explicit answer wins
    ("choice", "A seems possible, but the answer is C", MOTION, "C"),
    ("choice", "Initially I thought (A). Final answer: (D)", MOTION, "D"),
    (
        "choice",
        "Based on the frames, the square travels across the screen to the left, so the answer is (B).",
        MOTION,
        "B",
    ),
    ("choice", "I think the answer is B.", MOTION, "B"),
    ("choice", "I think it is B.", MOTION, "B"),
    ("choice", "Option A is wrong, so it must be C.", MOTION, "C"),
    ("choice", "The correct option is A because the square moves right.", MOTION, "A"),
    ("choice", "The answer is a square that moves up.", MOTION, "C"),
    ("choice", ECHO + "\nAnswer: C", MOTION, "C"),
    ("choice", "<think>maybe A or B</think>C", MOTION, "C"),
    ("choice", "I choose D.", MOTION, "D"),
    ("choice", "I'd go with option C", MOTION, "C"),
    ("choice", "The square moves up, which corresponds to option C.", MOTION, "C"),
    ("choice", "The answer is not A, it is D.", MOTION, "D"),
    ("choice", "Answer:\n\nB", MOTION, "B"),
    # --- choice: parse failures
    ("choice", "E", MOTION, None),
    ("choice", "The answer is E.", MOTION, None),
    ("choice", "A square appears in the middle of the frame.", MOTION, None),
    ("choice", "The object moves to the right and then moves to the left.", MOTION, None),
    ("choice", "He opens the door and then closes the door.", DOOR, None),
    ("choice", ECHO, MOTION, None),
    ("choice", "I", MOTION, None),
    ("choice", "I'm not sure what happens in this video.", MOTION, None),
    ("choice", "", MOTION, None),
    ("choice", "<think>The square clearly moves left, so B", MOTION, None),
    # --- yes_no
    ("yes_no", "Yes", {}, "yes"),
    ("yes_no", "yes.", {}, "yes"),
    ("yes_no", "YES", {}, "yes"),
    ("yes_no", "No", {}, "no"),
    ("yes_no", "**No**", {}, "no"),
    ("yes_no", "no, they are not", {}, "no"),
    ("yes_no", "Yes, the frames need reordering.", {}, "yes"),
    ("yes_no", "The answer is no.", {}, "no"),
    ("yes_no", "True", {}, "yes"),
    ("yes_no", "False.", {}, "no"),
    ("yes_no", "Correct", {}, "yes"),
    ("yes_no", "Incorrect.", {}, "no"),
    ("yes_no", "Frame 3 happens before frame 1, so the frames are not in order. Answer: no", {}, "no"),
    ("yes_no", "Yes. Wait, frame 2 should come first. Final answer: No", {}, "no"),
    ("yes_no", "Yes and no: only the first two frames are in order.", {}, "yes"),
    ("yes_no", "Looking at the frames, I would say yes.", {}, "yes"),
    ("yes_no", "The ball falls and bounces, so no.", {}, "no"),
    ("yes_no", "The frames are in the correct order, yes.", {}, "yes"),
    ("yes_no", "<think>They look ordered, yes.</think>No", {}, "no"),
    ("yes_no", "Not in order", {}, None),
    ("yes_no", "I cannot tell.", {}, None),
    ("yes_no", "Frame 2 suggests yes but frame 3 suggests no.", {}, None),
    ("yes_no", "There is no person in the video.", {}, None),
    ("yes_no", "That is correct.", {}, None),
    # --- integer
    ("integer", "8", {}, 8),
    ("integer", "There are 8 frames.", {}, 8),
    ("integer", "8. There are 8 frames in which the hand is visible.", {}, 8),
    ("integer", "eight", {}, 8),
    ("integer", "Eight frames", {}, 8),
    ("integer", "twelve", {}, 12),
    ("integer", "sixteen.", {}, 16),
    ("integer", "**7**", {}, 7),
    ("integer", "Frame 1 shows a cup, Frame 2 shows a hand ... so the answer is 6.", {}, 6),
    ("integer", "The answer is six, not eight.", {}, 6),
    ("integer", "Counting the frames: 1, 2, 3, 4, 5. Total: 5", {}, 5),
    ("integer", "The number of frames is ten.", {}, 10),
    ("integer", "I see 3 frames with the ball, then 4 more, so 7 in total.", {}, 7),
    ("integer", "The one on the left appears in 4 frames.", {}, 4),
    ("integer", "<think>3 frames</think>The answer is 5.", {}, 5),
    ("integer", "20", {}, 20),  # read as answered: the scorer, not the reader, knows the range
    ("integer", "The answer is 1.", {}, 1),
    ("integer", "I cannot determine the number of frames.", {}, None),
    ("integer", "The motion lasts about 2.5 seconds.", {}, None),
    ("integer", "Only the one on the left moved.", {}, None),
    # --- permutation: every notation
    ("permutation", "3 1 2", K3, (3, 1, 2)),
    ("permutation", "3,1,2", K3, (3, 1, 2)),
    ("permutation", "3, 1, 2", K3, (3, 1, 2)),
    ("permutation", "[3, 1, 2]", K3, (3, 1, 2)),
    ("permutation", "(3,1,2)", K3, (3, 1, 2)),
    ("permutation", "3-1-2", K3, (3, 1, 2)),
    ("permutation", "3 -> 1 -> 2", K3, (3, 1, 2)),
    ("permutation", "3>1>2", K3, (3, 1, 2)),
    ("permutation", "Frame 3, Frame 1, Frame 2", K3, (3, 1, 2)),
    ("permutation", "frame3 frame1 frame2", K3, (3, 1, 2)),
    ("permutation", "The correct order is: Frame 2, Frame 3, Frame 1.", K3, (2, 3, 1)),
    ("permutation", "Order: 2 3 1", K3, (2, 3, 1)),
    ("permutation", "312", K3, (3, 1, 2)),
    ("permutation", "\\boxed{3, 1, 2}", K3, (3, 1, 2)),
    ("permutation", "**Answer:** 4, 2, 1, 3", K4, (4, 2, 1, 3)),
    ("permutation", "Frames: 2 → 1 → 4 → 3", K4, (2, 1, 4, 3)),
    ("permutation", "10 2 1 3 4 5 6 7 8 9", {"k": 10}, (10, 2, 1, 3, 4, 5, 6, 7, 8, 9)),
    # --- permutation: reasoning, then the last explicit order wins
    (
        "permutation",
        "Frame 1 shows the cup full, Frame 2 empty, Frame 3 half full. "
        "The correct order is 1, 3, 2 since frames 2 and 3 are swapped.",
        K3,
        (1, 3, 2),
    ),
    ("permutation", "I think the order is 1 2 3. Final answer: 3 1 2", K3, (3, 1, 2)),
    ("permutation", "The order is: Frame 3 shows the start, then Frame 1, then Frame 2.", K3, (3, 1, 2)),
    ("permutation", "<think>1 2 3</think>2 1 3", K3, (2, 1, 3)),
    ("permutation", "The correct order is:\n1. Frame 3\n2. Frame 1\n3. Frame 2", K3, (3, 1, 2)),
    ("permutation", "1. Frame 2: the cup is full\n2. Frame 3: half full\n3. Frame 1: empty", K3, (2, 3, 1)),
    # --- permutation: parse failures
    ("permutation", "312", K4, None),
    ("permutation", "1234567891", {"k": 10}, None),
    ("permutation", "3 1 1", K3, None),
    ("permutation", "3 1 4", K3, None),
    ("permutation", "3 1", K3, None),
    ("permutation", "3 1 2 4", K3, None),
    ("permutation", "The order is 2 3 1. Final answer: 2 2 1", K3, None),
    ("permutation", "The frames are already in chronological order.", K3, None),
    ("permutation", "Frame 2 comes first, followed by frame 3, and frame 1 is last.", K3, None),
]


@pytest.mark.parametrize(("answer_type", "raw", "kwargs", "expected"), ROWS)
def test_extract_table(answer_type, raw, kwargs, expected):
    assert extract(answer_type, raw, **kwargs) == expected


def test_table_covers_every_type_and_failure():
    assert len(ROWS) >= 70
    for answer_type in ANSWER_TYPES:
        expected = [row[3] for row in ROWS if row[0] == answer_type]
        assert None in expected and any(value is not None for value in expected), answer_type


def test_type_functions_agree_with_extract():
    assert extract_choice("(B)", MOTION["options"]) == "B"
    assert extract_yes_no("No.") == "no"
    assert extract_integer("nine") == 9
    assert extract_permutation("2 3 1", 3) == (2, 3, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<think>maybe A</think> B ", "B"),
        ("<think>a</think>b<think>c</think>d", "b d"),
        ("<think>still reasoning, A or B", ""),
        ("reasoning whose opening tag was in the prompt</think>\nC", "C"),
        ("  plain answer  ", "plain answer"),
    ],
)
def test_strip_reasoning(raw, expected):
    assert strip_reasoning(raw) == expected


def test_unknown_type_raises():
    with pytest.raises(ValueError, match="unknown answer type"):
        extract("free_text", "B")


def test_missing_frame_count_raises():
    with pytest.raises(ValueError, match="needs k"):
        extract("permutation", "3 1 2")


def test_odd_input_never_raises():
    for answer_type in ANSWER_TYPES:
        for raw in (None, "", "   ", "<think>", "</think>", "((((", "9" * 500, "frame " * 200):
            extract(answer_type, raw, options=MOTION["options"], k=4)


def test_version_is_a_string():
    assert isinstance(EXTRACTOR_VERSION, str) and EXTRACTOR_VERSION


def test_thread_safe():
    def run(row):
        answer_type, raw, kwargs, _ = row
        return extract(answer_type, raw, **kwargs)

    serial = [run(row) for row in ROWS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(5):
            assert list(pool.map(run, ROWS)) == serial
    assert serial == [row[3] for row in ROWS]
