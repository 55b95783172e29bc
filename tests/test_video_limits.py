"""Videos the benchmark cannot use (issue 18, item 5): each case ends in one clear line, nothing is lost.

- minimum frames per type: a type makes no item of a video with fewer frames than it needs, and says so;
- resolution cap: no frame is decoded above the cap, by either backend, on the builder's and the models' paths;
- every media file of the folder that is not taken is reported by name with its reason;
- a rebuild follows its sources: changed copies are replaced, removed videos leave nothing behind.
"""

import json
import os
import shutil
import tracemalloc

import numpy as np
import pytest
from conftest import write_indexed_clip
from PIL import Image

import finevidbench.corpus.place as place_module
import finevidbench.video.decode as decode_module
from finevidbench.builder import BuildConfig, build, find_videos, video_context
from finevidbench.cli import main as cli
from finevidbench.corpus.place import PlacementError
from finevidbench.dataset import load_question_set
from finevidbench.files import sha256_file
from finevidbench.protocol import QUESTION_TYPES, TRAINING_TYPES
from finevidbench.validate import validate
from finevidbench.video import decode_frames, decoded_size, load_clip, probe, speed_altered_copy, write_video

ALL_TYPES = {**QUESTION_TYPES, **TRAINING_TYPES}


# -- minimum frames per type ------------------------------------------------------------------------


def test_a_one_frame_clip_gives_no_item_and_the_manifest_counts_it(tmp_path):
    videos = tmp_path / "videos"
    write_indexed_clip(videos / "one.mp4", 1, 25)
    write_indexed_clip(videos / "good.mp4", 40, 25)
    manifest = build(videos, tmp_path / "set", config=BuildConfig(), progress=False)  # library build: no curation
    qs = load_question_set(tmp_path / "set")
    assert {q.video for q in qs.questions} == {"good"}
    self_supervised = sorted(name for name, t in QUESTION_TYPES.items() if not t.needs_label)
    assert manifest["too_short"] == dict.fromkeys(self_supervised, 1)  # action/effect: no label, not counted
    assert validate(qs).ok


@pytest.mark.parametrize("name", sorted(ALL_TYPES))
def test_each_type_needs_exactly_its_minimum(name, tmp_path):
    """One frame fewer than the type states: no item; exactly as many: the type builds one."""
    qtype = ALL_TYPES[name]
    needed = qtype.frames_needed((0.5, 1.0, 2.0))
    assert needed >= 2
    labels = {"action": "open", "effect": "opened"}
    vocab = {"action": ("close", "open", "push", "turn"), "effect": ("closed", "opened", "pushed", "turned")}
    contexts = []
    for frames in (needed - 1, needed):
        path = write_indexed_clip(tmp_path / f"{name}_{frames}.mp4", frames, 2)  # 2 fps: speed windows last >= 1 s
        contexts.append(video_context(path, path.name, labels, vocab, BuildConfig())[0])
    short, enough = contexts
    assert qtype.too_short(short) and not qtype.too_short(enough)
    assert qtype.slots(enough) > 0
    targets = list(qtype.targets(enough) or [None])
    rng = np.random.default_rng(0)
    target = max(targets) if name == "moment_count" else targets[-1]  # the most distinct moments it can ask for
    assert any(qtype.make(enough, 0, target, rng) is not None for _ in range(5))


def test_speeds_further_apart_need_longer_clips_and_the_cli_says_which_types_missed_videos(tmp_path, capsys):
    speed = QUESTION_TYPES["speed"]
    assert speed.frames_needed((0.5, 1.0, 2.0)) == 9 and speed.frames_needed((0.25, 1.0, 4.0)) == 36
    videos = tmp_path / "videos"
    for index, frames in enumerate((20, 24, 40)):  # all kept by curation (16 frames), two too short for speed
        write_indexed_clip(videos / f"clip_{index}.mp4", frames, 5)  # 5 fps: the 40-frame windows last >= 1 s
    assert cli(["build", "--videos", str(videos), "--out", str(tmp_path / "set"), "--speeds", "0.25,1,4"]) == 0
    manifest = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert manifest["too_short"] == {"speed": 2}
    questions = [json.loads(line) for line in (tmp_path / "set" / "questions.jsonl").open()]
    assert {q["video"] for q in questions if q["type"] == "speed"} == {"clip_2"}
    out = capsys.readouterr().out
    assert "videos too short for a type, which has no items of them (videos per type): speed 2" in out


# -- resolution cap ---------------------------------------------------------------------------------


