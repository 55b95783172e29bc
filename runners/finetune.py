"""What the fine-tuning commands (`make sf2t`, `make savi`) share.

The command line read once into frozen specs (`RunSetup`: the model, the evaluation, the recipe),
the demonstrations' tiny model, evaluation through `make eval`'s runner, the positive control (the
recipe on items whose answer is planted in the pixels), and the paired comparison of the
evaluations (base, control, adapter).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finevidbench.dataset import QuestionSet, QuestionSetError
from finevidbench.model_args import ModelArgsError, parse_model_args
from finevidbench.paths import cache_dir
from finevidbench.results import read_other_samples, read_predictions, read_results, score_predictions
from finevidbench.scoring.compare import (
    CONTRASTS,
    compare,
    compare_other_tasks,
    format_comparison,
    write_comparison,
)
from finevidbench.scoring.score import SampleResult
from finevidbench.sf2t import ContaminationError
from finevidbench.sf2t.planted import CODE, PLANTED_TYPE, plant
from finevidbench.specs import EvaluationSpec, ModelSpec
from finevidbench.training import Recipe, RecipeError, RunRecord
from finevidbench.training.spec import FineTuneSpec
from finevidbench.video import FramePolicy, VideoError
from model_adapters.recipes import FOLDER as RECIPES
from model_adapters.recipes import recipe_for

DEMO_MODEL = "fvb_qwen2_5_vl"


def common_parser(kind: str, description: str, example_model: str) -> argparse.ArgumentParser:
    """The arguments `make sf2t` and `make savi` share (model arguments as in `make eval`)."""
    parser = argparse.ArgumentParser(prog=f"python -m runners.{kind}", description=description)
    parser.add_argument("--model", default=None, help=f"a trainable adapter, e.g. {example_model} (default: the demo)")
    parser.add_argument("--model_args", default="", help="k=v,... e.g. pretrained=ORG/NAME,revision=SHA")
    parser.add_argument("--recipe", default=None, help=f"recipe YAML: overrides of model_adapters/recipes/{kind}.yaml")
    parser.add_argument("--set", default="", help="recipe overrides, key=value,... (extra.NAME=value for extra:)")
    parser.add_argument("--videos", default=None, help="folder of training videos (default: the demo corpus)")
    parser.add_argument("--labels", default=None, help="optional labels.csv of the training videos")
    parser.add_argument("--data", default="mini", help="the benchmark to guard against and evaluate on")
    parser.add_argument("--tasks", default="finevidbench", help="the FineVidBench group or task to evaluate")
    parser.add_argument(
        "--extra_tasks",
        default="",
        help="other lmms-eval tasks every arm is also evaluated on, compared beside FineVidBench",
    )
    parser.add_argument("--include_path", action="append", default=[], help="a folder of further task YAMLs")
    parser.add_argument("--out", default=None, help=f"run folder (default runs/{kind}/<model>)")
    parser.add_argument("--allow-contaminated", action="store_true", help="train even on benchmark videos (flagged)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--limit", type=float, default=None, help="questions per task in the evaluations (testing)")
    parser.add_argument("--gen_kwargs", default=None, help="generation overrides for the evaluations")
    parser.add_argument(
        "--positive-only",
        action="store_true",
        help="run only the positive control (answers planted in the pixels) and stop: "
        "exit 0 when it is detected, 1 when not",
    )
    return parser


def wants_positive(args: argparse.Namespace, recipe: Recipe) -> bool:
    """Whether this run starts with the positive control: the recipe asks for it, or --positive-only."""
    return bool(args.positive_only or (recipe.positive_control and not getattr(args, "train_only", False)))


DEMO_EVAL_BATCH = 8
"""Questions the demonstrations' tiny model answers at once in its evaluations: the same answers as one at a
time (tests/lmms/test_adapters.py), in about half the time on two cores (measured on the demo's 150 fragment
items: 7.4 s against 12.4 s)."""


def demo_pretrained() -> str:
    """The demonstrations' tiny random Qwen2.5-VL, built into the cache once; its folder."""
    from model_adapters.testing.tiny import build_tiny

    folder = cache_dir() / "tiny-qwen2_5_vl-s0"
    if not (folder / "config.json").is_file():
        build_tiny("qwen2_5_vl", folder)
    return str(folder)


