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
    ModelManifest(model_id="fvb_hf", chat_class_path="model_adapters.hf.HFVideoModel"),
    ModelManifest(model_id="bench_zero_cost", chat_class_path="model_adapters.zero_cost.ZeroCostModel"),
    *(
        ModelManifest(model_id=f"fvb_{name}", chat_class_path=f"model_adapters.families.{cls}")
        for name, cls in FAMILIES.items()
    ),
]
