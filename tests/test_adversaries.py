"""Pixel-blind adversaries find what can be answered without the video, and only that."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from conftest import link_videos

from finevidbench import taskdocs
from finevidbench.adversaries import cross_fitted_answers, fold_of, observe, run_adversaries
from finevidbench.protocol import LETTERS

# What the adversaries find on the mini set of this protocol version. Each is a flaw of the
# benchmark, not of the adversary (docs/protocol.md, "Answerable without the video"): fixing a
# type removes it here, and a new leak anywhere fails this test.
MINI_LEAKS: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def mini_findings(mini):
    return run_adversaries(mini)


def test_mini_leaks_exactly_where_documented(mini_findings):
    assert {(f.type, f.adversary) for f in mini_findings if f.beats_chance} == MINI_LEAKS
    clean = [f for f in mini_findings if (f.type, f.adversary) not in MINI_LEAKS]
    # Below chance is no leak: answers are balanced over the set, so the majority answer of the
    # other folds is rarer than average in the held-out fold (moment_count sits there).
    assert len(clean) == 16 and all(f.ci_low <= f.chance for f in clean), [f.line() for f in clean]


def test_one_verdict_over_every_pair_uses_intervals_widened_for_the_family(mini, mini_findings):
    """16 pairs at 95 % each would call an honest set leaky about one time in three."""
    from finevidbench.scoring.score import score_sample, summarize

    assert len(mini_findings) == 16 and {f.confidence for f in mini_findings} == {1 - 0.05 / 16}
    speed = next(f for f in mini_findings if (f.type, f.adversary) == ("speed", "metadata_only"))
    answers = cross_fitted_answers(mini, "metadata_only")
    plain = summarize([score_sample(q, answers[q.id]) for q in mini.questions if q.type == "speed"])
    assert speed.acc == plain["acc"] and speed.ci_low < plain["ci_low"] and speed.ci_high > plain["ci_high"]


@pytest.mark.parametrize("policy", ["num_frames=16", "num_frames=32,mode=segment"])
def test_a_policy_asking_for_more_frames_than_a_slowed_window_holds_leaks_nothing(mini, policy):
    """Under frame-sampling rules 1, num_frames=32 showed fewer frames at 0.5x: metadata_only read speed at 0.569."""
    observed = observe(mini, policy)
    by_video: dict[str, set] = {}
    for q, obs in zip(mini.questions, observed, strict=True):
        if q.type == "speed":
            by_video.setdefault(q.video, set()).add((obs.n_inputs, obs.timestamps, obs.duration))
    assert len(by_video) > 30 and all(len(views) == 1 for views in by_video.values())
    assert not [f.line() for f in run_adversaries(mini, policy=policy) if f.beats_chance]


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


def _with_old_leaks(qs):
    """The mini set with this version's fixes undone: what the adversaries must still catch."""
    vocab = sorted({o for q in qs.questions if q.type == "action" for o in q.options})

    def undone(q):
        if q.type == "moment_count":  # the old frame count: as many images as the answer
            return dataclasses.replace(q, frames=tuple(range(q.answer)))
        if q.type == "speed":  # the old speed items: the whole clip, so its shown length follows the speed
            return dataclasses.replace(q, window=None)
        if q.type == "action":  # the old distractors: redrawn at each speed, the answer kept in place
            correct = q.options[LETTERS.index(q.answer)]
            rng = np.random.default_rng(int.from_bytes(q.id.encode()[-8:], "little"))
            others = [vocab[i] for i in rng.permutation(len(vocab)) if vocab[i] != correct][: len(q.options) - 1]
            position = LETTERS.index(q.answer)
            return dataclasses.replace(q, options=tuple(others[:position] + [correct] + others[position:]))
        return q

    return dataclasses.replace(qs, questions=tuple(undone(q) for q in qs.questions))


def test_the_adversaries_still_catch_the_leaks_this_version_fixed(mini):
    """At chance on mini because the channels are closed, not because the adversaries are weak."""
    leaks = {(f.type, f.adversary) for f in run_adversaries(_with_old_leaks(mini)) if f.beats_chance}
    assert {("moment_count", "text_only"), ("moment_count", "metadata_only")} <= leaks  # "given N frames", N inputs
    assert ("speed", "metadata_only") in leaks  # the shown duration
    assert ("action", "text_only") in leaks  # the option common to a video's questions
    assert not {t for t, _ in leaks} - {"moment_count", "speed", "action"}


def test_validate_with_adversaries_passes_mini_and_names_each_leak_of_a_leaky_set(mini, tmp_path):
    from finevidbench.builder import BuildConfig, write_question_set

    command = [sys.executable, "-m", "finevidbench.cli", "validate"]
    clean = subprocess.run([*command, "mini", "--adversaries"], capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout[-2000:] + clean.stderr[-2000:]
    assert "no adversary beats chance" in clean.stdout
    for bad, message in ((["--policy", "num_frames=x"], "invalid literal"), (["--policy", "fps=2"], "max_frames")):
        refused = subprocess.run([*command, "mini", "--adversaries", *bad], capture_output=True, text=True)
        assert refused.returncode == 2 and message in refused.stderr and "fix:" in refused.stderr, refused.stderr
    leaky = _with_old_leaks(mini)
    link_videos(mini.root, tmp_path)
    counting = [q for q in leaky.questions if q.type == "moment_count"]  # one type is enough for the message
    write_question_set(tmp_path, counting, mini.manifest["videos"], BuildConfig(), {})
    result = subprocess.run([*command, str(tmp_path), "--adversaries"], capture_output=True, text=True)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    leak_lines = [line for line in result.stdout.splitlines() if line.startswith("  - ")]
    assert any(line.startswith("  - moment_count: text_only 1.000") and "> chance 0.167" in line for line in leak_lines)


def test_a_type_no_other_video_holds_is_still_answered(tmp_path):
    """On a set of three videos some folds hold every item of a type: nothing to learn from, an answer anyway."""
    from conftest import build_question_set

    from finevidbench.dataset import load_question_set

    qs = load_question_set(build_question_set(tmp_path / "small", videos=3, seed=7))
    folds = {}
    for q in qs.questions:
        folds.setdefault(q.type, set()).add(fold_of(q.video))
    assert any(len(f) == 1 for f in folds.values())  # the case under test: a type within one fold
    for adversary in ("text_only", "metadata_only"):
        answers = cross_fitted_answers(qs, adversary)
        assert set(answers) == {q.id for q in qs.questions} and all(answers.values()), adversary
