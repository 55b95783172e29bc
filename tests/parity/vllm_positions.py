"""Run in the vLLM environment (`make vllm-venv`): vLLM's own MRoPE positions for prompts described on stdin.

Reads JSON: a list of {"family": "qwen2_5_vl", "config": {...}, "prompts": [{"input_ids": [...], "items": [...]}]},
each item {"modality": "image" | "video", "offset": int, "length": int, "grid": [t, h, w],
"second_per_grid": float | null}, as vLLM's processor would place it. Writes JSON: per family and
prompt, the (3, length) positions and the delta from `get_mrope_input_positions` of vLLM's model class, called
on an instance that holds only the config (nothing else of the engine is started).
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import torch
from vllm.multimodal.inputs import MultiModalFeatureSpec, PlaceholderRange

CLASSES = {
    "qwen2_vl": ("vllm.model_executor.models.qwen2_vl", "Qwen2VLForConditionalGeneration"),
    "qwen2_5_vl": ("vllm.model_executor.models.qwen2_5_vl", "Qwen2_5_VLForConditionalGeneration"),
    "qwen3_vl": ("vllm.model_executor.models.qwen3_vl", "Qwen3VLForConditionalGeneration"),
}


def feature(item: dict) -> MultiModalFeatureSpec:
    kind = item["modality"]
    data = {f"{kind}_grid_thw": SimpleNamespace(data=torch.tensor(item["grid"]))}
    if item.get("second_per_grid") is not None:
        data["second_per_grid_ts"] = SimpleNamespace(data=torch.tensor(item["second_per_grid"]))
    place = PlaceholderRange(offset=item["offset"], length=item["length"])
    return MultiModalFeatureSpec(data=data, modality=kind, identifier=str(item["offset"]), mm_position=place)


def positions(family: str, config: dict, prompts: list[dict]) -> list[dict]:
    import importlib

    module, name = CLASSES[family]
    model_class = getattr(importlib.import_module(module), name)
    config = SimpleNamespace(**{**config, "vision_config": SimpleNamespace(**config["vision_config"])})
    this = model_class.__new__(model_class)  # no __init__: no weights, no engine; methods resolve as usual
    object.__setattr__(this, "config", config)
    out = []
    for prompt in prompts:
        features = [feature(item) for item in prompt["items"]]
        ids, delta = model_class.get_mrope_input_positions(this, prompt["input_ids"], features)
        out.append({"positions": ids.tolist(), "delta": int(delta)})
    return out


def main() -> None:
    import vllm

    families = [{"prompts": positions(**request)} for request in json.load(sys.stdin)]
    json.dump({"vllm": vllm.__version__, "families": families}, sys.stdout)


if __name__ == "__main__":
    main()
