"""The control arm's items: same text, another video, frames drawn independently of the item's own."""

import dataclasses

import pytest

from finevidbench.dataset import load_question_set
from finevidbench.protocol.overlay import apply_overlay
from finevidbench.savi import verifier_pairs
from finevidbench.sf2t import ControlVideo, control_examples, control_hash, uninformative_question, video_catalogue
from finevidbench.training.examples import examples_of, whole_clip
from finevidbench.video import load_frames


@pytest.fixture(scope="module")
def examples(training_set):
    return examples_of(training_set)


@pytest.fixture(scope="module")
def control(examples, training_set):
    return control_examples(examples, video_catalogue(training_set))


def test_control_keeps_the_text_and_shows_another_video(examples, control, training_set):
    videos = training_set.manifest["videos"]
    assert len(control) == len(examples)
    for original, item in zip(examples, control, strict=True):
        assert item.prompt == original.prompt and item.answer == original.answer
        before, after = original.question, item.question
        for key in ("id", "type", "level", "prompt", "options", "answer_type", "speed", "answer"):
            assert getattr(after, key) == getattr(before, key), key
        assert after.video != before.video and after.video_path != before.video_path
        assert after.video in videos
        # as many frames as the prompt announces, each a frame of the video now shown
        assert len(after.frames or ()) == len(before.frames or ())
        assert all(0 <= i < videos[after.video]["frame_count"] for i in after.frames or ())
    # the replacement is drawn, not one fixed video for every item
    assert len({item.question.video for item in control}) > 1


def test_control_drops_the_pasted_target(examples, control):
    pasted = [i for i, e in enumerate(examples) if "overlay" in e.question.evidence]
    assert pasted, "the training set should hold Localization items with a pasted target"
    assert all("overlay" not in item.question.evidence for item in control)


def test_repeated_frames_are_not_reproduced(examples, control):
    repeated = [i for i, e in enumerate(examples) if len(set(e.question.frames or ())) < len(e.question.frames or ())]
    assert repeated, "the training set should hold items with repeated frames (counting, same moment)"
    for i in repeated:
        frames = control[i].question.frames
        assert len(set(frames)) == len(frames), control[i].question.id


def test_control_is_deterministic_per_question(examples, training_set, control):
    # a freshly loaded set, the examples in reverse order: every item gets the same control question
    again = control_examples(examples_of(load_question_set(training_set.root))[::-1], video_catalogue(training_set))
    assert again[::-1] == control
    assert control_hash("set", again[::-1]) == control_hash("set", control)
    assert control_hash("set", control) != control_hash("other set", control)


def test_control_frames_decode(control):
    for item in control[:: max(1, len(control) // 6)]:
        q = item.question
        frames = apply_overlay(load_frames(q.video_path, list(q.frames or ())), q.evidence.get("overlay"))
        assert len(frames) == len(q.frames or ())


def test_scene_questions_get_another_whole_video(train_corpus):
    files = sorted((train_corpus / "videos").glob("*.mp4"))
    catalogue = video_catalogue(files=files)
    assert all(v.frame_count is None for v in catalogue.values())
    for path in files:
        question = dataclasses.replace(whole_clip(path), window=(0.5, 1.0))
        new = uninformative_question(question, catalogue)
        assert new.video != path.stem and new.video_path != question.video_path
        assert new.frames is None and new.window is None and new.prompt == question.prompt


def test_preference_pairs_keep_chosen_and_rejected(training_set):
    questions = training_set.questions[:5]
    pairs = verifier_pairs(questions, training_set, {q.id: "a wrong answer" for q in questions})
    examples = [p.example() for p in pairs]
    control = control_examples(examples, video_catalogue(training_set))
    for original, item in zip(examples, control, strict=True):
        assert (item.prompt, item.chosen, item.rejected) == (original.prompt, original.chosen, original.rejected)
        assert item.question.video != original.question.video


def test_a_single_video_or_an_unknown_frame_count_is_refused(examples, training_set):
    question = examples[0].question
    own = {question.video: ControlVideo(question.video_path, 100)}
    with pytest.raises(ValueError, match="no training video other than its own"):
        uninformative_question(question, own)
    other = {**own, "elsewhere": ControlVideo("/elsewhere.mp4")}
    with pytest.raises(ValueError, match="frame count of elsewhere is unknown"):
        uninformative_question(question, other)
