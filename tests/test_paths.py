from pathlib import Path

import pytest

from finevidbench.paths import cache_dir, tasks_dir

ROOT = Path(__file__).resolve().parents[1]


def test_tasks_dir_is_the_checkout_folder():
    assert tasks_dir() == ROOT / "tasks"


def test_tasks_dir_env_wins_and_a_bad_one_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "README.md").write_text("tasks")
    monkeypatch.setenv("FINEVIDBENCH_TASKS_DIR", str(tmp_path))
    assert tasks_dir() == tmp_path
    monkeypatch.setenv("FINEVIDBENCH_TASKS_DIR", str(tmp_path / "nowhere"))
    assert tasks_dir() == ROOT / "tasks"


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FINEVIDBENCH_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("FINEVIDBENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "finevidbench"


def test_missing_tasks_dir_names_the_fix(monkeypatch, tmp_path):
    import finevidbench.paths as paths

    monkeypatch.delenv("FINEVIDBENCH_TASKS_DIR", raising=False)
    monkeypatch.setattr(paths, "__file__", str(tmp_path / "pkg" / "paths.py"))
    monkeypatch.setattr(paths.sys, "prefix", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="FINEVIDBENCH_TASKS_DIR"):
        tasks_dir()
