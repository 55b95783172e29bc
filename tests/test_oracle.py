"""The pixel oracle: classical vision on the frames a model is shown, and `validate --oracle`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from finevidbench.cli import main as cli
from finevidbench.oracle import FrameSize, Measurement, decide, vision
from finevidbench.protocol import QUESTION_TYPES


def moving_square(steps: int, speed: float = 6.0, side: int = 64) -> np.ndarray:
    """A white square on grey moving right by `speed` pixels a frame, `steps` frames."""
    frames = np.full((steps, side, side, 3), 90, np.uint8)
    for t in range(steps):
        x = int(4 + speed * t)
        frames[t, 24:40, x : x + 12] = 250
    return frames


def test_qwen_sizes_are_qwen_vl_utils_smart_resize():
    """The oracle's Qwen budgets give the frame size the Qwen adapters' qwen-vl-utils gives (clips and images)."""
    from qwen_vl_utils import vision_process as card

    size = FrameSize.parse("qwen2_5_vl")
    area = 28 * 28
    for height, width, frames in [(128, 160, 24), (240, 320, 24), (720, 1280, 24), (1080, 1920, 8), (2160, 3840, 96)]:
        padded = card.ceil_by_factor(frames, card.FRAME_FACTOR)
        low = card.VIDEO_MIN_TOKEN_NUM * area
        high = max(min(card.VIDEO_MAX_TOKEN_NUM * area, card.MODEL_SEQ_LEN * area * 0.9 / padded * 2), int(low * 1.05))
        assert size.shape(height, width, frames, "scene") == card.smart_resize(height, width, 28, low, high)
        image = card.smart_resize(height, width, 28, card.IMAGE_MIN_TOKEN_NUM * area, card.IMAGE_MAX_TOKEN_NUM * area)
        assert size.shape(height, width, 4, "fragment") == image


def test_sizes_resize_frames_and_refuse_unknown_names():
    frames = moving_square(3)
    assert FrameSize.parse("internvl").fit(frames, "scene").shape == (3, 448, 448, 3)
    assert FrameSize.parse("decoded").fit(frames, "scene") is frames
    budget = FrameSize.parse("1024").fit(frames, "fragment")
    assert budget.shape[1] * budget.shape[2] <= 1024 and budget.shape[1] == budget.shape[2]
    with pytest.raises(ValueError, match="qwen2_5_vl"):
        FrameSize.parse("gpt4")


def test_continuity_orders_shuffled_frames_up_to_reversal():
    frames = moving_square(5)
    shown = [3, 0, 4, 1, 2]  # shown position -> chronological frame
    path = vision.continuity_path(vision.distance_matrix(frames[shown]))
    chronological = tuple(int(p) for p in np.argsort(shown))
    assert path in (chronological, chronological[::-1])


def test_identical_frames_are_at_distance_zero_and_moved_ones_are_not():
    d = vision.adjacent_distances(moving_square(3)[[0, 0, 1, 1, 2]])
    assert d[0] == d[2] == 0.0 and min(d[1], d[3]) > 1.0


def test_arrow_features_flip_with_the_order_and_motion_rate_follows_speed():
    frames = moving_square(6, speed=4.0)
    forward, backward = vision.arrow_features(frames), vision.arrow_features(frames[::-1])
    assert forward[0] > 0 and forward[2] > 0  # flow and centroid go right
    assert np.allclose(forward, -np.array(backward), atol=0.02)
    seconds = tuple(t / 3 for t in range(6))
    slow, fast = vision.motion_rate(moving_square(6, 2.0), seconds), vision.motion_rate(moving_square(6, 6.0), seconds)
    assert all(f > s for f, s in zip(fast[:2], slow[:2], strict=True))
    assert math.isclose(vision.motion_rate(frames, seconds)[0], vision.motion_rate(frames, seconds)[0])


def test_learned_scales_never_see_the_item_they_answer(mini):
    """Cross-fitting: a video whose distances contradict every other video's is answered by the others' scale."""
    questions = [q for q in mini.questions if q.type == "frame_comparison"]
    odd = questions[0].video

    def distance(q) -> float:  # same moment: 0 apart, different: 5 apart; the odd video the other way round
        return 5.0 if (q.answer == "yes") == (q.video == odd) else 0.0

    answers = decide([Measurement(q.id, q.video, q.type, (), values=(distance(q),)) for q in questions], questions)
    assert all((answers[q.id] == q.answer) == (q.video != odd) for q in questions)


def still_set(root: Path, videos: int = 24) -> Path:
    """A set from clips that never change (textured stills): no speed item can show its speed."""
    from finevidbench.builder import BuildConfig, build
    from finevidbench.video import write_video

    rng = np.random.default_rng(3)
    folder = root / "videos"
    folder.mkdir(parents=True)
    for i in range(videos):
        still = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        write_video(folder / f"still{i:02d}.mp4", [still] * 40, 10.0)
    build(folder, root / "set", config=BuildConfig(types=("speed",)), progress=False)
    return root / "set"


def test_validate_oracle_flags_a_set_whose_speed_items_are_undecidable(tmp_path, capsys):
    code = cli(["validate", str(still_set(tmp_path)), "--oracle", "--size", "decoded"])
    out = capsys.readouterr().out
    assert "valid: no violation" in out  # the set breaks no other rule: the exit status is the oracle's verdict
    line = next(row for row in out.splitlines() if row.strip().startswith("speed:"))
    assert "BELOW FLOOR 0.50" in line and code == 1
    assert "1 type(s) below the oracle floor" in out


@pytest.mark.slow(seconds=25)
def test_validate_oracle_passes_the_mini_set(capsys):
    """Mini's 24 still speed items lower the speed figure, not below its floor; action and effect are out of reach."""
    code = cli(["validate", "mini", "--oracle", "--size", "decoded"])
    out = capsys.readouterr().out
    lines = {row.split(":")[0].strip(): row for row in out.splitlines() if row.startswith("  ") and ": " in row}
    assert code == 0 and "BELOW FLOOR" not in out
    for name, qtype in QUESTION_TYPES.items():
        expected = "outside the oracle's reach" if qtype.oracle_floor is None else "decided by the shown pixels"
        assert expected in lines[name]
    assert {n for n, t in QUESTION_TYPES.items() if t.oracle_floor is None} == {"action", "effect"}
    accuracy = {name: float(lines[name].split(": ")[1].split()[0]) for name in QUESTION_TYPES}
    assert accuracy["moment_count"] > 0.9 and accuracy["frame_comparison"] > 0.9
    assert accuracy["speed"] < 0.85  # 24 of 144 speed items show no motion: no method decides them


