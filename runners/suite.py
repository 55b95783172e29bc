"""The test suite's own figures, recorded by `make bench` and `make bench-full` like any other.

`make test` has a budget (6 minutes on 2 cores, docs/performance.md); a budget nobody measures drifts.
`suite_figures` runs the suite as `make test` does (coverage and floors included), and records its
wall and CPU time (the processes it starts included), what passed, and its ten slowest tests as
pytest's `--durations` reports them.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAKE_TEST = ("make", "test")
SLOWEST = 10
_DURATION = re.compile(r"^\s*([\d.]+)s\s+(call|setup|teardown)\s+(\S+)", re.MULTILINE)
_SUMMARY = re.compile(r"^=*\s*(\d+ \w+(?:, \d+ \w+)*) in [\d.]+s", re.MULTILINE)


def suite_figures(command: Sequence[str] = MAKE_TEST, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall and CPU seconds of `command` (the suite), its outcome, and its slowest tests."""
    environment = {**(env or os.environ), "PYTEST_ADDOPTS": f"--durations={SLOWEST}"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(list(command), cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = _SUMMARY.findall(done.stdout)
    return {
        "command": " ".join(command),
        "returncode": done.returncode,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "outcome": summary[-1] if summary else None,
        "slowest": slowest_tests(done.stdout),
    }


def slowest_tests(output: str) -> list[dict[str, Any]]:
    """Pytest's `--durations` lines as (test, phase, seconds), slowest first."""
    rows = _DURATION.findall(output)
    found = [{"test": test, "phase": phase, "seconds": float(seconds)} for seconds, phase, test in rows]
    return sorted(found, key=lambda row: -row["seconds"])[:SLOWEST]


def suite_line(figures: dict[str, Any]) -> str:
    """One line for the bench's printout."""
    return (
        f"suite: {figures['command']}: {figures['wall_s']:.0f} s wall, {figures['cpu_s']:.0f} s CPU, "
        f"{figures['outcome']} (exit {figures['returncode']})"
    )
