"""The `finevidbench` command line: one subcommand per verb, each a thin call into the package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

_COMMANDS: dict[str, Callable[[argparse.ArgumentParser], Callable[[argparse.Namespace], int]]] = {}


def command(name: str):
    """Register `fn(parser) -> handler` as the subcommand `name`."""

    def register(fn):
        _COMMANDS[name] = fn
        return fn

    return register


@command("probe")
def _probe(parser: argparse.ArgumentParser):
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
        return args.run(args)
    except KeyboardInterrupt:
        print("finevidbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