@pytest.fixture
def big_clip(tmp_path):
    """640x360, 12 frames of moving 40-pixel squares of random colours: 691 KB a frame at full size."""
    rng = np.random.default_rng(3)
    base = np.kron(rng.integers(0, 256, (9, 16, 3), dtype=np.uint8), np.ones((40, 40, 1), dtype=np.uint8))
    return write_video(tmp_path / "big" / "big.mp4", (np.roll(base, 8 * i, axis=1) for i in range(12)), 12)


def test_the_cap_keeps_the_aspect_even_sides_and_leaves_smaller_videos_alone():
    assert decode_module.MAX_SIDE == 1280
    assert decoded_size(6000, 6000, 1280) == (1280, 1280)
    assert decoded_size(1920, 1080, 1280) == (1280, 720)
    assert decoded_size(1081, 1921, 1280) == (720, 1280)
    assert decoded_size(1280, 720, 1280) == (1280, 720) and decoded_size(175, 143, 1280) == (175, 143)
    assert decoded_size(4000, 30, 1279) == (1278, 10)  # an odd cap: even sides, never above it


def test_a_bad_cap_setting_is_one_clear_error(monkeypatch, big_clip):
    monkeypatch.setenv("FINEVIDBENCH_MAX_SIDE", "big")
    with pytest.raises(ValueError, match="FINEVIDBENCH_MAX_SIDE='big'"):
        decode_frames(big_clip, [0])


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_frames_above_the_cap_never_exist_at_full_size(monkeypatch, big_clip, backend):
    monkeypatch.setenv("FINEVIDBENCH_MAX_SIDE", "64")
    decode_frames(big_clip, [0], backend)  # warm the probe cache and the libraries' one-time allocations
    tracemalloc.start()
    try:
        frames = decode_frames(big_clip, list(range(12)), backend)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert frames.shape == (12, 36, 64, 3)
    # the 12 capped frames are 83 KB; a single full-size frame would be 691 KB
    assert peak < 360 * 640 * 3, f"{peak} bytes at peak"


def test_both_backends_scale_alike_and_show_the_picture_scaled(monkeypatch, big_clip):
    full = decode_frames(big_clip, [0, 5, 11], "pyav")
    monkeypatch.setenv("FINEVIDBENCH_MAX_SIDE", "160")
    by_decord, by_pyav = decode_frames(big_clip, [0, 5, 11], "decord"), decode_frames(big_clip, [0, 5, 11], "pyav")
    assert by_decord.shape == by_pyav.shape == (3, 90, 160, 3)
    # Both run FFmpeg's bilinear swscale (identical bytes with the pinned builds); each ships its own FFmpeg,
    # so a build with other rounding may differ by a level or two: the tolerance allows that, nothing more.
    difference = np.abs(by_decord.astype(int) - by_pyav.astype(int))
    assert difference.mean() < 1.0 and difference.max() <= 16
    reference = np.stack([np.asarray(Image.fromarray(f).resize((160, 90), Image.Resampling.BOX)) for f in full])
    # the picture scaled, not another one: a 4x4 box average of the full frame is within a few levels of it,
    # and the same picture moved by one square is not
    assert np.abs(by_pyav.astype(int) - reference.astype(int)).mean() < 8  # 5.4: bilinear, not box, at the edges
    assert np.abs(by_pyav.astype(int) - np.roll(reference, 10, axis=2).astype(int)).mean() > 40


def test_the_builder_and_the_model_frame_path_decode_at_the_cap(monkeypatch, big_clip, tmp_path):
    from finevidbench import taskdocs

    monkeypatch.setenv("FINEVIDBENCH_MAX_SIDE", "64")
    shapes = []
    for name in ("_decode_decord", "_decode_pyav"):
        real = getattr(decode_module, name)

        def spy(*args, real=real):
            frames = real(*args)
            shapes.append(frames.shape[1:3])
            return frames

        monkeypatch.setattr(decode_module, name, spy)
    build(big_clip.parent, tmp_path / "set", config=BuildConfig(), progress=False)
    assert shapes and set(shapes) == {(36, 64)}
    qs = load_question_set(tmp_path / "set")
    fragment = next(q for q in qs.questions if q.level == "fragment")
    doc = {"video_path": str(qs.video_path(fragment)), "frames": list(fragment.frames), "speed": 1.0}
    shapes.clear()
    assert taskdocs.fragment_frames(doc).shape[1:3] == (36, 64)
    assert load_clip(doc["video_path"], "num_frames=4", cache=None).frames.shape[1:3] == (36, 64)
    copy = speed_altered_copy(doc["video_path"], 2.0, cache=tmp_path / "speed")
    assert (probe(copy).width, probe(copy).height) == (64, 36)
    assert shapes and set(shapes) == {(36, 64)}
    # lmms-eval's built-in models open the file themselves: at 1x too, a copy under the cap
    monkeypatch.setenv("FINEVIDBENCH_CACHE", str(tmp_path / "cache"))
    (path,) = taskdocs.doc_to_visual({**doc, "level": "scene"})
    assert path != doc["video_path"] and (probe(path).width, probe(path).height) == (64, 36)
    assert probe(path).frame_count == probe(doc["video_path"]).frame_count
    monkeypatch.setenv("FINEVIDBENCH_MAX_SIDE", "1280")
    assert taskdocs.doc_to_visual({**doc, "level": "scene"}) == [doc["video_path"]]  # within the cap: the file


