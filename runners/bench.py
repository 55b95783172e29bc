"""`make bench`: measured ratios, each against a baseline measured in the same run.

    python -m runners.bench [--out bench.json] [--submissions 200]

1. end to end on the mini set: our `fvb_qwen2_5_vl` against lmms-eval's built-in `qwen2_5_vl`, same tiny
   random weights, same questions; wall time of the evaluation and decoder calls per video;
2. harness overhead: a zero-cost model (decodes every input, answers "A") through the whole harness,
   against the floor of decoding every video once per frame policy;
3. the builder's questions per second, against the decode floor of its frame pools;
4. the leaderboard's build time for N generated submissions;
5. resume: restarting a finished run of (1), against that run;
6. imports: a fresh interpreter importing what `make eval` needs, its own line (the figures above exclude it);
7. the serving engine: `fvb_qwen2_5_vl` with `backend=vllm` against `backend=transformers` on the same tiny
   weights (a checkpoint both serve), the engine's start (vLLM's import included) on a line of its own, then
   questions per second, vLLM's cache hit rates, and whether both answered alike; skipped, with the reason,
   where the serving engine's environment is absent (`make vllm-venv`);
8. the test suite: `make test`'s wall and CPU time and its ten slowest tests (runners/suite.py; `--no-suite`
   skips it).

Each end-to-end figure runs in a fresh subprocess (`worker`), so imports and caches do not leak between
the measurement and its baseline; the timings exclude interpreter start-up and imports.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from finevidbench.files import read_json_object, write_json
from finevidbench.results import read_predictions, read_results
from runners.suite import suite_figures, suite_line

WORKERS = ("ours", "builtin", "zero_cost", "decode_floor", "random", "resume", "served_transformers", "served_vllm")
GEN = "max_new_tokens=8"
"""Both adapters generate at most 8 tokens: a random tiny model never stops by itself, and the
comparison is about everything around the model, which generation length would only dilute."""


def count_decodes() -> dict[str, int]:
    """Count every video decoder this process opens: decord readers, ours and the built-in adapters' alike.

    The video layer decodes with decord by default, one reader per decode, so both paths are counted
    the same way.
    """
    import decord

    counts = {"calls": 0}

    class CountingReader(decord.VideoReader):  # the base is the reader as it is now, before the swap below
        def __init__(self, uri: str, *args: Any, **kwargs: Any) -> None:
            counts["calls"] += 1
            super().__init__(uri, *args, **kwargs)

    decord.VideoReader = CountingReader
    return counts


def _evaluate(model: str, model_args: str, out: Path, limit: int | None = None) -> dict[str, float]:
    from runners.evaluate import main as evaluate

    counts = count_decodes()
    started = time.perf_counter()
    command = ["--model", model, "--model_args", model_args, "--data", "mini", "--out", str(out), "--gen_kwargs", GEN]
    command += ["--limit", str(limit)] if limit else []
    code = evaluate(command)
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"evaluation of {model} failed with exit code {code}")
    return {"seconds": seconds, "decoder_calls": counts["calls"]}


def _builtin(tiny: str, out: Path) -> dict[str, float]:
    """lmms-eval's own qwen2_5_vl model over our tasks (its own video reading and sampling)."""
    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.tasks import TaskManager

    from finevidbench.paths import tasks_dir

    counts = count_decodes()
    started = time.perf_counter()
    results = simple_evaluate(
        model="qwen2_5_vl",
        model_args=f"pretrained={tiny},max_num_frames=24,device_map=cpu",
        tasks=["finevidbench"],
        task_manager=TaskManager(
            "WARNING", include_path=str(tasks_dir()), include_defaults=False, model_name="qwen2_5_vl"
        ),
        batch_size=1,
        device="cpu",
        log_samples=True,
        gen_kwargs=GEN,
    )
    seconds = time.perf_counter() - started
    answered = sum(len(v) for v in results["samples"].values())
    return {"seconds": seconds, "decoder_calls": counts["calls"], "answered": answered}


def decode_floor(source: str | Path) -> dict[str, float]:
    """Decode, once per video, the union of every frame the run shows of it, and nothing else."""
    from finevidbench.dataset import load_question_set
    from finevidbench.protocol import DEFAULT_SCENE_POLICY
    from finevidbench.video import FramePolicy, load_frames, probe

    qs = load_question_set(source)
    policy = FramePolicy.parse(DEFAULT_SCENE_POLICY)
    needed: dict[str, set[int]] = {}
    for q in qs.questions:
        path = str(qs.video_path(q))
        frames = policy.for_scene(q.speed, q.window).sample(probe(path)).indices if q.frames is None else q.frames
        needed.setdefault(path, set()).update(frames)
    started = time.perf_counter()
    for path, wanted in needed.items():
        load_frames(path, sorted(wanted), cache=None)
    return {"seconds": time.perf_counter() - started, "videos": len(needed)}


