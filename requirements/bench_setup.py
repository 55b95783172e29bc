"""Time a newcomer's first minutes: fresh clone to first `make eval` result (pip vs uv), and the test suite.

Each installer gets its own fresh clone of the committed HEAD, empty package caches and an empty
FineVidBench cache, so both pay for downloads, the install and the mini set's first build; both run
on this machine in this one run. Then, in the uv clone, `make test` (everything, as CI runs it) and
`make test-fast`. Writes JSON (default setup_bench.json) and prints a Markdown table.

    python requirements/bench_setup.py [--out setup_bench.json] [--skip-tests]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str], cwd: Path, env: dict) -> tuple[float, str]:
    """Seconds a command took, and its output's tail; a failure stops the benchmark with that tail."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    output = result.stdout[-3000:] + "\n" + result.stderr[-3000:]
    if result.returncode != 0:
        sys.exit(f"bench_setup: `{' '.join(command)}` failed in {cwd}:\n{output}")
    return seconds, output


def first_eval(installer: str, work: Path) -> dict:
    """Fresh clone, empty caches, then `make venv` and `make eval` timed apart."""
    clone = work / f"clone-{installer}"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {
        **os.environ,
        "PIP_CACHE_DIR": str(work / f"pip-cache-{installer}"),
        "UV_CACHE_DIR": str(work / f"uv-cache-{installer}"),
        "FINEVIDBENCH_CACHE": str(work / f"fvb-cache-{installer}"),
    }
    venv, _ = timed(["make", "venv", f"INSTALLER={installer}"], clone, env)
    evaluate, output = timed(["make", "eval", f"INSTALLER={installer}"], clone, env)
    overall = re.search(r"overall\D*([0-9.]+)", output)
    return {"venv_s": round(venv, 1), "eval_s": round(evaluate, 1), "total_s": round(venv + evaluate, 1),
            "overall_accuracy": float(overall.group(1)) if overall else None, "clone": clone, "env": env}  # fmt: skip


def test_suite(clone: Path, env: dict) -> dict:
    """`make test` and `make test-fast` in an installed clone: seconds and pytest's closing line."""
    out = {}
    for target in ("test", "test-fast"):
        seconds, output = timed(["make", target], clone, env)
        summary = [line for line in output.splitlines() if re.search(r"\d+ passed", line)]
        out[target] = {"seconds": round(seconds, 1), "summary": summary[-1].strip("= ") if summary else ""}
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and write the JSON and the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("setup_bench.json"))
    parser.add_argument("--skip-tests", action="store_true", help="time the installs and first eval only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fvb-setup-bench-") as tmp:
        work = Path(tmp)
        runs = {installer: first_eval(installer, work) for installer in ("pip", "uv")}
        tests = {} if args.skip_tests else test_suite(runs["uv"]["clone"], runs["uv"]["env"])
    report = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
        "first_eval": {k: {f: v for f, v in r.items() if f not in ("clone", "env")} for k, r in runs.items()},
        "install_ratio_uv_over_pip": round(runs["uv"]["venv_s"] / runs["pip"]["venv_s"], 3),
        "tests": tests,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print("| installer | install (make venv) | first make eval | fresh clone to first result |")
    print("|---|---|---|---|")
    for name, r in report["first_eval"].items():
        print(f"| {name} | {r['venv_s']} s | {r['eval_s']} s | {r['total_s']} s |")
    print(f"\nuv install / pip install: {report['install_ratio_uv_over_pip']}")
    for target, t in tests.items():
        print(f"make {target}: {t['seconds']} s ({t['summary']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
