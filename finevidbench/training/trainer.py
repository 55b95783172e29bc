"""The fine-tuning loop: LoRA or full fine-tuning under the HF `Trainer`, DPO under TRL's `DPOTrainer`.

The Trainer (TRL's DPOTrainer is one too) gives what a run needs without home-made parts:
gradient accumulation, checkpoints and `resume_from_checkpoint` (optimizer, scheduler and RNG
states included), bf16, logging, seeds, and multi-GPU through `accelerate launch` with a DeepSpeed
config. What is ours: which modules train (from the recipe and the family's parts), a refusal to
resume checkpoints of a different recipe or data, a loss log written as it comes, and the run record.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from finevidbench.files import atomic_write_text
from finevidbench.request import Request
from finevidbench.training.arguments import Hardware, TrainingOptions, reporting, training_options
from finevidbench.training.examples import Example, PreferenceExample
from finevidbench.training.recipe import Recipe, RecipeError
from finevidbench.training.record import RECORD_NAME, RunRecord
from finevidbench.training.spec import TrainingRun

if TYPE_CHECKING:  # torch, transformers and trl are imported only when a run trains
    import torch
    from peft import PeftModel
    from transformers import Trainer, TrainerCallback
    from trl import DPOTrainer

INPUTS_NAME = "run_inputs.json"


class TrainingHook(Protocol):
    """What a model family supplies (model_adapters/training.py implements it)."""

    model: Any
    processor: Any

    def request(self, example: Example | PreferenceExample) -> Request:
        """The request record of one example, as evaluation shows its question (the adapter's frame policy)."""

    def plan(self, examples: Sequence[Example] | Sequence[PreferenceExample]) -> bool:
        """Plan the decodes of every example's frames (one per video where they fit); whether it planned."""

    def collate(self, examples: list[Example]) -> dict[str, Any]:
        """Model inputs of a batch of examples with labels only on answer tokens."""

    def collate_preference(self, examples: list[PreferenceExample]) -> dict[str, Any]:
        """DPO inputs of preference examples in TRL's DPOTrainer layout.

        Chosen rows, then rejected rows, and a `completion_mask` on the response tokens.
        """

    def linear_modules(self, parts: Sequence[str], target: Sequence[str] | str) -> list[str]:
        """Full names of the Linear layers of `parts` whose last name is in `target` (or all)."""

    def part_prefixes(self, parts: Sequence[str]) -> tuple[str, ...]:
        """Parameter-name prefixes of `parts` (full fine-tuning unfreezes these)."""

    def base_info(self) -> dict[str, Any]:
        """Adapter name, pretrained and revision of the base model."""


class ExampleDataset:
    """A list of training examples as a map-style dataset (the Trainer's sampler shuffles it)."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> Example:
        return self.examples[index]


def prepare_model(hook: TrainingHook, recipe: Recipe) -> torch.nn.Module:
    """The model with only the recipe's parameters trainable: a PEFT LoRA wrapper, or selected parts."""
    model: torch.nn.Module = hook.model  # the hook's model is a torch module (typed Any by the Protocol)
    if recipe.tuner == "lora":
        from peft import LoraConfig, get_peft_model

        targets = hook.linear_modules(recipe.train, recipe.lora_target)
        if not targets:
            raise RecipeError(
                f"lora_target {recipe.lora_target!r} matches no Linear layer of {list(recipe.train)} "
                "(fix: use layer names of that part, or all-linear)"
            )
        config = LoraConfig(
            r=recipe.lora_r,
            lora_alpha=recipe.lora_alpha,
            lora_dropout=recipe.lora_dropout,
            target_modules=targets,
            bias="none",
        )
        return get_peft_model(model, config)
    prefixes = hook.part_prefixes(recipe.train)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith(prefixes)
    return model


def _check_same_inputs(out: Path, inputs: dict[str, Any]) -> None:
    """Refuse to resume checkpoints made with another recipe or training set."""
    path = out / INPUTS_NAME
    if path.is_file():
        before = json.loads(path.read_text())
        if before != inputs:
            changed = sorted(k for k in set(before) | set(inputs) if before.get(k) != inputs.get(k))
            raise RecipeError(
                f"{out} holds checkpoints of a run with a different {', '.join(changed)} "
                "(fix: choose a new OUT, or delete that folder to start over)"
            )
    if int(os.environ.get("RANK", "0")) == 0:  # every process checks, one writes (torchrun/accelerate set RANK)
        atomic_write_text(path, json.dumps(inputs, indent=1, sort_keys=True) + "\n")


@contextmanager
def main_process_first(out: str | Path) -> Iterator[bool]:
    """A block the main process runs before the others (yields True there), with the Trainer's own barrier.

    Under torchrun or `accelerate launch` one process builds the training data and the others then
    read it; in a single process it is a plain block.
    """
    import torch
    from transformers import TrainingArguments

    args = TrainingArguments(output_dir=str(out), use_cpu=not torch.cuda.is_available(), report_to=[])
    with args.main_process_first(desc="training data"):
        yield args.process_index == 0


LOSS_LOG = "loss.jsonl"
"""Every logged training loss of a run folder, one `{"step", "loss"}` object per line, as it comes."""


def read_losses(folders: Sequence[Path]) -> list[dict[str, float]]:
    """The loss logs of consecutive training folders (the one reader), steps continued across them."""
    records, offset = [], 0
    for folder in folders:
        path = Path(folder) / LOSS_LOG
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        steps = [json.loads(line) for line in lines if line.strip()]
        records += [{**r, "step": r["step"] + offset} for r in steps]
        offset = records[-1]["step"] if records else offset
    return records


def _loss_logger(path: Path) -> TrainerCallback:
    from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

    class LossLog(TrainerCallback):
        """Appends every logged loss to a JSONL file as it comes (a crash loses no log line)."""

        def on_log(
            self,
            args: TrainingArguments,
            state: TrainerState,
            control: TrainerControl,
            logs: dict[str, float] | None = None,
            **kwargs: Any,
        ) -> None:
            if logs and "loss" in logs and state.is_world_process_zero:
                with open(path, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"step": state.global_step, "loss": float(logs["loss"])}) + "\n")

    return LossLog()


