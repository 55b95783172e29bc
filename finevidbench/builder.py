"""Building a question set from a folder of videos (and optional labels).

`build` writes `questions.jsonl` (one `Question` per line) and `manifest.json` (protocol version,
seed, per-video content hashes, counts and answer distributions). The same videos, labels, seed
and protocol version give byte-identical files: every random choice comes from a generator
seeded by (seed, video content hash, type, slot), and answers are balanced over the whole set
by block randomisation per question type.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from finevidbench.corpus.curate import Curation, CurationConfig, Inspection, inspect_job, inspect_video
from finevidbench.corpus.labels import LabelSet, read_label_set
from finevidbench.corpus.place import Placement
from finevidbench.corpus.scan import scan_folder
from finevidbench.files import atomic_write_text, write_json
from finevidbench.protocol import QUESTION_TYPES, Question, QuestionType, VideoContext, get_type, protocol_version
from finevidbench.workers import ordered_map

FORMAT = "finevidbench-question-set"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class BuildConfig:
    """Inputs of a build other than the videos and labels; all but `workers` go into the manifest."""

    seed: int = 0
    speeds: tuple[float, ...] = (0.5, 1.0, 2.0)
    """Playback speeds scene questions are asked at."""
    pool_frames: int = 32
    """Candidate frames per video for fragment items (segment centres over the clip)."""
    types: tuple[str, ...] | None = None
    """Question types to build; None builds every registered type."""
    attempts: int = 3
    """Tries per item before its slot is skipped (its balanced answer goes to the next slot)."""
    curation: CurationConfig | None = None
    """Drop and report unusable videos (`finevidbench build` always curates); None: any bad video stops the build."""
    workers: int = 1
    """Processes decoding and measuring videos (`finevidbench.workers`): the same files for any number."""


class Balancer:
    """Hands out answer values in shuffled blocks so their counts never differ by more than a few."""

    def __init__(self, values: Sequence[Any], rng: np.random.Generator) -> None:
        self.values = list(values)
        self.rng = rng
        self.queue: deque[Any] = deque()

    def draw(self) -> Any:
        """The next value; a new shuffled block when the current one is used up."""
        if not self.queue:
            self.queue.extend(self.values[i] for i in self.rng.permutation(len(self.values)))
        return self.queue.popleft()

    def put_back(self, value: Any) -> None:
        """Return a value whose item could not be built, so the next slot takes it."""
        self.queue.appendleft(value)


def _stable_seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "little")


def find_videos(folder: Path) -> list[Path]:
    """Video files under `folder`, sorted; ids (stems) must be unique (`scan_folder` also says what it skips)."""
    return scan_folder(Path(folder)).videos


def video_context(
    path: Path,
    rel: str,
    labels: dict[str, str],
    vocab: dict[str, tuple[str, ...]],
    config: BuildConfig,
    seen: Inspection | None = None,
) -> tuple[VideoContext, str]:
    """A video's context for the question types (inspected now unless `seen` is given), and its content hash."""
    seen = seen or inspect_video(path, config.pool_frames)
    context = VideoContext(
        video=path.stem,
        video_path=rel,
        meta=seen.meta,
        labels=labels,
        vocab=vocab,
        pool=seen.pool,
        thumbs=seen.thumbs,
        speeds=config.speeds,
        changes=seen.changes,
    )
    return context, seen.sha256


def _questions_for(
    ctx: VideoContext, sha: str, qtype: QuestionType, balancer: Balancer | None, config: BuildConfig
) -> tuple[list[Question], int]:
    """All items of one type for one video, and how many slots had to be skipped."""
    built: list[Question] = []
    seen: set[tuple[float, tuple[float, float] | None, tuple[int, ...] | None, str | None]] = set()
    skipped = 0
    for slot in range(qtype.slots(ctx)):
        target = balancer.draw() if balancer else None
        question = None
        for attempt in range(config.attempts):
            rng = np.random.default_rng(_stable_seed(config.seed, sha, qtype.name, slot, attempt))
            draft = qtype.make(ctx, slot, target, rng)
            if draft is None:
                continue
            # what makes two items of one video the same: fragment frames, or a scene prompt at a speed
            key = (draft.speed, draft.window, draft.frames, draft.prompt if draft.frames is None else None)
            if key not in seen:
                seen.add(key)
                question = Question(
                    id=f"{qtype.name}-{ctx.video}-{slot}",
                    video=ctx.video,
                    video_path=ctx.video_path,
                    level=qtype.level,
                    type=qtype.name,
                    speed=float(draft.speed),
                    frames=draft.frames,
                    prompt=draft.prompt,
                    options=draft.options,
                    answer=draft.answer,
                    answer_type=qtype.answer_type,
                    evidence=draft.evidence,
                    window=draft.window,
                )
                break
        if question is None:
            skipped += 1
            if balancer:
                balancer.put_back(target)
        else:
            built.append(question)
    return built, skipped


