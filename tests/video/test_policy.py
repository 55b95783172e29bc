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
    # segment timestamps are the segment centres of the altered clip (1 s at 2x, 4 s at 0.5x)
    assert fast.timestamps == pytest.approx([0.1 + 0.2 * k for k in range(5)])
    assert slow.timestamps == pytest.approx([0.1 + 0.2 * k for k in range(20)])
    assert fast.sampled_fps == pytest.approx(slow.sampled_fps) == pytest.approx(5.0)


def test_scene_windows_of_one_shown_length_look_alike_at_every_speed():
    """A window twice as long played twice as fast: same count, same timestamps, other source frames."""
    policy = FramePolicy(fps=3, max_frames=24, mode="segment")
    clip = meta(frames=100, fps=10.0)
    views = {s: policy.for_scene(s, (1.0, 1.0 + 2.0 * s)).sample(clip) for s in (0.5, 1.0, 2.0)}
    assert len({(len(v.indices), v.timestamps) for v in views.values()}) == 1
    assert [len(v.indices) for v in views.values()] == [6, 6, 6]
    span = {s: v.indices[-1] - v.indices[0] for s, v in views.items()}
    assert 3 * span[0.5] < span[2.0] <= 4 * span[0.5] + 4  # four times the source time, up to frame rounding
    assert policy.for_scene(1.0).start is None and policy.for_scene(2.0, ()).speed == 2.0


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
