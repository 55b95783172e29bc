"""The shared file helpers: a folder needed by several processes at once is built by one of them."""

import multiprocessing
import time
from pathlib import Path

from finevidbench.files import build_folder_once


def _fill(staging: Path, log: Path) -> None:
    with log.open("a") as f:
        f.write("built\n")
    time.sleep(0.5)  # long enough for the other process to arrive while this one builds
    (staging / "manifest.json").write_text("{}")


def _build(target: str, log: str) -> str:
    return str(build_folder_once(Path(target), "manifest.json", lambda staging: _fill(staging, Path(log))))


def test_concurrent_builders_wait_for_the_first_instead_of_building_twice(tmp_path):
    target, log = tmp_path / "cache" / "mini", tmp_path / "builds.log"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.starmap(_build, [(str(target), str(log))] * 2)
    assert results == [str(target)] * 2
    assert log.read_text() == "built\n"
    assert (target / "manifest.json").is_file()
    assert [p.name for p in target.parent.iterdir() if p.is_dir()] == ["mini"]  # no staging folder left
