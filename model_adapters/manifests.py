"""Models this package registers with lmms-eval (entry point group `lmms_eval.models`)."""

from lmms_eval.models.registry_v2 import ModelManifest

FAMILIES = {
    "qwen2_vl": "Qwen2VL",
    "qwen2_5_vl": "Qwen2_5VL",
    "qwen3_vl": "Qwen3VL",
    "llava_onevision": "LlavaOneVision",
    "llava_next_video": "LlavaNextVideo",
    "internvl": "InternVL",
    "videollama3": "VideoLlama3",
}
"""lmms-eval model name (after the `fvb_` prefix) -> class in model_adapters.families."""

MANIFESTS = [
    ModelManifest(model_id="random", simple_class_path="model_adapters.baselines.RandomBaseline"),
    ModelManifest(model_id="most_frequent", simple_class_path="model_adapters.baselines.MostFrequentBaseline"),
    ModelManifest(model_id="text_only", simple_class_path="model_adapters.baselines.TextOnlyAdversary"),
    ModelManifest(model_id="metadata_only", simple_class_path="model_adapters.baselines.MetadataOnlyAdversary"),
    ModelManifest(model_id="fvb_hf", chat_class_path="model_adapters.hf.HFVideoModel"),
    ModelManifest(model_id="bench_zero_cost", chat_class_path="model_adapters.zero_cost.ZeroCostModel"),
    *(
        ModelManifest(model_id=f"fvb_{name}", chat_class_path=f"model_adapters.families.{cls}")
        for name, cls in FAMILIES.items()
    ),
]


def _register_if_missed() -> None:
    """Register our manifests when this module was imported before `lmms_eval.models`.

    Importing it first runs lmms-eval's package init, whose entry-point loader imports this
    half-initialised module, fails, and leaves our models out of the registry. When lmms-eval is
    the one importing us, its registry does not exist yet and the entry point does the work.
    """
    try:
        from lmms_eval.models import MODEL_REGISTRY_V2
    except ImportError:  # lmms-eval is importing this module from its own registry's init
        return
    known = set(MODEL_REGISTRY_V2.list_model_names())
    for manifest in MANIFESTS:
        if manifest.model_id not in known:
            MODEL_REGISTRY_V2.register_manifest(manifest, overwrite=True)


_register_if_missed()


def adapter_class(model_id: str) -> type:
    """Our Video-LLM adapter class registered as `model_id` (fvb_hf or fvb_<family>).

    Looked up here rather than through lmms-eval's registry; an unknown id is a ValueError naming the known ones.
    """
    import importlib

    for manifest in MANIFESTS:
        if manifest.model_id == model_id and manifest.chat_class_path and model_id.startswith("fvb_"):
            module, _, name = manifest.chat_class_path.rpartition(".")
            return getattr(importlib.import_module(module), name)
    known = sorted(m.model_id for m in MANIFESTS if m.model_id.startswith("fvb_"))
    raise ValueError(f"MODEL={model_id}: not one of our Video-LLM adapters {known} (see docs/adding_a_model.md)")
