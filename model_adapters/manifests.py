"""The models this package registers with lmms-eval (entry point group `lmms_eval.models`).

The reference baselines are listed here; the Video-LLM families come from their declarations
(model_adapters/registry.py), one `fvb_<family>` model each. Only models whose scores mean something
are here: the bench's zero-cost model registers itself where the bench runs
(model_adapters/testing/zero_cost.py).
"""

from lmms_eval.models.registry_v2 import ModelManifest

from model_adapters.registry import families, manifest_of

MANIFESTS = [
    ModelManifest(model_id="random", simple_class_path="model_adapters.baselines.RandomBaseline"),
    ModelManifest(model_id="most_frequent", simple_class_path="model_adapters.baselines.MostFrequentBaseline"),
    ModelManifest(model_id="text_only", simple_class_path="model_adapters.baselines.TextOnlyAdversary"),
    ModelManifest(model_id="metadata_only", simple_class_path="model_adapters.baselines.MetadataOnlyAdversary"),
    ModelManifest(model_id="pixel_oracle", simple_class_path="model_adapters.baselines.PixelOracle"),
    *(manifest_of(entry) for entry in families().values()),
]


def _register_if_missed() -> None:
    """Register our manifests when this module was imported before `lmms_eval.models`.

    Importing it first runs lmms-eval's package init (the import of `lmms_eval.models.registry_v2`
    above runs `lmms_eval/models/__init__.py` first), whose entry-point loader imports this
    half-initialised module, finds no MANIFESTS yet, and leaves our models out of the registry. That
    order is lmms-eval's, not a circle of ours. When lmms-eval is the one importing us, its registry
    does not exist yet and the entry point does the work.
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
