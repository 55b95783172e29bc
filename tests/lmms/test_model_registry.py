"""Our models are in lmms-eval's registry whichever of the two packages is imported first."""

import subprocess
import sys

import pytest

from model_adapters.manifests import adapter_class


@pytest.mark.slow
@pytest.mark.parametrize("first", ["import model_adapters.manifests", "import lmms_eval.models"])
def test_registry_has_our_models_whatever_the_import_order(first):
    code = f"{first}\nfrom lmms_eval.models import get_model\nprint(get_model('fvb_qwen2_5_vl').__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("Qwen2_5VL")


def test_adapter_class_names_our_adapters_only():
    assert adapter_class("fvb_qwen2_5_vl").__name__ == "Qwen2_5VL"
    assert adapter_class("fvb_hf").__name__ == "HFVideoModel"
    with pytest.raises(ValueError, match=r"MODEL=qwen2_5_vl: not one of our Video-LLM adapters"):
        adapter_class("qwen2_5_vl")
