"""Models this package registers with lmms-eval (entry point group `lmms_eval.models`)."""

from lmms_eval.models.registry_v2 import ModelManifest

MANIFESTS = [
    ModelManifest(model_id="random", simple_class_path="model_adapters.baselines.RandomBaseline"),
    ModelManifest(model_id="most_frequent", simple_class_path="model_adapters.baselines.MostFrequentBaseline"),
]
