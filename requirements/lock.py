"""The environment lock: compile it with uv, and check that it still matches pyproject.toml.

Two locks, one per kind of machine, both universal (every platform and Python the project supports):
``lock-cpu.txt`` (torch's CUDA runtime packages dropped, see cpu-overrides.txt) and ``lock-cuda.txt``. Each
starts with a digest of what it was compiled from (the declared dependencies, the torch pins and the
overrides), so ``make venv`` can refuse a lock that fell behind pyproject.toml before installing
anything. Standard library only: it runs before the virtual environment exists.

    python requirements/lock.py compile --uv PATH   # make lock
    python requirements/lock.py check               # make venv, before installing
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip carries a copy of tomli
    from pip._vendor import tomli as tomllib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TORCH_PINS = HERE / "torch.txt"
CPU_OVERRIDES = HERE / "cpu-overrides.txt"
LOCKS = {"cpu": HERE / "lock-cpu.txt", "cuda": HERE / "lock-cuda.txt"}
EXTRAS = ("train", "dev")
OLDEST_PYTHON = "3.10"
DIGEST_PREFIX = "# inputs-sha256: "


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a requirements-style file, comments and blanks left out."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def inputs_digest(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """Digest of everything a lock is compiled from; order and spacing of the lists do not count."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    inputs = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": _normalised(project.get("dependencies", [])),
        "extras": {name: _normalised(extras.get(name, [])) for name in EXTRAS},
        "torch": sorted(requirement_lines(TORCH_PINS)),
        "cpu-overrides": sorted(requirement_lines(CPU_OVERRIDES)),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _normalised(requirements: list[str]) -> list[str]:
    return sorted("".join(r.split()).lower() for r in requirements)


def recorded_digest(lock: Path) -> str | None:
    """The digest a lock file was compiled with, or None for a file without one."""
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line[len(DIGEST_PREFIX) :].strip()
    return None


def check(pyproject: Path, locks: list[Path]) -> str | None:
    """One line saying why the locks cannot be installed, or None when they match pyproject.toml."""
    expected = inputs_digest(pyproject)
    for lock in locks:
        if not lock.is_file():
            return f"{lock.name} is missing: run `make lock` to compile it from pyproject.toml"
        if recorded_digest(lock) != expected:
            return (
                f"requirements/{lock.name} does not match pyproject.toml or requirements/ (a dependency changed "
                "without relocking): run `make lock`, then commit the lock files"
            )
    return None


def compile_lock(uv: str, kind: str, upgrade: bool) -> None:
    """Compile one lock with uv, resolved from the package index alone (no local wheels or paths)."""
    out = LOCKS[kind]
    command = [uv, "pip", "compile", "pyproject.toml", "--universal", "--python-version", OLDEST_PYTHON]
    command += [arg for extra in EXTRAS for arg in ("--extra", extra)]
    command += ["--constraint", str(TORCH_PINS.relative_to(ROOT)), "--custom-compile-command", "make lock"]
    command += ["--quiet", "--output-file", str(out.relative_to(ROOT))]
    if kind == "cpu":
        command += ["--override", str(CPU_OVERRIDES.relative_to(ROOT))]
        for line in requirement_lines(CPU_OVERRIDES):
            command += ["--no-emit-package", line.split(";")[0].strip()]
    if upgrade:
        command.append("--upgrade")
    elif out.is_file():
        out.write_text(_without_digest(out.read_text(encoding="utf-8")), encoding="utf-8")  # uv keeps prior pins
    # Local wheel folders of this machine must not shape a lock meant for every machine.
    env = {k: v for k, v in os.environ.items() if k not in ("UV_FIND_LINKS", "PIP_FIND_LINKS")}
    subprocess.run(command, cwd=ROOT, check=True, env=env)
    text = out.read_text(encoding="utf-8")
    out.write_text(f"{DIGEST_PREFIX}{inputs_digest()}\n{text}", encoding="utf-8")


def _without_digest(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith(DIGEST_PREFIX))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``compile`` (make lock) or ``check`` (make venv)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    comp = sub.add_parser("compile", help="compile lock-cpu.txt and lock-cuda.txt with uv")
    comp.add_argument("--uv", default="uv", help="the uv executable")
    comp.add_argument("--upgrade", action="store_true", help="move every pin to the newest allowed version")
    chk = sub.add_parser("check", help="exit 1 with one line when a lock does not match pyproject.toml")
    chk.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    chk.add_argument("--lock", type=Path, action="append", help="lock file(s) to check (default: both)")
    args = parser.parse_args(argv)
    if args.command == "compile":
        for kind in LOCKS:
            compile_lock(args.uv, kind, args.upgrade)
        return 0
    problem = check(args.pyproject, args.lock or list(LOCKS.values()))
    if problem:
        print(f"make venv: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
