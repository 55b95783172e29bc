"""The Trainer's arguments a recipe sets, where a run trains, and where it reports its progress.

The one place that maps the recipe's names onto `TrainingArguments` (`DPOConfig` takes the same,
plus its own); trainer.py builds the Trainer from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from finevidbench.training.recipe import Recipe

if TYPE_CHECKING:  # transformers is imported only when a run trains
    from transformers import TrainerCallback


class _Checkpointing(TypedDict, total=False):
    activation_checkpointing: bool
    gradient_checkpointing: bool
    """One of the two: transformers renamed the argument (`checkpointing_argument` picks the one it has)."""


class TrainingOptions(_Checkpointing):
    """The `TrainingArguments` a recipe sets, by name and type (`DPOConfig` takes the same, plus its own)."""

    output_dir: str
    per_device_train_batch_size: int
    gradient_accumulation_steps: int
    num_train_epochs: float
    max_steps: int
    learning_rate: float
    lr_scheduler_type: str
    warmup_steps: float
    weight_decay: float
    max_grad_norm: float
    logging_steps: int
    save_steps: int
    save_total_limit: int
    seed: int
    data_seed: int
    bf16: bool
    deepspeed: str | None
    use_cpu: bool
    remove_unused_columns: bool
    dataloader_num_workers: int
    report_to: list[str]
    disable_tqdm: bool
    save_only_model: bool


@dataclass(frozen=True)
class Hardware:
    """Where a run trains: on a CUDA device or the CPU, in bf16 or fp32 (the run record keeps both)."""

    cuda: bool
    bf16: bool

    @classmethod
    def detect(cls, recipe: Recipe) -> Hardware:
        """This machine's device, and bf16 where the recipe asks for it and the device has it."""
        import torch

        cuda = torch.cuda.is_available()
        return cls(cuda=cuda, bf16=recipe.use_bf16(cuda and torch.cuda.is_bf16_supported()))


def checkpointing_argument() -> str:
    """`activation_checkpointing` where transformers has it, else its former name."""
    import inspect

    from transformers import TrainingArguments

    names = inspect.signature(TrainingArguments.__init__).parameters
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def reporting(recipe: Recipe, out: Path) -> tuple[list[str], list[TrainerCallback]]:
    """The Trainer's `report_to`, and our callbacks: TensorBoard writes to `out/tensorboard`, a fixed place."""
    reporter = recipe.reporter()
    if reporter != "tensorboard":
        return ([] if reporter == "none" else [reporter]), []
    from transformers.integrations import TensorBoardCallback

    callback = TensorBoardCallback()
    callback.logging_dir = str(out / "tensorboard")  # instead of checkpoints/runs/<date>_<host>
    return [], [callback]


def training_options(recipe: Recipe, checkpoints: Path, progress: bool, hardware: Hardware) -> TrainingOptions:
    """TrainingArguments of a recipe (DPOConfig takes the same, plus its own)."""
    options = TrainingOptions(
        output_dir=str(checkpoints),
        per_device_train_batch_size=recipe.batch_size,
        gradient_accumulation_steps=recipe.grad_accum,
        num_train_epochs=recipe.epochs,
        max_steps=recipe.max_steps,
        learning_rate=recipe.learning_rate,
        lr_scheduler_type=recipe.lr_scheduler,
        warmup_steps=recipe.warmup_ratio,  # a float below 1 is a fraction of the total steps
        weight_decay=recipe.weight_decay,
        max_grad_norm=recipe.max_grad_norm,
        logging_steps=recipe.logging_steps,
        save_steps=recipe.save_steps,
        save_total_limit=recipe.save_total_limit,
        seed=recipe.seed,
        data_seed=recipe.seed,
        bf16=hardware.bf16,
        deepspeed=recipe.deepspeed,
        use_cpu=not hardware.cuda,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        report_to=[],
        disable_tqdm=not progress,
        save_only_model=False,
    )
    if checkpointing_argument() == "activation_checkpointing":
        options["activation_checkpointing"] = recipe.gradient_checkpointing
    else:
        options["gradient_checkpointing"] = recipe.gradient_checkpointing
    return options