def worker(name: str, tiny: str, out: Path, limit: int | None = None) -> dict[str, float]:
    """One measurement, run in its own process (imports done before the clock starts)."""
    import lmms_eval.evaluator  # noqa: F401
    import lmms_eval.tasks  # noqa: F401
    import transformers  # noqa: F401

    from finevidbench.dataset import ensure_mini

    ensure_mini(progress=False)
    if name == "ours":
        return _evaluate("fvb_qwen2_5_vl", f"pretrained={tiny},batch_size=1", out)
    if name == "builtin":
        return _builtin(tiny, out)
    if name == "zero_cost":  # a bench-only model: registered here, never in the product's list
        from model_adapters.testing.zero_cost import register as register_zero_cost

        return _evaluate(register_zero_cost(), "", out)
    if name == "decode_floor":
        return decode_floor("mini")
    if name == "random":
        return _evaluate("random", "", out)
    if name == "resume":  # the same command as "ours", in the folder of a finished run
        return _evaluate("fvb_qwen2_5_vl", f"pretrained={tiny},batch_size=1", out)
    if name == "served_transformers":
        return _evaluate("fvb_qwen2_5_vl", f"pretrained={tiny},batch_size=1", out, limit)
    if name == "served_vllm":
        engine = os.environ.get("FINEVIDBENCH_BENCH_ENGINE_ARGS", "")  # e.g. enforce_eager=True, for a quick run
        args = ",".join(filter(None, [f"pretrained={tiny},backend=vllm,batch_size=64", engine]))
        figure = _evaluate("fvb_qwen2_5_vl", args, out, limit)
        engine = read_results(out / "results.json")["provenance"]["engine"]
        return figure | {
            k: engine[k] for k in ("start_seconds", "prompts", "prefix_cache_hit_rate", "mm_cache_hit_rate")
        }
    raise ValueError(f"unknown worker {name!r}")


Measure = Callable[[str, str, Path, dict[str, str], int | None], dict[str, float]]
"""How a worker is run: (name, checkpoint, out, environment, limit) to its figures."""


def _run_worker(name: str, tiny: str, out: Path, env: dict[str, str], limit: int | None = None) -> dict[str, float]:
    command = [sys.executable, "-m", "runners.bench", "--worker", name, "--tiny", tiny, "--run", str(out)]
    command += ["--limit", str(limit)] if limit else []
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"bench worker {name} failed:\n{result.stderr[-3000:]}")
    figure: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])  # what `worker` printed
    return figure


IMPORTS = (
    "import runners.imports as deferral; deferral.defer(); "
    "import runners.evaluate, lmms_eval.evaluator, lmms_eval.tasks, lmms_eval.models, transformers"
)
"""What `make eval` imports before its first question: measured as a line of its own, in a fresh interpreter."""


