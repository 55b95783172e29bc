"""`make eval`: evaluate a model on FineVidBench through lmms-eval, then write our results files.

    python -m runners.evaluate --model random [--model_args k=v,...] [--data mini]
        [--limit N] [--out runs/NAME] [--tasks finevidbench,OTHER_TASK,...] [--include_path FOLDER]

lmms-eval runs programmatically (its task manager over tasks/, its evaluator); its per-sample
outputs are our scored samples, which `finevidbench.results` turns into results.json and
samples.jsonl. Answers go to OUT/answers.sqlite as they arrive, so running the same command again
after a crash recomputes nothing that was finished. Exit codes: 0 done, 1 the evaluation failed
(lmms-eval itself may return normally), 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from finevidbench import taskdocs
from finevidbench.dataset import QuestionSet, QuestionSetError, load_question_set
from finevidbench.model_args import ModelArgsError, format_model_args, merge_model_args, parse_model_args
from finevidbench.paths import tasks_dir
from finevidbench.results import ModelInfo, build_results, other_task_figures, other_task_samples, write_results
from finevidbench.scoring.score import SampleResult, format_table
from finevidbench.specs import EvaluationSpec, ModelSpec
from finevidbench.store import StoreError
from finevidbench.taskgen import is_ours, runnable_tasks, split_tasks
from model_adapters.loading import AdapterError
from runners.imports import defer
from runners.lmms_patches import closed_form_stderr, frozen_heap, one_progress_bar

if TYPE_CHECKING:  # lmms-eval is imported only when a run starts (untyped: Any to mypy)
    from lmms_eval.api.model import lmms


class EvaluationError(Exception):
    """lmms-eval finished without the answers we asked for."""


def our_models() -> list[str]:
    """The model names this package registers with lmms-eval (model_adapters.manifests)."""
    # lmms-eval's registry first: it imports our manifests through its entry point, whole. The other way round,
    # its registry's init finds this module half-imported and logs a circular-import WARNING on every run.
    import lmms_eval.models  # noqa: F401

    from model_adapters.manifests import MANIFESTS

    return [m.model_id for m in MANIFESTS]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments (the same names as lmms-eval's where they overlap)."""
    parser = argparse.ArgumentParser(prog="python -m runners.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default="random",
        help=f"an lmms-eval model name (ours: {', '.join(our_models())})",
    )
    parser.add_argument("--model_args", default="", help="k=v,k=v passed to the model")
    parser.add_argument("--data", default="mini", help="'mini', a built folder, or hf://ORG/NAME@REVISION")
    parser.add_argument(
        "--tasks",
        default="finevidbench",
        help="comma-separated: FineVidBench groups or tasks, and/or any other lmms-eval task or group",
    )
    parser.add_argument(
        "--include_path",
        action="append",
        default=[],
        help="a folder of further lmms-eval task YAMLs (repeatable; lmms-eval's own are found by name)",
    )
    parser.add_argument("--limit", type=float, default=None, help="questions per task (testing only)")
    parser.add_argument("--out", default=None, help="run folder (default runs/<model>)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--gen_kwargs", default=None, help="generation overrides for every task, e.g. max_new_tokens=8")
    return parser.parse_args(argv)


def make_model(name: str, model_args: str, store: Path, device: str) -> lmms:
    """Instantiate an lmms-eval model by name, with our answer store added to its arguments."""
    from lmms_eval.models import get_model

    args = merge_model_args(model_args, format_model_args({"store": store}))
    try:
        model_class = get_model(name)
    except Exception:  # noqa: BLE001 - lmms-eval raises several types for an unknown name
        raise ValueError(
            f"unknown model {name!r}: use one of ours ({', '.join(our_models())}) or an lmms-eval model "
            "name (python -m lmms_eval models lists them)"
        ) from None
    if "store" not in getattr(model_class, "accepted_args", lambda: set())():
        args = model_args  # an lmms-eval built-in model: no resume store
    return model_class.create_from_arg_string(args, {"device": device})


