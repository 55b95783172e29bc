"""Loading a question set: `mini`, a built folder, or `hf://ORG/NAME@REVISION`.

One function, `load_question_set(source)`, and one CLI argument (`--questions` / `DATA=`) accept
all three. Video checksums are verified against the manifest, so a missing or altered video is a
clear error before any model runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finevidbench.builder import BuildConfig, build
from finevidbench.files import FileFormatError, build_folder_once, read_json_object, read_jsonl, sha256_file
from finevidbench.paths import cache_dir
from finevidbench.protocol import AnswerSpace, Question, QuestionType, protocol_version

MINI_VIDEOS = 48
MINI_SEED = 0
MAX_MANIFEST_BYTES = 512 * 2**20
"""A manifest of a million videos is about 300 MB; a bigger one is refused before it is parsed."""
MAX_QUESTION_BYTES = 64 * 1024
"""Longest questions.jsonl line (a question is under 2 kB)."""


class QuestionSetError(Exception):
    """A question set cannot be used: missing, malformed, or its videos do not match the manifest."""


@dataclass(frozen=True)
class QuestionSet:
    """A loaded question set: its folder, manifest and questions."""

    root: Path
    manifest: dict[str, Any]
    questions: tuple[Question, ...]

    def video_path(self, question: Question) -> Path:
        """Path of a question's video, taken from the manifest (checked to lie inside the set's folder on load)."""
        return self.root / str(self.manifest["videos"][question.video]["path"])  # a string (manifest schema)

    @property
    def dataset_hash(self) -> str:
        """Hash of the questions and every video's content (from the manifest)."""
        return str(self.manifest["dataset_hash"])  # a string (manifest schema)


def mini_dir() -> Path:
    """Cache folder of the mini set for the current protocol version."""
    return cache_dir() / f"mini-{protocol_version()}-{MINI_VIDEOS}v-s{MINI_SEED}"


def ensure_mini(progress: bool = True) -> Path:
    """The mini set's folder, synthesised and built on first use (deterministic, so rebuilt identically)."""
    from finevidbench.corpus.synth import synthesize

    def fill(staging: Path) -> None:
        labels = synthesize(staging, videos=MINI_VIDEOS, seed=MINI_SEED, progress=progress)
        build(staging / "videos", staging, labels=labels, config=BuildConfig(seed=MINI_SEED), progress=progress)

    return build_folder_once(mini_dir(), "manifest.json", fill)


def resolve_source(source: str | Path) -> Path:
    """The local folder behind `mini`, a folder path, or `hf://ORG/NAME@REVISION`."""
    text = str(source)
    if text == "mini":
        return ensure_mini()
    if text.startswith("hf://"):
        return _hub_snapshot(text[len("hf://") :])
    folder = Path(text).expanduser()
    if not folder.is_dir():
        raise QuestionSetError(
            f"{folder}: no such question-set folder (fix: use 'mini', a folder made by "
            "'finevidbench build', or hf://ORG/NAME@REVISION)"
        )
    return folder


def _hub_snapshot(spec: str) -> Path:
    repo, sep, revision = spec.partition("@")
    if not sep or not revision or repo.count("/") != 1:
        raise QuestionSetError(
            f"hf://{spec}: expected hf://ORG/NAME@REVISION with a pinned revision (a commit hash or tag)"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id=repo, repo_type="dataset", revision=revision))
    except LocalEntryNotFoundError as exc:
        raise QuestionSetError(
            f"hf://{spec}: not in the local Hugging Face cache and the Hub cannot be reached "
            f"(fix: download it once with network access, or point HF_HUB_CACHE at a copy): {exc}"
        ) from None


def load_question_set(source: str | Path, verify: bool = True) -> QuestionSet:
    """Load and check a question set from any source `resolve_source` accepts."""
    root = resolve_source(source)
    manifest = _read_manifest(root)
    questions = _read_questions(root / "questions.jsonl")
    check_containment(root, manifest, questions, boundary=_hub_repo(root) if str(source).startswith("hf://") else root)
    check_questions(root, manifest, questions)
    if verify:
        verify_questions_file(root, manifest)
        verify_videos(root, manifest)
    return QuestionSet(root=root, manifest=manifest, questions=questions)


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / "manifest.json"
    if not path.is_file():
        raise QuestionSetError(f"{path}: missing (fix: build the folder with 'finevidbench build')")
    try:
        return read_json_object(path, "manifest", max_bytes=MAX_MANIFEST_BYTES)
    except FileFormatError as exc:
        raise QuestionSetError(str(exc)) from None


