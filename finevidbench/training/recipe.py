"""Training recipes: YAML mappings layered over one default per method, as PEFT's method comparison does.

The vocabulary, once: the *method* is what a run does (`sf2t`: supervised fragment fine-tuning;
`savi`: self-alignment by DPO), chosen by the command; the *tuner* is what trains (`lora`: a PEFT
adapter; `full`: every parameter of the chosen parts), chosen by the recipe's `tuner:` key.

A recipe names everything a run depends on (what trains, LoRA shape, optimiser schedule, seeds,
frames, data), and the whole recipe goes into the run record. Unknown keys are an error, not a
silent no-op: a misspelt `learning_rte` must not train with the default. Which layers exist (the
method's default, a family's overrides, a file, the command line) is the adapters' business
(model_adapters/recipes/); here a layer is a mapping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from finevidbench.model_args import ModelArgsError, parse_model_args

PARTS = ("language_model", "projector", "vision_tower")
METHODS = ("sf2t", "savi")
"""What a run does: SF2T (supervised, on fragment items) or self-alignment (DPO on preference pairs)."""
TUNERS = ("lora", "full")
"""What trains: a LoRA adapter (PEFT) or every parameter of the recipe's parts."""
RUN_KEYS = ("control", "positive_control", "report_to")
"""Keys that choose which runs happen and where they report, not what one training run does: left
out of the inputs a checkpoint is resumed against, so `control=false` on a second call still
resumes the adapter."""
REPORTERS = ("auto", "tensorboard", "wandb", "none")


class RecipeError(ValueError):
    """A recipe file or override is malformed; the message names the key and the fix."""


