"""`make device-bundle` = `python -m runners.device_bundle`: the device check as one folder for an offline GPU node.

    python -m runners.device_bundle [--out device_bundle] [--python-version 3.11] [--platform manylinux_2_28_x86_64]
                                    [--families a,b] [--no-download] [--no-archive] [--limit-mib 64]
    python -m runners.device_bundle --check FOLDER [--limit-mib 64]    # the size check alone

A cluster GPU node often has no network and only torch, transformers, peft and accelerate (with what
they pull in: numpy, pyyaml, jinja2, filelock, safetensors, tokenizers, huggingface_hub, tqdm, ...:
`NODE`). `runners.device_check` needs more; the bundle carries exactly that, measured, not guessed:
tests/test_device_bundle.py runs the bundle under a Python that sees only the installed closure of
`NODE`, so a missing package fails there. What it carries, and why:

- wheels/: `SHIPPED`, the packages the check imports beyond `NODE` (jsonschema and its referencing
  stack, to read the set's files against their schemas; pillow and torchvision, which transformers'
  image and video processors need; qwen-vl-utils, the Qwen adapters' frame sizing, with requests,
  which it imports; num2words, which SmolVLM's processor needs), at the lock's exact versions
  (requirements/lock-cpu.txt), fetched with `pip download --no-deps --only-binary=:all:` for the node's
  Python and platform (`--python-version`, `--platform`; the compiled ones, rpds-py, pillow,
  charset-normalizer and torchvision, tie the bundle to them). `--no-download` repacks the wheels from
  this environment's installed files instead (no network: the tests), for this interpreter and platform.
- Not lmms-eval: it would bring its whole dependency tree, and the check never runs its evaluator
  (it calls `answer_batch` directly); model_adapters/base.py falls back to `WithoutLmmsEval` where it
  is missing.
- Not PyAV or decord: a PyAV wheel is about 40 MB alone. frames/ holds every frame of each video the
  check shows, decoded here by `finevidbench.video` with the probe's metadata and the file's hash
  (`device_check.FrameArchive`); the adapters sample and cut exactly those frames, so the node decodes
  nothing.
- src/: the project's source tree (finevidbench, model_adapters, runners), copied, no build step.
- models/: each family's fixture (`device_check.build_fixture`: its main hub layout, or the plain tiny
  model where it declares none); data/: the mini set, whole, so the loader verifies every file's hash.
- run.py (runners/device_node.py): the one command the node runs; bundle.json says what the bundle is.

The folder must stay within `--limit-mib` (64 MiB, the whole folder, so the .tar.gz next to it is
smaller still); otherwise the build fails naming its largest parts. Only this command uses the network.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock-cpu.txt"
NODE = ("torch", "transformers", "peft", "accelerate")
"""What the node has installed (with their own dependencies)."""
SHIPPED = (
    "jsonschema",
    "jsonschema-specifications",
    "referencing",
    "attrs",
    "rpds-py",
    "pillow",
    "torchvision",
    "qwen-vl-utils",
    "requests",
    "urllib3",
    "charset-normalizer",
    "certifi",
    "num2words",
)
"""What the check imports beyond `NODE`'s closure (measured: tests/test_device_bundle.py)."""
SOURCES = ("finevidbench", "model_adapters", "runners")
LIMIT_MIB = 64.0
PLATFORM = "manylinux_2_28_x86_64"
"""The default target: glibc 2.28 or newer on x86-64 (torchvision 0.28's wheels need 2.28)."""


class BundleTooLarge(ValueError):
    """The bundle folder is over its size limit; the message gives the sizes and the largest parts."""


