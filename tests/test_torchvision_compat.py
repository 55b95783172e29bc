import os
import subprocess
import sys

import pytest

SCRIPT = """
import importlib.util, json
from finevidbench.torchvision_compat import ensure_torchvision_ops
applied = ensure_torchvision_ops()
import torchvision
from transformers import Qwen2VLVideoProcessor
import numpy as np
proc = Qwen2VLVideoProcessor(size={"shortest_edge": 56 * 56, "longest_edge": 56 * 56})
out = proc(videos=[np.zeros((4, 56, 56, 3), dtype=np.uint8)], return_tensors="pt")
report = {"applied": applied, "grid": out["video_grid_thw"].tolist(), "again": ensure_torchvision_ops()}
print(json.dumps(report))
"""


def python(code: str, autoload: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "TORCH_DEVICE_BACKEND_AUTOLOAD": "1" if autoload else "0"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.slow
def test_autoload_makes_plain_torchvision_and_lmms_eval_imports_work():
    """Through torch's plugin hook, programs we do not start (python -m lmms_eval) also work."""
    result = python("import torchvision, transformers.pipelines; print('ok')", autoload=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


@pytest.mark.slow
def test_shim_is_applied_exactly_when_torchvision_ops_are_missing():
    bare = python("import torchvision")
    ops_missing = bare.returncode != 0
    if ops_missing:
        assert "torchvision::nms does not exist" in bare.stderr
    result = python(SCRIPT)
    assert result.returncode == 0, result.stderr[-2000:]
    report = __import__("json").loads(result.stdout.strip().splitlines()[-1])
    assert report["applied"] is ops_missing
    assert report["again"] is False
    assert report["grid"] == [[2, 4, 4]]
