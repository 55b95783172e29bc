"""The `finevidbench` command line: one subcommand per verb, each a thin call into the package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

Handler = Callable[[argparse.Namespace], int]
"""What a subcommand runs with the parsed arguments; returns the exit status."""
Setup = Callable[[argparse.ArgumentParser], Handler]
"""What a subcommand registers: adds its arguments to its parser, returns its handler."""
_COMMANDS: dict[str, Setup] = {}


def command(name: str) -> Callable[[Setup], Setup]:
    """Register `fn(parser) -> handler` as the subcommand `name`."""

    def register(fn: Setup) -> Setup:
        _COMMANDS[name] = fn
        return fn

    return register


@command("probe")
def _probe(parser: argparse.ArgumentParser) -> Handler:
    """Print one JSON object per video: frame count, fps, duration, size, codec."""
    parser.add_argument("videos", nargs="+", metavar="VIDEO")

    def run(args: argparse.Namespace) -> int:
        from finevidbench.video import VideoError, probe

        failed = 0
        for path in args.videos:
            try:
                print(probe(path).to_json(), flush=True)
            except VideoError as exc:
                print(f"finevidbench probe: {exc}", file=sys.stderr)
                failed += 1
        return 1 if failed else 0

    return run


@command("synth")
def _synth(parser: argparse.ArgumentParser) -> Handler:
    """Render a synthetic corpus with exact labels (videos/, labels.csv, states.jsonl)."""
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    parser.add_argument("--videos", type=int, default=48, metavar="N", help="clips to render (default 48)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    parser.add_argument("--width", type=int, help="frame width; with --height, every clip's size")
    parser.add_argument("--height", type=int, help="frame height (default: the mini set's 128-160 px clips)")
    parser.add_argument("--min-seconds", type=float, default=5.0, help="shortest clip with --width/--height")
    parser.add_argument("--max-seconds", type=float, default=15.0, help="longest clip with --width/--height")
    parser.add_argument("--workers", type=int, default=1, help="processes rendering clips (same files for any number)")

    def run(args: argparse.Namespace) -> int:
        if args.videos < 1:
            return _fail("synth", f"--videos must be at least 1, got {args.videos}")
        if (args.width is None) != (args.height is None):
            return _fail("synth", "--width and --height go together")
        from finevidbench.corpus.synth import MINI_SCALE, Scale, synthesize

        try:
            scale = (
                MINI_SCALE
                if args.width is None
                else Scale.sized(args.width, args.height, args.min_seconds, args.max_seconds)
            )
            labels = synthesize(args.out, args.videos, args.seed, sys.stderr.isatty(), scale, max(1, args.workers))
        except ValueError as exc:
            return _fail("synth", str(exc))
        except OSError as exc:
            return _fail("synth", f"cannot write {args.out} ({exc})", code=1)
        print(labels, flush=True)
        return 0

    return run


@command("build")
def _build(parser: argparse.ArgumentParser) -> Handler:
    """Build a question set from a folder of videos (and optional labels); what is dropped goes into curation.json."""
    from finevidbench.corpus.labels import FORMATS

    parser.add_argument("--videos", required=True, help="folder of video files (ids are file stems)")
    parser.add_argument(
        "--labels",
        help="labels: our CSV (video, action[, effect]), a Something-Something V2 labels JSON, a Kinetics CSV, "
        "or 'folders' (UCF101/HMDB51: one folder per class); the format is detected from the content",
    )
    parser.add_argument("--label-format", choices=FORMATS, help="force the labels' format instead of detecting it")
    parser.add_argument(
        "--split", help="Kinetics: a split column value; folders: a UCF101 list or HMDB51 split glob[:TAG]"
    )
    parser.add_argument("--max-videos", type=int, help="keep at most N videos, classes in turn (deterministic)")
    parser.add_argument("--per-class", type=int, help="keep at most K videos per class (deterministic)")
    parser.add_argument("--out", required=True, help="folder to write questions.jsonl, manifest.json, curation.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speeds", default="0.5,1,2", help="playback speeds of scene questions")
    parser.add_argument("--workers", type=int, default=1, help="processes decoding videos (same files for any number)")

    def run(args: argparse.Namespace) -> int:
        from finevidbench.builder import BuildConfig, build
        from finevidbench.corpus.curate import CurationConfig
        from finevidbench.corpus.labels import read_label_set
        from finevidbench.video import VideoError

        try:
            speeds = tuple(float(s) for s in args.speeds.split(","))
        except ValueError:
            return _fail("build", f"--speeds {args.speeds!r}: expected numbers separated by commas")
        if any(n is not None and n < 1 for n in (args.max_videos, args.per_class, args.workers)):
            return _fail("build", "--max-videos, --per-class and --workers must be at least 1")
        curation = CurationConfig(max_videos=args.max_videos, per_class=args.per_class)
        try:
            labels = None
            if args.labels or args.label_format:
                labels = read_label_set(args.labels or "folders", Path(args.videos), args.label_format, args.split)
            elif args.split:
                return _fail("build", "--split chooses labelled videos: pass --labels too")
            config = BuildConfig(seed=args.seed, speeds=speeds, curation=curation, workers=args.workers)
            manifest = build(args.videos, args.out, labels, config)
        except (VideoError, FileNotFoundError, ValueError) as exc:
            return _fail("build", str(exc))
        print(f"{manifest['curation']} (details: {Path(args.out) / 'curation.json'})")
        if manifest.get("too_short"):
            shown = ", ".join(f"{name} {n}" for name, n in manifest["too_short"].items())
            print(f"videos too short for a type, which has no items of them (videos per type): {shown}")
        print(f"{manifest['n_questions']} questions over {manifest['n_videos']} videos -> {args.out}")
        print(f"protocol {manifest['protocol_version']}, dataset {manifest['dataset_hash'][:16]}")
        return 0

    return run


@command("validate")
def _validate(parser: argparse.ArgumentParser) -> Handler:
    """Check a question set's validity rules; print answer distributions; non-zero exit on a violation."""
    parser.add_argument("questions", metavar="SOURCE", help="a built folder, 'mini', or hf://ORG/NAME@REVISION")
    parser.add_argument(
        "--adversaries",
        action="store_true",
        help="also answer every question without pixels (text_only, metadata_only); fail when one beats chance",
    )
    parser.add_argument(
        "--policy",
        metavar="SPEC",
        help="with --adversaries or --oracle: the frame policy whose frames they read, as a model's "
        "MODEL_ARGS would set it (e.g. num_frames=32; default: the protocol's scene policy)",
    )
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="also answer every self-supervised type with the pixel oracle (classical vision on the shown frames); "
        "fail when a type falls below its floor",
    )
    parser.add_argument(
        "--size",
        metavar="SIZE",
        help="with --oracle: the size frames reach the model at, a family's card (qwen2_5_vl, the default; "
        "llava_onevision, internvl, qwen3_vl), decoded, or a pixel budget",
    )

    def run(args: argparse.Namespace) -> int:
        from finevidbench.dataset import QuestionSetError, load_question_set
        from finevidbench.validate import format_report, validate

        checked = _validate_options(args)
        if isinstance(checked, int):
            return checked
        policy, size = checked
        try:
            qs = load_question_set(args.questions)
        except QuestionSetError as exc:
            return _fail("validate", str(exc))
        report = validate(qs)
        print(format_report(report))
        ok = report.ok
        if args.adversaries:
            from finevidbench.adversaries import format_findings, run_adversaries

            print(f"\nscene frames sampled by the policy {policy}")
            findings = run_adversaries(qs, policy=policy)
            print("\n" + format_findings(findings))
            ok = ok and not any(f.beats_chance for f in findings)
        if args.oracle:
            from finevidbench.oracle import format_oracle, run_oracle

            verdicts = run_oracle(qs, policy, size)
            print("\n" + format_oracle(verdicts, policy, size))
            ok = ok and not any(f.below_floor for f in verdicts)
        return 0 if ok else 1

    return run