def lock_pins(python_version: str, machine: str = "x86_64", lock: Path = LOCK) -> dict[str, str]:
    """Exact versions the lock gives each distribution on CPython `python_version` (e.g. 3.12) on `machine`."""
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name

    environment = {
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
        "platform_machine": machine,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        requirement, _, marker = line.split("#", 1)[0].partition(";")
        if "==" not in requirement or (marker.strip() and not Marker(marker.strip()).evaluate(environment)):
            continue
        name, version = requirement.split("==")
        pins[canonicalize_name(name.strip())] = version.strip()
    return pins


def platform_tags(platform: str) -> list[str]:
    """`platform` and every older glibc tag it runs (pip does not widen a given manylinux_2_N tag itself)."""
    match = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if not match:
        return [platform]
    minor, arch = int(match.group(1)), match.group(2)
    tags = [f"manylinux_2_{m}_{arch}" for m in range(minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{name}_{arch}" for m, name in legacy.items() if m <= minor]


def download_wheels(out: Path, python_version: str, platform: str) -> list[Path]:
    """`SHIPPED` at the lock's versions, as wheels for CPython `python_version` on `platform` (the network)."""
    pins = lock_pins(python_version, "aarch64" if "aarch64" in platform else "x86_64")
    missing = [name for name in SHIPPED if name not in pins]
    if missing:
        raise ValueError(f"{LOCK} pins no version of {missing} for Python {python_version} (fix: make lock)")
    abi = "cp" + python_version.replace(".", "")
    target = [
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--abi",
        abi,
        *[f"--platform={tag}" for tag in platform_tags(platform)],
    ]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(out),
        *target,
        *[f"{name}=={pins[name]}" for name in SHIPPED],
    ]
    subprocess.run(command, check=True)
    return sorted(out.glob("*.whl"))


def repack_installed(name: str, out: Path) -> Path:
    """A wheel of the installed distribution `name`, from its installed files (RECORD), scripts and caches left out."""
    dist = metadata.distribution(name)
    tags = [
        line.split(":", 1)[1].strip()
        for line in (dist.read_text("WHEEL") or "").splitlines()
        if line.startswith("Tag:")
    ]
    if not tags:
        raise ValueError(f"{name}: its installed metadata names no wheel tag; it cannot be repacked")
    parts = [list(dict.fromkeys(tag.split("-")[i] for tag in tags)) for i in range(3)]  # the compressed tag set
    stem = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    wheel = out / f"{stem}-{dist.version}-{'-'.join('.'.join(p) for p in parts)}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files or []:
            path = str(file)
            if path.startswith("..") or "__pycache__" in file.parts or path.endswith(".pyc"):
                continue
            archive.write(str(dist.locate_file(file)), path)
    return wheel


def copy_sources(out: Path) -> None:
    """The project's packages the check imports, as a source tree (caches left out)."""
    for package in SOURCES:
        shutil.copytree(ROOT / package, out / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def add_data_and_frames(out: Path) -> dict[str, Any]:
    """The mini set into `out/data`, and every frame of each video the check shows into `out/frames`."""
    from finevidbench import taskdocs
    from finevidbench.dataset import ensure_mini
    from runners.device_check import FrameArchive, questions_of

    shutil.copytree(ensure_mini(progress=False), out / "data")
    previous = os.environ.get(taskdocs.DATA_ENV)
    os.environ[taskdocs.DATA_ENV] = str(out / "data")
    try:
        qs = taskdocs.question_set()
        videos = {q.video: str(qs.video_path(q)) for q in questions_of()}
    finally:
        if previous is None:
            del os.environ[taskdocs.DATA_ENV]
        else:
            os.environ[taskdocs.DATA_ENV] = previous
    for video, path in videos.items():
        FrameArchive.write(out / "frames", video, Path(path))
    return {"videos": sorted(videos)}


def sizes(folder: Path) -> dict[str, int]:
    """Bytes under each top-level entry of `folder`."""
    result = {}
    for entry in sorted(Path(folder).iterdir()):
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        result[entry.name] = sum(p.stat().st_size for p in files)
    return result


def check_size(folder: Path, limit_mib: float = LIMIT_MIB) -> int:
    """The folder's total bytes; BundleTooLarge when over `limit_mib` MiB."""
    parts = sizes(folder)
    total = sum(parts.values())
    if total > limit_mib * 2**20:
        biggest = sorted(parts.items(), key=lambda part: -part[1])[:4]
        largest = ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in biggest)
        raise BundleTooLarge(
            f"{folder}: {total / 2**20:.1f} MiB, over the limit of {limit_mib:g} MiB "
            f"(largest: {largest}; fix: fewer --families, or ship less)"
        )
    return total


def node_pins(python_version: str) -> dict[str, str]:
    """The lock's versions of what the node should have (run.py warns where the node's differ)."""
    pins = lock_pins(python_version)
    return {name: pins[name] for name in NODE}


def build(out: Path, families: list[str], python_version: str, platform: str, download: bool) -> dict[str, Any]:
    """Build the bundle folder `out` (replaced if it exists); returns what bundle.json says."""
    from runners.device_check import build_fixture

    if out.exists():
        shutil.rmtree(out)
    (out / "wheels").mkdir(parents=True)
    if download:
        wheels = download_wheels(out / "wheels", python_version, platform)
    else:
        python_version, platform = f"{sys.version_info.major}.{sys.version_info.minor}", "this machine's (repacked)"
        wheels = [repack_installed(name, out / "wheels") for name in SHIPPED]
    copy_sources(out / "src")
    fixtures = {family: build_fixture(family, out / "models" / family) for family in families}
    frames = add_data_and_frames(out)
    shutil.copy2(Path(__file__).with_name("device_node.py"), out / "run.py")
    info = {
        "format": 1,
        "python": python_version,
        "platform": platform,
        "downloaded": download,
        "wheels": sorted(w.name for w in wheels),
        "node": node_pins(python_version),
        "families": families,
        "fixtures": fixtures,
        **frames,
    }
    (out / "bundle.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info


def archive(folder: Path) -> Path:
    """`folder` as `<folder>.tar.gz`, to copy to the node as one file."""
    target = folder.with_name(folder.name + ".tar.gz")
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(folder, arcname=folder.name)
    return target


def main(argv: list[str] | None = None) -> int:
    """Build (or only measure, `--check`) the bundle; 2 when it is over the limit."""
    parser = argparse.ArgumentParser(prog="python -m runners.device_bundle", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("device_bundle"))
    parser.add_argument("--python-version", default=f"{sys.version_info.major}.{sys.version_info.minor}")
    parser.add_argument("--platform", default=PLATFORM)
    parser.add_argument("--families", default=None, help="default: every family")
    parser.add_argument("--no-download", action="store_true", help="repack this environment's wheels (no network)")
    parser.add_argument("--no-archive", action="store_true", help="leave out the .tar.gz")
    parser.add_argument("--limit-mib", type=float, default=LIMIT_MIB)
    parser.add_argument("--check", type=Path, default=None, help="only measure this bundle folder")
    args = parser.parse_args(argv)
    folder = args.check or args.out
    if args.check is None:
        from model_adapters.registry import families

        chosen = args.families.split(",") if args.families else list(families())
        build(args.out, chosen, args.python_version, args.platform, not args.no_download)
    try:
        total = check_size(folder, args.limit_mib)
    except BundleTooLarge as exc:
        print(f"device bundle refused: {exc}", file=sys.stderr)
        return 2
    for name, size in sizes(folder).items():
        print(f"  {name:12s} {size / 2**20:7.2f} MiB")
    print(f"{folder}: {total / 2**20:.2f} MiB (limit {args.limit_mib:g} MiB)")
    if args.check is None and not args.no_archive:
        packed = archive(folder)
        print(
            f"{packed}: {packed.stat().st_size / 2**20:.2f} MiB; on the node: tar xzf {packed.name} && "
            f"python {folder.name}/run.py"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