# -- every skipped file reported --------------------------------------------------------------------


def _gif(path):
    frames = [Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)) for i in range(5)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)


@pytest.fixture
def mixed_folder(tmp_path):
    """Three good clips and, beside them, every kind of file a videos folder holds."""
    videos = tmp_path / "videos"
    for index in range(3):
        write_indexed_clip(videos / f"good_{index}.mp4", 40 + index, 25)
    _gif(videos / "animated.gif")
    shutil.copy(videos / "good_0.mp4", videos / "no_extension")
    (videos / "sub").mkdir()
    shutil.copy(videos / "good_1.mp4", videos / "sub" / "clip.mpg")
    (videos / "gone.mp4").symlink_to(videos / "deleted.mp4")
    (videos / "labels.csv").write_text("video,action\ngood_0,open\n")
    (videos / "README.txt").write_text("our clips\n")
    (videos / ".DS_Store").write_bytes(b"\0\0\0\1Bud1" + bytes(100))
    (videos / "._good_0.mp4").write_bytes(b"\0\5\26\7" + bytes(100))  # macOS resource fork: hidden
    return videos


SKIPPED = {"animated.gif": "gif", "gone.mp4": "unreadable", "no_extension": "unnamed_video",
           "sub/clip.mpg": "other_video"}  # fmt: skip


def test_every_skipped_file_is_reported_by_name_with_its_reason(mixed_folder, tmp_path, capsys):
    assert [p.name for p in find_videos(mixed_folder)] == ["good_0.mp4", "good_1.mp4", "good_2.mp4"]
    assert cli(["build", "--videos", str(mixed_folder), "--out", str(tmp_path / "set")]) == 0
    report = json.loads((tmp_path / "set" / "curation.json").read_text())
    assert {s["file"]: s["reason"] for s in report["skipped_files"]} == SKIPPED
    assert all(s["detail"].count("fix:") == 1 for s in report["skipped_files"])
    gif = next(s["detail"] for s in report["skipped_files"] if s["file"] == "animated.gif")
    assert "ffmpeg -i animated.gif animated.mp4" in gif
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("curation:"))
    assert line.endswith("4 other file(s) skipped (1 gif, 1 other-video, 1 unnamed-video, 1 unreadable) "
                         f"(details: {tmp_path / 'set' / 'curation.json'})")  # fmt: skip
    manifest = build(mixed_folder, tmp_path / "library", config=BuildConfig(), progress=False)  # not curated either
    assert {s["file"]: s["reason"] for s in manifest["skipped_files"]} == SKIPPED
    assert load_question_set(tmp_path / "library").manifest["n_videos"] == 3


