"""Tiny models laid out as real checkpoints ship their processor files (`HubLayout`, on each family's `TinySpec`).

The tiny processors of `model_adapters.testing.tiny` are fixed at toy sizes, saved the way
transformers 5 saves them (one processor_config.json). A real checkpoint differs exactly where that
hides problems: a legacy preprocessor_config.json holding only the image budget, no video processor
config, frame sampling switched on, a chat template that moves every image before the text. A hub
layout keeps the tiny weights and tokenizer and gives the folder those files, so the adapters meet
what a real checkpoint makes transformers build. Nothing is downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from model_adapters.testing.specs import HubLayout, tiny_spec
from model_adapters.testing.tiny import build_tiny

PROCESSOR_FILES = (
    "processor_config.json",
    "preprocessor_config.json",
    "video_preprocessor_config.json",
    "chat_template.json",
    "chat_template.jinja",
)
"""Files transformers reads a processor from; a layout's folder holds only those its checkpoint ships."""


def hub_layouts(family: str) -> dict[str, HubLayout]:
    """The declared layouts of `family`, by name (empty when it declares none)."""
    spec = tiny_spec(family)
    if spec is None:
        raise ValueError(f"unknown family {family!r}")
    return {layout.name: layout for layout in spec.hub}


def build_hub_layout(family: str, out: str | Path, name: str = "main", seed: int = 0) -> Path:
    """The tiny model of `family` saved into `out` with the processor files of its layout `name`."""
    layouts = hub_layouts(family)
    if name not in layouts:
        raise ValueError(f"{family} has no hub layout {name!r}; it has {sorted(layouts)}")
    layout = layouts[name]
    out = build_tiny(family, out, seed=seed)
    template = layout.chat_template or (out / "chat_template.jinja").read_text()
    for file in PROCESSOR_FILES:
        (out / file).unlink(missing_ok=True)
    for file, content in layout.files.items():
        (out / file).write_text(json.dumps(content, indent=2) + "\n")
    (out / "chat_template.json").write_text(json.dumps({"chat_template": template}, indent=2) + "\n")
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps(_merged(config, layout.config), indent=2) + "\n")
    if layout.config:
        _reinitialise(out, seed)
    return out


ENGINE_SIZES: dict[str, Any] = {
    "text_config": {
        "hidden_size": 128,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 64,
        "initializer_range": 0.1,
        "rope_parameters": {"mrope_section": [8, 12, 12]},
    },
    "vision_config": {"out_hidden_size": 128, "initializer_range": 0.1},
}
"""What a tiny Qwen-VL needs for a serving engine on CPU: vLLM's CPU attention takes head sizes 32 to 512 (the
tiny models' 16 it refuses), and weights drawn wider than the default 0.02, whose answers hardly depend on the
input, so that two engines' answers can disagree when their inputs do. (Qwen2-VL's tower names its output
width `hidden_size`; `build_engine_checkpoint` sets that one there.)"""


def build_engine_checkpoint(family: str, out: str | Path, seed: int = 0) -> Path:
    """The hub layout of a Qwen-VL family at `ENGINE_SIZES`: one checkpoint both transformers and vLLM serve."""
    out = build_hub_layout(family, out, seed=seed)
    config = _merged(json.loads((out / "config.json").read_text()), ENGINE_SIZES)
    if family == "qwen2_vl":
        config["vision_config"]["hidden_size"] = config["vision_config"].pop("out_hidden_size")
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    _reinitialise(out, seed)
    return out


def _reinitialise(folder: Path, seed: int) -> None:
    """New random weights for the merged config (a real vision geometry changes the tower's shapes)."""
    import torch
    import transformers

    generation = (folder / "generation_config.json").read_text()  # the tiny model's eos and pad
    torch.manual_seed(seed)
    model = transformers.AutoModelForImageTextToText.from_config(transformers.AutoConfig.from_pretrained(folder))
    model.save_pretrained(folder)
    (folder / "generation_config.json").write_text(generation)


def _merged(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        merged[key] = _merged(merged.get(key, {}), value) if isinstance(value, Mapping) else value
    return merged
