"""The layout tells the architecture: imports flow one way, and no unit outgrows the limits we set.

core (finevidbench) <- adapters (model_adapters, tasks) <- runners; core <- leaderboard <- runners.
Every import counts, function-local ones included: a cycle that only shows when a function runs is
still a cycle.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("finevidbench", "model_adapters", "tasks", "leaderboard", "runners")
ALLOWED = {
    "finevidbench": {"finevidbench"},
    "model_adapters": {"finevidbench", "model_adapters", "lmms_eval"},
    "tasks": {"finevidbench", "tasks", "lmms_eval"},
    "leaderboard": {"finevidbench", "leaderboard"},
    "runners": {"finevidbench", "model_adapters", "leaderboard", "runners", "lmms_eval"},
}
"""Which of our packages (and lmms-eval) each package may import."""
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(top-level package, line) of every import in a module, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


@pytest.mark.parametrize("package", OURS)
def test_imports_flow_one_way(package):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules(package)
        for name, line in imported_packages(path)
        if name in (*OURS, "lmms_eval") and name not in ALLOWED[package]
    ]
    assert not wrong, "imports against core <- adapters <- runners, core <- leaderboard <- runners:\n" + "\n".join(
        wrong
    )


def test_the_checker_sees_a_function_local_import(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from runners.evaluate import main\n    return main\n")
    assert ("runners", 2) in imported_packages(module)


@pytest.mark.parametrize("package", OURS)
def test_modules_and_functions_stay_small(package):
    too_big = []
    for path in modules(package):
        source = path.read_text()
        if len(source.splitlines()) > MAX_MODULE_LINES:
            too_big.append(f"{path.relative_to(ROOT)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_big.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not too_big, f"over {MAX_MODULE_LINES} lines a module / {MAX_FUNCTION_LINES} a function:\n" + "\n".join(
        too_big
    )
