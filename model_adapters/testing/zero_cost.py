"""A model that costs nothing but its inputs, to measure the harness's own overhead in `make bench`.

It decodes every clip and frame as a real adapter would (same policy, cache, prefetch), then answers "A".
Its scores mean nothing, so it is not in the product's model list (model_adapters/manifests.py): the
bench calls `register()` in the process that evaluates it, and lmms-eval then knows it as `bench_zero_cost`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from finevidbench.request import Clip, LabelledFrames, Request
from model_adapters.base import Shows
from model_adapters.frames import ShowsFrames

MODEL_ID = "bench_zero_cost"
"""Its lmms-eval model name, once `register()` ran."""


class ZeroCostModel(ShowsFrames):
    """Decodes like `HFVideoModel` (same policy, cache, prefetch), generates nothing."""

    is_simple = False
    shows = Shows(videos=True, images=True, mixed=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frame_policy = self.frame_args.policy()

    def policy_id(self) -> str:
        return self.frame_policy.id

    def answer_batch(self, requests: Sequence[Request]) -> list[str]:
        for visual in (v for request in requests for v in request.visuals):  # the frames HFVideoModel would feed
            if isinstance(visual, Clip):
                self.frame_cache.clip(visual)
            elif isinstance(visual, LabelledFrames):
                self.frame_cache.labelled(visual)
        return ["A"] * len(requests)


def register() -> str:
    """Add the zero-cost model to lmms-eval's registry in this process (once); returns its model name."""
    from lmms_eval.models import MODEL_REGISTRY_V2
    from lmms_eval.models.registry_v2 import ModelManifest

    if MODEL_ID not in set(MODEL_REGISTRY_V2.list_model_names()):
        path = f"{ZeroCostModel.__module__}.{ZeroCostModel.__qualname__}"
        MODEL_REGISTRY_V2.register_manifest(ModelManifest(model_id=MODEL_ID, chat_class_path=path), overwrite=True)
    return MODEL_ID