def test_a_folder_without_a_usable_video_says_what_it_skipped(tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    _gif(videos / "only.gif")
    assert cli(["build", "--videos", str(videos), "--out", str(tmp_path / "set")]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no video files" in err and "only.gif: a GIF" in err
    assert not (tmp_path / "set").exists()


# -- rebuilds follow their sources ------------------------------------------------------------------


def _replace(path, frames):
    """Give `path` new content the way editors and downloaders do: a new file renamed over the old one."""
    fresh = path.with_name(f"new-{path.name}")
    write_indexed_clip(fresh, frames, 25)
    os.replace(fresh, path)


@pytest.mark.parametrize("linking", ["hard links", "copies"])
def test_a_rebuild_refreshes_changed_sources_and_forgets_removed_ones(tmp_path, monkeypatch, linking):
    if linking == "copies":  # another file system: os.link fails and the builder copies
        monkeypatch.setattr(place_module.os, "link", lambda *a: (_ for _ in ()).throw(OSError("cross-device")))
    videos, out = tmp_path / "videos", tmp_path / "set"
    for index in range(4):
        write_indexed_clip(videos / f"good_{index}.mp4", 40 + index, 25)
    first = build(videos, out, config=BuildConfig(), progress=False)
    _replace(videos / "good_0.mp4", 47)
    (videos / "good_3.mp4").unlink()
    sources = {p.name: (p.stat().st_ino, sha256_file(p)) for p in videos.iterdir()}
    second = build(videos, out, config=BuildConfig(), progress=False)
    assert {p.name: (p.stat().st_ino, sha256_file(p)) for p in videos.iterdir()} == sources  # sources untouched
    assert sha256_file(out / "videos" / "good_0.mp4") == sources["good_0.mp4"][1] != first["videos"]["good_0"]["sha256"]
    assert sorted(p.name for p in (out / "videos").iterdir()) == [".placed.json"] + [f"good_{i}.mp4" for i in range(3)]
    qs = load_question_set(out)  # verifies every video's hash
    assert validate(qs).ok and sorted(qs.manifest["videos"]) == ["good_0", "good_1", "good_2"]
    assert not [q for q in qs.questions if q.video == "good_3"]
    fresh = build(videos, tmp_path / "fresh", config=BuildConfig(), progress=False)
    assert second["dataset_hash"] == fresh["dataset_hash"] == qs.dataset_hash != first["dataset_hash"]
    assert not [p for p in (out / "videos").iterdir() if p.name.endswith(".tmp")]


def test_a_file_the_builder_did_not_place_is_never_replaced(tmp_path):
    videos, out = tmp_path / "videos", tmp_path / "set"
    write_indexed_clip(videos / "good_0.mp4", 40, 25)
    write_indexed_clip(out / "videos" / "good_0.mp4", 30, 25)  # someone's own file, under the same name
    theirs = sha256_file(out / "videos" / "good_0.mp4")
    with pytest.raises(PlacementError, match=r"good_0.mp4: would be replaced by .* did not place it"):
        build(videos, out, config=BuildConfig(), progress=False)
    assert sha256_file(out / "videos" / "good_0.mp4") == theirs
    assert sorted(p.name for p in (out / "videos").iterdir()) == ["good_0.mp4"] and not (out / "manifest.json").exists()


def test_a_set_built_before_records_refreshes_the_copies_its_manifest_published(tmp_path):
    """No .placed.json (older builds): a copy holding the bytes its manifest names is the builder's own."""
    videos, out = tmp_path / "videos", tmp_path / "set"
    for index in range(2):
        write_indexed_clip(videos / f"good_{index}.mp4", 40 + index, 25)
    build(videos, out, config=BuildConfig(), progress=False)
    (out / "videos" / ".placed.json").unlink()
    _replace(videos / "good_0.mp4", 47)
    build(videos, out, config=BuildConfig(), progress=False)
    assert sha256_file(out / "videos" / "good_0.mp4") == sha256_file(videos / "good_0.mp4")
    assert validate(load_question_set(out)).ok
    # a copy someone edited since (not the published bytes) is still theirs
    (out / "videos" / ".placed.json").unlink()
    _replace(out / "videos" / "good_1.mp4", 30)
    edited = sha256_file(out / "videos" / "good_1.mp4")
    with pytest.raises(PlacementError, match="good_1.mp4: would be replaced"):
        build(videos, out, config=BuildConfig(), progress=False)
    assert sha256_file(out / "videos" / "good_1.mp4") == edited


def test_videos_used_in_place_are_never_removed(tmp_path):
    """A set built over its own videos folder, then from another folder: the first videos stay."""
    root = tmp_path / "set"
    write_indexed_clip(root / "videos" / "mine.mp4", 40, 25)
    build(root / "videos", root, config=BuildConfig(), progress=False)
    write_indexed_clip(tmp_path / "other" / "theirs.mp4", 41, 25)
    manifest = build(tmp_path / "other", root, config=BuildConfig(), progress=False)
    assert sorted(manifest["videos"]) == ["theirs"] and (root / "videos" / "mine.mp4").is_file()
    build(root / "videos", root, config=BuildConfig(), progress=False)  # back in place: both are its videos now
    assert (root / "videos" / "theirs.mp4").is_file() and (root / "videos" / "mine.mp4").is_file()


def test_a_crash_while_refreshing_a_copy_leaves_the_old_copy_whole(tmp_path, monkeypatch):
    videos, out = tmp_path / "videos", tmp_path / "set"
    write_indexed_clip(videos / "good_0.mp4", 40, 25)
    build(videos, out, config=BuildConfig(), progress=False)
    old = sha256_file(out / "videos" / "good_0.mp4")
    _replace(videos / "good_0.mp4", 44)

    real_replace = os.replace

    def crash(src, dst):
        if str(dst).endswith("videos/good_0.mp4"):
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(place_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        build(videos, out, config=BuildConfig(), progress=False)
    assert sha256_file(out / "videos" / "good_0.mp4") == old
    assert sorted(p.name for p in (out / "videos").iterdir()) == [".placed.json", "good_0.mp4"]  # no temporary file
    monkeypatch.undo()
    build(videos, out, config=BuildConfig(), progress=False)
    assert validate(load_question_set(out)).ok
