"""Runs as tables: results files as a pandas DataFrame, and `finevidbench compare` with paired differences."""

import csv
import json
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from finevidbench.results import RUN_COLUMNS, TYPE_COLUMNS, read_results, read_samples, results_frame
from leaderboard.submit import SUBMISSIONS

RANDOM, FREQUENT = SUBMISSIONS / "random-baseline", SUBMISSIONS / "most-frequent-answer-baseline"


def test_results_frame_has_one_row_per_run_and_type_with_the_figures_of_the_files():
    frame = results_frame([RANDOM, FREQUENT / "results.json"])
    assert list(frame.columns) == [*RUN_COLUMNS, *TYPE_COLUMNS]
    assert len(frame) == 16 and set(frame["run"]) == {RANDOM.name, FREQUENT.name}
    row = frame[(frame["run"] == RANDOM.name) & (frame["type"] == "speed")].iloc[0]
    entry = read_results(RANDOM / "results.json")["scores"]["by_type"]["speed"]
    assert (row["acc"], row["ci_low"], row["n"], row["level"]) == (entry["acc"], entry["ci_low"], entry["n"], "scene")
    assert frame.groupby("run")["n"].sum().to_dict() == {RANDOM.name: 1053, FREQUENT.name: 1053}


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "finevidbench.cli", "compare", *map(str, args)], capture_output=True, text=True
    )


def test_compare_prints_and_writes_paired_differences_that_match_a_hand_computation(tmp_path):
    result = _cli(RANDOM, FREQUENT, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| moment_count" in result.stdout and "random-baseline" in result.stdout
    with (tmp_path / "comparison.csv").open() as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    assert (tmp_path / "comparison.md").read_text().startswith("|")
    # by hand: speed, most frequent minus random, paired by question id, CR1 variance clustered by video
    before = {s.question_id: s for s in read_samples(RANDOM) if s.type == "speed"}
    after = {s.question_id: s for s in read_samples(FREQUENT) if s.type == "speed"}
    d = {qid: after[qid].correct - before[qid].correct for qid in before}
    mean = sum(d.values()) / len(d)
    clusters = defaultdict(float)
    for qid, value in d.items():
        clusters[before[qid].video] += value - mean
    g = len(clusters)
    half = 1.959964 * math.sqrt(g / (g - 1) * sum(v * v for v in clusters.values()) / len(d) ** 2)
    contrast = f"{FREQUENT.name}-{RANDOM.name}"
    speed = rows["speed"]
    assert float(speed[f"{contrast}_diff"]) == pytest.approx(mean)
    assert float(speed[f"{contrast}_ci_low"]) == pytest.approx(mean - half, abs=1e-5)
    assert float(speed[f"{contrast}_ci_high"]) == pytest.approx(mean + half, abs=1e-5)
    assert int(rows["overall"]["n"]) == 1053


def test_compare_refuses_one_run_and_a_folder_without_results(tmp_path):
    one = _cli(RANDOM)
    assert one.returncode == 2 and "at least two" in one.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = _cli(RANDOM, empty)
    assert missing.returncode == 2 and "no results.json" in missing.stderr and "Traceback" not in missing.stderr


def test_compare_refuses_runs_of_different_question_sets(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    results = json.loads((RANDOM / "results.json").read_text())
    results["dataset_hash"] = "0" * 64
    (other / "results.json").write_text(json.dumps(results))
    (other / "samples.jsonl").write_text((RANDOM / "samples.jsonl").read_text())
    result = _cli(RANDOM, other)
    assert result.returncode == 2 and "different question sets" in result.stderr
    assert Path(other / "samples.jsonl").is_file()
