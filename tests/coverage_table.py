"""make test's coverage table: one line per package and subpackage, and the floors it holds.

`make test` runs the suite under pytest-cov, which leaves the combined data in `.coverage`: the
test processes' own lines and, through coverage's subprocess patch, those of the Python processes
the tests start (`python -m runners.evaluate`, `accelerate launch`, `python -m lmms_eval`, ...).
This script sums statements per package (every module of the measured folders counts, imported or
not), prints the table, and with `--check` exits 1 when a package or the total falls below its
floor in pyproject.toml (`[tool.finevidbench.coverage-floor]`). Standard library and coverage only.

    python tests/coverage_table.py           # the table
    python tests/coverage_table.py --check   # the table, then the floors (make test on the whole suite)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip carries a copy of tomli
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]  # the same API under another name

ROOT = Path(__file__).resolve().parents[1]
TOTAL = "total"


def group_of(path: str) -> tuple[str, str]:
    """(package, row) of a file: `finevidbench/protocol/types/x.py` -> (finevidbench, finevidbench/protocol)."""
    parts = Path(path).parts
    package = parts[0]
    row = "/".join(parts[:2]) if len(parts) > 2 else f"{package}/*.py"
    return package, row


def tally(files: dict[str, tuple[int, int]]) -> dict[str, dict[str, tuple[int, int]]]:
    """{package: {row: (statements, missing)}} from {path: (statements, missing)}, each package's total under
    its own name, and the grand total under `total`."""
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for path, (statements, missing) in files.items():
        package, row = group_of(path)
        for key_package, key_row in ((package, row), (package, package), (TOTAL, TOTAL)):
            cell = table[key_package][key_row]
            cell[0] += statements
            cell[1] += missing
    return {p: {r: (s, m) for r, (s, m) in rows.items()} for p, rows in table.items()}


def percent(statements: int, missing: int) -> float:
    """Covered share of the statements, in percent (100 for a package without statements)."""
    return 100.0 * (statements - missing) / statements if statements else 100.0


def render(table: dict[str, dict[str, tuple[int, int]]], floors: dict[str, float]) -> str:
    """The table as text: each package, its subpackages indented, then the total."""
    lines = [f"{'coverage by package (make test)':<36}{'stmts':>7}{'miss':>7}{'cover':>8}{'floor':>7}"]

    def line(name: str, cell: tuple[int, int], floor: float | None, indent: str = "") -> str:
        shown = f"{floor:.0f}%" if floor is not None else ""
        return f"{indent + name:<36}{cell[0]:>7}{cell[1]:>7}{percent(*cell):>7.1f}%{shown:>7}"

    for package in sorted(p for p in table if p != TOTAL):
        rows = table[package]
        lines.append(line(package, rows[package], floors.get(package)))
        lines += [line(row, rows[row], None, "  ") for row in sorted(rows) if row != package]
    lines.append(line(TOTAL, table[TOTAL][TOTAL], floors.get(TOTAL)))
    return "\n".join(lines)


def below_floor(table: dict[str, dict[str, tuple[int, int]]], floors: dict[str, float]) -> list[str]:
    """One line per package (or the total) whose coverage fell below its floor."""
    found = []
    for name, floor in floors.items():
        cell = table.get(name, {}).get(name)
        if cell is None:
            found.append(f"{name}: no measured module (the floor names a package coverage does not measure)")
        elif percent(*cell) < floor:
            found.append(f"{name}: {percent(*cell):.2f}% of statements run, below its floor of {floor:g}%")
    return found


def measured_files(data_file: Path) -> dict[str, tuple[int, int]]:
    """{path relative to the repository: (statements, missing)} from coverage's data, unimported modules included."""
    import coverage

    cov = coverage.Coverage(data_file=str(data_file), config_file=str(ROOT / "pyproject.toml"))
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "coverage.json"
        cov.json_report(outfile=str(report))
        files = json.loads(report.read_text(encoding="utf-8"))["files"]
    out = {}
    for name, entry in files.items():
        path = Path(name)
        relative = path.relative_to(ROOT) if path.is_absolute() else path
        summary = entry["summary"]
        out[relative.as_posix()] = (summary["num_statements"], summary["missing_lines"])
    return out


def read_floors(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, float]:
    """The floors, {package or "total": percent}."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return {k: float(v) for k, v in config["tool"]["finevidbench"]["coverage-floor"].items()}


def main(argv: list[str] | None = None) -> int:
    """Print the table; with --check, exit 1 when a floor is not held."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-file", type=Path, default=ROOT / ".coverage")
    parser.add_argument("--check", action="store_true", help="fail when a package falls below its floor")
    args = parser.parse_args(argv)
    if not args.data_file.is_file():
        print(f"coverage table: no {args.data_file} (run make test first)", file=sys.stderr)
        return 1
    floors = read_floors()
    table = tally(measured_files(args.data_file))
    print(render(table, floors))
    if not args.check:
        return 0
    problems = below_floor(table, floors)
    for problem in problems:
        print(f"coverage floor: {problem} (the floors only rise: test what the change left unexercised)",
              file=sys.stderr)  # fmt: skip
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