@dataclass(frozen=True)
class Recipe:
    """A fine-tuning recipe (SF2T or self-alignment)."""

    model: str
    """The adapter (lmms-eval model name) whose processor, chat template and parts are used."""
    tuner: str = "lora"
    """`lora` (PEFT, adapter folder) or `full` (every parameter of the chosen parts)."""
    train: tuple[str, ...] = ("language_model",)
    """Which parts train: language_model, projector, vision_tower."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target: tuple[str, ...] | str = "all-linear"
    """Linear layer names (q_proj, ...) inside the trained parts, or `all-linear`."""
    learning_rate: float = 1e-4
    epochs: float = 1.0
    max_steps: int = -1
    """Stop after this many optimiser steps (-1: run the epochs)."""
    batch_size: int = 1
    grad_accum: int = 8
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    lr_scheduler: str = "cosine"
    max_grad_norm: float = 1.0
    seed: int = 0
    bf16: str = "auto"
    """`auto`: bf16 on a CUDA device that supports it, fp32 on CPU; `true` / `false` force it."""
    gradient_checkpointing: bool = False
    save_steps: int = 200
    save_total_limit: int = 2
    logging_steps: int = 10
    frames: str | None = None
    """Frame policy for clip (scene) items, as `finevidbench` parses it; None: the evaluation default,
    so training and evaluation see clips the same way. Fragment items show their own frames."""
    tasks: tuple[str, ...] | None = None
    """SF2T tasks to train on (None: all five)."""
    data_seed: int = 1
    """Seed of the training-set build (the benchmark's mini set uses 0)."""
    deepspeed: str | None = None
    """A DeepSpeed config file for multi-GPU runs under `accelerate launch` (model_adapters/recipes/)."""
    control: bool = True
    """Also train a control adapter (same items, prompts, answers and recipe, uninformative frames) and
    evaluate it: without it, a gain over the base cannot be told apart from learning the answer format."""
    positive_control: bool = False
    """First train and evaluate the recipe and its control on items whose answer is planted in the frames'
    brightness (finevidbench.sf2t.planted), and stop with an error unless adapter - control is clearly
    above zero there: a run that could not detect a planted effect cannot report a null. On in the demos."""
    report_to: str = "auto"
    """Where the Trainer logs loss and learning rate: `tensorboard` (event files in `<run>/tensorboard`,
    `tensorboard --logdir OUT`), `wandb`, `none`; `auto`: TensorBoard when installed (the train extra)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Method-specific settings (self-alignment: beta, iterations, ...)."""

    def __post_init__(self) -> None:
        if self.tuner not in TUNERS:
            raise RecipeError(f"tuner: {self.tuner!r} is not one of {TUNERS}")
        unknown = [p for p in self.train if p not in PARTS]
        if unknown or not self.train:
            raise RecipeError(f"train: {list(self.train)} must be a non-empty subset of {list(PARTS)}")
        for name in ("lora_r", "batch_size", "grad_accum", "save_steps", "logging_steps"):
            if int(getattr(self, name)) < 1:
                raise RecipeError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0 or (self.epochs <= 0 and self.max_steps < 1):
            raise RecipeError("learning_rate must be positive, and epochs or max_steps must allow a step")
        if str(self.bf16).lower() not in ("auto", "true", "false"):
            raise RecipeError(f"bf16: {self.bf16!r} must be auto, true or false")
        if self.report_to not in REPORTERS:
            raise RecipeError(f"report_to: {self.report_to!r} is not one of {REPORTERS}")
        for name in ("control", "positive_control"):
            if not isinstance(getattr(self, name), bool):
                raise RecipeError(f"{name}: {getattr(self, name)!r} must be true or false")

    def reporter(self) -> str:
        """`report_to` with `auto` resolved: tensorboard when it can be imported, else none."""
        if self.report_to != "auto":
            return self.report_to
        from importlib.util import find_spec

        return "tensorboard" if find_spec("tensorboard") else "none"

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "recipe") -> Recipe:
        """Build from a mapping (a parsed YAML file), refusing keys the recipe does not have."""
        if "method" in data:
            raise RecipeError(_method_key(data["method"], source))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RecipeError(f"{source}: unknown key(s) {unknown}; known: {sorted(known)}")
        if "model" not in data:
            raise RecipeError(f"{source}: `model:` (the adapter name, e.g. fvb_qwen2_5_vl) is required")
        values = dict(data)
        for key in ("train", "tasks"):
            if isinstance(values.get(key), list):
                values[key] = tuple(values[key])
        if isinstance(values.get("lora_target"), list):
            values["lora_target"] = tuple(values["lora_target"])
        values["bf16"] = str(values.get("bf16", "auto")).lower()
        try:
            for name in ("learning_rate", "epochs", "lora_dropout", "warmup_ratio", "weight_decay", "max_grad_norm"):
                if name in values:
                    values[name] = float(values[name])  # YAML reads 1e-4 (no dot) as a string
            for name in (
                "lora_r",
                "lora_alpha",
                "max_steps",
                "batch_size",
                "grad_accum",
                "seed",
                "data_seed",
                "save_steps",
                "save_total_limit",
                "logging_steps",
            ):
                if name in values:
                    values[name] = int(values[name])
            return cls(**values)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, RecipeError):
                raise
            raise RecipeError(f"{source}: {exc}") from None

    def override(self, assignments: str | dict[str, Any]) -> Recipe:
        """A copy with `key=value,key=value` (or a dict) applied.

        Values are YAML (`tasks=[counting,localization]`, commas inside brackets stay in the value);
        `extra.NAME=value` sets one method-specific setting.
        """
        if isinstance(assignments, str):
            try:
                return self.with_set(parse_model_args(assignments))
            except ModelArgsError:
                raise RecipeError(f"overrides {assignments!r}: write key=value,key=value") from None
        values = self.to_dict()
        for key, value in assignments.items():
            if key.startswith("extra."):
                values["extra"] = {**values["extra"], key.removeprefix("extra."): value}
            else:
                values[key] = value
        return Recipe.from_dict(values, source="recipe overrides")

    def with_set(self, assignments: Mapping[str, str]) -> Recipe:
        """A copy with SET=key=value,... applied, as parsed once (each value is read as YAML)."""
        return self.override({key: _yaml_value(assignments, text) for key, text in assignments.items()})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML types (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def training_dict(self) -> dict[str, Any]:
        """`to_dict` without the run-choice keys (RUN_KEYS): what a checkpoint must have been trained with."""
        return {k: v for k, v in self.to_dict().items() if k not in RUN_KEYS}

    def use_bf16(self, cuda_bf16: bool) -> bool:
        """Whether this run trains in bf16 on a device that does (`cuda_bf16`) or does not support it."""
        return cuda_bf16 if self.bf16 == "auto" else self.bf16 == "true"


def _yaml_value(assignments: Mapping[str, Any], text: str) -> Any:
    """One override's value, read as YAML (`1e-4`, `[counting,localization]`, `true`)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise RecipeError(f"overrides {dict(assignments)!r}: a value is not YAML ({first})") from None


def _method_key(value: object, source: str) -> str:
    """The one error for a recipe that still says `method:` (before the vocabulary was split)."""
    if value in TUNERS:
        return (
            f"{source}: `method: {value}` is now `tuner: {value}` (fix: rename the key; the method, "
            f"{' or '.join(METHODS)}, is the command you run: make sf2t or make savi)"
        )
    return (
        f"{source}: `method:` is not a recipe key (fix: drop it; the method, {' or '.join(METHODS)}, is the "
        f"command you run, and `tuner: {'|'.join(TUNERS)}` chooses what trains)"
    )


def read_recipe_file(path: str | Path) -> dict[str, Any]:
    """The mapping a recipe YAML file holds; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: no such recipe file (fix: pass RECIPE=<file.yaml>, see model_adapters/recipes/)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not UTF-8 text (fix: save the recipe as UTF-8 YAML)") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML ({exc})".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of keys to values")
    if "method" in data:
        raise RecipeError(_method_key(data["method"], str(path)))
    return data


def layered(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers' keys replace earlier ones; `extra:` is merged key by key, so an override names one setting."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key == "extra" and isinstance(value, dict):
                merged["extra"] = {**merged.get("extra", {}), **value}
            else:
                merged[key] = value
    return merged


def load_recipe(path: str | Path) -> Recipe:
    """Read a complete recipe YAML file (every key it leaves out takes `Recipe`'s default)."""
    return Recipe.from_dict(read_recipe_file(path), source=str(Path(path)))
