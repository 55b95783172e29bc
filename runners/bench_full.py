"""`make bench-full`: the harness at FineVidBench's size, each figure against a baseline of the same run.

    python -m runners.bench_full [--videos 960] [--submissions 200] [--out bench.json]

1. a full-size synthetic corpus (320x240, 5-15 s clips; generated on demand into the cache, reused
   by later runs, never committed) built into a set of FineVidBench's size (the builder against the
   floor of decoding every video's frame pool once);
2. the zero-cost model through lmms-eval, in a fresh process: wall time against the decode floor
   (each video's union of frames decoded once, nothing else), decoder opens per video, peak RSS;
3. the same under `accelerate launch --num_processes 2`: the same answers, the speed-up, and the
   cores each run keeps busy (CPU seconds over wall seconds), which bound what a split can give;
4. the leaderboard from N full-size submissions, then rebuilt after one new submission.

Writes the `full` object and `decodes_per_video` into bench.json (keeping what `make bench` wrote).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from finevidbench.files import read_json_object, write_json
from finevidbench.paths import cache_dir
from runners.suite import suite_figures, suite_line

ROOT = Path(__file__).resolve().parents[1]
SIZE = (320, 240, 5.0, 15.0)
"""Width, height, shortest and longest clip (seconds) of the full-size corpus."""


def corpus(videos: int, seed: int = 0) -> tuple[Path, float | None]:
    """The full-size corpus folder (synthesised now unless a previous run left it) and the seconds it took."""
    from finevidbench.corpus.synth import Scale, synthesize

    folder = cache_dir() / f"bench-full-{videos}-{seed}"
    if (folder / "labels.csv").is_file():
        return folder, None
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    started = time.perf_counter()
    workers = os.cpu_count() or 1  # None where the count cannot be known
    synthesize(staging, videos, seed, progress=sys.stderr.isatty(), scale=Scale.sized(*SIZE), workers=workers)
    seconds = time.perf_counter() - started
    staging.rename(folder)
    return folder, seconds


def build_figures(folder: Path, out: Path, workers: int) -> dict[str, Any]:
    """The builder with one worker and with `workers`, against its decode floor (each 32-frame pool decoded once).

    Both builds must write the same bytes; the floor is one process decoding, as one worker does.
    """
    from finevidbench.builder import BuildConfig, build, find_videos
    from finevidbench.video import FramePolicy, load_frames, probe

    seconds = {}
    for count in sorted({1, workers}):
        started = time.perf_counter()
        manifest = build(
            folder / "videos",
            out / f"w{count}",
            folder / "labels.csv",
            BuildConfig(workers=count),
            progress=sys.stderr.isatty(),
        )
        seconds[count] = time.perf_counter() - started
    same = all(
        (out / f"w{workers}" / name).read_bytes() == (out / "w1" / name).read_bytes()
        for name in ("questions.jsonl", "manifest.json")
    )
    started = time.perf_counter()
    for path in find_videos(folder / "videos"):
        load_frames(path, FramePolicy(num_frames=32, mode="segment").sample(probe(path)).indices, cache=None)
    floor = time.perf_counter() - started
    return {
        "videos": manifest["n_videos"],
        "questions": manifest["n_questions"],
        "build_s": seconds[1],
        "build_workers": workers,
        "build_parallel_s": seconds[workers],
        "build_parallel_same_files": same,
        "build_floor_s": floor,
    }


def worker(name: str, data: Path, out: Path) -> dict[str, Any]:
    """One measurement in a fresh process (imports before the clock): `eval` or `floor`."""
    import resource

    import lmms_eval.evaluator  # noqa: F401
    import lmms_eval.tasks  # noqa: F401

    from runners.bench import count_decodes, decode_floor

    counts = count_decodes()
    started, cpu = time.perf_counter(), time.process_time()
    if name == "eval":
        if evaluate_zero_cost(data, out) != 0:
            raise RuntimeError("the zero-cost evaluation failed")
        seconds = time.perf_counter() - started
    else:
        seconds = decode_floor(data)["seconds"]  # the decoding alone, question-set loading excluded
    cpu = time.process_time() - cpu  # every thread of the process: the decoder's own threads too
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    return {"seconds": seconds, "cpu_s": cpu, "decoder_opens": counts["calls"], "peak_rss_mb": peak_mb}


def evaluate_zero_cost(data: Path, out: Path) -> int:
    """`make eval` of the zero-cost model on `data` into `out`; its exit code.

    The model is the bench's, not the product's (model_adapters/manifests.py lists models whose scores
    mean something), so it is registered with lmms-eval in this process first.
    """
    from model_adapters.testing.zero_cost import register as register_zero_cost
    from runners.evaluate import main as evaluate

    return evaluate(["--model", register_zero_cost(), "--data", str(data), "--out", str(out)])


def _run(command: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """The finished command, its wall time and the CPU seconds of its processes (every child, every thread)."""
    import resource

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    started, cpu = time.perf_counter(), children_cpu()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])} ... failed:\n{result.stderr[-3000:]}")
    return result, time.perf_counter() - started, children_cpu() - cpu


def eval_figures(data: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """Zero-cost model in one process and in two (accelerate), and the decode floor."""
    figures = {}
    for name in ("eval", "floor"):
        command = [sys.executable, "-m", "runners.bench_full", "--worker", name]
        result, _, _ = _run([*command, "--data", str(data), "--run", str(work / name)], env)
        figures[name] = json.loads(result.stdout.strip().splitlines()[-1])
    evaluate = ["-m", "runners.bench_full", "--worker", "evaluate", "--data", str(data)]  # make eval, zero-cost model
    _, one, one_cpu = _run([sys.executable, *evaluate, "--run", str(work / "one")], env)
    launch = ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    launch += ["--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29512"]
    _, two, two_cpu = _run(
        [sys.executable, *launch, *evaluate, "--run", str(work / "two")], {**env, "ACCELERATE_USE_CPU": "1"}
    )
    same = (work / "one" / "samples.jsonl").read_bytes() == (work / "two" / "samples.jsonl").read_bytes()
    return {
        **figures,
        "one_process_wall_s": one,
        "one_process_cpu_s": one_cpu,
        "two_process_wall_s": two,
        "two_process_cpu_s": two_cpu,
        "two_process_same_answers": same,
    }


def leaderboard_figures(run: Path, data: Path, work: Path, submissions: int) -> dict[str, Any]:
    """The board from `submissions` full-size submissions, then rebuilt after one more."""
    import numpy as np

    from leaderboard.build import build_site
    from leaderboard.submit import metadata_template

    board = work / "submissions"
    lines = (run / "samples.jsonl").read_text().splitlines()
    meta = metadata_template(json.loads((run / "results.json").read_text()))
    rng = np.random.default_rng(0)

    def add(index: int) -> None:
        folder = board / f"model-{index:03d}"
        folder.mkdir(parents=True)
        entry = {**meta, "display_name": f"Model {index:03d}", "submitted_by": "bench"}
        entry["model"] = {**meta["model"], "hub_id": f"org/model-{index:03d}", "revision": "0" * 40}
        (folder / "submission.json").write_text(json.dumps(entry))
        shutil.copy2(run / "results.json", folder / "results.json")
        order = rng.permutation(len(lines))  # the same responses in another order: the claims stay true
        (folder / "samples.jsonl").write_text("\n".join(lines[j] for j in order) + "\n")

    for index in range(submissions):
        add(index)
    started = time.perf_counter()
    _, data_full = build_site(board, work / "site", [str(data)])
    full = time.perf_counter() - started
    add(submissions)
    started = time.perf_counter()
    _, data_more = build_site(board, work / "site", [str(data)])
    incremental = time.perf_counter() - started
    return {
        "submissions": submissions,
        "leaderboard_full_s": full,
        "leaderboard_incremental_s": incremental,
        "ranked": [len(data_full["entries"]), len(data_more["entries"])],
    }


def run_all(out: Path, videos: int, submissions: int, suite: bool = True) -> dict[str, Any]:
    """Every measurement; merges the `full` object into bench.json and returns it."""
    work = cache_dir() / "bench-full-work"
    shutil.rmtree(work, ignore_errors=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(work / "hf")}
    started = time.perf_counter()
    folder, synth_s = corpus(videos)
    built = build_figures(folder, work / "set", os.cpu_count() or 1)
    data = work / "set" / "w1"
    evaluated = eval_figures(data, work, env)
    board = leaderboard_figures(work / "eval", data, work, submissions)
    full = summarise(built, evaluated, board, synth_s, time.perf_counter() - started)
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    record = read_json_object(out, "bench") if out.is_file() else {"machine": machine}
    record.update(full=full, decodes_per_video=full["decodes_per_video"])
    if suite:
        record["suite"] = suite_figures()
        print(suite_line(record["suite"]))
    write_json(out, record, "bench")
    shutil.rmtree(work, ignore_errors=True)
    return full


def summarise(
    built: dict[str, Any], evaluated: dict[str, Any], board: dict[str, Any], synth_s: float | None, total_s: float
) -> dict[str, Any]:
    """The figures bench.json reports, ratios computed from measurements of this run."""
    one, floor = evaluated["eval"], evaluated["floor"]
    cores = os.cpu_count() or 1
    return {
        "videos": built["videos"],
        "questions": built["questions"],
        "synth_s": synth_s,
        "build_s": built["build_s"],
        "build_floor_s": built["build_floor_s"],
        "build_vs_floor": built["build_s"] / built["build_floor_s"],
        "build_workers": built["build_workers"],
        "build_parallel_s": built["build_parallel_s"],
        "build_parallel_speedup": built["build_s"] / built["build_parallel_s"],
        "build_parallel_same_files": built["build_parallel_same_files"],
        "eval_s": one["seconds"],
        "eval_cpu_s": one["cpu_s"],
        "decode_floor_s": floor["seconds"],
        "decode_floor_cpu_s": floor["cpu_s"],
        # cores the floor keeps busy: decord decodes in threads of its own, so one process may use them all
        "decode_floor_cores_busy": floor["cpu_s"] / floor["seconds"],
        "overhead_vs_floor": one["seconds"] / floor["seconds"],
        "decodes_per_video": one["decoder_opens"] / built["videos"],
        "peak_rss_mb": one["peak_rss_mb"],
        "one_process_wall_s": evaluated["one_process_wall_s"],
        "one_process_cores_busy": evaluated["one_process_cpu_s"] / evaluated["one_process_wall_s"],
        "two_process_wall_s": evaluated["two_process_wall_s"],
        "two_process_cores_busy": evaluated["two_process_cpu_s"] / evaluated["two_process_wall_s"],
        "two_process_speedup": evaluated["one_process_wall_s"] / evaluated["two_process_wall_s"],
        # the most any split of the work could give on these cores: the cores left idle by one process
        "two_process_speedup_bound": cores / max(1.0, evaluated["one_process_cpu_s"] / evaluated["one_process_wall_s"]),
        "two_process_same_answers": evaluated["two_process_same_answers"],
        "leaderboard_submissions": board["submissions"],
        "leaderboard_full_s": board["leaderboard_full_s"],
        "leaderboard_incremental_s": board["leaderboard_incremental_s"],
        "total_s": total_s,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the full-size benchmark (or one worker) and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m runners.bench_full", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench.json")
    parser.add_argument("--videos", type=int, default=960, help="clips in the corpus (960: about 21,000 questions)")
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--no-suite", action="store_true", help="skip timing the test suite (make test)")
    parser.add_argument("--worker", choices=("eval", "floor", "evaluate"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "evaluate":  # the bare evaluation, timed from outside (one process, or two under accelerate)
        return evaluate_zero_cost(Path(args.data), Path(args.run))
    if args.worker:
        print(json.dumps(worker(args.worker, Path(args.data), Path(args.run))))
        return 0
    full = run_all(Path(args.out), args.videos, args.submissions, suite=not args.no_suite)
    for name, value in full.items():
        print(f"{name:<28} {value if isinstance(value, bool | None) else round(value, 3)}")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