def build(
    videos: str | Path,
    out: str | Path,
    labels: str | Path | LabelSet | None = None,
    config: BuildConfig = BuildConfig(),
    progress: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the question set of `videos` into `out`; returns the manifest (`extra` keys are added to it).

    `labels` is a labels file of any known format or a read `LabelSet`. With `config.curation`, bad
    videos are dropped and reported in `out/curation.json` instead of stopping the build. Media files
    the build does not take are listed in the manifest's `skipped_files` (and curation.json); videos
    too short for a type, counted per type in `too_short`. Copies in out/videos/ follow the sources
    (`Placement`): a changed source is copied again, a video no longer built is removed.
    """
    videos, out = Path(videos), Path(out)
    scan = scan_folder(videos)
    label_set = labels if isinstance(labels, LabelSet) or labels is None else read_label_set(labels, videos)
    rows = label_set.rows if label_set else {}
    out.mkdir(parents=True, exist_ok=True)
    curation = None
    inspected: Iterable[tuple[Path, Inspection]]
    if config.curation is None:
        jobs = [(path, config.pool_frames) for path in scan.videos]
        inspected = zip(scan.videos, ordered_map(inspect_job, jobs, config.workers), strict=True)
        sources, labelled = scan.videos, rows
    else:
        curation = Curation(scan.videos, label_set, out, config.curation, config.seed, scan.skipped, config.workers)
        kept = curation.run(config.pool_frames, progress)
        if not kept:
            report = curation.finish(out)
            shown = "; ".join(f"{Path(d['file']).name}: {d['reason']}" for d in curation.report.dropped[:3])
            raise ValueError(f"{videos}: no usable video ({shown or 'no labelled video'}; every drop is in {report})")
        sources, inspected = [curation.files[video] for video in kept], curation.inspections(config.pool_frames)
        labelled = {video: rows[video] for video in kept if video in rows}  # distractors: classes the set shows
    placement = Placement(out)
    placement.check(sources)
    vocab = {col: tuple(sorted({r[col] for r in labelled.values() if col in r})) for col in ("action", "effect")}
    questions, records, skipped, short = _build_questions(inspected, rows, vocab, config, placement.place, progress)
    extra = {**(extra or {}), **({"skipped_files": scan.skipped} if scan.skipped else {})}
    extra.update({"too_short": short} if short else {})
    if curation is not None:
        extra["curation"] = curation.report.summary()
    manifest = write_question_set(out, questions, records, config, skipped, extra)
    placement.finish(keep=scan.videos)
    if curation is not None:
        curation.finish(out)
    return manifest


def _build_questions(
    inspected: Iterable[tuple[Path, Inspection]],
    rows: dict[str, dict[str, str]],
    vocab: dict[str, tuple[str, ...]],
    config: BuildConfig,
    place: Callable[[Path], str],
    progress: bool,
) -> tuple[list[Question], dict[str, dict[str, Any]], dict[str, int], dict[str, int]]:
    """Every type's items for each video in turn (answers balanced across the set).

    Returns the questions, the video records, the skipped slots per type, and per type how many
    videos had too few frames for it (`QuestionType.too_short`; types a video has no label for aside).
    """
    types = [get_type(name) for name in (config.types or QUESTION_TYPES)]
    balancers: dict[str, Balancer] = {}
    questions: list[Question] = []
    skipped: Counter[str] = Counter()
    short: Counter[str] = Counter()
    video_records: dict[str, dict[str, Any]] = {}
    for path, seen in tqdm(inspected, desc="building questions", unit="video", disable=not progress):
        ctx, sha = video_context(path, place(path), rows.get(path.stem, {}), vocab, config, seen)
        video_records[ctx.video] = {
            "path": ctx.video_path,
            "sha256": sha,
            "frame_count": ctx.meta.frame_count,
            "fps": ctx.meta.fps,
            "labels": ctx.labels,
        }
        for qtype in types:
            if qtype.too_short(ctx):
                if not qtype.needs_label or ctx.labels.get(qtype.needs_label):
                    short[qtype.name] += 1
                continue
            values = qtype.targets(ctx)
            if values is not None and qtype.name not in balancers:
                balancers[qtype.name] = Balancer(values, np.random.default_rng(_stable_seed(config.seed, qtype.name)))
            built, n_skipped = _questions_for(ctx, sha, qtype, balancers.get(qtype.name), config)
            questions.extend(built)
            skipped[qtype.name] += n_skipped
    return questions, video_records, dict(skipped), dict(sorted((t, n) for t, n in short.items() if n))


def answer_label(question: Question) -> str:
    """The value whose distribution is balanced and reported (letters, yes/no, counts, orders)."""
    return get_type(question.type).answers.label(question.answer)


def write_question_set(
    out: Path,
    questions: list[Question],
    videos: dict[str, dict[str, Any]],
    config: BuildConfig,
    skipped: dict[str, int],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write questions.jsonl then manifest.json (each via a temporary file and an atomic rename)."""
    text = "".join(q.to_json() + "\n" for q in questions)
    questions_sha = hashlib.sha256(text.encode()).hexdigest()
    counts = Counter(q.type for q in questions)
    distribution: dict[str, Counter[str]] = {}
    for q in questions:
        distribution.setdefault(q.type, Counter())[answer_label(q)] += 1
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "protocol_version": protocol_version(),
        "types": {name: get_type(name).spec() for name in sorted(counts)},
        "seed": config.seed,
        "speeds": list(config.speeds),
        "pool_frames": config.pool_frames,
        "n_questions": len(questions),
        "n_videos": len(videos),
        "counts": dict(sorted(counts.items())),
        "answer_distribution": {t: dict(sorted(c.items())) for t, c in sorted(distribution.items())},
        "skipped_slots": dict(sorted((t, n) for t, n in skipped.items() if n)),
        "questions_sha256": questions_sha,
        "dataset_hash": hashlib.sha256(
            (questions_sha + "".join(v["sha256"] for _, v in sorted(videos.items()))).encode()
        ).hexdigest(),
        "videos": dict(sorted(videos.items())),
        **(extra or {}),
    }
    atomic_write_text(out / "questions.jsonl", text)
    write_json(out / "manifest.json", manifest, "manifest")  # the schema load_question_set reads it with
    return manifest