def task_manager(model_name: str, others: list[str], include: list[str]) -> Any:
    """lmms-eval's task manager over our folder and `include`, with lmms-eval's own tasks only where needed.

    Indexing lmms-eval's ~2,000 built-in task YAMLs costs seconds per run, so they are read only
    when a requested task is in none of the given folders. An unknown name is refused here.
    """
    from lmms_eval.tasks import TaskManager

    paths = [str(tasks_dir()), *(str(Path(p).resolve()) for p in include)]
    manager = TaskManager("WARNING", include_path=paths, include_defaults=False, model_name=model_name)
    if any(name not in manager.all_tasks for name in others):
        manager = TaskManager("WARNING", include_path=paths, include_defaults=True, model_name=model_name)
    unknown = [name for name in others if name not in manager.all_tasks]
    if unknown:
        raise ValueError(
            f"unknown task(s) {', '.join(unknown)}: neither lmms-eval's nor in "
            f"{', '.join(paths[1:]) or 'an --include_path folder'} (fix: check the name with python -m lmms_eval "
            "tasks list, or pass INCLUDE=folder of its YAML)"
        )
    return manager


def run_lmms_eval(
    model: lmms, manager: Any, tasks: str, limit: float | None, gen_kwargs: str | None = None
) -> dict[str, Any] | None:
    """lmms-eval's own evaluator over the tasks the manager knows; its results (None on ranks other than 0)."""
    from lmms_eval.evaluator import simple_evaluate

    # Under torchrun on CPU, accelerate's state stays single-process; lmms-eval's torchrun path
    # initialises a gloo group itself. `accelerate launch` sets ACCELERATE_* variables.
    launched_by_accelerate = any(k.startswith("ACCELERATE_") for k in os.environ)
    backend = "torchrun" if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not launched_by_accelerate else "accelerate"
    with closed_form_stderr(), one_progress_bar(), frozen_heap():
        results: dict[str, Any] | None = simple_evaluate(
            model=model,
            tasks=tasks.split(","),
            task_manager=manager,
            log_samples=True,
            limit=limit,
            gen_kwargs=gen_kwargs,
            distributed_executor_backend=backend,
        )
    if int(os.environ.get("RANK", "0")) == 0 and (not results or not results.get("samples")):
        raise EvaluationError("lmms-eval returned no samples (see its log above)")
    return results


def collect_samples(results: dict[str, Any]) -> list[SampleResult]:
    """Our SampleResults, each logged response of our tasks scored again (lmms-eval logs only 1.0 or 0.0)."""
    samples = []
    for task, records in results["samples"].items():
        if not is_ours(task):
            continue
        for record in records:
            doc, responses = record.get("doc") or {}, record.get("filtered_resps") or []
            if "question_id" not in doc or not responses:
                raise EvaluationError(f"an lmms-eval sample of {task} has no FineVidBench document: {sorted(record)}")
            samples.append(taskdocs.score(doc, responses[0]))
    return sorted(samples, key=lambda s: s.question_id)  # the same file whatever the number of processes


def other_tasks_table(figures: dict[str, dict[str, Any]]) -> str:
    """The other tasks' figures as lmms-eval computed them, one line per task and metric."""
    lines = [f"{'other task':<32} {'metric':<24} {'value':>8} {'stderr':>8} {'n':>6}"]
    for task, entry in figures.items():
        for metric, value in entry["metrics"].items():
            error = entry["stderr"].get(metric)
            shown = "" if value is None else f"{value:.4f}"
            lines.append(
                f"{task:<32} {metric:<24} {shown:>8} {'' if error is None else f'{error:.4f}':>8} "
                f"{'' if entry['n'] is None else entry['n']:>6}"
            )
    return "\n".join(lines)


