"""`make savi`: self-alignment by DPO on the model's own preference pairs, iterated, then evaluated.

    python -m runners.savi [--model fvb_internvl --model_args pretrained=...] [--recipe FILE.yaml]
        [--videos DIR [--labels CSV]] [--pairs savi|verifier|mixed] [--iterations N] [--data mini]
        [--out runs/savi/NAME] [--set key=value,...] [--allow-contaminated] [--positive-only]

The loop itself is finevidbench.savi.loop; this command reads the arguments, builds the specs,
runs it and reports. Each iteration starts from the last adapter (the first from the base model) and makes pairs:
- `savi` (VideoSAVi, COLM 2025): for each training video the model asks itself spatial and
  temporal questions (32 frames by default), answers, critiques its answer against the video and
  revises it; (revised, initial) is a (chosen, rejected) pair when the revision differs materially;
- `verifier` (ours): the model answers SF2T fragment items whose answers are known by
  construction; (known answer, its wrong answer) is a pair;
then trains DPO (TRL's DPOTrainer, LoRA through PEFT). The pairs of iteration k are kept in
OUT/iter_k/pairs.jsonl (TRL's preference format) and its adapter in OUT/iter_k/train/adapter.
Unless the recipe says `control: false`, a control replays the same iterations on the same pairs
with uninformative visual input (another training video, random frames: finevidbench.sf2t.control)
into OUT/iter_k/control/. Finally the base, the last control adapter and the last adapter are
evaluated and compared (adapter - control is the verdict). With `positive_control: true` (the
demo's recipe) or --positive-only, one DPO round and its control first run on items whose answer is
planted in the frames' brightness (OUT/positive/), and the run stops with exit code 1 unless
adapter - control is detected there. With no --model it runs the CPU
demonstration on a tiny random Qwen2.5-VL. Running the command again reuses finished iterations,
resumes an interrupted one from its checkpoints and recomputes no finished answer.
Exit codes: 0 done, 1 failed, 2 bad input, 130 interrupted (resumable).
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import Any

from finevidbench.builder import find_videos
from finevidbench.dataset import QuestionSet, load_question_set
from finevidbench.savi.loop import Loop, planted_dpo, run_control, run_loop
from finevidbench.sf2t import Contamination, build_training_set, check_videos
from finevidbench.specs import ModelSpec
from finevidbench.training import Recipe, RecipeError, RunRecord
from model_adapters.recipes import method_default
from model_adapters.training import FamilyModels
from runners import finetune

PAIR_SOURCES = ("savi", "verifier", "mixed")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments (model arguments as in `make eval`)."""
    parser = finetune.common_parser("savi", __doc__.splitlines()[0], "fvb_internvl")
    parser.add_argument("--pairs", choices=PAIR_SOURCES, default=None, help="which pairs (default: the recipe's)")
    parser.add_argument("--iterations", type=int, default=None, help="DPO rounds (default: the recipe's)")
    parser.add_argument(
        "--init-adapter",
        default=None,
        help="start from the base with this PEFT adapter merged in (e.g. an SF2T adapter)",
    )
    return parser.parse_args(argv)


def fail(message: str, code: int = 2) -> int:
    """Print one `make savi:` error line and return its exit code."""
    return finetune.fail("savi", message, code)


def settings(recipe: Recipe, args: argparse.Namespace) -> dict[str, Any]:
    """The recipe's self-alignment settings, command-line choices applied; unknown keys are refused."""
    defaults = method_default("savi")["extra"]  # every setting, with its default (model_adapters/recipes/savi.yaml)
    unknown = sorted(set(recipe.extra) - set(defaults))
    if unknown:
        raise RecipeError(f"extra: unknown self-alignment key(s) {unknown}; known: {sorted(defaults)}")
    found = {**defaults, **recipe.extra}
    found["pairs"] = args.pairs or found["pairs"]
    found["iterations"] = args.iterations or found["iterations"]
    if found["pairs"] not in PAIR_SOURCES or int(found["iterations"]) < 1:
        raise RecipeError(f"pairs must be one of {PAIR_SOURCES} and iterations at least 1, got {found}")
    return found


