"""make bench's figures of the test suite itself (runners/suite.py), on a small suite run for real."""

import sys

from finevidbench.files import read_json_object, write_json
from runners.suite import suite_figures, suite_line


def test_the_suite_is_timed_with_its_outcome_and_its_slowest_tests(tmp_path):
    suite = tmp_path / "test_small.py"
    suite.write_text(
        "import time\n\n"
        "def test_slow():\n    time.sleep(0.3)\n\n"
        "def test_quick():\n    time.sleep(0.05)\n\n"
        "def test_broken():\n    assert 1 == 2\n"
    )
    figures = suite_figures([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)])
    assert figures["returncode"] == 1 and figures["outcome"] == "1 failed, 2 passed"
    assert figures["wall_s"] >= 0.3 and figures["cpu_s"] > 0
    slowest = figures["slowest"][0]
    assert slowest["test"].endswith("test_small.py::test_slow") and slowest["phase"] == "call"
    assert 0.3 <= slowest["seconds"] < figures["wall_s"]
    assert [row["seconds"] for row in figures["slowest"]] == sorted(
        (r["seconds"] for r in figures["slowest"]), reverse=True
    )
    write_json(tmp_path / "bench.json", {"machine": {"cpus": 2, "python": "3"}, "suite": figures}, "bench")
    assert read_json_object(tmp_path / "bench.json", "bench")["suite"] == figures
    assert "1 failed, 2 passed (exit 1)" in suite_line(figures)
