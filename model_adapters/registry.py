"""The Video-LLM families, each declared once: its adapter class, its tiny model and its recipe overrides.

A family is one module in `model_adapters/families/` whose adapter class carries `@family(...)`. Every
list of families derives from this registry: the lmms-eval models (`fvb_<name>`, manifests.py), the
tiny random models (`model_adapters.testing.tiny`), the training recipes (`model_adapters.recipes`) and
the parametrised tests. Modules in that folder are found by scanning it, so adding a model touches no
other file (docs/adding_a_model.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the adapters import this module to declare themselves
    from transformers import PreTrainedTokenizerFast

    from model_adapters.hf import HFVideoModel
    from model_adapters.testing.tiny import TinyModel

PREFIX = "fvb_"
"""lmms-eval model names of the families: `fvb_<family>` (the prefix keeps them apart from lmms-eval's own)."""


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


@dataclass(frozen=True)
class Family:
    """One Video-LLM family as the harness knows it."""

    name: str
    """Short name (`qwen2_5_vl`); the lmms-eval model is `fvb_<name>`."""
    adapter: type[HFVideoModel]
    """The lmms-eval model class (an `HFVideoModel` subclass, or `HFVideoModel` itself for `hf`)."""
    tiny: TinySpec | None = None
    """The tiny random model of the architecture (None: the family cannot be tested offline)."""
    recipes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per method (`sf2t`, `savi`): the keys where this family's recipe differs from the method's default."""

    @property
    def model_id(self) -> str:
        """The lmms-eval model name."""
        return PREFIX + self.name


_FAMILIES: dict[str, Family] = {}


def register(entry: Family) -> Family:
    """Add a family (refusing a second one of the same name) and tell lmms-eval if it is already loaded."""
    known = _FAMILIES.get(entry.name)
    if known is not None and known.adapter is not entry.adapter:
        raise ValueError(f"family {entry.name!r} is declared twice ({known.adapter} and {entry.adapter})")
    _FAMILIES[entry.name] = entry
    _tell_lmms_eval(entry)
    return entry


AdapterT = TypeVar("AdapterT", bound="type[HFVideoModel]")


def family(
    name: str, *, tiny: TinySpec | None = None, recipes: Mapping[str, Mapping[str, Any]] | None = None
) -> Callable[[AdapterT], AdapterT]:
    """Class decorator declaring an adapter class as the family `name` (see `Family`)."""

    def declare(cls: AdapterT) -> AdapterT:
        frozen = {method: MappingProxyType(dict(keys)) for method, keys in (recipes or {}).items()}
        register(Family(name=name, adapter=cls, tiny=tiny, recipes=MappingProxyType(frozen)))
        return cls

    return declare


def discover() -> None:
    """Import every module of `model_adapters.families` (each once); their decorators register the families."""
    from model_adapters import families

    for module in pkgutil.iter_modules(families.__path__):
        importlib.import_module(f"{families.__name__}.{module.name}")


def families() -> dict[str, Family]:
    """Every declared family, by short name, in declaration order."""
    discover()
    return dict(_FAMILIES)


def get_family(model: str) -> Family:
    """The family of an lmms-eval model name (`fvb_qwen2_5_vl`); a ValueError names the known ones."""
    known = families()
    entry = known.get(model.removeprefix(PREFIX)) if model.startswith(PREFIX) else None
    if entry is None:
        names = sorted(f.model_id for f in known.values())
        raise ValueError(f"MODEL={model}: not one of our Video-LLM adapters {names} (see docs/adding_a_model.md)")
    return entry


def adapter_class(model: str) -> type[HFVideoModel]:
    """The adapter class registered as `model` (fvb_hf or fvb_<family>)."""
    return get_family(model).adapter


def _tell_lmms_eval(entry: Family) -> None:
    """Register a family declared after lmms-eval built its model registry (a module imported late)."""
    import sys

    registry_module = sys.modules.get("lmms_eval.models")
    registry = getattr(registry_module, "MODEL_REGISTRY_V2", None)
    if registry is None:  # not loaded yet: the entry point (manifests.py) will list this family
        return
    from model_adapters.manifests import manifest_of

    if entry.model_id not in set(registry.list_model_names()):
        registry.register_manifest(manifest_of(entry), overwrite=True)
