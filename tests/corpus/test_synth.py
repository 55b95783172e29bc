"""The synthetic corpus: determinism, balance, pixels matching the ground truth, recoverable actions."""

import colorsys
import csv
import hashlib
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from finevidbench.corpus.synth import (
    ACTION_TEXT,
    ACTIONS,
    DURATION_RANGE,
    TRANSLATION_SPEED,
    ObjectState,
    assign_actions,
    locate_object,
    object_mask,
    render_clip,
    synthesize,
)
from finevidbench.video import load_clip, load_frames, probe

MOVES = {"move_left": (-1, 0), "move_right": (1, 0), "move_up": (0, -1), "move_down": (0, 1)}


def read_labels(out: Path) -> list[dict]:
    with open(out / "labels.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_states(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "states.jsonl").read_text().splitlines()]


def frame_hashes(out: Path) -> list[str]:
    return [
        hashlib.sha256(load_clip(out / row["video"], "num_frames=4", cache=None).frames.tobytes()).hexdigest()
        for row in read_labels(out)
    ]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth22")
    synthesize(out, 22, seed=1, progress=False)
    return out


@pytest.fixture(scope="module")
def decoded(corpus) -> list[tuple[dict, np.ndarray]]:
    """(states record, every decoded frame) per clip."""
    return [(r, load_frames(corpus / r["video"], range(r["frame_count"]), cache=None)) for r in read_states(corpus)]


# -- the vocabulary ---------------------------------------------------------------------------------
def test_actions_and_effects():
    assert len(ACTIONS) >= 10
    assert len(set(ACTIONS.values())) == len(ACTIONS)
    assert set(ACTION_TEXT) == set(ACTIONS)
    assert all(name.isidentifier() and name == name.lower() for name in ACTIONS)


# -- determinism -----------------------------------------------------------------------------------
def test_same_seed_same_corpus_other_seed_other_corpus(tmp_path):
    a, b, c = tmp_path / "a3", tmp_path / "b3", tmp_path / "c4"
    synthesize(a, 12, seed=3, progress=False)
    synthesize(b, 12, seed=3, progress=False)
    synthesize(c, 12, seed=4, progress=False)
    for name in ("labels.csv", "states.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert frame_hashes(a) == frame_hashes(b)
    assert (a / "states.jsonl").read_bytes() != (c / "states.jsonl").read_bytes()
    assert [r["action"] for r in read_labels(a)] != [r["action"] for r in read_labels(c)]
    assert [r["video"] for r in read_labels(a)] == [f"videos/synth_{i:04d}.mp4" for i in range(12)]


# -- files and balance -----------------------------------------------------------------------------
def test_files_match_their_records(corpus):
    labels, states = read_labels(corpus), read_states(corpus)
    assert (corpus / "labels.csv").read_text().splitlines()[0] == "video,action,effect,time_symmetric"
    assert [r["video"] for r in labels] == [s["video"] for s in states]
    for row, record in zip(labels, states, strict=True):
        assert row["effect"] == ACTIONS[row["action"]] and record["action"] == row["action"]
        meta = probe(corpus / row["video"])
        assert (meta.frame_count, meta.fps, meta.width, meta.height, meta.codec) == (
            record["frame_count"],
            record["fps"],
            record["width"],
            record["height"],
            "h264",
        )
        assert len(record["states"]) == record["frame_count"]
        assert DURATION_RANGE[0] <= meta.duration <= DURATION_RANGE[1]


def test_labels_are_balanced(corpus):
    counts = Counter(r["action"] for r in read_labels(corpus))
    assert set(counts) == set(ACTIONS)
    assert max(counts.values()) - min(counts.values()) <= 1
    for videos in (1, 5, 11, 23, 48, 100):
        for seed in (0, 7):
            counts = Counter(assign_actions(videos, seed))
            full = Counter({a: counts.get(a, 0) for a in ACTIONS})
            assert max(full.values()) - min(full.values()) <= 1, (videos, seed)
            assert sum(counts.values()) == videos
            assert (set(counts) == set(ACTIONS)) == (videos >= len(ACTIONS))


def test_invalid_input():
    with pytest.raises(ValueError, match="at least 1"):
        synthesize("/nonexistent/never-written", 0, seed=0, progress=False)
    with pytest.raises(ValueError, match="unknown action"):
        render_clip("jump", np.random.default_rng(0), "x")


# -- ground truth against pixels -------------------------------------------------------------------
def test_states_are_what_was_drawn():
    for action in ACTIONS:
        clip = render_clip(action, np.random.default_rng(5), "raw")
        assert clip.frames.shape[0] == len(clip.states) and clip.frames.dtype == np.uint8
        assert all(isinstance(s, ObjectState) for s in clip.states)
        for frame, state in zip(clip.frames, clip.states, strict=True):
            found = locate_object(frame)
            assert (found is not None) == state.visible
            if state.visible:
                assert tuple(frame[round(state.y), round(state.x)]) == state.colour
                assert math.hypot(found[0] - state.x, found[1] - state.y) <= 1.0, (action, found, state)


def test_decoded_pixels_match_states(decoded):
    for record, frames in decoded:
        assert len(frames) == record["frame_count"]
        for index, (frame, row) in enumerate(zip(frames, record["states"], strict=True)):
            x, y, *_, visible = row
            found = locate_object(frame)
            where = (record["video"], record["action"], index)
            if not visible:
                assert found is None, where
                continue
            assert found is not None, where
            assert math.hypot(found[0] - x, found[1] - y) <= 2.5, (where, found, row)


def test_background_is_unsaturated(decoded):
    for record, frames in decoded:
        if record["action"] == "appear":
            chroma = frames[0].astype(int).max(-1) - frames[0].astype(int).min(-1)
            assert chroma.max() <= 40, record["video"]


# -- the action is in the motion, not in one frame ------------------------------------------------
def hue(frame: np.ndarray) -> float:
    r, g, b = frame[object_mask(frame)].mean(axis=0) / 255
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360


def orientation(frame: np.ndarray) -> tuple[float, float]:
    """Principal-axis angle of the object's mask (degrees mod 180) and its elongation."""
    rows, cols = np.nonzero(object_mask(frame))
    x, y = cols - cols.mean(), rows - rows.mean()
    mu20, mu02, mu11 = (x * x).mean(), (y * y).mean(), (x * y).mean()
    spread = math.hypot(mu20 - mu02, 2 * mu11)
    elongation = (mu20 + mu02 + spread) / (mu20 + mu02 - spread)
    return math.degrees(0.5 * math.atan2(2 * mu11, mu20 - mu02)) % 180, elongation


def angle_gap(a: float, b: float) -> float:
    gap = abs(a - b) % 180
    return min(gap, 180 - gap)


def classify(frames: np.ndarray) -> str:
    """The action, from the located object's trajectory, area, colour and orientation only."""
    located = [locate_object(f) for f in frames]
    if located[0] is None or located[-1] is None:
        return "appear" if located[0] is None else "disappear"
    xy = np.array([loc[:2] for loc in located])
    shift = xy[-1] - xy[0]
    if np.hypot(*shift) > 5:
        axis = int(abs(shift[1]) > abs(shift[0]))
        return {(0, -1): "move_left", (0, 1): "move_right", (1, -1): "move_up", (1, 1): "move_down"}[
            axis, int(np.sign(shift[axis]))
        ]
    if np.hypot(*(xy - xy[0]).T).max() > 5:
        return "bounce"
    growth = located[-1][2] / located[0][2]
    if growth > 1.3 or growth < 1 / 1.3:
        return "grow" if growth > 1 else "shrink"
    if 180 - abs(abs(hue(frames[0]) - hue(frames[-1])) - 180) > 40:  # hue distance on the circle
        return "change_colour"
    (start, elongation), (end, _) = orientation(frames[0]), orientation(frames[-1])
    if elongation > 1.4 and angle_gap(start, end) > 20:
        return "rotate"
    return "still"


def test_action_is_recovered_from_decoded_motion(decoded):
    wrong = [(r["video"], r["action"], got) for r, frames in decoded if (got := classify(frames)) != r["action"]]
    assert not wrong


def test_one_frame_does_not_tell_the_action(corpus, decoded):
    first = [r["states"][0] for r, _ in decoded]
    assert len({tuple(s[4:7]) for s in first}) >= 5
    xs = [s[0] for s in first]
    assert max(xs) - min(xs) > 30
    assert len({(r["width"], r["height"]) for r, _ in decoded}) >= 2
    assert len({r["fps"] for r, _ in decoded}) >= 3
    shapes = Counter(r["shape"] for r, _ in decoded if r["action"] != "rotate")
    assert len(shapes) == 3  # the rotating triangle also does everything else


def test_every_motion_keeps_changing(decoded):
    """Holds are short: the state changes between most consecutive frames (pops excepted)."""
    for record, _ in decoded:
        if record["action"] in ("appear", "disappear"):
            continue
        rows = record["states"]
        changed = sum(a != b for a, b in zip(rows, rows[1:], strict=False))
        idle_seconds = (len(rows) - 1 - changed) / record["fps"]
        assert idle_seconds <= 0.6 + 2 / record["fps"], (record["video"], idle_seconds)


def test_translation_runs_at_one_natural_speed(decoded):
    speeds, rates = [], set()
    for record, frames in decoded:
        if record["action"] not in MOVES:
            continue
        axis = 0 if MOVES[record["action"]][1] == 0 else 1
        n, fps = len(frames), record["fps"]
        middle = range(int(0.2 * n), int(0.8 * n) + 1)  # holds are < 15% of any clip
        position = [locate_object(frames[i])[axis] for i in middle]
        speeds.append(abs(np.polyfit(np.array(middle) / fps, position, 1)[0]))
        rates.add(fps)
    assert len(speeds) >= 6 and len(rates) >= 2
    assert max(speeds) / min(speeds) < 1.15, speeds
    assert all(abs(s / TRANSLATION_SPEED - 1) < 0.15 for s in speeds), speeds


# -- the command line ------------------------------------------------------------------------------
def run_synth(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "finevidbench.cli", "synth", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_writes_a_corpus(tmp_path):
    result = run_synth("--out", str(tmp_path), "--videos", "3", "--seed", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "labels.csv")
    assert len(read_labels(tmp_path)) == 3 and len(read_states(tmp_path)) == 3
    assert sorted(p.name for p in (tmp_path / "videos").iterdir()) == [f"synth_000{i}.mp4" for i in range(3)]


def test_cli_rejects_an_empty_corpus(tmp_path):
    result = run_synth("--out", str(tmp_path), "--videos", "0")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--videos" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "labels.csv").exists()


def test_a_full_size_corpus_has_the_asked_size_and_durations_whatever_the_workers(tmp_path):
    from finevidbench.cli import main as cli
    from finevidbench.video import probe

    args = [
        "synth",
        "--videos",
        "3",
        "--seed",
        "4",
        "--width",
        "320",
        "--height",
        "240",
        "--min-seconds",
        "5",
        "--max-seconds",
        "6",
    ]
    assert cli([*args, "--out", str(tmp_path / "one")]) == 0
    assert cli([*args, "--out", str(tmp_path / "two"), "--workers", "2"]) == 0
    for index in range(3):
        name = f"videos/synth_{index:04d}.mp4"
        meta = probe(tmp_path / "one" / name)
        assert (meta.width, meta.height) == (320, 240) and 5.0 <= meta.duration <= 6.1
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert (tmp_path / "one" / "states.jsonl").read_text() == (tmp_path / "two" / "states.jsonl").read_text()


def test_bad_sizes_are_refused_in_one_line(tmp_path, capsys):
    from finevidbench.cli import main as cli

    assert cli(["synth", "--out", str(tmp_path), "--width", "320"]) == 2
    assert cli(["synth", "--out", str(tmp_path), "--width", "321", "--height", "240"]) == 2
    err = capsys.readouterr().err
    assert "--width and --height go together" in err and "must be even" in err