@dataclass(frozen=True)
class _Job:
    """One evaluation: the model, what it is evaluated on, where it writes and on which device."""

    model: ModelSpec
    evaluation: EvaluationSpec
    out: Path
    device: str


def evaluate(model: ModelSpec, evaluation: EvaluationSpec, out: Path | None = None, device: str = "cpu") -> int:
    """Run one evaluation end to end into `out` (default runs/<model>); returns the exit code."""
    job = _Job(model, evaluation, Path(out or Path("runs") / model.name), device)
    os.environ[taskdocs.DATA_ENV] = evaluation.data
    try:
        qs = load_question_set(evaluation.data)
    except QuestionSetError as exc:
        print(f"make eval: {exc}", file=sys.stderr)
        return 2
    taskdocs.use_question_set(evaluation.data, qs)  # lmms-eval's tasks read this copy: the set is loaded once a run
    taskdocs.use_rank_lanes(evaluation.limit is None)  # ranks of a data-parallel run: whole videos each
    out = job.out
    started = time.time()
    ours, others = split_tasks(evaluation.tasks)
    tasks, left_out = runnable_tasks(",".join(ours), {q.type for q in qs.questions})
    if left_out:
        print(f"make eval: the set has no questions for {', '.join(left_out)}; evaluating the others", file=sys.stderr)
    if not tasks and not others:
        print(f"make eval: the set {evaluation.data} has no questions for --tasks {evaluation.tasks}", file=sys.stderr)
        return 2
    try:
        manager = task_manager(model.name, others, list(evaluation.include_path))
        loaded = make_model(model.name, model.model_args(), out / "answers.sqlite", device)
    except (ValueError, TypeError) as exc:
        print(f"make eval: {exc}", file=sys.stderr)
        return 2
    names = [*tasks, *others]
    print(f"make eval: {model.name} on {len(names)} task(s) of {evaluation.data}: answering", file=sys.stderr)
    try:
        return answer_and_write(job, qs, loaded, Asking(manager, names, ours == ["finevidbench"]), started)
    finally:
        close = getattr(loaded, "close", None)  # a serving engine is dropped: the next evaluation of this process
        if close is not None:  # starts its own (one at a time on a GPU), in the same engine process
            close()


@dataclass(frozen=True)
class Asking:
    """What lmms-eval is asked: its task manager, the task names, and whether they are the whole benchmark."""

    manager: Any
    names: list[str]
    whole: bool
    """Only `finevidbench` asked: every question of the set must come back answered."""


