"""`python -m runners.device_check`: every family's adapter on an accelerator, batched against one at a time.

    python -m runners.device_check [--device cuda] [--dtypes float32,bfloat16] [--data DIR] [--out FILE]
                                   [--models DIR] [--frames DIR]

CI has no accelerator, so nothing else runs the adapters' device placement, reduced precision or
batching on one. For each family this builds its fixture (`build_fixture`: the tiny random model laid
out as the family's reference checkpoint ships its processor files, `HubLayout` "main", or the plain
tiny model where the family declares no layout; or reads a prebuilt `--models DIR/<family>`), loads it
with `device=` and `dtype=` as `MODEL_ARGS` would (so with the card's pixel budgets, the adapters'
default), and answers a slice of the set (scene clips and fragment frames) one question at a time and
in batches of four: the answers must be equal in float32 (in bfloat16 they may differ where two logits
are within its rounding; reported, not failed). It writes one record per family and dtype (the layout
used and the adapter's `inputs_record`, which names the pixel budget, included) and exits 1 when a
float32 comparison differs or a model fails to load or answer.

`--frames DIR` (the offline bundle, runners/device_bundle.py) gives the adapters frames decoded
beforehand instead of the video files: `FrameArchive` holds every frame of each video the slice shows,
decoded by `finevidbench.video` on the machine that built the bundle, with the probe's metadata, so
the adapter samples and cuts exactly the frames it would have decoded; only the decoding is not run.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from finevidbench.files import sha256_file, write_json

if TYPE_CHECKING:  # the adapters and the video package are imported only where they are used
    from finevidbench.protocol import Question
    from finevidbench.request import Clip, Request
    from finevidbench.video import Sampling, VideoMeta
    from model_adapters.base import FineVidModel
    from model_adapters.frames import FrameCache

TYPES = ("action", "speed", "moment_count", "rearrangement")
FIXTURE_FILE = "device_fixture.json"
"""Written next to each fixture's model files: which layout it is (transformers ignores the file)."""
PACKAGES = ("torch", "transformers", "peft", "accelerate", "torchvision", "pillow", "numpy")


def questions_of(per_type: int = 2) -> list[Question]:
    """The first items of each type of $FINEVIDBENCH_DATA (scene clips, then frames)."""
    from finevidbench import taskdocs

    questions = taskdocs.question_set().questions
    return [q for kind in TYPES for q in [q for q in questions if q.type == kind][:per_type]]


def requests_of(model: FineVidModel, questions: Sequence[Question]) -> list[Request]:
    """The questions as the benchmark asks them, under `model`'s frame policy, four new tokens at most."""
    from dataclasses import replace

    from finevidbench import taskdocs

    qs = taskdocs.question_set()
    return [replace(model.request_for(q, qs, task="t"), generation={"max_new_tokens": 4}) for q in questions]


def build_fixture(family: str, folder: Path) -> dict[str, str | None]:
    """Save the family's main hub layout (or, where it declares none, its plain tiny model) into `folder`."""
    from model_adapters.testing.hub import build_hub_layout, hub_layouts
    from model_adapters.testing.tiny import build_tiny

    layouts = hub_layouts(family)
    if "main" in layouts:
        build_hub_layout(family, folder, "main")
        fixture: dict[str, str | None] = {"layout": "main", "checkpoint": layouts["main"].checkpoint}
    else:
        build_tiny(family, folder)
        fixture = {"layout": "tiny", "checkpoint": None}
    write_json(Path(folder) / FIXTURE_FILE, fixture)
    return fixture


def fixture_of(folder: Path) -> dict[str, str | None]:
    """What `build_fixture` wrote about a prebuilt folder (`layout: unknown` for a folder made otherwise)."""
    file = Path(folder) / FIXTURE_FILE
    return json.loads(file.read_text()) if file.is_file() else {"layout": "unknown", "checkpoint": None}


