"""`make sf2t`: build SF2T data from a folder of videos, fine-tune, then evaluate with and without the adapter.

    python -m runners.sf2t [--model fvb_qwen2_5_vl --model_args pretrained=ORG/NAME]
        [--recipe FILE.yaml] [--set key=value,...] [--videos DIR [--labels CSV]] [--data mini]
        [--out runs/sf2t/NAME] [--allow-contaminated] [--train-only] [--export DIR] [--positive-only]

With no --model it runs the CPU demonstration: a tiny random Qwen2.5-VL (real architecture,
built offline), trained on SF2T data from synthetic clips rendered with a seed of their own
(the guard checks that none is a benchmark clip), evaluated on the mini set before and after.
Unless the recipe says `control: false`, a control adapter is trained too: the same items,
prompts, answers and recipe with uninformative frames (finevidbench.sf2t.control), so that
adapter - control measures what the frames taught rather than the answer format. With
`positive_control: true` in the recipe (the demo's) or --positive-only, the recipe first trains and
evaluates an adapter and its control on items whose answer is planted in the frames' brightness
(OUT/positive/); the run stops with exit code 1 unless adapter - control is detected there.
OUT holds data/ (the training set), train/ and control/ (checkpoints, loss.jsonl, adapter/, the
run record), eval_base/, eval_control/ and eval_sf2t/ (results of `make eval`) and comparison.json.
Running the same command again resumes training from the last checkpoint and reuses every
finished answer.
Exit codes: 0 done, 1 training or evaluation failed, 2 bad input, 130 interrupted (resumable).
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path
from typing import Any

from finevidbench.dataset import QuestionSet, load_question_set
from finevidbench.sf2t import (
    ContaminationError,
    build_training_set,
    control_examples,
    control_hash,
    export_messages,
    video_catalogue,
)
from finevidbench.specs import ModelSpec
from finevidbench.training import RUN_KEYS, Recipe, RecipeError, RunRecord, TrainingRun, main_process_first
from finevidbench.training.examples import examples_of
from finevidbench.training.record import loss_span
from finevidbench.video import VideoError
from runners import finetune


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments (model arguments as in `make eval`)."""
    parser = finetune.common_parser("sf2t", __doc__.splitlines()[0], "fvb_qwen2_5_vl")
    parser.add_argument("--train-only", action="store_true", help="stop after training (multi-GPU runs)")
    parser.add_argument("--export", default=None, help="also export the training set as LLaMA-Factory/ms-swift JSONL")
    return parser.parse_args(argv)


def fail(message: str, code: int = 2) -> int:
    """Print one `make sf2t:` error line and return its exit code."""
    return finetune.fail("sf2t", message, code)


def run(args: argparse.Namespace) -> int:
    """The whole pipeline: training set, the adapter and control trainings, three evaluations; the exit code."""
    try:
        setup = finetune.resolve(args, "sf2t")
        benchmark = load_question_set(args.data)
        manifest = _build_training_set(args, setup, benchmark)
    except finetune.SETUP_ERRORS as exc:
        return fail(str(exc))
    training_set = load_question_set(setup.out / "data")
    guard = manifest["sf2t"]["guard"]
    if guard["contaminated"]:
        print(
            f"make sf2t: WARNING: {len(guard['overlapping'])} training videos are benchmark videos; "
            "the run is marked contaminated",
            file=sys.stderr,
        )
    print(f"training set: {len(training_set.questions)} items from {manifest['n_videos']} videos {manifest['counts']}")
    if args.export:
        print(f"exported: {export_messages(training_set, args.export)}")
    positive = None
    if finetune.wants_positive(args, setup.recipe):
        try:
            train_arm = partial(_train, setup, planted=True)
            tuned = partial(_tuned, setup.aligned, setup.recipe)
            positive = finetune.positive_control(setup, training_set, train_arm, tuned)
        except KeyboardInterrupt:
            return fail("interrupted; run the same command again to resume", 130)
        except finetune.PositiveControlError as exc:
            return fail(str(exc), exc.code)
        except (RecipeError, ValueError) as exc:
            return fail(str(exc))
        if args.positive_only:
            return 0
    records = {}
    for arm in ("train", "control") if setup.recipe.control else ("train",):
        try:
            records[arm] = _train(setup, training_set, setup.out / arm, control=arm == "control")
        except KeyboardInterrupt:
            return fail(
                f"interrupted; checkpoints are in {setup.out / arm / 'checkpoints'} "
                "(run the same command again to resume)",
                130,
            )
        except (RecipeError, ValueError) as exc:
            return fail(str(exc))
        record = records[arm]
        print(
            f"trained{' the control' if arm == 'control' else ''}: {record.steps} steps in "
            f"{record.wall_time_s:.0f} s, loss {loss_span(record)}, output {record.output}"
        )
    return 0 if args.train_only else _evaluate_arms(setup, benchmark, records, positive)


