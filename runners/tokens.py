"""`python -m runners.tokens`: visual tokens a frame costs, per family, on its checkpoint's processor files.

    python -m runners.tokens [--families qwen2_5_vl,...] [--models DIR] [--out tokens.json]

For each family's hub layout (model_adapters/testing/hub.py, or `--models DIR/<family>` folders),
the adapter encodes the first scene item of the mini set (a 160x128 clip), a 720p clip of noise and
a fragment item, and counts the image and video placeholder tokens: per frame of the clip, per
fragment image. docs/adding_a_model.md reports the figures (before and after the card's budgets).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from finevidbench.files import write_json

if TYPE_CHECKING:  # the adapters are imported only when the census runs
    from finevidbench.protocol import Question
    from finevidbench.request import Visual
    from model_adapters.hf import HFVideoModel


def visual_tokens(adapter: HFVideoModel, visual: Visual) -> int:
    """Image and video placeholder tokens the adapter's inputs hold for one visual and a one-word prompt."""
    from finevidbench.request import Request, Turn

    inputs = adapter.encode([Request("t", "t", (Turn("user", (visual, "?")),))])
    processor, tokenizer = adapter.processor, adapter.processor.tokenizer
    names = {getattr(processor, name, None) for name in ("image_token", "video_token")} - {None}
    ids = {tokenizer.convert_tokens_to_ids(name) for name in names}
    return int(sum((inputs["input_ids"][0] == i).sum() for i in ids))


def hd_clip(folder: Path) -> str:
    """A 720p video: 2 s of noise at 24 fps (6 frames under the default policy), above every frame budget."""
    from finevidbench.video.encode import write_video

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8) for _ in range(48)]
    return str(write_video(folder / "hd.mp4", frames, 24))


def census(family: str, model_dir: Path, shown: dict[str, Question | str]) -> dict[str, Any]:
    """Tokens per frame (clips) and per image (fragments) of one family; `shown`: questions of the run's set, files."""
    from finevidbench import taskdocs
    from finevidbench.request import Clip, Request, Turn, shown_visual
    from model_adapters.registry import adapter_class

    adapter = adapter_class(f"fvb_{family}")(pretrained=str(model_dir), max_new_tokens=1)
    record: dict[str, Any] = {"family": family, "inputs": getattr(adapter, "inputs_record", dict)()}
    qs = taskdocs.question_set()
    for name, item in shown.items():
        if isinstance(item, str):
            visual: Visual = Clip(item, policy=adapter.frame_policy)
        else:
            visual = shown_visual(item, str(qs.video_path(item)), adapter.frame_policy)
        frames = len(adapter.frame_cache.reads(Request("t", "t", (Turn("user", (visual,)),)))[0][1])
        tokens = visual_tokens(adapter, visual)
        record[name] = {"frames": frames, "tokens": tokens, "per_frame": round(tokens / frames, 1)}
    return record


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    from finevidbench import taskdocs
    from model_adapters.registry import families
    from model_adapters.testing.hub import build_hub_layout

    parser = argparse.ArgumentParser(prog="python -m runners.tokens", description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(families()))
    parser.add_argument("--models", type=Path, help="folders <family>/ to read instead of building hub layouts")
    parser.add_argument("--out", type=Path, default=Path("tokens.json"))
    args = parser.parse_args(argv)
    os.environ.setdefault("FINEVIDBENCH_DATA", "mini")
    work = Path(tempfile.mkdtemp(prefix="fvb-tokens-"))
    questions = taskdocs.question_set().questions
    shown: dict[str, Question | str] = {
        "mini_clip": next(q for q in questions if q.type == "action"),
        "hd_clip": hd_clip(work),
        "fragment": next(q for q in questions if q.type == "rearrangement"),
    }
    records = []
    for family in args.families.split(","):
        model_dir = args.models / family if args.models else build_hub_layout(family, work / family)
        records.append(census(family, model_dir, shown))
        row = records[-1]
        print(
            f"{family:18s} mini {row['mini_clip']['per_frame']:7.1f}  720p {row['hd_clip']['per_frame']:7.1f}  "
            f"image {row['fragment']['per_frame']:7.1f}  tokens a frame"
        )
    write_json(args.out, {"records": records})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
