"""What a family's tiny model is (`TinySpec`, `HubLayout`), declared beside the product and looked up by family name.

The product registry (model_adapters/registry.py) holds what a real checkpoint needs: the adapter
class and the recipe overrides. How to fake a checkpoint offline is a test fixture, so it lives here:
one module per family in `model_adapters/testing/families/` calls `register_tiny(name, TinySpec(...))`
under the family's registered name (`qwen2_5_vl`, `hf`), and `tiny_spec(name)` finds it. Those
modules are found by scanning that folder, as the product finds its families, so adding a family's
tiny model touches no other file (docs/adding_a_model.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import TypeAlias

    from transformers import PreTrainedModel, PreTrainedTokenizerFast, ProcessorMixin

    TinyModel: TypeAlias = tuple[PreTrainedModel, ProcessorMixin]
    """What a family's tiny builder returns: the model and its processor."""


@dataclass(frozen=True)
class HubLayout:
    """The processor files a reference checkpoint ships, written down from its card and configs (nothing fetched).

    `model_adapters.testing.hub.build_hub_layout` saves the family's tiny model, then replaces its
    processor files with these: which files exist, their keys and values, the chat template and the
    config.json keys that shape the inputs. The tiny weights stay; only what the processor reads changes.
    """

    checkpoint: str
    """The hub repository the values come from (`Qwen/Qwen2.5-VL-7B-Instruct`)."""
    source: str
    """Where each value was read, and which are reconstructed (docs/adding_a_model.md's parity table cites it)."""
    files: Mapping[str, Mapping[str, Any]]
    """JSON files of the processor by name (`preprocessor_config.json`, ...): the only processor files there."""
    chat_template: str | None = None
    """The checkpoint's chat template (None: the tiny model's), written as `chat_template.json` as repos ship it."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """Keys merged into config.json (`{"vision_config": {"tokens_per_second": 2}}`)."""
    name: str = "main"
    """Which layout of the family this is (`main`, or a variant such as another size's files)."""
    weight_names: Mapping[str, str] = field(default_factory=dict)
    """Weight-name prefixes the checkpoint ships where transformers 5 saves others, {saved: shipped}: LLaVA's
    SigLIP and CLIP towers are `vision_tower.vision_model.*` on the hub, `vision_tower.*` as transformers 5.24
    saves them (it loads either; vLLM 0.32 reads the hub's only)."""


@dataclass(frozen=True)
class EngineLayout:
    """What a family's main hub layout changes so that a serving engine (vLLM on CPU) answers it in a test's budget.

    `model_adapters.testing.hub.build_engine_checkpoint` merges these into the layout's files and draws new
    weights: a head size vLLM's CPU attention takes (32 to 512; the tiny models' 16 it refuses), weights drawn
    wider than the default 0.02, whose answers hardly depend on the input, and where the hub geometry is large
    (LLaVA's 384-px frames: 729 tokens a frame) a small one of the same shape.
    """

    config: Mapping[str, Any]
    """Keys merged into config.json."""
    files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Keys merged into the layout's processor files (the smaller geometry's sizes and token counts)."""


@dataclass(frozen=True)
class TinySpec:
    """How to build a family's tiny random model offline (tests, demonstrations, benchmarks)."""

    build: Callable[[PreTrainedTokenizerFast], TinyModel]
    """tokenizer -> (model, processor): the real transformers classes at toy sizes."""
    specials: tuple[str, ...]
    """Tokens the tokenizer keeps atomic (chat markers, image and video placeholders)."""
    eos: str
    pad: str
    named_tokens: Mapping[str, str] | None = None
    """Special tokens the processor looks up by attribute name (InternVL's `start_image_token`, ...)."""
    hub: tuple[HubLayout, ...] = ()
    """The processor files of the family's reference checkpoints, to lay over the tiny model (first: the main one)."""
    engine: EngineLayout | None = None
    """How its main hub layout becomes a checkpoint vLLM serves on CPU (None: the family is not served by vLLM)."""


_SPECS: dict[str, TinySpec] = {}


def register_tiny(name: str, spec: TinySpec) -> TinySpec:
    """Declare the tiny model of the family registered as `name`; a second, different one is refused."""
    known = _SPECS.get(name)
    if known is not None and known != spec:
        raise ValueError(f"the tiny model of {name!r} is declared twice")
    _SPECS[name] = spec
    return spec


def discover() -> None:
    """Import every module of `model_adapters.testing.families` (each once); they register the tiny specs."""
    from model_adapters.testing import families

    for module in pkgutil.iter_modules(families.__path__):
        importlib.import_module(f"{families.__name__}.{module.name}")


def tiny_specs() -> dict[str, TinySpec]:
    """Every declared tiny spec, by family name."""
    discover()
    return dict(_SPECS)


def tiny_spec(name: str) -> TinySpec | None:
    """The tiny spec of the family `name` (None: it declares no tiny model)."""
    return tiny_specs().get(name)