def evaluate_into(out: Path, model: ModelSpec, device: str, evaluation: EvaluationSpec) -> int:
    """Run `make eval`'s evaluation into `out`; returns its exit code."""
    from runners.evaluate import evaluate

    return evaluate(model, evaluation, out, device)


def compare_runs(
    benchmark: QuestionSet,
    arms: Mapping[str, Path | None],
    out: Path,
    run: dict[str, Any],
    contrasts: Sequence[tuple[str, str]] = CONTRASTS,
    positive: PositiveControl | None = None,
) -> dict[str, Any]:
    """Compare the arms' evaluations (rescored from their raw responses), write `out` and return it.

    `arms` maps base / control / adapter to an evaluation folder, or to None for an arm that was
    not run (the comparison then says so and gives no verdict). The one writer of comparison.json.
    """
    samples: dict[str, list[SampleResult] | None] = {}  # None: the arm was not run
    for name, folder in arms.items():
        if folder is None:
            samples[name] = None
            continue
        predictions = read_predictions(folder / "samples.jsonl")
        scored, _ = score_predictions(benchmark, predictions)
        samples[name] = [s for s in scored if s.question_id in predictions]
    folders = {k: str(v) if v else None for k, v in arms.items()}
    comparison = {**compare(samples, contrasts), "folders": folders, "run": run}
    if positive is not None:
        comparison["positive_control"] = positive.to_dict()
    figures = {
        name: read_results(folder / "results.json").get("other_tasks") if folder else None
        for name, folder in arms.items()
    }
    if any(figures.values()):  # the arms on other benchmarks too (EXTRA_TASKS)
        others = {name: read_other_samples(folder) if folder else None for name, folder in arms.items()}
        comparison["other_tasks"] = compare_other_tasks(figures, others)
    write_comparison(out, comparison)
    return comparison


@dataclass(frozen=True)
class Verdict:
    """How a fine-tuning run's comparison is reported: the command, its run record, title and training folders."""

    command: str
    run: dict[str, Any]
    title: str
    trained: Mapping[str, Sequence[Path]]
    """An arm (adapter, control) to its training folders, in training order (the loss charts)."""
    positive: PositiveControl | None = None


def evaluate_and_compare(
    setup: RunSetup, benchmark: QuestionSet, arms: Mapping[str, tuple[Path, ModelSpec] | None], verdict: Verdict
) -> int:
    """Evaluate, compare and report the arms of a fine-tuning run; the exit code.

    `arms` maps base / control / adapter to its evaluation folder and model (None: not run); the
    comparison goes to `<out>/comparison.json`, the table to stdout, the charts beside it. The
    positive control's line, when one was run, comes before the table: it says whether this run
    could have shown an effect at all.
    """
    for arm in arms.values():
        if arm is not None:
            folder, model = arm
            code = evaluate_into(folder, model, setup.device, setup.evaluation)
            if code:
                return fail(verdict.command, f"the evaluation {folder.name} failed", code)
    folders = {name: arm[0] if arm else None for name, arm in arms.items()}
    positive = verdict.positive
    comparison = compare_runs(benchmark, folders, setup.out / "comparison.json", verdict.run, positive=positive)
    if positive is not None:
        print(f"\n{positive.summary()}")
    print(f"\n{verdict.title}\n{format_comparison(comparison)}")
    print(f"comparison: {setup.out / 'comparison.json'}")
    print(report(setup.out, comparison, verdict.trained))
    return 0


def report(out: Path, comparison: dict[str, Any], trained: Mapping[str, Sequence[Path]]) -> str:
    """Write the run's charts and TensorBoard accuracies; the line that tells the reader where they are.

    `trained` maps an arm (adapter, control) to its training folders, in training order.
    """
    from finevidbench.training.report import write_run_report
    from finevidbench.training.trainer import read_losses

    losses = {arm: read_losses(folders) for arm, folders in trained.items()}
    written = write_run_report(out, comparison, losses)
    charts = ", ".join(str(p) for p in written if p.suffix == ".png")
    return f"charts: {charts}\nTensorBoard (loss, learning rate, accuracies): tensorboard --logdir {out}"