def _build_training_set(args: argparse.Namespace, setup: finetune.RunSetup, benchmark: QuestionSet) -> dict[str, Any]:
    """Build the training set into `<out>/data` (under several processes, the main one builds); its manifest."""
    videos, labels = finetune.training_videos(args, setup.demo)
    out, recipe, failed = setup.out, setup.recipe, None
    with main_process_first(out) as main:  # under torchrun / accelerate launch, one process builds
        if main:
            try:  # an error must not skip the barrier the other processes wait at
                manifest = build_training_set(
                    videos,
                    out / "data",
                    benchmark,
                    tasks=recipe.tasks,
                    seed=recipe.data_seed,
                    labels=labels,
                    allow_contaminated=args.allow_contaminated,
                )
            except (ContaminationError, VideoError, FileNotFoundError, ValueError) as exc:
                failed = exc
        elif (out / "data" / "manifest.json").is_file():
            manifest = json.loads((out / "data" / "manifest.json").read_text())
        else:
            failed = FileNotFoundError("the main process could not build the training set (see its error)")
    if failed:
        raise failed
    return manifest


def _evaluate_arms(
    setup: finetune.RunSetup,
    benchmark: QuestionSet,
    records: dict[str, RunRecord],
    positive: finetune.PositiveControl | None,
) -> int:
    """Evaluate base, control and adapter, compare them and write the report; the exit code."""
    out, recipe, model = setup.out, setup.recipe, setup.aligned
    arms = {
        "base": (out / "eval_base", model),
        "control": (out / "eval_control", _tuned(model, recipe, records["control"])) if recipe.control else None,
        "adapter": (out / "eval_sf2t", _tuned(model, recipe, records["train"])),
    }
    record = records["train"]
    run = {
        "recipe": recipe.to_dict(),
        "contaminated": record.contaminated,
        "steps": record.steps,
        "control_steps": records["control"].steps if recipe.control else None,
        "model": setup.model.name,
        "model_args": setup.model.model_args(),
    }
    title = f"SF2T on {setup.evaluation.data}: base, control (trained on uninformative frames) and adapter"
    trained = {"adapter": [out / "train"], **({"control": [out / "control"]} if recipe.control else {})}
    verdict = finetune.Verdict("sf2t", run, title, trained, positive)
    return finetune.evaluate_and_compare(setup, benchmark, arms, verdict)


def _train(
    setup: finetune.RunSetup, training_set: QuestionSet, out: Path, control: bool = False, planted: bool = False
) -> RunRecord:
    """Train the adapter, or with `control` the control adapter, into `out` (reused when done before).

    With `planted`, the positive control's (its items' answers are planted in the frames).
    """
    from finevidbench.training.record import RECORD_NAME
    from model_adapters.training import FamilyModels

    examples = examples_of(training_set)
    manifest = training_set.manifest
    data = {
        "dataset_hash": training_set.dataset_hash,
        "n_items": len(training_set.questions),
        "counts": manifest["counts"],
        **manifest.get("sf2t", {}),
        **({"planted": manifest["planted"]} if "planted" in manifest else {}),
    }
    if control:
        examples = control_examples(examples, video_catalogue(training_set))
        data = {
            **data,
            "dataset_hash": control_hash(training_set.dataset_hash, examples),
            "control_of": training_set.dataset_hash,
        }
    recipe = setup.recipe
    if (out / RECORD_NAME).is_file():  # finished before: no need to load the model again
        record = RunRecord.read(out)
        trained_with = {k: v for k, v in record.recipe.items() if k not in RUN_KEYS}
        if trained_with == recipe.training_dict() and record.data.get("dataset_hash") == data["dataset_hash"]:
            return record
    arm = "_".join(name for name, on in (("planted", planted), ("control", control)) if on)
    run = TrainingRun("sf2t", recipe, out, data, arm=arm)
    return FamilyModels(setup.aligned, setup.device).train(examples, run)


def _tuned(model: ModelSpec, recipe: Recipe, record: RunRecord) -> ModelSpec:
    """The model of a trained arm: the adapter on the base (LoRA), or the saved model (full)."""
    if recipe.tuner == "lora":
        return model.with_adapter(record.output)
    return model.with_weights(record.output)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `make sf2t`."""
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