def _read_questions(path: Path) -> tuple[Question, ...]:
    if not path.is_file():
        raise QuestionSetError(f"{path}: missing (fix: rebuild the question set)")
    try:
        records = read_jsonl(path, "question", MAX_QUESTION_BYTES, plain=plain_question)
        return tuple(Question.from_dict(record) for record in records)
    except FileFormatError as exc:
        raise QuestionSetError(str(exc)) from None


_QUESTION_KEYS = frozenset(
    ("id", "video", "video_path", "level", "type", "speed", "frames", "prompt", "options", "answer", "answer_type")
)


def _text(value: object, longest: int, shortest: int = 1) -> bool:
    return type(value) is str and shortest <= len(value) <= longest


def _whole(value: object) -> bool:
    return type(value) is int  # not bool, which JSON Schema's integer refuses


def _plain_frames(frames: object) -> bool:
    """None, or 1 to 64 frame indices."""
    return frames is None or (
        type(frames) is list and 1 <= len(frames) <= 64 and all(_whole(f) and f >= 0 for f in frames)
    )


def _plain_answer(answer: object) -> bool:
    """A text of up to 64 characters, a whole number, or a list of up to 64 of these."""
    return (
        _text(answer, 64, 0)
        or _whole(answer)
        or (type(answer) is list and len(answer) <= 64 and all(_whole(a) or type(a) is str for a in answer))
    )


def _plain_window(window: object) -> bool:
    """None, or two non-negative times."""
    return window is None or (
        type(window) is list and len(window) == 2 and all(type(w) in (int, float) and w >= 0 for w in window)
    )


def plain_question(record: object) -> bool:
    """True for a record question.schema.json surely accepts: the shape `Question.to_json` writes.

    A shortcut past jsonschema, which costs about 0.4 ms a line (8 s for a set of FineVidBench's
    size, on every load); tests/test_fuzz.py checks it never accepts what the schema refuses. Any
    other record goes through the schema, which names what is wrong.
    """
    if type(record) is not dict or not _QUESTION_KEYS <= record.keys() <= _QUESTION_KEYS | {"evidence", "window"}:
        return False
    speed, frames, options, answer = record["speed"], record["frames"], record["options"], record["answer"]
    window, evidence = record.get("window"), record.get("evidence", {})
    return (
        _text(record["id"], 256)
        and _text(record["video"], 256)
        and _text(record["video_path"], 1024)
        and record["level"] in ("scene", "fragment")
        and _text(record["type"], 64)
        and _text(record["answer_type"], 64)
        and type(speed) in (int, float)
        and 0 < speed <= 16
        and _text(record["prompt"], 20000)
        and _plain_frames(frames)
        and type(options) is list
        and len(options) <= 26
        and all(_text(o, 1000, 0) for o in options)
        and _plain_answer(answer)
        and _plain_window(window)
        and type(evidence) is dict
        and len(evidence) <= 64
        and all(v is None or type(v) in (bool, int, float, str) for v in evidence.values())
    )


def _hub_repo(snapshot: Path) -> Path:
    """The cache folder of a Hub snapshot: its files are links into the repository's `blobs/`."""
    return snapshot.parent.parent if snapshot.parent.name == "snapshots" else snapshot


