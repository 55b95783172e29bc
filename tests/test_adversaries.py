"""Pixel-blind adversaries find what can be answered without the video, and only that."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from finevidbench import taskdocs
from finevidbench.adversaries import cross_fitted_answers, fold_of, observe, run_adversaries
from finevidbench.protocol import LETTERS

# What the adversaries find on the mini set of this protocol version. Each is a flaw of the
# benchmark, not of the adversary (docs/protocol.md, "Answerable without the video"): fixing a
# type removes it here, and a new leak anywhere fails this test.
MINI_LEAKS = {
    ("frame_count", "text_only"),  # "You are given N frames": the count is in the prompt
    ("frame_count", "metadata_only"),  # and it is the number of images received
    ("speed", "metadata_only"),  # shown duration and frame count separate the speeds
}


@pytest.fixture(scope="module")
def mini_findings(mini):
    return run_adversaries(mini)


def test_mini_leaks_exactly_where_documented(mini_findings):
    assert {(f.type, f.adversary) for f in mini_findings if f.beats_chance} == MINI_LEAKS
    clean = [f for f in mini_findings if (f.type, f.adversary) not in MINI_LEAKS]
    assert clean and all(f.ci_low <= f.chance <= f.ci_high for f in clean), [f.line() for f in clean]


def test_observables_carry_no_answer_and_match_what_the_model_receives(mini):
    observed = {o.question_id: o for o in observe(mini)}
    assert not {f.name for f in dataclasses.fields(next(iter(observed.values())))} & {"answer", "frames", "speed"}
    for q in mini.questions[:200]:
        obs = observed[q.id]
        assert obs.text == taskdocs.doc_to_text(taskdocs.doc_of(q, mini))
        if q.frames is not None:
            assert obs.n_inputs == len(q.frames)


def test_answers_are_cross_fitted_by_video(mini, monkeypatch):
    """Changing one video's gold answers cannot change what the adversary says about that video."""
    video = mini.questions[0].video
    before = cross_fitted_answers(mini, "metadata_only")
    import finevidbench.adversaries as adversaries

    real = adversaries.answer_key
    monkeypatch.setattr(adversaries, "answer_key", lambda q: "tampered" if q.video == video else real(q))
    after = cross_fitted_answers(mini, "metadata_only")
    own = [q.id for q in mini.questions if q.video == video]
    assert [before[i] for i in own] == [after[i] for i in own]
    same_fold = {q.video for q in mini.questions if fold_of(q.video) == fold_of(video)}
    others = [q.id for q in mini.questions if q.video not in same_fold]
    assert any(before[i] != after[i] for i in others), "the tampered answers were never used for training"


def test_the_text_adversary_follows_the_channel_not_the_type(mini, monkeypatch):
    """Without the count in the prompt it is back at chance on counting; redrawn distractors make it win on actions."""
    monkeypatch.setattr(taskdocs, "doc_to_text", lambda doc: doc["prompt"])  # no "You are given N frames"
    vocab = sorted({o for q in mini.questions if q.type == "action" for o in q.options})

    def redrawn(q):  # the builder's old way: other distractors at each speed, the answer kept in place
        if q.type != "action":
            return q
        correct = q.options[LETTERS.index(q.answer)]
        rng = np.random.default_rng(int.from_bytes(q.id.encode()[-8:], "little"))
        others = [vocab[i] for i in rng.permutation(len(vocab)) if vocab[i] != correct][: len(q.options) - 1]
        position = LETTERS.index(q.answer)
        return dataclasses.replace(q, options=tuple(others[:position] + [correct] + others[position:]))

    leaky = dataclasses.replace(mini, questions=tuple(redrawn(q) for q in mini.questions))
    findings = {f.type: f for f in run_adversaries(leaky, ["text_only"])}
    assert not findings["frame_count"].beats_chance, findings["frame_count"].line()
    assert findings["action"].beats_chance, findings["action"].line()
    assert not findings["effect"].beats_chance, findings["effect"].line()


def test_validate_with_adversaries_names_each_leak_and_fails(mini):
    result = subprocess.run(
        [sys.executable, "-m", "finevidbench.cli", "validate", "mini", "--adversaries"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    leak_lines = [line for line in result.stdout.splitlines() if line.startswith("  - ")]
    assert len(leak_lines) == len(MINI_LEAKS)
    assert any(line.startswith("  - frame_count: text_only 1.000") and "> chance 0.125" in line for line in leak_lines)