def run(args: argparse.Namespace) -> int:
    """The whole loop; returns the exit code."""
    try:
        setup = finetune.resolve(args, "savi")
        config = settings(setup.recipe, args)
        benchmark = load_question_set(args.data)
        videos, guard, training_set = _training_inputs(args, setup, config, benchmark)
        start = _start(args.init_adapter, setup)
    except finetune.SETUP_ERRORS as exc:
        return fail(str(exc))
    if guard.contaminated:
        message = f"{len(guard.overlapping)} training videos are benchmark videos; the run is marked contaminated"
        print(f"make savi: WARNING: {message}", file=sys.stderr)
    base = start.with_frames(setup.frames)  # the loop's base and reference, with the frames it aligns with
    models = FamilyModels(base, setup.device)
    loop = Loop(models, setup.recipe, config, tuple(videos), training_set, guard.to_dict(), setup.out)
    try:
        positive = None
        if finetune.wants_positive(args, setup.recipe):  # _training_inputs built the training set it plants into
            positive = _positive_control(setup, base, models, training_set)
            if args.positive_only:
                return 0
        adapter = None
        for iteration, record in run_loop(loop):
            if record is None:
                return fail(
                    f"iteration {iteration} produced no preference pair (see {setup.out / f'iter_{iteration}'})", 1
                )
            adapter = record.output
        control = run_control(loop) if setup.recipe.control else None
    except KeyboardInterrupt:
        return fail("interrupted; run the same command again to resume", 130)
    except finetune.PositiveControlError as exc:
        return fail(str(exc), exc.code)
    except (RecipeError, ValueError) as exc:
        return fail(str(exc))
    return _evaluate_arms(setup, benchmark, loop, (start, adapter, control), positive, args.init_adapter)


def _start(init_adapter: str | None, setup: finetune.RunSetup) -> ModelSpec:
    """The model the loop starts from: the base, or the base with --init-adapter merged in."""
    if not init_adapter:
        return setup.model
    if not (Path(init_adapter) / "adapter_config.json").is_file():
        raise FileNotFoundError(
            f"--init-adapter {init_adapter}: no adapter_config.json there (fix: pass a PEFT adapter folder)"
        )
    from model_adapters.training import merged_copy

    return merged_copy(setup.model, init_adapter, setup.out / "start_model")


def _evaluate_arms(
    setup: finetune.RunSetup,
    benchmark: QuestionSet,
    loop: Loop,
    models: tuple[ModelSpec, str | None, str | None],
    positive: finetune.PositiveControl | None,
    init_adapter: str | None,
) -> int:
    """Evaluate the base, the last control and the last adapter, compare and report; the exit code."""
    start, adapter, control = models
    base, out, config = start.with_frames(setup.frames), setup.out, loop.config
    arms = {
        "base": (out / "eval_base", base),
        "control": (out / "eval_control", base.with_adapter(control)) if control else None,
        "adapter": (out / "eval_savi", base.with_adapter(adapter)),
    }
    run = {
        "recipe": setup.recipe.to_dict(),
        "settings": dict(config),
        "contaminated": bool(loop.guard["contaminated"]),
        "model": setup.model.name,
        "model_args": start.model_args(),
        "adapter": adapter,
        "control_adapter": control,
        "init_adapter": init_adapter,
    }
    started = "the base with " + init_adapter + " merged in" if init_adapter else "the base"
    title = (
        f"Self-alignment ({config['pairs']} pairs, {config['iterations']} iterations) on {setup.evaluation.data}: "
        f"{started}, the control (same pairs, uninformative frames) and the last adapter"
    )
    trained = {"adapter": [out / f"iter_{k}" / "train" for k in loop.iterations]}
    if control:
        trained["control"] = [out / f"iter_{k}" / "control" for k in loop.iterations]
    verdict = finetune.Verdict("savi", run, title, trained, positive)
    return finetune.evaluate_and_compare(setup, benchmark, arms, verdict)


def _training_inputs(
    args: argparse.Namespace, setup: finetune.RunSetup, config: dict[str, Any], benchmark: QuestionSet
) -> tuple[list[Path], Contamination, QuestionSet | None]:
    """The training videos, their contamination guard, and the SF2T training set when it is needed.

    Verifier pairs are made from that set's items, and the positive control plants its answers there.
    """
    folder, labels = finetune.training_videos(args, setup.demo)
    videos = find_videos(folder)
    source = f"the benchmark ({benchmark.root})"
    guard = check_videos(videos, benchmark.manifest, allow=args.allow_contaminated, source=source)
    if config["pairs"] not in ("verifier", "mixed") and not finetune.wants_positive(args, setup.recipe):
        return videos, guard, None
    recipe, data = setup.recipe, setup.out / "data"
    build_training_set(
        folder,
        data,
        benchmark,
        tasks=recipe.tasks,
        seed=recipe.data_seed,
        labels=labels,
        allow_contaminated=args.allow_contaminated,
        progress=False,
    )
    return videos, guard, load_question_set(data)


def _positive_control(
    setup: finetune.RunSetup, base: ModelSpec, models: FamilyModels, training_set: QuestionSet | None
) -> finetune.PositiveControl:
    """The positive control with the loop's own DPO recipe, evaluated with the frames the loop aligns with."""
    if training_set is None:
        raise ValueError("the positive control needs the SF2T training set")

    def tuned(record: RunRecord) -> ModelSpec:
        return base.with_adapter(record.output)

    train_arm = partial(planted_dpo, models, setup.recipe)
    return finetune.positive_control(setup, training_set, train_arm, tuned)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `make savi`."""
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
