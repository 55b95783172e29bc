"""make coverage's table: statements summed per package, and a package below its floor named."""

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