@dataclass(frozen=True)
class RunSetup:
    """What a fine-tuning command resolved from its arguments before doing any work."""

    demo: bool
    model: ModelSpec
    """The base model as given (MODEL, MODEL_ARGS), before the recipe's frame policy."""
    device: str
    out: Path
    recipe: Recipe
    evaluation: EvaluationSpec
    """What every arm is evaluated on: FineVidBench and EXTRA_TASKS beside it."""

    @property
    def frames(self) -> FramePolicy | None:
        """The recipe's frame policy, whole (None: the model's arguments decide)."""
        return FramePolicy.parse(self.recipe.frames) if self.recipe.frames else None

    @property
    def aligned(self) -> ModelSpec:
        """The base model sampling the recipe's frames: what trains and what every arm is evaluated as."""
        return self.model.with_frames(self.frames)


def resolve(args: argparse.Namespace, kind: str) -> RunSetup:
    """Model, device, run folder, recipe (the family's, the demo's, or --recipe's) and evaluation of a command.

    The command line's strings are parsed here, once. Raises RecipeError for a malformed recipe, one
    written for another model, or a frame policy the model cannot take; ModelArgsError for bad MODEL_ARGS.
    """
    import torch

    demo = args.model is None
    name = args.model or DEMO_MODEL
    demo_args = f"pretrained={demo_pretrained()},batch_size={DEMO_EVAL_BATCH}" if demo else ""
    model = ModelSpec.parse(name, args.model_args or demo_args)
    spec = FineTuneSpec(
        kind,
        Path(args.recipe) if args.recipe else (RECIPES / f"{kind}_demo_tiny.yaml" if demo else None),
        parse_model_args(args.set, "SET"),
    )
    evaluation = EvaluationSpec(
        data=args.data,
        tasks=",".join(t for t in (args.tasks, args.extra_tasks) if t),
        limit=args.limit,
        generation=parse_model_args(args.gen_kwargs, "--gen_kwargs"),
        include_path=tuple(args.include_path),
    )
    setup = RunSetup(
        demo=demo,
        model=model,
        device=args.device or ("cuda" if torch.cuda.is_available() else "cpu"),
        out=Path(args.out or Path("runs") / kind / ("demo" if demo else name)),
        recipe=recipe_for(spec.method, name, spec.recipe, spec.overrides),
        evaluation=evaluation,
    )
    setup.aligned.model_args()  # a frame policy the model's arguments cannot carry is refused here
    return setup


def training_videos(args: argparse.Namespace, demo: bool) -> tuple[Path, Path | None]:
    """The training videos folder and optional labels: --videos, or the demo corpus for the demo."""
    from finevidbench.sf2t import ensure_demo_videos

    if args.videos:
        return Path(args.videos), Path(args.labels) if args.labels else None
    if not demo:
        raise FileNotFoundError("pass VIDEOS=<folder of training videos> (the demo corpus is for the demo model)")
    corpus = ensure_demo_videos()
    return corpus / "videos", corpus / "labels.csv"


SETUP_ERRORS = (
    RecipeError,
    ModelArgsError,
    QuestionSetError,
    ContaminationError,
    VideoError,
    FileNotFoundError,
    ValueError,
)
"""What a fine-tuning command's setup may meet in its input (recipe, MODEL_ARGS, sets, videos): one line, exit 2."""


def fail(command: str, message: str, code: int = 2) -> int:
    """Print one `make <command>:` error line and return its exit code."""
    print(f"make {command}: {message}", file=sys.stderr)
    return code


PLANTED_TASK = f"finevidbench_{PLANTED_TYPE}"
"""The lmms-eval task the positive control is evaluated with (its items are all of this type)."""
TrainArm = Callable[[QuestionSet, Path, bool], RunRecord]
"""Train the recipe (or, with True, its control) on a question set's items into a folder; its record."""


