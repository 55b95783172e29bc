"""The device check for an offline GPU node (runners/device_bundle.py): built here without network, run on the CPU
by a Python that sees only torch, transformers, peft, accelerate and what they pull in, as such a node has."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from runners import device_bundle, device_node

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("qwen2_5_vl", "llava_onevision")
ABSENT_ON_THE_NODE = ("lmms_eval", "av", "decord", "jsonschema", "PIL", "torchvision", "qwen_vl_utils", "finevidbench")


def node_closure(names=device_bundle.NODE) -> dict[str, metadata.Distribution]:
    """The installed distributions `names` need, theirs included (markers evaluated, no extras)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        try:
            found[name] = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional platform dependency (a CUDA runtime on a CPU machine)
        for line in found[name].requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def node_site(folder: Path) -> Path:
    """A folder holding (as links into this environment) only the node's packages: the node's sys.path."""
    folder.mkdir(parents=True)
    for dist in node_closure().values():
        root = Path(dist.locate_file(""))
        for top in {Path(str(file)).parts[0] for file in dist.files or [] if not str(file).startswith("..")}:
            if top != "__pycache__" and not (folder / top).exists():
                (folder / top).symlink_to(root / top)
    return folder


def node_env(tmp_path: Path, site: Path) -> dict:
    """The node's environment: its packages only (`python -S`: no site-packages), nothing of this checkout."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(site),
            "HF_HOME": str(tmp_path / "hf"), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # fmt: skip


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, mini) -> Path:
    out = tmp_path_factory.mktemp("device") / "bundle"
    device_bundle.build(out, list(FAMILIES), "3.11", device_bundle.PLATFORM, download=False)
    return out


@pytest.mark.slow(seconds=60)
def test_the_bundle_runs_on_cpu_where_only_the_nodes_packages_are(bundle, tmp_path):
    site = node_site(tmp_path / "node")
    env = node_env(tmp_path, site)
    seen = subprocess.run([sys.executable, "-S", "-c", "import importlib.util as u, sys; "
                           f"print([n for n in {ABSENT_ON_THE_NODE!r} if u.find_spec(n)])"],
                          env=env, cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert seen.stdout.strip() == "[]", seen.stdout + seen.stderr  # the emulated node really lacks them
    assert device_bundle.check_size(bundle) <= 64 * 2**20
    out = tmp_path / "device_check.json"
    result = subprocess.run([sys.executable, "-S", str(bundle / "run.py"), "--device", "cpu", "--dtypes", "float32",
                             "--out", str(out)], env=env, cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "checks passed" in result.stdout and "family" in result.stdout  # the table
    report = json.loads(out.read_text())
    assert [r["family"] for r in report["records"]] == list(FAMILIES)
    from model_adapters.testing.hub import hub_layouts

    for record in report["records"]:
        assert record["equal"] and record["n"] == 8 and record["device"] == record["parameter_device"] == "cpu"
        assert record["layout"] == ("main" if "main" in hub_layouts(record["family"]) else "tiny")
        assert record["inputs"]["revision"] >= 2 and record["frames"] == "predecoded"
    qwen = report["records"][0]["inputs"]["video_pixels"]
    assert qwen["source"] == "card" and qwen["max_pixels"] > qwen["min_pixels"]
    assert report["bundle"]["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert report["environment"]["versions"]["torchvision"] is not None
    wheels = {re.split(r"-\d", name)[0] for name in report["bundle"]["wheels"]}
    assert wheels == {name.replace("-", "_") for name in device_bundle.SHIPPED}


def test_the_size_check_refuses_a_bundle_over_its_limit(tmp_path, capsys):
    folder = tmp_path / "bundle"
    (folder / "wheels").mkdir(parents=True)
    (folder / "wheels" / "big.whl").write_bytes(bytes(2 * 2**20))
    (folder / "run.py").write_text("\n")
    assert device_bundle.main(["--check", str(folder), "--limit-mib", "1"]) == 2
    message = capsys.readouterr().err
    assert "over the limit of 1 MiB" in message and "wheels 2.0 MiB" in message and "fix:" in message
    assert device_bundle.main(["--check", str(folder), "--limit-mib", "3"]) == 0
    assert "2.00 MiB (limit 3 MiB)" in capsys.readouterr().out


def test_the_lock_gives_every_shipped_and_node_package_a_version_for_each_python():
    for python in ("3.10", "3.11", "3.12"):
        pins = device_bundle.lock_pins(python)
        assert set(device_bundle.SHIPPED) | set(device_bundle.NODE) <= set(pins), python
    words = (ROOT / "requirements" / "torch.txt").read_text().split()
    torch_txt = dict(word.split("==") for word in words if "==" in word)
    assert device_bundle.lock_pins("3.12")["torchvision"] == torch_txt["torchvision"]
    assert device_bundle.lock_pins("3.10")["numpy"] != device_bundle.lock_pins("3.12")["numpy"]  # markers count


def test_platform_tags_reach_down_to_older_glibc():
    tags = device_bundle.platform_tags("manylinux_2_28_x86_64")
    assert tags[0] == "manylinux_2_28_x86_64" and "manylinux_2_17_x86_64" in tags
    assert {"manylinux2014_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert device_bundle.platform_tags("macosx_11_0_arm64") == ["macosx_11_0_arm64"]


def test_a_repacked_wheel_unpacks_into_an_importable_package(tmp_path):
    wheel = device_bundle.repack_installed("attrs", tmp_path)
    assert wheel.name.startswith(f"attrs-{metadata.version('attrs')}-py3-none-any")
    extra = tmp_path / "extra-1.0-py3-none-any.whl"
    with zipfile.ZipFile(extra, "w") as archive:
        archive.writestr("extra-1.0.data/purelib/extra.py", "VALUE = 1\n")
        archive.writestr("extra-1.0.data/scripts/tool", "#!/bin/sh\n")
    site = tmp_path / "site"
    assert device_node.unpack(tmp_path, site) == sorted([wheel.name, extra.name])
    assert (site / "extra.py").is_file() and not (site / "tool").exists()
    code = "import attrs, extra, importlib.metadata as m; print(m.version('attrs'), extra.VALUE)"
    shown = subprocess.run([sys.executable, "-S", "-c", code], env={"PYTHONPATH": str(site)}, capture_output=True,
                           text=True)  # fmt: skip
    assert shown.stdout.split() == [metadata.version("attrs"), "1"], shown.stderr
