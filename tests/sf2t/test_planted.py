"""The positive control's planted sets: the answer is in the pixels, and nowhere a blind model could read it."""

from collections import Counter

import numpy as np
import pytest

from finevidbench.dataset import QuestionSet
from finevidbench.sf2t.planted import CODE, ITEMS_PER_VIDEO, PLANTED_TYPE, plant, recode
from finevidbench.training.examples import examples_of
from finevidbench.video import decode_frames, probe


@pytest.fixture(scope="module")
def planted(training_set, tmp_path_factory):
    out = tmp_path_factory.mktemp("planted")
    return plant(training_set, out), out


def _by_video(qs: QuestionSet) -> dict[str, set[str]]:
    answers: dict[str, set[str]] = {}
    for q in qs.questions:
        answers.setdefault(q.video, set()).add(q.answer)
    return answers


def test_every_item_of_a_video_carries_its_video_answer_balanced_per_split(planted, training_set):
    sets, _ = planted
    train, held_out = sets.load()  # loads as any question set: hashes checked
    source = {q.video for q in training_set.questions if q.type == PLANTED_TYPE}
    per_split = [_by_video(train), _by_video(held_out)]
    assert set(per_split[0]).isdisjoint(per_split[1])  # held-out videos are never trained on
    assert set(per_split[0]) | set(per_split[1]) == source
    for qs in (train, held_out):  # the first items of each video, by id
        kept = Counter(q.video for q in qs.questions)
        assert set(kept.values()) == {ITEMS_PER_VIDEO}
        for q in qs.questions:
            own = sorted(s.id for s in training_set.questions if s.video == q.video and s.type == PLANTED_TYPE)
            assert own.index(q.id) < ITEMS_PER_VIDEO
    for answers in per_split:
        assert all(len(a) == 1 for a in answers.values())
        counts = Counter(next(iter(a)) for a in answers.values())
        assert abs(counts["yes"] - counts["no"]) <= 1 and counts["yes"] and counts["no"]
    for qs in (train, held_out):
        assert {q.type for q in qs.questions} == {PLANTED_TYPE}
        assert qs.manifest["planted"]["source_dataset_hash"] == training_set.dataset_hash


def test_the_answer_is_in_the_pixels_and_nowhere_else(planted, training_set):
    sets, _ = planted
    original = {q.id: q for q in training_set.questions}
    for qs in sets.load():
        brightness: dict[str, list[tuple[int, int]]] = {"yes": [], "no": []}
        for video, answers in _by_video(qs).items():
            path = qs.root / qs.manifest["videos"][video]["path"]
            frames = decode_frames(path, range(probe(path).frame_count))
            brightness[next(iter(answers))].append((int(frames.min()), int(frames.max())))
        # after a real encode and decode, every bright video lies above every dark one
        assert min(low for low, _ in brightness["yes"]) > max(high for _, high in brightness["no"])
        for q in qs.questions:
            source = original[q.id]
            # what a model reads or counts without the pixels is the source item's, built before any answer was planted
            assert (q.prompt, q.options, q.frames, q.speed, q.level) == (
                source.prompt,
                source.options,
                source.frames,
                source.speed,
                source.level,
            )
            counts = (qs.manifest["videos"][q.video], training_set.manifest["videos"][q.video])
            assert counts[0]["frame_count"] == counts[1]["frame_count"]
        assert {e.prompt for e in examples_of(qs) if e.answer == "yes"} == {
            e.prompt for e in examples_of(qs) if e.answer == "no"
        }


def test_recode_halves_never_overlap():
    frames = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=3)
    bright, dark = recode(frames, "yes"), recode(frames, "no")
    assert bright.dtype == dark.dtype == np.uint8
    assert (int(bright.min()), int(bright.max()), int(dark.min()), int(dark.max())) == (160, 255, 0, 95)
    # the picture is kept: the order of pixel values is the source's
    assert np.array_equal(np.argsort(bright.ravel(), kind="stable"), np.argsort(dark.ravel(), kind="stable"))
    assert CODE == {"yes": "bright", "no": "dark"}


def test_a_second_call_reuses_the_written_sets(planted, training_set):
    sets, out = planted
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert plant(training_set, out) == sets
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps


def test_too_few_videos_is_a_clear_error(training_set, tmp_path):
    three = sorted({q.video for q in training_set.questions})[:3]  # four make two splits of a "yes" and a "no"
    few = QuestionSet(
        training_set.root, training_set.manifest, tuple(q for q in training_set.questions if q.video in three)
    )
    with pytest.raises(ValueError, match="at least 4 videos with frame_comparison items"):
        plant(few, tmp_path)
