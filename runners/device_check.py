"""`python -m runners.device_check`: every family's adapter on an accelerator, batched against one at a time.

    python -m runners.device_check [--device cuda] [--dtypes float32,bfloat16] [--data DIR] [--out FILE]

CI has no accelerator, so nothing else runs the adapters' device placement, reduced precision or
batching on one. For each family this builds its tiny random model (or reads `--models DIR/<family>`),
loads it with `device=` and `dtype=` as `MODEL_ARGS` would, and answers a slice of the set (scene clips
and fragment frames) one question at a time and in batches of four: the answers must be equal in
float32 (in bfloat16 they may differ where two logits are within its rounding; reported, not failed).
It writes one record per family and dtype and exits 1 when a float32 comparison differs or a model
fails to load or answer.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import traceback
from pathlib import Path

from finevidbench.files import write_json

TYPES = ("action", "speed", "moment_count", "rearrangement")


def requests_of(per_type: int = 2) -> list:
    """Neutral requests for the first items of each type of $FINEVIDBENCH_DATA (scene clips, then frames)."""
    from finevidbench import taskdocs
    from model_adapters.base import Request

    docs = [doc for kind in TYPES for doc in taskdocs.docs_for(kind)[:per_type]]
    return [Request(doc=d, prompt=taskdocs.doc_to_text(d), generation={"max_new_tokens": 4}, task="t") for d in docs]


def check_family(family: str, model_dir: Path, device: str, dtype: str, requests: list) -> dict:
    """One family in one dtype: load, answer one at a time, answer in batches of four; what was seen."""
    import torch

    from model_adapters.registry import adapter_class

    record = {"family": family, "dtype": dtype, "device": device}
    try:
        model = adapter_class(f"fvb_{family}")(pretrained=str(model_dir), device=device, dtype=dtype, max_new_tokens=4)
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


def main(argv: list[str] | None = None) -> int:
    """Check every family (or `--families`) on `--device`; write the records; 1 when float32 batching differs."""
    from model_adapters.registry import families
    from model_adapters.testing.tiny import build_tiny

    parser = argparse.ArgumentParser(prog="python -m runners.device_check", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--families", default=",".join(families()))
    parser.add_argument("--data", default=None, help="question set (default: $FINEVIDBENCH_DATA or mini)")
    parser.add_argument("--models", type=Path, default=None, help="folder of prebuilt tiny models, one per family")
    parser.add_argument("--out", type=Path, default=Path("device_check.json"))
    args = parser.parse_args(argv)
    if args.data:
        os.environ["FINEVIDBENCH_DATA"] = str(args.data)
    requests = requests_of()
    models = args.models or Path(tempfile.mkdtemp(prefix="device-check-"))
    records = []
    for family in args.families.split(","):
        folder = models / family
        if not (folder / "config.json").is_file():
            build_tiny(family, folder)
        for dtype in args.dtypes.split(","):
            record = check_family(family, folder, args.device, dtype, requests)
            records.append(record)
            verdict = record.get("error") or ("equal" if record["equal"] else f"differ at {record['differing']}")
            print(f"{family:18s} {dtype:9s} {record.get('parameter_device', '?'):7s} {verdict}", flush=True)
    write_json(args.out, {"device": args.device, "records": records})
    failed = [r for r in records if r.get("error") or (r["dtype"] == "float32" and not r["equal"])]
    print(f"{len(records) - len(failed)} of {len(records)} checks passed; records in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
