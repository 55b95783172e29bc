"""A run on a checkpoint's real processor files prints no warning before its progress bars.

Before: every `make eval` opened with lmms-eval's circular-import WARNING, and on Qwen2.5-VL's files
transformers warned on every call that the reference per-frame pixel cap was not applied.
"""

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import asked

from finevidbench import taskdocs
from model_adapters.registry import families
from model_adapters.testing.hub import build_hub_layout

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow(seconds=60)
def test_make_eval_on_qwen2_5_vl_hub_files_prints_no_warning(tmp_path, mini):
    model = build_hub_layout("qwen2_5_vl", tmp_path / "model")
    command = [sys.executable, "-m", "runners.evaluate", "--model", "fvb_qwen2_5_vl", "--model_args",
               f"pretrained={model},max_new_tokens=2", "--data", "mini", "--tasks", "finevidbench_speed",
               "--limit", "1", "--out", str(tmp_path / "run")]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if "it/s]" not in line and "s/it]" not in line]
    assert not [line for line in lines if "warn" in line.lower() or "pixel" in line.lower()], lines


@pytest.mark.parametrize("family", list(families()))
def test_no_family_makes_transformers_warn_about_pixels_or_sampling(family, hub_adapter, mini, monkeypatch):
    monkeypatch.setenv("FINEVIDBENCH_DATA", "mini")
    adapter = hub_adapter(family)
    logging.Logger.warning_once.cache_clear()  # transformers warns once a process: this test must see the first
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for kind in ("speed", "rearrangement"):
                doc = taskdocs.docs_for(kind)[0]
                adapter.encode([asked(adapter, doc, "?", {})])
    finally:
        logger.removeHandler(handler)
    said = [r.getMessage() for r in records if r.levelno >= logging.WARNING] + [str(w.message) for w in caught]
    assert not [m for m in said if "pixel" in m.lower() or "sampl" in m.lower()], said
