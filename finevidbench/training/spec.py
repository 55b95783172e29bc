"""Frozen specifications of fine-tuning, built once from the command line and never re-parsed.

`FineTuneSpec` is what a command asks for (method, recipe file, overrides); `TrainingRun` is one
training of a run (the method, which decides the objective, the resolved recipe, where it goes,
the data it records, which arm it is and where it starts), so `train` has one switch, not several
that could disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finevidbench.training.recipe import METHODS, Recipe, RecipeError

ARMS = ("", "control", "planted", "planted_control")
"""Which training of a run: the treatment (""), its control, and the positive control's two."""


@dataclass(frozen=True)
class FineTuneSpec:
    """What a fine-tuning command asks for: the method, a recipe file (None: the default), overrides."""

    method: str
    recipe: Path | None = None
    overrides: Mapping[str, str] = field(default_factory=dict)
    """SET=key=value,... parsed once (`finevidbench.model_args.parse_model_args`); values are YAML."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise RecipeError(f"method {self.method!r} is not one of {METHODS}")


@dataclass(frozen=True)
class TrainingRun:
    """One training: the objective follows from `method` (sf2t: supervised; savi: DPO, LoRA only)."""

    method: str
    recipe: Recipe
    out: Path
    data: Mapping[str, Any] = field(default_factory=dict)
    """What the run record keeps about the training data (`dataset_hash` is its identity)."""
    arm: str = ""
    init_adapter: str | None = None
    """DPO only: start from this adapter (its starting weights are then the reference)."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise RecipeError(f"method {self.method!r} is not one of {METHODS}")
        if self.arm not in ARMS:
            raise ValueError(f"arm {self.arm!r} is not one of {ARMS}")
        if self.preference and self.recipe.tuner != "lora":
            raise RecipeError("preference training (DPO) runs with tuner: lora")
        if self.init_adapter and not self.preference:
            raise ValueError("init_adapter: only a DPO run (method savi) starts from an adapter")

    @property
    def preference(self) -> bool:
        """Whether the objective is DPO on (chosen, rejected) pairs rather than the answer's likelihood."""
        return self.method == "savi"

    @property
    def kind(self) -> str:
        """The run record's kind: the method, then the arm (`sf2t_control`, `savi_planted`, ...)."""
        return f"{self.method}_{self.arm}" if self.arm else self.method
