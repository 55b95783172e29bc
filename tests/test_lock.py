"""The environment is the lock: nothing installed that the lock does not pin, and a stale lock is refused."""

import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
LOCKS = [REQUIREMENTS / "lock-cpu.txt", REQUIREMENTS / "lock-cuda.txt"]
# Put there by `python -m venv` before any lock is read, and the project itself (an editable install).
BOOTSTRAP = {"pip", "finevidbench"}


def pins(lock: Path, *, applicable_only: bool = True) -> dict[str, str]:
    """Name -> pinned version of every lock line (whose marker holds here, by default)."""
    out = {}
    for line in lock.read_text().splitlines():
        if not line or line[0] in "# -":
            continue
        req = Requirement(line)
        if applicable_only and req.marker is not None and not req.marker.evaluate():
            continue
        (spec,) = req.specifier
        assert spec.operator == "==", line
        out[canonicalize_name(req.name)] = spec.version
    return out


def installed_lock() -> Path:
    stamp = Path(sys.prefix) / ".installed"
    if not stamp.is_file():
        pytest.skip(f"{sys.prefix} was not built by `make venv` (no .installed stamp naming its lock)")
    return ROOT / stamp.read_text().strip()


def test_every_installed_distribution_is_pinned_by_the_lock_at_its_version():
    locked = pins(installed_lock())
    # torch's CUDA build, where the index gave it, brings its own CUDA runtime, pinned exactly by torch.
    torch_build = {canonicalize_name(Requirement(r).name) for r in importlib.metadata.requires("torch") or []}
    unpinned, wrong = [], []
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name in BOOTSTRAP or (name in torch_build and name not in locked):
            continue
        if name not in locked:
            unpinned.append(f"{name}=={dist.version}")
        elif dist.version not in SpecifierSet(f"=={locked[name]}"):  # 2.13.0+cpu is torch==2.13.0
            wrong.append(f"{name}: installed {dist.version}, locked {locked[name]}")
    assert not unpinned, (
        f"installed but not in the lock: {unpinned} (a new dependency needs `make lock`; a leftover of an older "
        "lock goes with `make clean venv`)"
    )
    assert not wrong, f"installed at another version than the lock's (run `make venv`): {wrong}"


def test_the_committed_locks_match_pyproject():
    result = subprocess.run(
        [sys.executable, str(REQUIREMENTS / "lock.py"), "check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr


def test_locks_name_packages_by_version_only_and_pin_one_torch():
    lines = (REQUIREMENTS / "torch.txt").read_text().splitlines()
    torch_pins = {Requirement(line).name: line for line in lines if line and not line.startswith("#")}
    for lock in LOCKS:
        text = lock.read_text()
        located = re.search(r"^[A-Za-z0-9].*(file:|https?:|/|\.whl| @ )", text, re.M)
        assert not located, f"{lock.name} names a path or URL: {located.group(0)}"
        every = pins(lock, applicable_only=False)
        assert f"torch=={every['torch']}" == torch_pins["torch"]
        assert f"torchvision=={every['torchvision']}" == torch_pins["torchvision"]
        # lmms-eval 0.7.3 imports filelock._api, gone in filelock 4 (the cap in pyproject.toml)
        assert int(every["filelock"].split(".")[0]) < 4
    cpu, cuda = pins(LOCKS[0], applicable_only=False), pins(LOCKS[1], applicable_only=False)
    cuda_runtime = {name for name in cuda if name.startswith("nvidia-") or name == "triton"}
    assert cuda_runtime, "the CUDA lock pins torch's CUDA runtime"
    assert not cuda_runtime & set(cpu), "the CPU lock must not install CUDA runtime packages"


def _project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(ROOT / "Makefile", copy)
    shutil.copy(ROOT / "pyproject.toml", copy)
    shutil.copytree(REQUIREMENTS, copy / "requirements", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_make_venv_refuses_a_lock_that_fell_behind_pyproject_in_one_line(tmp_path):
    project = _project_copy(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"numpy>=1.26",', '"numpy>=1.26",\n  "rich>=13",'))
    result = subprocess.run(
        ["make", "--no-print-directory", "venv"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    message = [line for line in result.stderr.splitlines() if line.startswith("make venv:")]
    assert len(message) == 1, result.stderr
    assert "requirements/lock-cpu.txt" in message[0] and "`make lock`" in message[0], message
    assert not (project / ".venv").exists(), "nothing is installed from a stale lock"


def test_reordering_or_respacing_dependencies_is_not_a_change(tmp_path):
    project = _project_copy(tmp_path)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('"numpy>=1.26",\n  "av>=12",', '"av >= 12",\n  "numpy>=1.26",'))
    assert pyproject.read_text() != text
    result = subprocess.run(
        [sys.executable, str(project / "requirements" / "lock.py"), "check", "--pyproject", str(pyproject)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