def _validate_options(args: argparse.Namespace) -> tuple[str, str] | int:
    """`validate`'s frame policy and oracle size, checked against the options they go with (or an exit status)."""
    from finevidbench.oracle import DEFAULT_SIZE, FrameSize
    from finevidbench.protocol import DEFAULT_SCENE_POLICY
    from finevidbench.video import FramePolicy

    if args.policy and not (args.adversaries or args.oracle):
        return _fail("validate", "--policy only applies with --adversaries or --oracle (fix: add one of them)")
    if args.size and not args.oracle:
        return _fail("validate", "--size only applies with --oracle (fix: add --oracle)")
    try:
        policy = str(FramePolicy.parse(args.policy or DEFAULT_SCENE_POLICY))
    except (ValueError, TypeError) as exc:
        return _fail("validate", f"--policy {args.policy!r}: {exc} (fix: e.g. --policy num_frames=32)")
    try:
        return policy, FrameSize.parse(args.size or DEFAULT_SIZE).name
    except ValueError as exc:
        return _fail("validate", f"--size: {exc}")


@command("protocol")
def _protocol(parser: argparse.ArgumentParser) -> Handler:
    """Print the registry of question types as Markdown (the table in docs/protocol.md)."""
    parser.add_argument("--update", metavar="MARKDOWN", help="rewrite the table between the markers of this file")

    def run(args: argparse.Namespace) -> int:
        from finevidbench.protocol.describe import markdown_table, update_markdown

        if args.update:
            print(f"{args.update}: {'updated' if update_markdown(args.update) else 'already current'}")
        else:
            print(markdown_table())
        return 0

    return run


@command("publish")
def _publish(parser: argparse.ArgumentParser) -> Handler:
    """Write a question set as a folder ready to upload as a Hugging Face dataset (card, table, videos)."""
    parser.add_argument("questions", metavar="SOURCE", help="a built folder, 'mini', or hf://ORG/NAME@REVISION")
    parser.add_argument("--out", required=True, help="a new or empty folder")
    parser.add_argument("--license", help="the card's license id, e.g. other or cc-by-4.0 (required)")
    parser.add_argument("--name", help="the dataset's human-readable name on its card")

    def run(args: argparse.Namespace) -> int:
        from finevidbench.dataset import QuestionSetError
        from finevidbench.publish import PublishError, publish

        try:
            out = publish(args.questions, args.out, args.license, args.name)
        except (PublishError, QuestionSetError) as exc:
            return _fail("publish", str(exc))
        print(f"published to {out}; upload with: huggingface-cli upload ORG/NAME {out} --repo-type dataset")
        return 0

    return run


