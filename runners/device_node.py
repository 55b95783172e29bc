"""The device bundle's one command (copied as its run.py by runners/device_bundle.py): run it on the offline node.

    python run.py [--device cuda] [--dtypes float32,bfloat16] [--families a,b] [--out device_check.json] [--site DIR]

Needs a CPython of the bundle's version (bundle.json) with torch, transformers, peft and accelerate
installed; nothing is fetched. It unpacks wheels/ into site/ (installing a wheel is unpacking it,
PEP 427: no pip, no index), puts src/ first on sys.path and site/ last, so that a package the node
already has wins (a torchvision built for the node's own torch, say), switches every hub access off,
and runs `runners.device_check` on the bundle's fixtures (models/), question set (data/) and frames
decoded beforehand (frames/). Exit status: device_check's (1 when a float32 comparison differs or a
family fails), 2 when the node cannot run the bundle at all (another Python, a package missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

BUNDLE = Path(__file__).resolve().parent
BUDGET_S = 8 * 60
"""The time the check should take on the node; a slower run says so."""


def unpack(wheels: Path, site: Path) -> list[str]:
    """Unpack every wheel of `wheels` into `site` (once: a stamp names the wheels unpacked); their names."""
    names = sorted(p.name for p in wheels.glob("*.whl"))
    stamp = site / ".unpacked"
    if stamp.is_file() and stamp.read_text().split() == names:
        return names
    staging = site.with_name(site.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for name in names:
        with zipfile.ZipFile(wheels / name) as wheel:
            for member in wheel.infolist():
                parts = member.filename.split("/")
                if parts[0].endswith(".data"):  # only the library parts of a wheel's data folders
                    if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                        continue
                    parts = parts[2:]
                if member.is_dir() or ".." in parts or not parts[0]:
                    continue
                target = staging.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(wheel.read(member))
    (staging / ".unpacked").write_text("\n".join(names) + "\n")
    shutil.rmtree(site, ignore_errors=True)
    staging.rename(site)
    return names


def preflight(info: dict[str, Any]) -> list[str]:
    """What keeps this node from running the bundle (fatal), as messages; warnings are printed."""
    from importlib import metadata

    problems = []
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if info["downloaded"] and here != info["python"]:
        wanted = info["python"]
        problems.append(
            f"this is Python {here}; the bundle's compiled wheels are for {wanted} (fix: "
            f"make device-bundle PYTHON_VERSION={here}, or run it with python{wanted})"
        )
    missing = []
    for name, pinned in info["node"].items():
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        if found.split("+")[0] != pinned:
            print(
                f"note: {name} {found} here, {pinned} in the lock: the check runs, the records say which",
                file=sys.stderr,
            )
    if missing:
        problems.append(f"not installed here: {', '.join(missing)} (the node must have {', '.join(info['node'])})")
    return problems


def offline_environment() -> None:
    """No hub, no telemetry: everything the check reads is in the bundle."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        os.environ[key] = "1"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--families", default=None, help="default: every family the bundle holds")
    parser.add_argument("--out", type=Path, default=Path("device_check.json"))
    parser.add_argument("--site", type=Path, default=BUNDLE / "site", help="where the wheels are unpacked")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Set the bundle up on sys.path and run the device check on its files; device_check's exit status."""
    args = parse_args(argv)
    started = time.perf_counter()
    info = json.loads((BUNDLE / "bundle.json").read_text())
    problems = preflight(info)
    if problems:
        print("the device bundle cannot run here:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    unpack(BUNDLE / "wheels", args.site)
    sys.path.insert(0, str(BUNDLE / "src"))
    sys.path.append(str(args.site))
    offline_environment()
    from finevidbench.torchvision_compat import ensure_torchvision_ops

    ensure_torchvision_ops()  # a CPU torch (the dry run) cannot load torchvision's CUDA operators
    from runners import device_check

    families = args.families or ",".join(info["families"])
    options = {
        "--device": args.device,
        "--dtypes": args.dtypes,
        "--families": families,
        "--models": str(BUNDLE / "models"),
        "--data": str(BUNDLE / "data"),
        "--frames": str(BUNDLE / "frames"),
        "--out": str(args.out),
    }
    status = device_check.main([part for option in options.items() for part in option])
    wall = round(time.perf_counter() - started, 1)
    result = json.loads(args.out.read_text())
    bundle = {key: info[key] for key in ("python", "platform", "downloaded", "wheels", "node")}
    result.update(bundle=bundle, total_s=wall)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"the whole check took {wall} s" + (f", over its budget of {BUDGET_S} s" if wall > BUDGET_S else ""))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
