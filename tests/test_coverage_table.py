"""make test's coverage table: statements summed per package, and a package below its floor named."""

import coverage_table


def test_the_table_sums_statements_per_package_and_names_a_package_below_its_floor():
    files = {"finevidbench/video/decode.py": (100, 10), "finevidbench/cli.py": (50, 0), "runners/bench.py": (40, 30)}
    table = coverage_table.tally(files)
    assert table["finevidbench"]["finevidbench"] == (150, 10)
    assert table["finevidbench"]["finevidbench/video"] == (100, 10)
    assert table["finevidbench"]["finevidbench/*.py"] == (50, 0)
    assert table["total"]["total"] == (190, 40)
    floors = {"finevidbench": 93.0, "runners": 30.0, "total": 78.0, "tasks": 50.0}
    problems = coverage_table.below_floor(table, floors)
    assert problems == [
        "runners: 25.00% of statements run, below its floor of 30%",
        "tasks: no measured module (the floor names a package coverage does not measure)",
    ]
    text = coverage_table.render(table, floors)
    assert "finevidbench" in text and "93.3%" in text and text.splitlines()[-1].startswith("total")


def test_the_floors_are_read_from_pyproject_and_cover_every_measured_package():
    floors = coverage_table.read_floors()
    assert set(floors) == {"finevidbench", "model_adapters", "leaderboard", "runners", "tasks", "total"}
    assert all(0 < value <= 100 for value in floors.values())


def test_a_measured_run_below_the_floors_fails_the_check_and_names_each_package(tmp_path, capsys):
    """Real coverage data (a process measured under pyproject.toml's configuration, one module imported): the
    table counts the modules it never imported, and --check names every package below its floor."""
    import os
    import subprocess
    import sys

    data_file = tmp_path / ".coverage"
    measure = (
        "import coverage; cov = coverage.Coverage(data_file={data!r}, data_suffix=False, config_file={config!r}); "
        "cov.start(); "
        "import finevidbench.video.decode; cov.stop(); cov.save()"
    ).format(data=str(data_file), config=str(coverage_table.ROOT / "pyproject.toml"))
    env = {k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_CONFIG"}  # not the suite's own measurement
    subprocess.run([sys.executable, "-c", measure], check=True, cwd=coverage_table.ROOT, env=env)
    assert coverage_table.main(["--data-file", str(data_file)]) == 0  # the table alone
    table = capsys.readouterr().out
    assert coverage_table.main(["--data-file", str(data_file), "--check"]) == 1
    captured = capsys.readouterr()
    assert captured.out == table  # the same table, then the floors
    rows = {line.split()[0]: line.split() for line in table.splitlines()[1:]}
    assert {"finevidbench/video", "model_adapters", "leaderboard", "runners", "total"} <= set(rows)
    assert float(rows["finevidbench/video"][3].rstrip("%")) > 0  # the imported module's definitions ran
    assert float(rows["runners"][3].rstrip("%")) == 0  # never imported, still counted
    for package in ("finevidbench", "model_adapters", "leaderboard", "runners", "tasks", "total"):
        assert f"coverage floor: {package}: " in captured.err


def test_no_coverage_file_is_one_clear_line(tmp_path, capsys):
    assert coverage_table.main(["--data-file", str(tmp_path / ".coverage")]) == 1
    assert capsys.readouterr().err.strip() == f"coverage table: no {tmp_path / '.coverage'} (run make test first)"