class FrameArchive:
    """Frames decoded beforehand: `<video>.npz` per video (all its frames, its probe metadata, its file's hash)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._loaded: dict[str, tuple[VideoMeta, npt.NDArray[np.uint8]]] = {}

    @staticmethod
    def write(folder: Path, video: str, path: Path) -> Path:
        """Decode every frame of `path` (the set's video `video`) and store them with its metadata."""
        from dataclasses import asdict

        from finevidbench.video import load_frames, probe

        meta = probe(path)
        frames = load_frames(path, list(range(meta.frame_count)), cache=None)
        out = Path(folder) / f"{video}.npz"
        out.parent.mkdir(parents=True, exist_ok=True)
        record = {"meta": asdict(meta), "sha256": sha256_file(path)}
        np.savez_compressed(out, frames=frames, record=np.array(json.dumps(record)))
        return out

    def entry(self, path: str) -> tuple[VideoMeta, npt.NDArray[np.uint8]]:
        """The metadata and every frame of the video file at `path` (its archive is named by the file's stem)."""
        from finevidbench.video import VideoMeta

        video = Path(path).stem
        if video not in self._loaded:
            with np.load(self.folder / f"{video}.npz") as stored:
                record = json.loads(str(stored["record"]))
                frames = stored["frames"]
            if record["sha256"] != sha256_file(Path(path)):
                raise ValueError(f"{self.folder}/{video}.npz was decoded from another file than {path}")
            self._loaded[video] = (VideoMeta(**{**record["meta"], "path": path}), frames)
        return self._loaded[video]

    def cache(self) -> FrameCache:
        """A frame cache that reads this archive where it would decode the video file."""
        from model_adapters.frames import FrameCache

        archive = self

        class FromArchive(FrameCache):
            def sampling(self, clip: Clip) -> Sampling:
                return clip.sample(archive.entry(clip.path)[0])

            def frames(self, path: str, indices: Sequence[int]) -> npt.NDArray[np.uint8]:
                return archive.entry(path)[1][list(indices)]

            def prefetch(self, requests: Sequence[Request]) -> None:
                """Nothing to decode ahead."""

        return FromArchive()


def check_family(
    family: str, model_dir: Path, device: str, dtype: str, questions: list[Question], frames: FrameArchive | None = None
) -> dict[str, Any]:
    """One family in one dtype: load, answer one at a time, answer in batches of four; what was seen."""
    import torch

    from model_adapters.registry import adapter_class

    record: dict[str, Any] = {"family": family, "dtype": dtype, "device": device, **fixture_of(model_dir)}
    record["frames"] = "predecoded" if frames is not None else "decoded"
    try:
        model = adapter_class(f"fvb_{family}")(pretrained=str(model_dir), device=device, dtype=dtype, max_new_tokens=4)
        if frames is not None:
            model.frame_cache = frames.cache()
        requests = requests_of(model, questions)
        record["inputs"] = model.inputs_record()
        record["parameter_device"] = str(next(model.model.parameters()).device)
        record["parameter_dtype"] = str(next(model.model.parameters()).dtype).removeprefix("torch.")
        start = time.perf_counter()
        one = [model.answer_batch([r])[0] for r in requests]
        record["batch1_s"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        four = [a for i in range(0, len(requests), 4) for a in model.answer_batch(requests[i : i + 4])]
        record["batch4_s"] = round(time.perf_counter() - start, 3)
        record.update(
            n=len(requests),
            equal=one == four,
            differing=[i for i, (a, b) in enumerate(zip(one, four, strict=True)) if a != b],
        )
        if torch.cuda.is_available():
            record["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    except Exception as exc:  # noqa: BLE001 - a family that fails is a finding to report, not a reason to stop
        record["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        record["traceback"] = traceback.format_exc()[-2000:]
    return record


def environment() -> dict[str, Any]:
    """Versions of the packages the check ran on, and the accelerator it saw."""
    from importlib import metadata

    import torch

    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    accelerator = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"versions": versions, "accelerator": accelerator, "cuda": torch.version.cuda}


def verdict(record: dict[str, Any]) -> str:
    """One word or phrase per record: the error, `equal`, or where batched answers differ."""
    return record.get("error") or ("equal" if record["equal"] else f"differ at {record['differing']}")


def table(records: list[dict[str, Any]]) -> str:
    """The records as a short fixed-width table."""
    lines = [f"{'family':18s} {'dtype':9s} {'device':7s} {'layout':6s} {'batch1_s':>8s} {'batch4_s':>8s}  verdict"]
    for r in records:
        times = f"{r.get('batch1_s', float('nan')):8.2f} {r.get('batch4_s', float('nan')):8.2f}"
        lines.append(
            f"{r['family']:18s} {r['dtype']:9s} {r.get('parameter_device', '?'):7s} {r['layout']:6s} "
            f"{times}  {verdict(r)[:80]}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    from model_adapters.registry import families

    parser = argparse.ArgumentParser(prog="python -m runners.device_check", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--families", default=",".join(families()))
    parser.add_argument("--data", default=None, help="question set (default: $FINEVIDBENCH_DATA or mini)")
    parser.add_argument("--models", type=Path, default=None, help="folder of prebuilt fixtures, one per family")
    parser.add_argument("--frames", type=Path, default=None, help="frames decoded beforehand (FrameArchive)")
    parser.add_argument("--out", type=Path, default=Path("device_check.json"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Check every family (or `--families`) on `--device`; write the records; 1 when float32 batching differs."""
    args = parse_args(argv)
    if args.data:
        os.environ["FINEVIDBENCH_DATA"] = str(args.data)
    started = time.perf_counter()
    questions = questions_of()
    frames = FrameArchive(args.frames) if args.frames else None
    models = args.models or Path(tempfile.mkdtemp(prefix="device-check-"))
    records = []
    for family in args.families.split(","):
        folder = models / family
        if not (folder / "config.json").is_file():
            build_fixture(family, folder)
        for dtype in args.dtypes.split(","):
            record = check_family(family, folder, args.device, dtype, questions, frames)
            records.append(record)
            print(f"{family:18s} {dtype:9s} {record.get('parameter_device', '?'):7s} {verdict(record)}", flush=True)
    wall = round(time.perf_counter() - started, 1)
    write_json(args.out, {"device": args.device, "environment": environment(), "wall_s": wall, "records": records})
    failed = [r for r in records if r.get("error") or (r["dtype"] == "float32" and not r["equal"])]
    print(table(records))
    print(f"{len(records) - len(failed)} of {len(records)} checks passed in {wall} s; records in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