def _import_time(env: dict[str, str]) -> dict[str, float]:
    """Wall time of a fresh interpreter importing what `make eval` needs (start-up included)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", IMPORTS], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"importing the harness failed:\n{result.stderr[-3000:]}")
    return {"seconds": time.perf_counter() - started}


def _builder_rate(work: Path) -> dict[str, float]:
    from finevidbench.builder import BuildConfig, build, find_videos
    from finevidbench.corpus.synth import synthesize
    from finevidbench.video import FramePolicy, load_frames, probe

    labels = synthesize(work / "corpus", videos=48, seed=0, progress=False)
    started = time.perf_counter()
    manifest = build(work / "corpus" / "videos", work / "built", labels=labels, config=BuildConfig(), progress=False)
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for path in find_videos(work / "corpus" / "videos"):
        load_frames(path, FramePolicy(num_frames=32, mode="segment").sample(probe(path)).indices, cache=None)
    floor = time.perf_counter() - started
    return {"questions": manifest["n_questions"], "seconds": build_seconds, "decode_floor_seconds": floor}


def _leaderboard_time(work: Path, submissions: int) -> dict[str, float]:
    import numpy as np

    from leaderboard.build import build_site
    from leaderboard.submit import SUBMISSIONS

    board = work / "submissions"
    board.mkdir(parents=True)
    seed = SUBMISSIONS / "random-baseline"
    lines = (seed / "samples.jsonl").read_text().splitlines()
    rng = np.random.default_rng(0)
    for i in range(submissions):
        folder = board / f"model-{i:03d}"
        folder.mkdir()
        meta = json.loads((seed / "submission.json").read_text())
        meta.update(display_name=f"Model {i:03d}", baseline=False)
        meta["model"].update(hub_id=f"org/model-{i:03d}", revision="0" * 40)
        (folder / "submission.json").write_text(json.dumps(meta))
        shutil.copy2(seed / "results.json", folder / "results.json")
        order = rng.permutation(len(lines))  # same responses, so the claims stay true
        (folder / "samples.jsonl").write_text("\n".join(lines[j] for j in order) + "\n")
    started = time.perf_counter()
    _, data = build_site(board, work / "site", ["mini"])
    return {"submissions": submissions, "seconds": time.perf_counter() - started, "ranked": len(data["entries"])}


def _serving(
    work: Path, env: dict[str, str], limit: int | None = None, measure: Measure | None = None
) -> dict[str, Any]:
    """The vLLM backend against the transformers backend, same weights, same questions (mini, all of it).

    Whether the two answered every question alike is part of the record: a speed-up is worth nothing
    without it. `measure` runs each worker (default: in its own process, `_run_worker`).
    """
    from model_adapters.engine import engine_python
    from model_adapters.loading import AdapterError
    from model_adapters.testing.hub import build_engine_checkpoint

    try:
        engine_python()
    except AdapterError as missing:
        return {"skipped": str(missing)}
    checkpoint = str(build_engine_checkpoint("qwen2_5_vl", work / "checkpoint"))
    cpu = {"VLLM_CPU_KVCACHE_SPACE": "1", **env}  # vLLM on CPU: a 1 GB KV cache serves these prompts
    backends = ("served_transformers", "served_vllm")
    figures = {name: (measure or _run_worker)(name, checkpoint, work / name, cpu, limit) for name in backends}
    vllm, transformers = figures["served_vllm"], figures["served_transformers"]
    answering = vllm["seconds"] - vllm["start_seconds"]
    answers = [read_predictions(work / name / "samples.jsonl") for name in backends]
    return {
        "figures": figures,
        "same_answers": answers[0] == answers[1],
        "engine_start_seconds": vllm["start_seconds"],
        "questions_per_second_transformers": vllm["prompts"] / transformers["seconds"],
        "questions_per_second_vllm": vllm["prompts"] / answering,
        "vllm_speedup_after_start": transformers["seconds"] / answering,
        "prefix_cache_hit_rate": vllm["prefix_cache_hit_rate"],
        "mm_cache_hit_rate": vllm["mm_cache_hit_rate"],
    }


def run_all(out: Path, submissions: int, suite: bool = True) -> dict[str, Any]:
    """Every measurement; returns the bench record."""
    from model_adapters.testing.tiny import build_tiny

    work = Path(tempfile.mkdtemp(prefix="finevidbench-bench-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(work / "hf")}
    tiny = str(build_tiny("qwen2_5_vl", work / "tiny"))
    figures: dict[str, dict[str, float]] = {}
    for name in ("ours", "builtin", "zero_cost", "decode_floor", "random"):
        figures[name] = _run_worker(name, tiny, work / name, env)
        print(f"  measured {name}: {figures[name]['seconds']:.2f} s", file=sys.stderr)
    figures["resume"] = _run_worker("resume", tiny, work / "ours", env)  # same folder: every answer is stored
    figures["imports"] = _import_time(env)
    figures["builder"] = _builder_rate(work / "builder")
    figures["leaderboard"] = _leaderboard_time(work / "leaderboard", submissions)
    videos = figures["decode_floor"]["videos"]
    record: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "decodes_per_video": figures["zero_cost"]["decoder_calls"] / videos,
        "figures": figures,
        "ratios": {
            "end_to_end_speedup_vs_lmms_eval_builtin": figures["builtin"]["seconds"] / figures["ours"]["seconds"],
            "decoder_calls_per_video_ours": figures["ours"]["decoder_calls"] / videos,
            "decoder_calls_per_video_builtin": figures["builtin"]["decoder_calls"] / videos,
            "harness_overhead_vs_decode_floor": figures["zero_cost"]["seconds"] / figures["decode_floor"]["seconds"],
            "builder_time_vs_its_decode_floor": figures["builder"]["seconds"]
            / figures["builder"]["decode_floor_seconds"],
            "builder_questions_per_second": figures["builder"]["questions"] / figures["builder"]["seconds"],
            "resume_time_vs_first_run": figures["resume"]["seconds"] / figures["ours"]["seconds"],
            "harness_fixed_cost_seconds": figures["random"]["seconds"],
            "import_seconds": figures["imports"]["seconds"],
            "leaderboard_seconds_for_submissions": figures["leaderboard"]["seconds"],
        },
    }
    record["serving"] = _serving(work / "serving", env)
    if suite:
        record["suite"] = suite_figures()
    if out.is_file() and "full" in (previous := read_json_object(out, "bench")):  # what make bench-full measured stays
        record.update(full=previous["full"])
    write_json(out, record, "bench")
    shutil.rmtree(work, ignore_errors=True)
    return record


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or one worker) and print the table."""
    parser = argparse.ArgumentParser(prog="python -m runners.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench.json")
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--no-suite", action="store_true", help="skip timing the test suite (make test)")
    parser.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    parser.add_argument("--tiny", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        figure = worker(args.worker, args.tiny, Path(args.run), args.limit)
        print(json.dumps(figure))
        return 0
    record = run_all(Path(args.out), args.submissions, suite=not args.no_suite)
    for name, value in record["ratios"].items():
        print(f"{name:<45} {value:>10.3f}")
    serving = record["serving"]
    for name, value in serving.items():
        if name != "figures":
            print(f"serving: {name:<36} {value:>10.3f}" if isinstance(value, float) else f"serving: {name}: {value}")
    if "suite" in record:
        print(suite_line(record["suite"]))
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
