"""The family registry: our models reach lmms-eval whatever the import order, and a new family is one module."""

import subprocess
import sys
from pathlib import Path

import pytest

import model_adapters.families as families_package
import model_adapters.testing.families as tiny_package
from model_adapters import registry
from model_adapters.recipes import recipe_for
from model_adapters.registry import adapter_class, families
from model_adapters.testing import specs
from model_adapters.testing.tiny import build_tiny, tiny_families


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


def test_every_shipped_family_has_a_tiny_model_and_both_recipes():
    assert set(tiny_families()) == set(families())
    for name in families():
        assert recipe_for("sf2t", f"fvb_{name}").model == f"fvb_{name}"
        assert recipe_for("savi", f"fvb_{name}").extra["iterations"] == 4


def test_a_family_declared_twice_is_refused():
    entry = families()["qwen2_5_vl"]
    with pytest.raises(ValueError, match="declared twice"):
        registry.register(registry.Family("qwen2_5_vl", adapter=type("Other", (), {})))
    assert families()["qwen2_5_vl"] is entry


# A new family, written the way docs/adding_a_model.md says: one module in model_adapters/families/, and its
# tiny model in one module of model_adapters/testing/families/.
TOY_FAMILY = '''
from model_adapters.hf import HFVideoModel
from model_adapters.registry import family


@family("toy_vl", recipes={"sf2t": {"lora_r": 4, "batch_size": 1}})
class ToyVL(HFVideoModel):
    """A family this repository does not ship."""

    model_class = "Qwen2_5_VLForConditionalGeneration"
'''
TOY_TINY = """
from model_adapters.testing.families.qwen import _qwen2_5_vl, qwen_tiny
from model_adapters.testing.specs import register_tiny

register_tiny("toy_vl", qwen_tiny(_qwen2_5_vl, hub=()))
"""


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    """A family module in a folder scanned like model_adapters/families/, touching no file of the repository."""
    import lmms_eval.models  # noqa: F401 - loaded first: a family declared later must still reach lmms-eval

    for package, source in ((families_package, TOY_FAMILY), (tiny_package, TOY_TINY)):
        folder = tmp_path / package.__name__
        folder.mkdir()
        (folder / "toy.py").write_text(source)
        monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))  # forgotten after the test
    monkeypatch.setattr(specs, "_SPECS", specs.tiny_specs())  # the shipped ones discovered first: they stay
    yield "fvb_toy_vl"
    sys.modules.pop("model_adapters.families.toy", None)
    sys.modules.pop("model_adapters.testing.families.toy", None)


def test_a_new_family_module_is_registered_with_its_tiny_model_and_recipe(toy_family, tmp_path):
    from lmms_eval.models import get_model

    assert "toy_vl" in families() and "toy_vl" in tiny_families()
    cls = adapter_class(toy_family)
    assert cls.__name__ == "ToyVL" and get_model(toy_family) is cls
    recipe = recipe_for("sf2t", toy_family)
    assert (recipe.model, recipe.lora_r, recipe.batch_size, recipe.learning_rate) == (toy_family, 4, 1, 1e-4)
    model = cls(pretrained=str(build_tiny("toy_vl", tmp_path / "tiny")), max_new_tokens=2)
    assert model.model.config.model_type == "qwen2_5_vl"


@pytest.mark.slow
def test_a_new_family_evaluates_through_make_eval(toy_family, tmp_path, run_make_eval):
    from conftest import build_question_set

    data = build_question_set(tmp_path / "set", videos=4, seed=11)
    tiny = build_tiny("toy_vl", tmp_path / "tiny")
    result = run_make_eval("--model", toy_family, "--model_args", f"pretrained={tiny},max_new_tokens=2",
                           "--data", data, "--limit", "1", "--out", tmp_path / "run")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "results.json").is_file()


def test_the_readme_names_every_family():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert [f.model_id for f in families().values() if f"`{f.model_id}`" not in readme] == []


def test_the_product_lists_no_bench_model():
    """Our lmms-eval models are those whose scores mean something: no stand-in of model_adapters.testing."""
    from model_adapters.manifests import MANIFESTS

    paths = {m.model_id: m.chat_class_path or m.simple_class_path for m in MANIFESTS}
    assert [name for name, path in paths.items() if path.startswith("model_adapters.testing.")] == []
    assert "bench_zero_cost" not in paths
