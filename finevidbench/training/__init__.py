"""Fine-tuning shared by SF2T and self-alignment: recipes, the PEFT/Trainer loop and run records.

Nothing here knows a model family: the adapters' training hook (model_adapters/training.py)
supplies the model, the collator built on the model's own processor and chat template, and the
module names of each trainable part.
"""

from finevidbench.training.recipe import PARTS, RUN_KEYS, Recipe, RecipeError, layered, load_recipe, read_recipe_file
from finevidbench.training.record import RunRecord
from finevidbench.training.trainer import main_process_first, train

__all__ = [
    "PARTS",
    "RUN_KEYS",
    "Recipe",
    "RecipeError",
    "RunRecord",
    "layered",
    "load_recipe",
    "main_process_first",
    "read_recipe_file",
    "train",
]