def train(
    hook: TrainingHook,
    examples: Sequence[Example] | Sequence[PreferenceExample],
    run: TrainingRun,
    progress: bool = True,
    callbacks: Sequence[TrainerCallback] = (),
) -> RunRecord:
    """Train on `examples` per `run` into `run.out`; resumes from the last checkpoint there.

    The method decides the objective: sf2t trains the answer's likelihood (`Example`s), savi DPO
    through TRL's DPOTrainer (`PreferenceExample`s; LoRA only), starting from `run.init_adapter`
    when given, whose starting weights are then the reference. Writes out/checkpoints/,
    out/loss.jsonl, out/adapter/ (LoRA) or out/model/ (full) and the run record; returns the record.
    """
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint

    wanted = PreferenceExample if run.preference else Example
    if not all(isinstance(e, wanted) for e in examples):
        raise TypeError(f"method {run.method} trains on {wanted.__name__}s")
    out, recipe, data, init_adapter = run.out, run.recipe, run.data, run.init_adapter
    checkpoints = out / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    _check_same_inputs(
        out,
        {
            "recipe": recipe.training_dict(),
            "data_hash": data.get("dataset_hash"),
            "base_model": hook.base_info(),
            "init_adapter": str(init_adapter or ""),
        },
    )
    if (out / RECORD_NAME).is_file():  # finished before with these very inputs
        return RunRecord.read(out)
    set_seed(recipe.seed)
    hardware = Hardware.detect(recipe)
    common = training_options(recipe, checkpoints, progress, hardware)
    common["report_to"], reporters = reporting(recipe, out)
    loggers = [_loss_logger(out / LOSS_LOG), *reporters, *callbacks]
    trainer: Trainer
    if run.preference:
        trainer = _dpo_trainer(hook, cast("Sequence[PreferenceExample]", examples), run, common, loggers)
    else:
        trainer = _supervised_trainer(hook, cast("Sequence[Example]", examples), recipe, common, loggers)
    resume = get_last_checkpoint(str(checkpoints))
    hook.plan(examples)
    started = time.time()
    trainer.train(resume_from_checkpoint=resume)
    session = _Session(trainer, resume, time.time() - started, hardware)
    target = _save(trainer, hook, recipe, out, run.preference)
    record = _record(run.kind, recipe, hook, dict(data), target, session)
    if trainer.is_world_process_zero():
        record.write(out, target)
    return record


def _supervised_trainer(
    hook: TrainingHook,
    examples: Sequence[Example],
    recipe: Recipe,
    common: TrainingOptions,
    callbacks: list[TrainerCallback],
) -> Trainer:
    """The HF `Trainer` over the recipe's trainable parameters and the family's collator."""
    from transformers import Trainer, TrainingArguments

    return Trainer(
        model=prepare_model(hook, recipe),
        args=TrainingArguments(**common),
        train_dataset=ExampleDataset(examples),
        data_collator=hook.collate,
        callbacks=callbacks,
    )


