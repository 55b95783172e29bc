"""`make eval`: evaluate a model on FineVidBench through lmms-eval, then write our results files.

    python -m runners.evaluate --model random [--model_args k=v,...] [--data mini]
        [--limit N] [--out runs/NAME] [--tasks finevidbench|finevidbench_novideo|...]

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
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from finevidbench import taskdocs
from finevidbench.dataset import QuestionSetError, load_question_set
from finevidbench.model_args import format_model_args, merge_model_args
from finevidbench.paths import tasks_dir
from finevidbench.results import ModelInfo, build_results, write_results
from finevidbench.scoring.score import SampleResult, format_table
from finevidbench.store import StoreError
from finevidbench.taskgen import runnable_tasks

if TYPE_CHECKING:  # lmms-eval is imported only when a run starts (untyped: Any to mypy)
    from lmms_eval.api.model import lmms


class EvaluationError(Exception):
    """lmms-eval finished without the answers we asked for."""


def our_models() -> list[str]:
    """The model names this package registers with lmms-eval (model_adapters.manifests), benchmark helpers left out."""
    # lmms-eval's registry first: it imports our manifests through its entry point, whole. The other way round,
    # its registry's init finds this module half-imported and logs a circular-import WARNING on every run.
    import lmms_eval.models  # noqa: F401

    from model_adapters.manifests import MANIFESTS

    return [m.model_id for m in MANIFESTS if not m.model_id.startswith("bench_")]


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
    parser.add_argument("--tasks", default="finevidbench", help="a FineVidBench group or task")
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


def run_lmms_eval(
    model: lmms, model_name: str, tasks: str, limit: float | None, gen_kwargs: str | None = None
) -> dict[str, Any] | None:
    """lmms-eval's own evaluator over our task folder; returns its in-memory results (None on ranks other than 0)."""
    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.tasks import TaskManager

    # only our folder: indexing lmms-eval's ~2,000 built-in task YAMLs costs seconds per run
    manager = TaskManager("WARNING", include_path=str(tasks_dir()), include_defaults=False, model_name=model_name)
    # Under torchrun on CPU, accelerate's state stays single-process; lmms-eval's torchrun path
    # initialises a gloo group itself. `accelerate launch` sets ACCELERATE_* variables.
    launched_by_accelerate = any(k.startswith("ACCELERATE_") for k in os.environ)
    backend = "torchrun" if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not launched_by_accelerate else "accelerate"
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
    """Our SampleResults from lmms-eval's per-sample records."""
    samples = []
    for records in results["samples"].values():
        for record in records:
            if not isinstance(record.get("acc"), dict):
                raise EvaluationError(f"an lmms-eval sample has no FineVidBench score: {sorted(record)}")
            samples.append(SampleResult.from_dict(record["acc"]))
    return sorted(samples, key=lambda s: s.question_id)  # the same file whatever the number of processes


def evaluate(args: argparse.Namespace) -> int:
    """Run one evaluation end to end; returns the exit code."""
    os.environ[taskdocs.DATA_ENV] = args.data
    try:
        qs = load_question_set(args.data)
    except QuestionSetError as exc:
        print(f"make eval: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or Path("runs") / args.model)
    started = time.time()
    try:
        model = make_model(args.model, args.model_args, out / "answers.sqlite", args.device)
    except (ValueError, TypeError) as exc:
        print(f"make eval: {exc}", file=sys.stderr)
        return 2
    tasks, left_out = runnable_tasks(args.tasks, {q.type for q in qs.questions})
    if left_out:
        print(f"make eval: the set has no questions for {', '.join(left_out)}; evaluating the others", file=sys.stderr)
    if not tasks:
        print(f"make eval: the set {args.data} has no questions for --tasks {args.tasks}", file=sys.stderr)
        return 2
    try:
        results = run_lmms_eval(model, args.model, ",".join(tasks), args.limit, args.gen_kwargs)
        if int(os.environ.get("RANK", "0")) != 0:
            return 0  # data-parallel run: rank 0 gathers every sample and writes the files
        samples = collect_samples(cast("dict[str, Any]", results))  # rank 0: run_lmms_eval raised unless it had samples
    except (EvaluationError, StoreError) as exc:
        print(f"make eval: the evaluation failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - any failure inside lmms-eval or the model
        traceback.print_exc()
        print(
            f"make eval: the evaluation failed: {type(exc).__name__}: {exc} "
            f"(answers so far are kept in {out / 'answers.sqlite'}; run the same command again to resume)",
            file=sys.stderr,
        )
        return 1
    expected = len(qs.questions)
    if args.limit is None and args.tasks == "finevidbench" and len(samples) != expected:
        print(f"make eval: lmms-eval answered {len(samples)} of {expected} questions", file=sys.stderr)
        return 1
    record_inputs = getattr(model, "inputs_record", None)
    info = ModelInfo(name=args.model, args=args.model_args, revision=getattr(model, "revision", None),
                     adapter=getattr(model, "adapter_info", None),
                     inputs=record_inputs() if record_inputs else None)  # fmt: skip
    policy = getattr(model, "frame_policy", None)
    run_info = {"seeds": {"lmms_eval": [0, 1234, 1234, 1234]}, "device": args.device,
                "wall_time_s": round(time.time() - started, 3)}  # fmt: skip
    record = build_results(qs, samples, info, policy.to_dict() if policy else None, run_info, tasks=args.tasks)
    try:
        path = write_results(out, record, samples)
    except OSError as exc:
        fix = "free disk space or pass OUT= a writable folder; the answers stay in answers.sqlite, a rerun reuses them"
        print(f"make eval: cannot write the results into {out} ({exc.strerror}) (fix: {fix})", file=sys.stderr)
        return 1
    print(format_table(record["scores"]))
    computed, reused = getattr(model, "computed", len(samples)), getattr(model, "reused", 0)
    print(f"answers: {computed} computed, {reused} from the store")
    print(f"results: {path}")
    return 0


def close_process_group() -> None:
    """Shut a data-parallel run's process group down while the interpreter is still whole.

    Left to interpreter exit, gloo's worker threads are destroyed while joinable and the process
    aborts ("terminate called without an active exception", SIGABRT), now and then, after every
    answer is written: a finished run would end with a failed exit code.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `make eval`."""
    code = evaluate(parse_args(argv))
    if code == 0:  # after a failure another rank may still wait in a collective: exit without the handshake
        close_process_group()
    return code


if __name__ == "__main__":
    sys.exit(main())
