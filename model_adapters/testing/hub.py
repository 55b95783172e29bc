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

from model_adapters.testing.specs import HubLayout, tiny_spec, tiny_specs
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
    _ship_weight_names(out, layout.weight_names)
    return out


def build_engine_checkpoint(family: str, out: str | Path, seed: int = 0) -> Path:
    """The main hub layout of `family` changed as its `EngineLayout` says: a checkpoint transformers and vLLM serve."""
    spec = tiny_spec(family)
    if spec is None or spec.engine is None:
        served = sorted(name for name, known in tiny_specs().items() if known.engine is not None)
        raise ValueError(f"{family} declares no engine layout; these do: {served}")
    out = build_hub_layout(family, out, seed=seed)
    for file, content in spec.engine.files.items():
        (out / file).write_text(json.dumps(_merged(json.loads((out / file).read_text()), content), indent=2) + "\n")
    config = _merged(json.loads((out / "config.json").read_text()), spec.engine.config)
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    _reinitialise(out, seed)
    _ship_weight_names(out, spec.hub[0].weight_names)
    return out


def _ship_weight_names(folder: Path, names: Mapping[str, str]) -> None:
    """Rename the saved weights' prefixes as the checkpoint ships them (`HubLayout.weight_names`)."""
    if not names:
        return
    from safetensors.torch import load_file, save_file

    file = folder / "model.safetensors"
    weights = load_file(file)
    renamed = {_renamed(name, names): tensor for name, tensor in weights.items()}
    save_file(renamed, file, metadata={"format": "pt"})


def _renamed(name: str, names: Mapping[str, str]) -> str:
    for saved, shipped in names.items():
        if name.startswith(saved) and not name.startswith(shipped):
            return shipped + name.removeprefix(saved)
    return name


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