def check_containment(
    root: Path, manifest: dict[str, Any], questions: tuple[Question, ...], boundary: Path | None = None
) -> None:
    """Every video a set names lies inside its folder, and every question names its video's manifest path.

    A question set comes from strangers (the Hub, a pull request): an absolute path, a `..` or a
    symbolic link leaving the folder would let it show a model, or hash, any file on the machine.
    Checked before any video is opened. Links may resolve anywhere under `boundary` (default: the
    folder; a Hub snapshot's links lead into its repository's `blobs/`).
    """
    inside = (boundary or root).resolve()
    videos = manifest["videos"]  # its shape is the manifest schema's
    for video, record in videos.items():
        rel = record["path"]
        where = f"{root / 'manifest.json'}: field 'videos/{video}/path'"
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise QuestionSetError(
                f"{where} is {rel!r}: it must be a relative path inside the set's folder, "
                "without '..' (fix: rebuild the set with 'finevidbench build')"
            )
        if not (root / rel).resolve().is_relative_to(inside):
            raise QuestionSetError(
                f"{where} ({rel}) leads outside the set's folder through a symbolic link "
                "(fix: copy the video into the folder and rebuild)"
            )
    for q in questions:
        record = videos.get(q.video)
        if record is None or record["path"] != q.video_path:
            raise QuestionSetError(
                f"{root / 'questions.jsonl'}: question {q.id} names video_path {q.video_path!r}, "
                f"not its video's manifest path (fix: rebuild the set)"
            )


def check_questions(root: Path, manifest: dict[str, Any], questions: tuple[Question, ...]) -> None:
    """Every question is one a build could have made; a QuestionSetError names the first that is not.

    Unique id, a registered type at its own level and answer type, frames inside its video, an
    answer its type can have: `make eval` and `score` load sets through here, so none of them
    scores two items against one gold answer or shows a frame that does not exist.
    """
    from finevidbench.protocol import QUESTION_TYPES, TRAINING_TYPES

    path = root / "questions.jsonl"
    if not questions:
        raise QuestionSetError(f"{path}: no questions (fix: rebuild the set from usable videos)")
    known = {**QUESTION_TYPES, **TRAINING_TYPES}
    seen: set[str] = set()
    possible: dict[tuple[str, AnswerSpace], set[str]] = {}  # (type, answer space): the answers a build can give
    for q in questions:
        where = f"{path}: question {q.id}"
        qtype = known.get(q.type)
        problem = _question_problem(q, qtype, seen, manifest["videos"][q.video], possible)
        if problem:
            raise QuestionSetError(f"{where}: {problem} (fix: rebuild the set with 'finevidbench build')")
        seen.add(q.id)


def _question_problem(
    q: Question,
    qtype: QuestionType | None,
    seen: set[str],
    video: dict[str, Any],
    possible: dict[tuple[str, AnswerSpace], set[str]],
) -> str | None:
    """What makes one question impossible for a build to have made (None: nothing)."""
    if q.id in seen:
        return "its id appears twice"
    if qtype is None:
        return f"unknown type {q.type!r}"
    if (q.level, q.answer_type) != (qtype.level, qtype.answer_type):
        return f"level {q.level!r} / answer type {q.answer_type!r}, but {q.type} is {qtype.level} / {qtype.answer_type}"
    count = video.get("frame_count")
    if q.frames and isinstance(count, int) and not all(isinstance(f, int) and 0 <= f < count for f in q.frames):
        return f"frames {list(q.frames)} outside its video's 0..{count - 1}"
    space = qtype.space_of(q)
    key = (q.type, space)
    if key not in possible:
        possible[key] = {qtype.answers.label(v) for v in qtype.answers.values(space)}
    try:
        label = qtype.answers.label(q.answer)
    except (TypeError, ValueError):
        label = None
    return None if label in possible[key] else f"answer {q.answer!r} is not one its type can have"


def verify_questions_file(root: Path, manifest: dict[str, Any]) -> None:
    """questions.jsonl is the file its manifest was sealed with (an edited answer shows here)."""
    path = root / "questions.jsonl"
    if hashlib.sha256(path.read_bytes()).hexdigest() != manifest.get("questions_sha256"):
        raise QuestionSetError(
            f"{path}: differs from the file its manifest records (questions_sha256) "
            "(fix: restore it or rebuild the set)"
        )


def verify_videos(root: Path, manifest: dict[str, Any]) -> None:
    """Check every video of the manifest exists with the recorded content hash."""
    problems = []
    for video, record in manifest["videos"].items():
        path = root / record["path"]
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif sha256_file(path) != record["sha256"]:
            problems.append(f"{path}: content differs from the manifest (video {video})")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise QuestionSetError(
            f"{root}: {'; '.join(problems[:3])}{more} (fix: restore the original videos or rebuild the set)"
        )
