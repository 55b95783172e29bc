import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finevidbench.video import FramePolicy, VideoMeta
from finevidbench.video.policy import altered_indices

MODES = ("uniform", "segment", "start")


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


def test_frames_come_from_the_altered_clip_as_its_file_copy_shows_them():
    """2x keeps every other source frame, 0.5x shows each twice; uniform timestamps are the altered clip's."""
    fast = FramePolicy(num_frames=4, speed=2).sample(meta())  # 50 frames at 2x: 25 altered frames
    assert fast.indices == (0, 16, 32, 48) and fast.timestamps == (0, 0.32, 0.64, 0.96)
    assert set(fast.indices) <= set(altered_indices(0, 49, 2.0))
    slow = FramePolicy(num_frames=8, speed=0.5).sample(meta(frames=6))  # 6 frames at 0.5x: 12 altered frames
    assert slow.indices == tuple(altered_indices(0, 5, 0.5)[p] for p in (0, 2, 3, 5, 6, 8, 9, 11))
    assert slow.shortfall == 0 and len(set(slow.timestamps)) == 8  # repeated frames, distinct moments


def test_short_clip_never_repeats_frames_at_normal_speed_and_reports_shortfall():
    s = FramePolicy(num_frames=16).sample(meta(frames=6))
    assert s.indices == (0, 1, 2, 3, 4, 5)
    assert s.requested == 16 and s.shortfall == 10
    fast = FramePolicy(num_frames=16, mode="segment", speed=2).sample(meta(frames=10))
    assert len(set(fast.indices)) == len(fast.indices) == 5 and fast.shortfall == 11


@settings(max_examples=300)
@given(
    fps=st.sampled_from([4.0, 8.0, 12.5, 24.0, 25.0, 30.0]),
    shown=st.integers(1, 60).map(lambda k: 2 * k),  # whole frames at 0.5x, as the Speed type builds them
    policy=st.one_of(
        st.builds(lambda n, m, k: FramePolicy(num_frames=n, mode=m, multiple=k), st.integers(1, 64),
                  st.sampled_from(MODES), st.sampled_from([1, 2])),
        st.builds(lambda f, n, m, k: FramePolicy(fps=f, max_frames=n, mode=m, multiple=k),
                  st.sampled_from([0.5, 1, 2, 3, 8]), st.integers(1, 64), st.sampled_from(MODES),
                  st.sampled_from([1, 2])),
    ),
)  # fmt: skip
def test_views_of_one_shown_length_have_the_same_count_and_timestamps_at_every_speed(fps, shown, policy):
    """Whatever the policy: a window of `shown` frames at 1x, half of it at 0.5x, twice it at 2x look alike.

    So does everything a processor is told about the clip (frame positions, its length and rate).
    """
    clip = meta(frames=4 * shown + 7, fps=fps)
    views = {s: policy.for_scene(s, (3 / fps, (3 + shown * s) / fps)).sample(clip) for s in (0.5, 1.0, 2.0)}
    told = {(len(v.indices), v.timestamps, v.positions, v.clip_frames, v.clip_fps) for v in views.values()}
    assert len(told) == 1, views
    for s, v in views.items():
        first, last = policy.for_scene(s, (3 / fps, (3 + shown * s) / fps)).frame_range(clip)
        assert all(first <= i <= last for i in v.indices) and list(v.indices) == sorted(v.indices)


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


def test_multiple_rounds_the_count_down_to_whole_temporal_patches():
    assert len(FramePolicy(num_frames=13, multiple=2).sample(meta()).indices) == 12
    odd = FramePolicy(fps=3, max_frames=24, mode="segment", multiple=2).sample(meta(frames=115))  # 4.6 s: 13 at 1x
    assert len(odd.indices) == 12 and odd.shortfall == 0
    assert len(FramePolicy(num_frames=8, multiple=2).sample(meta(frames=1)).indices) == 1  # never below what exists


def test_min_frames_raises_an_fps_count_on_short_clips():
    assert len(FramePolicy(fps=2, max_frames=768, min_frames=4, mode="uniform").sample(meta(frames=25)).indices) == 4
    with pytest.raises(ValueError, match="min_frames"):
        FramePolicy(num_frames=8, min_frames=4)


@pytest.mark.parametrize("frames, count", [(50, 8), (37, 8), (10, 4), (115, 13)])
def test_start_mode_is_transformers_default_sampler(frames, count):
    """mode=start takes the frames transformers' own `sample_frames` takes (the LLaVA cards' `arange(0, n, n / k)`)."""
    from transformers.video_processing_utils import BaseVideoProcessor
    from transformers.video_utils import VideoMetadata

    reference = BaseVideoProcessor().sample_frames(VideoMetadata(total_num_frames=frames, fps=25.0), num_frames=count)
    s = FramePolicy(num_frames=count, mode="start").sample(meta(frames=frames))
    assert list(s.indices) == reference.tolist() == list(s.positions)


def test_positions_are_the_moments_of_the_shown_clip():
    s = FramePolicy(num_frames=5, mode="segment").sample(meta())
    assert s.positions == s.indices and s.clip_frames == 50 and s.clip_fps == 25.0
    slow = FramePolicy(num_frames=4, mode="segment", speed=0.5).sample(meta(frames=20))
    assert slow.clip_frames == 40 and slow.positions == (5, 15, 25, 35)
    for t, p in zip(slow.timestamps, slow.positions, strict=True):
        assert 0 <= t - p / slow.clip_fps < 1 / slow.clip_fps  # the frame under the segment centre


def test_fields_added_later_leave_published_ids_alone():
    """Stored answers and submissions carry policy ids: a new field at its default must not move them."""
    policy = FramePolicy.parse("fps=3,max_frames=24,mode=segment")
    assert policy.id == FramePolicy(fps=3.0, max_frames=24, mode="segment", multiple=1, min_frames=None).id
    assert policy.id == "e0d325e7ceef"  # the default policy's id under sampling rules 2, as published
    assert FramePolicy.parse("fps=3,max_frames=24,mode=segment,multiple=2").id != policy.id
