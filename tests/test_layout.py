"""The layout tells the architecture: imports flow one way, and no unit outgrows the limits we set.

core (finevidbench) <- adapters (model_adapters, tasks) <- runners; core <- leaderboard <- runners.
Every import counts, function-local ones included: a cycle that only shows when a function runs is
still a cycle.
"""

import ast
import io
import sys
import tokenize
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


FMT_SKIP_ALLOWANCE: dict[str, int] = {
    # tables that read better on long lines, each with its reason: none today
}
"""`# fmt: skip` markers a product module may hold; any other module holds none.

Structure, not compression: a function that outgrows its limit is split (helpers, dataclasses for
argument groups, tables as module constants), not squeezed onto lines ruff format may not touch.
"""
MAX_PARAMETERS = 8
CLI_EDGE: dict[str, int] = {}
"""Functions at the command-line edge (argparse handling, a `main`) that may take more parameters: none today."""
PARAMETER_ALLOWANCE: dict[str, int] = {}
"""Functions allowed over MAX_PARAMETERS outside the CLI edge, with their count: none (a dataclass instead)."""


def fmt_skips(source: str) -> int:
    """`# fmt: skip` comments in a module (a string that spells it is no marker)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return sum(1 for t in tokens if t.type == tokenize.COMMENT and t.string.replace(" ", "") == "#fmt:skip")


def test_no_fmt_skip_outside_tables():
    found = {str(path.relative_to(ROOT)): fmt_skips(path.read_text()) for package in OURS for path in modules(package)}
    over = [
        f"{name}: {count} `# fmt: skip` (allowed {FMT_SKIP_ALLOWANCE.get(name, 0)})"
        for name, count in sorted(found.items())
        if count > FMT_SKIP_ALLOWANCE.get(name, 0)
    ]
    assert not over, "let ruff format lay the code out; restructure what outgrows its limit:\n" + "\n".join(over)


def test_the_marker_count_reads_comments_only():
    assert fmt_skips('x = [1,  2]  # fmt: skip\ny = "# fmt: skip"\n') == 1


def parameter_counts(source: str) -> dict[str, int]:
    """Qualified name -> parameters (positional and keyword, not self/cls, *args or **kwargs) of each function."""
    counts = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                args = child.args
                names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
                if names[:1] in (["self"], ["cls"]):
                    names = names[1:]
                counts[prefix + child.name] = len(names)
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return counts


def test_no_function_takes_more_than_eight_parameters():
    allowed = {**CLI_EDGE, **PARAMETER_ALLOWANCE}
    over = [
        f"{key}: {count} parameters"
        for package in OURS
        for path in modules(package)
        for name, count in parameter_counts(path.read_text()).items()
        if count > allowed.get(key := f"{path.relative_to(ROOT)}::{name}", MAX_PARAMETERS)
    ]
    assert not over, f"over {MAX_PARAMETERS} parameters (group them in a dataclass):\n" + "\n".join(over)


def test_the_parameter_count_leaves_out_self_and_star_arguments():
    source = "class A:\n    def f(self, a, /, b, *args, c, **kwargs):\n        def g(x): pass\n"
    assert parameter_counts(source) == {"A.f": 3, "A.f.g": 1}


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


def namespaces_built(source: str) -> list[int]:
    """Lines that build an `argparse.Namespace` (or a bare `Namespace(...)`) in code."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name == "Namespace":
                lines.append(node.lineno)
    return lines


def test_no_runner_builds_an_argparse_namespace():
    """Commands are called through typed specs (runners.evaluate.evaluate(ModelSpec, EvaluationSpec, ...)), not a
    hand-built Namespace that mimics a command line."""
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in OURS
        for path in modules(package)
        for line in namespaces_built(path.read_text())
    ]
    assert not found, "argparse.Namespace built in code (call the function that takes specs):\n" + "\n".join(found)


def test_the_namespace_checker_sees_one():
    assert namespaces_built("import argparse\nx = argparse.Namespace(a=1)\ny = Namespace()\n") == [2, 3]