class PositiveControlError(RuntimeError):
    """The positive control failed or did not detect the planted effect; the message says what to check."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PositiveControl:
    """adapter - control on held-out items whose answer is planted in the pixels (`finevidbench.sf2t.planted`)."""

    comparison: dict[str, Any]
    folder: Path

    @property
    def diff(self) -> dict[str, Any]:
        """The overall paired difference adapter - control, with its interval."""
        return dict(self.comparison["overall"]["diffs"]["adapter-control"])

    @property
    def detected(self) -> bool:
        """The planted effect was seen: the interval of adapter - control lies above zero."""
        return bool(self.diff["ci_low"] > 0)

    def summary(self) -> str:
        """The line a reader sees first: the planted effect's size, its interval and whether it was detected."""
        overall, diff = self.comparison["overall"], self.diff
        arms = ", ".join(f"{arm} {overall['arms'][arm]['accuracy']:.3f}" for arm in ("adapter", "control"))
        interval = f"{diff['diff']:+.3f} [{diff['ci_low']:+.3f}, {diff['ci_high']:+.3f}]"
        head = (
            f"Positive control (answers planted in the frames' brightness, {overall['n']} items of held-out "
            f"videos): {arms}; adapter - control {interval}"
        )
        if self.detected:
            return f"{head}: DETECTED, so a null below is no effect at this scale, not a pipeline that cannot see"
        return f"{head}: NOT DETECTED"

    def to_dict(self) -> dict[str, Any]:
        """What comparison.json keeps of it."""
        return {
            "detected": self.detected,
            "n": self.comparison["overall"]["n"],
            "diff": self.diff,
            "arms": self.comparison["overall"]["arms"],
            "code": CODE,
            "type": PLANTED_TYPE,
            "comparison": str(self.folder / "comparison.json"),
        }


def positive_control(
    setup: RunSetup, training_set: QuestionSet, train_arm: TrainArm, tuned: Callable[[RunRecord], ModelSpec]
) -> PositiveControl:
    """Train the recipe and its control on planted items, evaluate both on held-out videos, compare.

    Everything goes to `<out>/positive/` and is reused by a second call (training resumes, no answer
    is recomputed). Raises PositiveControlError when an evaluation fails or the effect is not detected.
    """
    folder = setup.out / "positive"
    train_set, held_out = plant(training_set, folder / "data", seed=setup.recipe.data_seed).load()
    print(
        f"positive control: {len(train_set.questions)} training items, {len(held_out.questions)} held out, "
        f"answers planted in brightness {CODE}"
    )
    records = {arm: train_arm(train_set, folder / arm, arm == "control") for arm in ("train", "control")}
    evaluations = {"control": folder / "eval_control", "adapter": folder / "eval_adapter"}
    planted = EvaluationSpec(str(held_out.root), PLANTED_TASK, generation=setup.evaluation.generation)
    for arm, record in (("control", records["control"]), ("adapter", records["train"])):
        code = evaluate_into(evaluations[arm], tuned(record), setup.device, planted)
        if code:
            raise PositiveControlError(f"the positive control's evaluation {evaluations[arm]} failed", code)
    run = {
        "steps": records["train"].steps,
        "control_steps": records["control"].steps,
        "train_set": str(train_set.root),
        "held_out": str(held_out.root),
    }
    comparison = compare_runs(held_out, dict(evaluations), folder / "comparison.json", run, [("adapter", "control")])
    found = PositiveControl(comparison, folder)
    print(found.summary())
    if not found.detected:
        raise PositiveControlError(
            f"{found.summary()}.\nThe answers of these items are planted in their frames' brightness, which this "
            "recipe learns on a working pipeline; the real comparison was not run, because its result could not "
            "tell a model that learnt nothing from a pipeline that lost the frames. Check, in this order: that "
            f"the frames reach training (the visual inputs of the collator, {folder / 'train'}), that the adapter "
            f"is loaded at evaluation ({folder / 'eval_adapter' / 'results.json'} names it), and that the loss "
            f"fell ({folder / 'train' / 'loss.jsonl'}); a recipe too short or a learning rate too low for this "
            "model shows here too (fix the recipe, or turn the check off with SET=positive_control=false)."
        )
    return found