def _save(trainer: Trainer, hook: TrainingHook, recipe: Recipe, out: Path, preference: bool) -> Path:
    """Save the trained weights to out/adapter (LoRA) or out/model (full, with the processor); return that folder."""
    target = out / ("adapter" if recipe.tuner == "lora" else "model")
    if preference:  # the adapter being trained, not TRL's frozen "ref" copy of its starting point
        # preference training is LoRA only (`_dpo_trainer`): the DPOTrainer's model is a PeftModel
        cast("PeftModel", trainer.model).save_pretrained(str(target), selected_adapters=["default"])
    else:
        trainer.save_model(str(target))
    if recipe.tuner == "full" and trainer.is_world_process_zero():
        hook.processor.save_pretrained(str(target))
    return target


def _dpo_trainer(
    hook: TrainingHook,
    examples: Sequence[PreferenceExample],
    run: TrainingRun,
    common: TrainingOptions,
    callbacks: list[TrainerCallback],
) -> DPOTrainer:
    """TRL's DPOTrainer over our collator.

    The reference is the starting model: adapters off, or TRL's frozen copy of `run.init_adapter`.
    """
    from trl import DPOConfig, DPOTrainer

    recipe = run.recipe
    if run.init_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(hook.model, str(run.init_adapter), is_trainable=True)
    else:
        model = cast("PeftModel", prepare_model(hook, recipe))  # tuner lora (TrainingRun checks): a PEFT wrapper
    loss_type = list(recipe.extra.get("loss_type", ["sigmoid"]))  # sigmoid: the DPO paper's loss
    weights = recipe.extra.get("loss_weights")  # None (DPOConfig's default): every loss weighs 1
    args = DPOConfig(
        **common,
        beta=float(recipe.extra.get("beta", 0.1)),
        max_length=None,
        precompute_ref_log_probs=False,
        loss_type=loss_type,
        loss_weights=[float(w) for w in weights] if weights else None,
    )
    from datasets import Dataset

    # TRL wants a `datasets.Dataset`: questions travel as their JSON lines (their fields differ between
    # items), and an empty "images" column makes TRL leave tokenising to our collator
    rows = [{**example.to_row(), "images": []} for example in examples]
    return DPOTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        data_collator=_JsonQuestions(hook.collate_preference),
        processing_class=hook.processor,
        callbacks=callbacks,
    )


class _JsonQuestions:
    """A collator that turns the rows of a `datasets` table back into preference examples first."""

    def __init__(self, collate: Callable[[list[PreferenceExample]], dict[str, Any]]) -> None:
        self.collate = collate

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        return self.collate([PreferenceExample.from_row(row) for row in rows])


@dataclass(frozen=True)
class _Session:
    """How a training went: the trainer that ran, the checkpoint it resumed, its wall time, its hardware."""

    trainer: Trainer
    resumed_from: str | None
    wall_time_s: float
    hardware: Hardware


def _record(
    kind: str, recipe: Recipe, hook: TrainingHook, data: dict[str, Any], target: Path, session: _Session
) -> RunRecord:
    import peft
    import torch
    import transformers

    trainer, hardware, resume = session.trainer, session.hardware, session.resumed_from
    model = cast("torch.nn.Module", trainer.model)  # a Trainer built with a model (ours always are) holds it
    losses = [{"step": e["step"], "loss": float(e["loss"])} for e in trainer.state.log_history if "loss" in e]
    guard = data.get("guard") or {}
    return RunRecord(
        kind=kind,
        recipe=recipe.to_dict(),
        base_model=hook.base_info(),
        data=data,
        contaminated=bool(guard.get("contaminated")),
        output=str(target),
        steps=int(trainer.state.global_step),
        epochs=float(trainer.state.epoch or 0.0),
        losses=losses,
        wall_time_s=round(session.wall_time_s, 3),
        resumed_from=Path(resume).name if resume else None,
        trainable_parameters=sum(p.numel() for p in model.parameters() if p.requires_grad),
        total_parameters=sum(p.numel() for p in model.parameters()),
        device="cuda" if hardware.cuda else "cpu",
        precision="bf16" if hardware.bf16 else "fp32",
        versions={"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
    )
