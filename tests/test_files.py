"""The shared file helpers: a folder several processes need is built once; JSON files are schema-checked.

Every file the runners write has one writer and one reader that refuse a bad shape."""

import json
import multiprocessing
import time
from pathlib import Path

import pytest

from finevidbench.files import FileFormatError, build_folder_once, read_json, write_json
from finevidbench.scoring.compare import read_comparison, write_comparison
from finevidbench.training.record import RECORD_NAME, RunRecord


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


def _record(**changes) -> RunRecord:
    values = dict(kind="sf2t", recipe={"model": "fvb_qwen2_5_vl", "tuner": "lora"}, base_model={}, data={},
                  contaminated=False, output="out/adapter", steps=3, losses=[{"step": 1, "loss": 2.5}])  # fmt: skip
    return RunRecord(**{**values, **changes})


def test_run_record_round_trips(tmp_path):
    record = _record()
    (tmp_path / "a").mkdir()
    record.write(tmp_path / "a")
    assert RunRecord.read(tmp_path / "a") == record


def test_a_writer_refuses_an_off_schema_record_and_leaves_no_file(tmp_path):
    with pytest.raises(FileFormatError, match=rf"{RECORD_NAME}: field 'kind': 'finetune' is not one of"):
        _record(kind="finetune").write(tmp_path)
    assert not (tmp_path / RECORD_NAME).exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfe not utf-8", "not valid JSON"),
        (b'{"kind": "sf2t"', "not valid JSON"),
        (b"[" * 100_000, "JSON nested too deeply"),
        (b'{"kind": "sf2t", "recipe": {}}', r"field '\(top level\)': 'base_model' is a required property"),
        (
            b'{"kind": "sf2t", "recipe": {"method": "lora"}, "base_model": {}, "data": {}, "contaminated": false,'
            b' "output": "o"}',
            "field 'recipe': 'model' is a required property",
        ),
    ],
)
def test_a_reader_names_the_file_and_the_field(tmp_path, content, message):
    (tmp_path / RECORD_NAME).write_bytes(content)
    with pytest.raises(FileFormatError, match=message) as caught:
        RunRecord.read(tmp_path)
    assert str(tmp_path / RECORD_NAME) in str(caught.value)


def test_comparison_round_trips_and_a_tampered_one_is_refused(tmp_path):
    cell = {"accuracy": 0.5, "ci_low": 0.4, "ci_high": 0.6, "parse_fail": 0.0}
    row = {"n": 10, "n_videos": 2, "chance": 0.25, "arms": {"base": cell, "control": None}, "diffs": {"a-b": None}}
    comparison = {"arms": ["base", "control"], "missing": ["control"], "contrasts": ["a-b"], "verdict": "a-b",
                  "helpful": None, "overall": row, "by_level": {"scene": row}, "by_type": {"action": row},
                  "folders": {"base": "x", "control": None}, "run": {}}  # fmt: skip
    write_comparison(tmp_path / "comparison.json", comparison)
    assert read_comparison(tmp_path / "comparison.json") == comparison
    broken = json.loads((tmp_path / "comparison.json").read_text())
    broken["by_type"]["action"]["arms"]["base"]["accuracy"] = 1.5
    (tmp_path / "comparison.json").write_text(json.dumps(broken))
    with pytest.raises(FileFormatError, match=r"by_type/action/arms/base"):
        read_comparison(tmp_path / "comparison.json")


def test_a_missing_file_says_which_command_writes_it(tmp_path):
    with pytest.raises(FileFormatError, match="missing"):
        read_json(tmp_path / "bench.json", "bench")
    write_json(tmp_path / "bench.json", {"machine": {"cpus": 2, "python": "3.11"}, "figures": {}, "ratios": {"x": 1.0}})
    assert read_json(tmp_path / "bench.json", "bench")["ratios"] == {"x": 1.0}
