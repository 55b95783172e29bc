"""An installed wheel carries everything a checkout uses: the lmms-eval task folder, schemas, site files."""

import subprocess
import sys
import zipfile
from pathlib import Path

from finevidbench.taskgen import task_files

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_carries_the_task_folder_schemas_and_site_files(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    names = set(zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist())
    data = "finevidbench-0.1.0.data/data/share/finevidbench/tasks/"
    expected_tasks = {f"finevidbench/{name}" for name in task_files()} | {"finevidbench/utils.py", "README.md"}
    assert {data + name for name in expected_tasks} <= names, sorted(expected_tasks - {n[len(data) :] for n in names})
    for folder in ("leaderboard/templates", "leaderboard/static"):
        shipped = {f"{folder}/{p.name}" for p in (ROOT / folder).iterdir() if p.is_file()}
        assert shipped <= names, shipped - names
    assert {"finevidbench/schemas/results.schema.json", "leaderboard/schemas/submission.schema.json"} <= names
    # PEP 561: the packages' annotations are part of what they ship
    assert {f"{package}/py.typed" for package in ("finevidbench", "model_adapters", "leaderboard", "runners")} <= names
