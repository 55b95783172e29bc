"""The Video-LLM families, each declared once: its adapter class and its recipe overrides.

A family is one module in `model_adapters/families/` whose adapter class carries `@family(...)`. Every
list of families derives from this registry: the lmms-eval models (`fvb_<name>`, manifests.py), the
training recipes (`model_adapters.recipes`) and the parametrised tests. Modules in that folder are found
by scanning it, so adding a model touches no other file of the product (docs/adding_a_model.md).

A record holds only what a real checkpoint needs. Each family's tiny random model and its reference
checkpoints' processor files are test fixtures: they live in `model_adapters/testing/families/`, looked
up there by the family's name, and nothing here imports them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the adapters import this module to declare themselves
    from lmms_eval.models.registry_v2 import ModelManifest

    from model_adapters.hf import HFVideoModel

PREFIX = "fvb_"
"""lmms-eval model names of the families: `fvb_<family>` (the prefix keeps them apart from lmms-eval's own)."""


@dataclass(frozen=True)
class Family:
    """One Video-LLM family as the harness knows it."""

    name: str
    """Short name (`qwen2_5_vl`); the lmms-eval model is `fvb_<name>`."""
    adapter: type[HFVideoModel]
    """The lmms-eval model class (an `HFVideoModel` subclass, or `HFVideoModel` itself for `hf`)."""
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


def family(name: str, *, recipes: Mapping[str, Mapping[str, Any]] | None = None) -> Callable[[AdapterT], AdapterT]:
    """Class decorator declaring an adapter class as the family `name` (see `Family`)."""

    def declare(cls: AdapterT) -> AdapterT:
        frozen = {method: MappingProxyType(dict(keys)) for method, keys in (recipes or {}).items()}
        register(Family(name=name, adapter=cls, recipes=MappingProxyType(frozen)))
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


def manifest_of(entry: Family) -> ModelManifest:
    """The lmms-eval manifest of a family: a chat model at its adapter class's import path."""
    from lmms_eval.models.registry_v2 import ModelManifest

    cls = entry.adapter
    return ModelManifest(model_id=entry.model_id, chat_class_path=f"{cls.__module__}.{cls.__qualname__}")


def _tell_lmms_eval(entry: Family) -> None:
    """Register a family declared after lmms-eval built its model registry (a module imported late)."""
    import sys

    registry_module = sys.modules.get("lmms_eval.models")
    registry = getattr(registry_module, "MODEL_REGISTRY_V2", None)
    if registry is None:  # not loaded yet: the entry point (manifests.py) will list this family
        return
    if entry.model_id not in set(registry.list_model_names()):
        registry.register_manifest(manifest_of(entry), overwrite=True)
