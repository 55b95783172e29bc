"""Fine-tuning shared by SF2T and self-alignment: recipes, specs, examples, the PEFT/Trainer loop, run records.

The method (sf2t | savi) is what a run does and decides the objective (`spec.TrainingRun`); the
tuner (lora | full) is what trains (the recipe's `tuner:`). Training examples are typed
(`examples.Example`, `examples.PreferenceExample`: a Question, its prompt, the answer(s)).

Nothing here knows a model family: the adapters' training hook (model_adapters/training.py)
supplies the model, the collator built on the model's own processor and chat template, and the
module names of each trainable part.
"""

from finevidbench.training.recipe import (
    METHODS,
    PARTS,
    RUN_KEYS,
    TUNERS,
    Recipe,
    RecipeError,
    layered,
    load_recipe,
    read_recipe_file,
)
from finevidbench.training.record import RunRecord
from finevidbench.training.spec import FineTuneSpec, TrainingRun
from finevidbench.training.trainer import main_process_first, train

__all__ = [
    "METHODS",
    "TUNERS",
    "PARTS",
    "RUN_KEYS",
    "Recipe",
    "RecipeError",
    "FineTuneSpec",
    "RunRecord",
    "TrainingRun",
    "layered",
    "load_recipe",
    "main_process_first",
    "read_recipe_file",
    "train",
]