@command("score")
def _score(parser: argparse.ArgumentParser) -> Handler:
    """Score predictions made anywhere (JSONL of question_id, response) into results files."""
    parser.add_argument("--questions", default="mini", help="'mini', a built folder, or hf://ORG/NAME@REVISION")
    parser.add_argument("--predictions", required=True, help="JSONL with question_id and response per line")
    parser.add_argument("--out", required=True, help="folder for results.json and samples.jsonl")
    parser.add_argument("--model", default="unknown", help="model name recorded in results.json")
    parser.add_argument("--model-args", default="", help="model arguments recorded in results.json")

    def run(args: argparse.Namespace) -> int:
        from finevidbench.dataset import QuestionSetError, load_question_set
        from finevidbench.results import (
            ModelInfo,
            PredictionsError,
            build_results,
            read_predictions,
            score_predictions,
            write_results,
        )
        from finevidbench.scoring.score import format_table

        try:
            qs = load_question_set(args.questions)
            samples, missing = score_predictions(qs, read_predictions(args.predictions))
        except (QuestionSetError, PredictionsError) as exc:
            return _fail("score", str(exc))
        model = ModelInfo(name=args.model, args=args.model_args)
        results = build_results(qs, samples, model, frame_policy=None, n_missing=missing)
        path = write_results(args.out, results, samples)
        print(format_table(results["scores"]))
        if missing:
            print(f"warning: {missing} question(s) had no prediction and count as wrong", file=sys.stderr)
        print(f"results: {path}")
        return 0

    return run


@command("compare")
def _compare(parser: argparse.ArgumentParser) -> Handler:
    """Compare runs of one question set question by question: each against the first, with intervals."""
    parser.add_argument(
        "runs", nargs="+", metavar="RUN", help="run folders written by make eval (the first is the reference)"
    )
    parser.add_argument("--out", default=".", help="folder for comparison.csv and comparison.md (default: here)")

    def run(args: argparse.Namespace) -> int:
        from pathlib import Path

        from finevidbench.files import atomic_write_text
        from finevidbench.results import PredictionsError, read_results, read_samples, run_folder
        from finevidbench.scoring.compare import compare, comparison_frame, comparison_markdown, contrast_name

        if len(args.runs) < 2:
            return _fail("compare", "give at least two run folders (fix: finevidbench compare RUN_A RUN_B)")
        try:
            folders = [run_folder(r) for r in args.runs]
            hashes = {read_results(f / "results.json")["dataset_hash"] for f in folders}
            if len(hashes) > 1:
                return _fail("compare", "the runs answered different question sets (dataset hashes differ)")
            names = [
                f.name if [g.name for g in folders].count(f.name) == 1 else f"{f.name}#{i}"
                for i, f in enumerate(folders)
            ]
            arms = {name: read_samples(folder) for name, folder in zip(names, folders, strict=True)}
            contrasts = [(name, names[0]) for name in names[1:]]
            comparison = compare(arms, contrasts)
        except (PredictionsError, ValueError) as exc:
            return _fail("compare", str(exc))
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "comparison.csv", comparison_frame(comparison).to_csv(index=False))
        markdown = comparison_markdown(comparison, {contrast_name(c): f"{c[0]} − {c[1]}" for c in contrasts})
        atomic_write_text(out / "comparison.md", markdown)
        print(markdown)
        print(f"written: {out / 'comparison.csv'}, {out / 'comparison.md'}")
        return 0

    return run


@command("tasks")
def _tasks(parser: argparse.ArgumentParser) -> Handler:
    """Write the lmms-eval task YAMLs generated from the registry (tasks/finevidbench)."""
    parser.add_argument("--write", metavar="DIR", required=True, help="the task folder, e.g. tasks/finevidbench")

    def run(args: argparse.Namespace) -> int:
        from finevidbench.taskgen import write_tasks

        changed = write_tasks(args.write)
        print(
            f"{args.write}: {len(changed)} file(s) written or removed" if changed else f"{args.write}: already current"
        )
        return 0

    return run


def _fail(command_name: str, message: str, code: int = 2) -> int:
    print(f"finevidbench {command_name}: {message}", file=sys.stderr)
    return code


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one subparser per registered command."""
    parser = argparse.ArgumentParser(prog="finevidbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, setup in _COMMANDS.items():
        help_text = (setup.__doc__ or "").strip().splitlines()[0]
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(run=setup(sub_parser))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `finevidbench` console script."""
    args = build_parser().parse_args(argv)
    try:
        run: Handler = args.run  # set by build_parser (argparse's Namespace attributes are Any)
        return run(args)
    except KeyboardInterrupt:
        print("finevidbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
