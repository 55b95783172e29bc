"""Training recipes: one default per method, each family's overrides, and the files a user passes.

A run's recipe is built in layers, each replacing keys of the one before: `<method>.yaml` here (the
default for a real checkpoint), the family's `recipes=` overrides (its declaration in
model_adapters/families/), a RECIPE= file (overrides too; the demonstrations' files live here), then
SET=key=value. The DeepSpeed and accelerate configs for multi-GPU runs live here as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from finevidbench.training import METHODS, Recipe, RecipeError, layered, read_recipe_file
from model_adapters.registry import get_family

FOLDER = Path(__file__).parent


def method_default(method: str) -> dict[str, Any]:
    """The default recipe of `method` (sf2t or savi) as a mapping."""
    if method not in METHODS:
        raise RecipeError(f"no default recipe for {method!r}; methods: {METHODS}")
    return read_recipe_file(FOLDER / f"{method}.yaml")


def recipe_for(
    method: str, model: str, path: str | Path | None = None, overrides: str | Mapping[str, str] | None = None
) -> Recipe:
    """The recipe `model` (fvb_<family>) trains with under `method`, from the layers above.

    Raises RecipeError for a malformed layer, or a RECIPE= file written for another model.
    """
    entry = get_family(model)
    file = read_recipe_file(path) if path else {}
    if file.get("model", model) != model:
        raise RecipeError(f"{path}: the recipe is for {file['model']}, not {model} (fix: pass its own RECIPE=)")
    values = layered(method_default(method), entry.recipes.get(method, {}), file, {"model": model})
    recipe = Recipe.from_dict(values, source=str(path or FOLDER / f"{method}.yaml"))
    if overrides:  # SET=: its string, or as the command line parsed it once (values are YAML)
        recipe = recipe.override(overrides) if isinstance(overrides, str) else recipe.with_set(overrides)
    shipped = FOLDER / str(recipe.deepspeed)
    if recipe.deepspeed and not Path(recipe.deepspeed).is_file() and shipped.is_file():
        recipe = recipe.override({"deepspeed": str(shipped)})  # a config shipped here, named by file name
    return recipe
