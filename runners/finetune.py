"""What the fine-tuning commands (`make sf2t`, `make savi`) share.

The demonstrations' tiny model, frame arguments from a recipe, evaluation through `make eval`'s
runner, and the paired comparison of the evaluations (base, control, adapter).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finevidbench.dataset import QuestionSet
from finevidbench.model_args import format_model_args
from finevidbench.paths import cache_dir
from finevidbench.results import read_other_samples, read_predictions, read_results, score_predictions
from finevidbench.scoring.compare import compare, compare_other_tasks, format_comparison, write_comparison
from finevidbench.scoring.score import SampleResult
from finevidbench.training import Recipe, RunRecord
from finevidbench.video import FramePolicy
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
    return parser


def demo_model_args() -> str:
    """model_args of the demonstrations' tiny random Qwen2.5-VL, built into the cache once."""
    from model_adapters.testing.tiny import build_tiny

    folder = cache_dir() / "tiny-qwen2_5_vl-s0"
    if not (folder / "config.json").is_file():
        build_tiny("qwen2_5_vl", folder)
    return f"pretrained={folder}"


def policy_args(frames: str | None) -> str:
    """The adapter arguments of a recipe's frame policy (empty: the evaluation default)."""
    if not frames:
        return ""
    policy = FramePolicy.parse(frames)
    args = {"num_frames": policy.num_frames, "fps": policy.fps, "max_frames": policy.max_frames,
            "frame_mode": policy.mode}  # fmt: skip
    return format_model_args(args)


def evaluate_into(out: Path, model: str, model_args: str, data: str, tasks: str, device: str,
                  limit: float | None = None, gen_kwargs: str | None = None,
                  include_path: Sequence[str] = ()) -> int:  # fmt: skip
    """Run `make eval`'s evaluation into `out`; returns its exit code."""
    from runners.evaluate import evaluate

    return evaluate(argparse.Namespace(
        model=model, model_args=model_args, data=data, tasks=tasks, limit=limit, out=str(out), device=device,
        gen_kwargs=gen_kwargs, include_path=list(include_path),
    ))  # fmt: skip


def compare_runs(
    benchmark: QuestionSet, arms: Mapping[str, Path | None], out: Path, run: dict[str, Any]
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
    comparison = {**compare(samples), "folders": {k: str(v) if v else None for k, v in arms.items()}, "run": run}
    figures = {name: read_results(folder / "results.json").get("other_tasks") if folder else None
               for name, folder in arms.items()}  # fmt: skip
    if any(figures.values()):  # the arms on other benchmarks too (EXTRA_TASKS)
        others = {name: read_other_samples(folder) if folder else None for name, folder in arms.items()}
        comparison["other_tasks"] = compare_other_tasks(figures, others)
    write_comparison(out, comparison)
    return comparison


def evaluate_and_compare(command: str, args: argparse.Namespace, setup: RunSetup, benchmark: QuestionSet,
                         arms: Mapping[str, tuple[Path, str] | None], run: dict[str, Any], title: str,
                         trained: Mapping[str, Sequence[Path]]) -> int:  # fmt: skip
    """Evaluate, compare and report the arms of a fine-tuning run; the exit code.

    `arms` maps base / control / adapter to its evaluation folder and model arguments (None: not run);
    the comparison goes to `<out>/comparison.json`, the table to stdout, the charts beside it.
    """
    for arm in arms.values():
        if arm is not None:
            folder, model_args = arm
            tasks = ",".join(t for t in (args.tasks, args.extra_tasks) if t)
            code = evaluate_into(folder, setup.model, model_args, args.data, tasks, setup.device, args.limit,
                                 args.gen_kwargs, args.include_path)  # fmt: skip
            if code:
                return fail(command, f"the evaluation {folder.name} failed", code)
    folders = {name: arm[0] if arm else None for name, arm in arms.items()}
    comparison = compare_runs(benchmark, folders, setup.out / "comparison.json", run)
    print(f"\n{title}\n{format_comparison(comparison)}")
    print(f"comparison: {setup.out / 'comparison.json'}")
    print(report(setup.out, comparison, trained))
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
    model: str
    model_args: str
    device: str
    out: Path
    recipe: Recipe


def resolve(args: argparse.Namespace, kind: str) -> RunSetup:
    """Model, device, run folder and recipe (the family's, the demo's, or --recipe's) of a command.

    Raises RecipeError for a malformed recipe, or one written for another model.
    """
    import torch

    demo = args.model is None
    model = args.model or DEMO_MODEL
    file = args.recipe or (RECIPES / f"{kind}_demo_tiny.yaml" if demo else None)
    return RunSetup(
        demo=demo,
        model=model,
        model_args=args.model_args or (demo_model_args() if demo else ""),
        device=args.device or ("cuda" if torch.cuda.is_available() else "cpu"),
        out=Path(args.out or Path("runs") / kind / ("demo" if demo else model)),
        recipe=recipe_for(kind, model, file, args.set),
    )


def training_videos(args: argparse.Namespace, demo: bool) -> tuple[Path, Path | None]:
    """The training videos folder and optional labels: --videos, or the demo corpus for the demo."""
    from finevidbench.sf2t import ensure_demo_videos

    if args.videos:
        return Path(args.videos), Path(args.labels) if args.labels else None
    if not demo:
        raise FileNotFoundError("pass VIDEOS=<folder of training videos> (the demo corpus is for the demo model)")
    corpus = ensure_demo_videos()
    return corpus / "videos", corpus / "labels.csv"


def loss_span(record: RunRecord) -> str:
    """First and last logged loss of a training run, for the one line a command prints about it."""
    if not record.losses:
        return "not logged"
    return f"{record.losses[0]['loss']:.3f} -> {record.losses[-1]['loss']:.3f}"


def fail(command: str, message: str, code: int = 2) -> int:
    """Print one `make <command>:` error line and return its exit code."""
    print(f"make {command}: {message}", file=sys.stderr)
    return code
