import hashlib
import json
import shutil

import numpy as np
import pytest

from finevidbench.builder import BuildConfig, build
from finevidbench.dataset import load_question_set
from finevidbench.protocol import QUESTION_TYPES, TRAINING_TYPES, get_type, protocol_version
from finevidbench.protocol.overlay import apply_overlay
from finevidbench.scoring.score import score_sample
from finevidbench.sf2t import (
    SF2T_TASKS,
    ContaminationError,
    build_training_set,
    check_videos,
    training_types,
)
from finevidbench.validate import validate
from finevidbench.video import load_frames


def test_localization_is_training_only():
    from finevidbench.protocol.registry import rendering_spec

    assert "localization" in TRAINING_TYPES and "localization" not in QUESTION_TYPES
    assert get_type("localization").level == "fragment"
    # the benchmark's protocol version hashes benchmark types only, so adding a training type cannot move it
    assert all(t.benchmark for t in QUESTION_TYPES.values())
    specs = {"types": [t.spec() for t in QUESTION_TYPES.values()], "rendering": rendering_spec()}
    benchmark_only = json.dumps(specs, sort_keys=True).encode()
    assert protocol_version() == f"finevidbench-v1+{hashlib.sha256(benchmark_only).hexdigest()[:10]}"


def test_five_tasks_map_onto_registered_generators():
    assert list(SF2T_TASKS) == [
        "counting", "consistency_verification", "localization", "disorder_detection", "rearrangement",
    ]  # fmt: skip
    for types in SF2T_TASKS.values():
        for name in types:
            assert get_type(name).level == "fragment"
    assert training_types(["counting", "rearrangement"]) == ("moment_count", "rearrangement")
    with pytest.raises(ValueError, match="unknown SF2T task"):
        training_types(["counting", "colouring"])


def test_training_set_holds_every_task_valid_and_balanced(training_set):
    manifest = training_set.manifest
    assert set(manifest["counts"]) == {n for names in SF2T_TASKS.values() for n in names}
    assert manifest["seed"] == 1
    assert manifest["sf2t"]["guard"]["contaminated"] is False
    report = validate(training_set)
    assert report.violations == []
    # localization answers are balanced over (event, frame number)
    answers = [q.answer for q in training_set.questions if q.type == "localization"]
    assert set(answers) == {2, 3, 4, 5, 6}


def test_training_set_is_deterministic(train_corpus, mini, training_set, tmp_path):
    build_training_set(train_corpus / "videos", tmp_path, mini, labels=train_corpus / "labels.csv", progress=False)
    assert (tmp_path / "questions.jsonl").read_bytes() == (training_set.root / "questions.jsonl").read_bytes()


def test_localization_overlay_is_where_the_answer_says(training_set):
    for q in [q for q in training_set.questions if q.type == "localization"][:6]:
        frames = load_frames(training_set.video_path(q), q.frames)
        shown = apply_overlay(frames, q.evidence["overlay"])
        changed = [bool(np.any(a != b)) for a, b in zip(frames, shown, strict=True)]
        first_with, first_without = changed.index(True) + 1, changed.index(False) + 1
        overlay = q.evidence["overlay"]
        expected = first_with if overlay["event"] == "appear" else first_without
        assert q.answer == expected == get_type("localization").expected_answer(q, {})
        # the frames with the target are one contiguous run touching one end of the sequence
        runs = "".join("1" if c else "0" for c in changed)
        assert runs.strip("0").count("0") == 0 and (runs.startswith("1") or runs.endswith("1"))


def test_answer_text_scores_as_correct_for_every_type(training_set):
    for q in training_set.questions:
        assert score_sample(q, get_type(q.type).answer_text(q)).correct == 1.0, q.id


def test_guard_refuses_benchmark_videos_even_renamed(train_corpus, mini, tmp_path):
    videos = tmp_path / "videos"
    shutil.copytree(train_corpus / "videos", videos)
    leaked = mini.video_path(mini.questions[0])
    shutil.copy(leaked, videos / "renamed_clip.mp4")
    with pytest.raises(ContaminationError) as caught:
        build_training_set(videos, tmp_path / "set", mini, progress=False)
    message = str(caught.value)
    assert "renamed_clip.mp4" in message and "--allow-contaminated" in message
    assert not (tmp_path / "set" / "questions.jsonl").exists()  # refused before building anything


def test_guard_override_marks_the_set_contaminated(train_corpus, mini, tmp_path):
    videos = tmp_path / "videos"
    shutil.copytree(train_corpus / "videos", videos)
    shutil.copy(mini.video_path(mini.questions[0]), videos / "leak.mp4")
    manifest = build_training_set(videos, tmp_path / "set", mini, allow_contaminated=True, progress=False)
    guard = manifest["sf2t"]["guard"]
    assert guard["contaminated"] and guard["allowed"]
    assert [p.endswith("leak.mp4") for p in guard["overlapping"]] == [True]
    on_disk = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert on_disk["sf2t"]["guard"]["contaminated"] is True


def test_guard_accepts_disjoint_videos(train_corpus, mini):
    found = check_videos(sorted((train_corpus / "videos").glob("*.mp4")), mini.manifest)
    assert not found.contaminated and found.benchmark == mini.dataset_hash


def test_benchmark_builds_ignore_training_types(train_corpus, tmp_path):
    manifest = build(train_corpus / "videos", tmp_path, config=BuildConfig(seed=0), progress=False)
    assert "localization" not in manifest["counts"]
    qs = load_question_set(tmp_path)
    assert all(q.type != "localization" for q in qs.questions)


def test_each_training_video_is_read_once_for_its_hash(mini, tmp_path, monkeypatch):
    import finevidbench.files as files
    from finevidbench.corpus.synth import synthesize

    synthesize(tmp_path / "corpus", videos=3, seed=21, progress=False)
    reads = []
    real = files._read_hash
    monkeypatch.setattr(files, "_read_hash", lambda path: reads.append(path) or real(path))
    build_training_set(tmp_path / "corpus" / "videos", tmp_path / "set", mini, progress=False)  # guard + builder
    load_question_set(tmp_path / "set")  # verifies the (hard-linked) copies
    assert len(reads) == 3
