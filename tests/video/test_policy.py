import pytest

from finevidbench.video import FramePolicy, VideoMeta


def meta(frames: int = 50, fps: float = 25.0) -> VideoMeta:
    return VideoMeta("clip.mp4", frames, fps, frames / fps, 64, 64, "h264")


def test_uniform_spans_first_to_last_frame():
    s = FramePolicy(num_frames=8).sample(meta())
    assert s.indices == (0, 7, 14, 21, 28, 35, 42, 49)
    assert s.timestamps[0] == 0 and s.timestamps[-1] == pytest.approx(49 / 25)
    assert s.shortfall == 0


def test_segment_takes_centre_of_equal_segments():
    s = FramePolicy(num_frames=5, mode="segment").sample(meta())
    assert s.indices == (5, 15, 25, 35, 45)


def test_fps_mode_counts_frames_per_second_and_caps():
    assert len(FramePolicy(fps=2, max_frames=32).sample(meta()).indices) == 4
    assert len(FramePolicy(fps=10, max_frames=6).sample(meta()).indices) == 6


def test_speed_resamples_indices_in_fps_mode():
    normal = FramePolicy(fps=5, max_frames=100, mode="segment").sample(meta())
    fast = FramePolicy(fps=5, max_frames=100, mode="segment", speed=2).sample(meta())
    slow = FramePolicy(fps=5, max_frames=100, mode="segment", speed=0.5).sample(meta())
    assert (len(normal.indices), len(fast.indices), len(slow.indices)) == (10, 5, 20)
    # twice as fast: consecutive samples are twice as far apart in the source clip
    assert fast.indices[1] - fast.indices[0] == 2 * (normal.indices[1] - normal.indices[0])
    # timestamps live in the altered clip: 2x plays the same source frame earlier
    assert fast.timestamps[-1] == pytest.approx(fast.indices[-1] / 25 / 2)
    assert slow.timestamps[-1] == pytest.approx(slow.indices[-1] / 25 / 0.5)


def test_speed_changes_only_timestamps_with_a_fixed_frame_count():
    a = FramePolicy(num_frames=4).sample(meta())
    b = FramePolicy(num_frames=4, speed=2).sample(meta())
    assert a.indices == b.indices
    assert b.timestamps == tuple(t / 2 for t in a.timestamps)


def test_short_clip_never_repeats_frames_and_reports_shortfall():
    s = FramePolicy(num_frames=16).sample(meta(frames=6))
    assert s.indices == (0, 1, 2, 3, 4, 5)
    assert s.requested == 16 and s.shortfall == 10
    slow = FramePolicy(fps=30, max_frames=64, speed=0.5).sample(meta(frames=10))
    assert len(set(slow.indices)) == len(slow.indices) == 10


def test_window_start_end():
    s = FramePolicy(num_frames=3, start=0.4, end=1.2).sample(meta())
    assert s.indices == (10, 20, 29)
    assert s.timestamps[0] == 0
    with pytest.raises(ValueError, match="holds no frame"):
        FramePolicy(num_frames=3, start=5.0).sample(meta())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one"),
        ({"num_frames": 4, "fps": 1.0}, "exactly one"),
        ({"fps": 2.0}, "max_frames"),
        ({"num_frames": 0}, ">= 1"),
        ({"num_frames": 4, "max_frames": 8}, "only applies with fps"),
        ({"num_frames": 4, "speed": 0}, "speed"),
        ({"num_frames": 4, "start": 2.0, "end": 1.0}, "after start"),
        ({"num_frames": 4, "mode": "random"}, "mode"),
    ],
)
def test_invalid_policies_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FramePolicy(**kwargs)


def test_parse_roundtrip_hash_and_value_semantics():
    p = FramePolicy.parse("fps=2, max_frames=16, mode=segment, speed=0.5")
    assert p == FramePolicy(fps=2.0, max_frames=16, mode="segment", speed=0.5)
    assert FramePolicy.parse(str(p)) == p
    assert FramePolicy.parse(p.to_dict()) == p
    assert p.id == FramePolicy.parse(str(p)).id and len(p.id) == 12
    assert p.id != p.with_speed(2).id
    assert {p: 1}[FramePolicy(fps=2.0, max_frames=16, mode="segment", speed=0.5)] == 1
    assert p.sample(meta()).policy_id == p.id


def test_parse_rejects_unknown_keys_and_bad_syntax():
    with pytest.raises(ValueError, match="unknown key"):
        FramePolicy.parse("num_frame=8")
    with pytest.raises(ValueError, match="key=value"):
        FramePolicy.parse("8")
