"""The layout tells the architecture: imports flow one way, and no unit outgrows the limits we set.

core (finevidbench) <- adapters (model_adapters, tasks) <- runners; core <- leaderboard <- runners.
Every import counts, function-local ones included: a cycle that only shows when a function runs is
still a cycle.
"""

import ast
import sys
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


def imported_modules(path: Path) -> set[tuple[str, int]]:
    """(dotted name, line) of every import in a module at any depth: `from a.b import c` gives `a.b.c`.

    The name may be a module or an attribute of one; `module_of` finds which module it lands in.
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {(alias.name, node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {(f"{node.module}.{alias.name}", node.lineno) for alias in node.names}
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_of(name: str, known: set[str]) -> str | None:
    """The longest prefix of a dotted name that is one of `known` modules (None: not one of them)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


@pytest.mark.parametrize("package", ["finevidbench", "model_adapters"])
def test_the_product_does_not_import_the_test_fixtures(package):
    """Tiny models, hub layouts and the bench's model live in model_adapters.testing; the product never loads them.

    Runners are commands and may (the demonstrations build tiny models); adapters, registry and core may not,
    at any depth, so a real checkpoint's run never imports a fixture.
    """
    wrong = sorted(
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules(package)
        if not module_name(path).startswith("model_adapters.testing")
        for name, line in imported_modules(path)
        if name == "model_adapters.testing" or name.startswith("model_adapters.testing.")
    )
    assert not wrong, "the product imports test fixtures:\n" + "\n".join(wrong)


def import_cycles(package: str) -> list[list[str]]:
    """The cycles of `package`'s module import graph (each a strongly connected set of two or more modules)."""
    paths = {module_name(path): path for path in modules(package)}
    graph = {
        name: {
            m for imported, _ in imported_modules(path) if (m := module_of(imported, set(paths))) not in (None, name)
        }
        for name, path in paths.items()
    }
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        order[node] = low[node] = len(order)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in order:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            component = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in order:
            visit(node)
    return cycles


def test_model_adapters_has_no_import_cycle():
    """No module of model_adapters imports, at any depth and TYPE_CHECKING included, one that imports it back.

    A circle there (manifests <-> registry <-> testing.tiny, once) makes import order matter.
    """
    assert import_cycles("model_adapters") == []


def test_the_cycle_checker_sees_a_cycle(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.b import g\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    (package / "c.py").write_text("import pkg.a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert import_cycles("pkg") == [["pkg.a", "pkg.b"]]