def answer_and_write(job: _Job, qs: QuestionSet, loaded: lmms, asking: Asking, started: float) -> int:
    """lmms-eval's evaluation of the loaded model, scored and written; the exit code."""
    evaluation, out, manager, names = job.evaluation, job.out, asking.manager, asking.names
    try:
        results = run_lmms_eval(loaded, manager, ",".join(names), evaluation.limit, evaluation.gen_kwargs)
        if int(os.environ.get("RANK", "0")) != 0:
            return 0  # data-parallel run: rank 0 gathers every sample and writes the files
        samples = collect_samples(cast("dict[str, Any]", results))  # rank 0: run_lmms_eval raised unless it had samples
    except (EvaluationError, StoreError) as exc:
        print(f"make eval: the evaluation failed: {exc}", file=sys.stderr)
        return 1
    except AdapterError as exc:  # the model refuses what it was asked (before its first answer): the message says why
        print(f"make eval: {exc} (answers so far are kept in {out / 'answers.sqlite'})", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - any failure inside lmms-eval or the model
        traceback.print_exc()
        print(
            f"make eval: the evaluation failed: {type(exc).__name__}: {exc} "
            f"(answers so far are kept in {out / 'answers.sqlite'}; run the same command again to resume)",
            file=sys.stderr,
        )
        return 1
    expected = len(qs.questions)
    if evaluation.limit is None and asking.whole and len(samples) != expected:
        print(f"make eval: lmms-eval answered {len(samples)} of {expected} questions", file=sys.stderr)
        return 1
    print(f"make eval: scoring {len(samples)} answers and writing {out}", file=sys.stderr)
    return write_run(job, qs, loaded, cast("dict[str, Any]", results), samples, time.time() - started)


def write_run(
    job: _Job,
    qs: QuestionSet,
    model: lmms,
    results: dict[str, Any],
    samples: list[SampleResult],
    seconds: float,
) -> int:
    """Write the run's results files (ours, and lmms-eval's figures for any other task) and print them."""
    record_inputs = getattr(model, "inputs_record", None)
    info = ModelInfo(
        name=job.model.name,
        args=job.model.model_args(),
        revision=getattr(model, "revision", None),
        adapter=getattr(model, "adapter_info", None),
        inputs=record_inputs() if record_inputs else None,
    )
    policy = getattr(model, "frame_policy", None)
    run_info = {"seeds": {"lmms_eval": [0, 1234, 1234, 1234]}, "device": job.device, "wall_time_s": round(seconds, 3)}
    usage = getattr(model, "usage", None)
    engine = usage() if usage is not None else None
    if engine is not None:  # a serving engine's prompts, tokens and cache hit rates
        run_info["engine"] = engine
    # every name lmms-eval scored that is not ours: the tasks asked for, their groups' members too
    scored = [name for name in results.get("results", {}) if not is_ours(name)]
    source = f"lmms-eval {results.get('lmms_eval_version') or _version('lmms_eval')}"
    figures = other_task_figures(results, scored, source)
    record = build_results(
        qs,
        samples,
        info,
        policy.to_dict() if policy else None,
        run_info,
        tasks=job.evaluation.tasks,
        other_tasks=figures,
    )
    out = job.out
    try:
        path = write_results(out, record, samples, other_task_samples(results, scored))
    except OSError as exc:
        fix = "free disk space or pass OUT= a writable folder; the answers stay in answers.sqlite, a rerun reuses them"
        print(f"make eval: cannot write the results into {out} ({exc.strerror}) (fix: {fix})", file=sys.stderr)
        return 1
    if record["scores"] is not None:
        print(format_table(record["scores"]))
    if figures:
        print(other_tasks_table(figures))
    computed, reused = getattr(model, "computed", len(samples)), getattr(model, "reused", 0)
    print(f"answers: {computed} computed, {reused} from the store")
    print(f"results: {path}")
    return 0


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def close_process_group() -> None:
    """Shut a data-parallel run's process group down while the interpreter is still whole.

    Left to interpreter exit, gloo's worker threads are destroyed while joinable and the process
    aborts ("terminate called without an active exception", SIGABRT), now and then, after every
    answer is written: a finished run would end with a failed exit code.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def specs(args: argparse.Namespace) -> tuple[ModelSpec, EvaluationSpec]:
    """The model and the evaluation the command line asks for (MODEL_ARGS and --gen_kwargs parsed here, once)."""
    evaluation = EvaluationSpec(
        data=args.data,
        tasks=args.tasks,
        limit=args.limit,
        generation=parse_model_args(args.gen_kwargs, "--gen_kwargs"),
        include_path=tuple(args.include_path),
    )
    return ModelSpec.parse(args.model, args.model_args), evaluation


def main(argv: list[str] | None = None) -> int:
    """Entry point of `make eval`."""
    defer()  # what no FineVidBench run needs is imported on first use (runners/imports.py)
    args = parse_args(argv)
    try:
        model, evaluation = specs(args)
    except ModelArgsError as exc:
        print(f"make eval: {exc}", file=sys.stderr)
        return 2
    code = evaluate(model, evaluation, Path(args.out) if args.out else None, args.device)
    if code == 0:  # after a failure another rank may still wait in a collective: exit without the handshake
        close_process_group()
    return code


if __name__ == "__main__":
    sys.exit(main())