def test_options_of_validate_oracle_are_checked(capsys):
    assert cli(["validate", "mini", "--size", "decoded"]) == 2
    assert "--size only applies with --oracle" in capsys.readouterr().err
    assert cli(["validate", "mini", "--oracle", "--size", "huge"]) == 2


@pytest.mark.slow(seconds=45)
def test_the_lmms_eval_oracle_answers_as_the_library_does(run_make_eval, tmp_path):
    """`make eval MODEL=pixel_oracle` decodes through the adapters' path and answers as finevidbench.oracle does."""
    from conftest import build_question_set

    from finevidbench.dataset import load_question_set
    from finevidbench.oracle import oracle_responses
    from finevidbench.results import read_samples
    from finevidbench.video import FramePolicy

    root = build_question_set(tmp_path / "small", videos=6, seed=5)
    args = "size=decoded,num_frames=8"
    result = run_make_eval("--model", "pixel_oracle", "--model_args", args, "--data", root, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "run" / "results.json").read_text())
    policy = FramePolicy.parse(record["frame_policy"])
    assert policy.num_frames == 8 and record["model"]["inputs"]["size"] == "decoded"
    samples = {s.question_id: s.response for s in read_samples(tmp_path / "run")}
    assert samples == oracle_responses(load_question_set(root), str(policy), "decoded")


def test_the_oracle_model_takes_a_qwen_size_in_whole_pairs_of_frames():
    from model_adapters.baselines import PixelOracle

    assert PixelOracle().frame_policy.multiple == 2 and PixelOracle().size.name == "qwen2_5_vl"
    assert PixelOracle(size="internvl", num_frames=7).frame_policy.num_frames == 7
    with pytest.raises(ValueError, match="size="):
        PixelOracle(size="nonsense")


def test_a_figure_under_its_floor_on_a_small_sample_is_not_called_decided():
    from finevidbench.oracle.run import OracleFinding

    def finding(acc: float, low: float, high: float) -> OracleFinding:
        return OracleFinding("speed", acc, low, high, chance=1 / 3, n=24, floor=0.5)

    small = finding(0.375, 0.212, 0.573)  # eight real clips: the interval reaches the floor, the figure does not
    assert not small.below_floor and "too few items to tell" in small.verdict()
    assert "decided by the shown pixels" in finding(0.533, 0.497, 0.570).verdict()
    assert finding(0.30, 0.20, 0.45).below_floor and "BELOW FLOOR 0.50" in finding(0.30, 0.20, 0.45).verdict()
