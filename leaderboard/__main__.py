"""`python -m leaderboard submit|check|build`: behind `make submit`, `make submit-check`, `make leaderboard`.

Seeding the reference baselines evaluates models, so it is a runner: `make leaderboard-seeds` (runners/seed.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leaderboard.submission import SubmissionError


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; one-line errors, exit code 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m leaderboard")
    sub = parser.add_subparsers(dest="command", required=True)
    submit = sub.add_parser("submit", help="validate and package a run folder as a submission")
    submit.add_argument("--results", required=True, help="the run folder written by make eval")
    submit.add_argument("--meta", help="submission.json to use (default: <results>/submission.json)")
    submit.add_argument("--questions", action="append", default=None, help="question set(s) to rescore against")
    submit.add_argument("--force", action="store_true", help="replace a submission of the same name")
    build = sub.add_parser("build", help="build the static site from every submission")
    build.add_argument("--submissions", default=str(Path(__file__).resolve().parent / "submissions"))
    build.add_argument("--out", default="site")
    build.add_argument("--questions", action="append", default=None, help="question set(s) ranked (default: mini)")
    check = sub.add_parser("check", help="validate and rescore one submission folder, one line per problem")
    check.add_argument("folder", help="a folder under leaderboard/submissions/")
    check.add_argument("--questions", action="append", default=None, help="question set(s) to rescore against")
    args = parser.parse_args(argv)
    sources = getattr(args, "questions", None) or ["mini"]
    try:
        if args.command == "submit":
            from leaderboard.submit import submit as do_submit

            target = do_submit(Path(args.results), Path(args.meta) if args.meta else None, sources, args.force)
            print(f"submission written to {target}")
            print(
                f"next: git checkout -b submit-{target.name} && git add {target} && git commit,"
                " then open a pull request; the leaderboard rescores it from samples.jsonl."
            )
            return 0
        if args.command == "check":
            from leaderboard.build import check_submission, question_sets

            problems = check_submission(Path(args.folder), question_sets(sources))
            for problem in problems:
                print(f"leaderboard check: {problem}", file=sys.stderr)
            if not problems:
                print(f"ok: {args.folder} validates and rescores to its claims")
            return 1 if problems else 0
        from leaderboard.build import build_site

        index, data = build_site(Path(args.submissions), Path(args.out), sources)
        counts = [len(data[k]) for k in ("entries", "rejected", "duplicates")]
        print("{} models ranked, {} rejected, {} duplicates".format(*counts))
        for rejected in data["rejected"]:
            print(f"  rejected {rejected['slug']}: {rejected['reason']}", file=sys.stderr)
        print(f"site: {index}")
        return 0
    except SubmissionError as exc:
        print(f"leaderboard {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
