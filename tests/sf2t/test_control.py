"""The control arm's items: same text, another video, frames drawn independently of the item's own."""

import pytest

from finevidbench.dataset import load_question_set
from finevidbench.savi import verifier_pairs
from finevidbench.sf2t import ControlVideo, control_examples, control_hash, uninformative_doc, video_catalogue
from finevidbench.taskdocs import fragment_frames
from runners.finetune import examples_of
from runners.savi import video_doc


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
        assert item["prompt"] == original["prompt"] and item["answer"] == original["answer"]
        before, after = original["doc"], item["doc"]
        for key in ("question_id", "type", "level", "prompt", "options", "answer_type", "speed"):
            assert after[key] == before[key], key
        assert after["video"] != before["video"] and after["video_path"] != before["video_path"]
        assert after["video"] in videos
        # as many frames as the prompt announces, each a frame of the video now shown
        assert len(after["frames"]) == len(before["frames"])
        assert all(0 <= i < videos[after["video"]]["frame_count"] for i in after["frames"])
    # the replacement is drawn, not one fixed video for every item
    assert len({item["doc"]["video"] for item in control}) > 1


def test_control_drops_the_pasted_target(examples, control):
    pasted = [i for i, e in enumerate(examples) if "overlay" in e["doc"]]
    assert pasted, "the training set should hold Localization items with a pasted target"
    assert all("overlay" not in item["doc"] for item in control)


def test_repeated_frames_are_not_reproduced(examples, control):
    repeated = [i for i, e in enumerate(examples) if len(set(e["doc"]["frames"])) < len(e["doc"]["frames"])]
    assert repeated, "the training set should hold items with repeated frames (counting, same moment)"
    for i in repeated:
        frames = control[i]["doc"]["frames"]
        assert len(set(frames)) == len(frames), control[i]["doc"]["question_id"]


def test_control_is_deterministic_per_question(examples, training_set, control):
    # a freshly loaded set, the examples in reverse order: every item gets the same control doc
    again = control_examples(examples_of(load_question_set(training_set.root))[::-1], video_catalogue(training_set))
    assert again[::-1] == control
    assert control_hash("set", again[::-1]) == control_hash("set", control)
    assert control_hash("set", control) != control_hash("other set", control)


def test_control_frames_decode(control):
    for item in control[:: max(1, len(control) // 6)]:
        frames = fragment_frames(item["doc"])
        assert len(frames) == len(item["doc"]["frames"])


def test_scene_docs_get_another_whole_video(train_corpus):
    files = sorted((train_corpus / "videos").glob("*.mp4"))
    catalogue = video_catalogue(files=files)
    assert all(v.frame_count is None for v in catalogue.values())
    for path in files:
        doc = {**video_doc(path), "window": [0.5, 1.0]}
        new = uninformative_doc(doc, catalogue)
        assert new["video"] != path.stem and new["video_path"] != doc["video_path"]
        assert new["frames"] == [] and new["window"] == [] and new["prompt"] == doc["prompt"]


def test_preference_pairs_keep_chosen_and_rejected(training_set):
    questions = training_set.questions[:5]
    pairs = verifier_pairs(questions, training_set, {q.id: "a wrong answer" for q in questions})
    examples = [p.example() for p in pairs]
    control = control_examples(examples, video_catalogue(training_set))
    for original, item in zip(examples, control, strict=True):
        assert (item["prompt"], item["chosen"], item["rejected"]) == (
            original["prompt"], original["chosen"], original["rejected"],
        )  # fmt: skip
        assert item["doc"]["video"] != original["doc"]["video"]


def test_a_single_video_or_an_unknown_frame_count_is_refused(examples, training_set):
    doc = examples[0]["doc"]
    own = {doc["video"]: ControlVideo(doc["video_path"], 100)}
    with pytest.raises(ValueError, match="no training video other than its own"):
        uninformative_doc(doc, own)
    other = {**own, "elsewhere": ControlVideo("/elsewhere.mp4")}
    with pytest.raises(ValueError, match="frame count of elsewhere is unknown"):
        uninformative_doc(doc, other)
