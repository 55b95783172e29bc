"""Publishing a question set as a folder ready to upload as a Hugging Face dataset.

The folder holds the set itself, unchanged (questions.jsonl, manifest.json and its videos), so that
`hf://ORG/NAME@REV` loads with the same dataset hash; a table with one uniformly typed row per
question, the only data `datasets.load_dataset` sees (the card's `configs` name it); and a dataset
card (README.md) whose YAML front matter the Hub shows: license, tasks, size, configs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finevidbench.builder import answer_label
from finevidbench.dataset import QuestionSet, load_question_set

if TYPE_CHECKING:
    from huggingface_hub import DatasetCard

TABLE = "data/test.parquet"
"""The Hub-friendly table, relative to the published folder (parquet keeps its column types)."""

TASK_CATEGORIES = ["video-text-to-text", "visual-question-answering", "video-classification"]
TAGS = ["finevidbench", "video", "video-question-answering", "fine-grained", "temporal-reasoning", "benchmark"]

# the Hub's size_categories buckets: (exclusive upper bound, id)
_SIZES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)

# the table's columns: (name, arrow type, description), one source for the schema and the card
FIELDS = (
    ("id", "string", "stable question id, `<type>-<video>-<slot>`"),
    ("video", "string", "video id (the file stem)"),
    ("video_path", "string", "the video's path inside this repository"),
    ("video_sha256", "string", "SHA-256 of the video file, as in manifest.json"),
    ("level", "string", "`scene` (the clip is shown, at `speed`) or `fragment` (the listed `frames` are shown)"),
    ("type", "string", "question type"),
    ("speed", "float64", "playback speed of the clip (scene level); 1.0 for fragment items"),
    ("prompt", "string", "the question text, options included"),
    ("options", "list<string>", "option texts labelled A, B, ...; empty for open answers"),
    ("answer", "string", "gold answer as text: a letter, yes/no, a count, or frame labels such as `4 3 2 1`"),
    ("answer_type", "string", "`choice`, `yes_no`, `integer` or `permutation`"),
    ("frames", "list<int64>", "fragment level: source frame indices in the order shown; empty for scene items"),
    ("window", "list<float64>", "scene level: the part of the clip shown, [start, end] in seconds; empty: all"),
    ("answer_json", "string", "gold answer in its protocol type, JSON-encoded (string, int or list of ints)"),
    ("evidence", "string", "what the builder measured to accept the item, JSON-encoded"),
)


class PublishError(ValueError):
    """A question set cannot be published as asked; the message says why and what to pass instead."""


def publish(source: str | Path, out: str | Path, license: str | None, name: str | None = None) -> Path:
    """Write `source` (anything `load_question_set` accepts) as a Hugging Face dataset folder at `out`.

    Built in a temporary sibling folder and renamed into place, so a crash never leaves a
    half-published folder; the copy is loaded back before the rename and must give the source's
    dataset hash.

    Args:
        source: `mini`, a built folder, or `hf://ORG/NAME@REV`.
        out: a folder that does not exist yet or is empty.
        license: the card's license id (e.g. `other`, `cc-by-4.0`); required.
        name: a human-readable name for the card (`pretty_name` and title).

    Returns:
        `out`, made absolute.

    Raises:
        PublishError: no license, or `out` is not empty.
        QuestionSetError: `source` cannot be loaded (unchanged from `load_question_set`).
    """
    if not license or not license.strip():
        raise PublishError(
            "a license is required: the Hub shows it on the dataset page, and the videos may only be reused "
            "under the source dataset's terms (e.g. Something-Something V2 has its own license) "
            "(fix: pass --license, e.g. 'other' or 'cc-by-4.0')"
        )
    out = Path(out).expanduser().absolute()  # `.` has no name and is its own parent: stage beside the folder
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PublishError(f"{out}: exists and is not empty (fix: pass a new or empty folder)")
    qs = load_question_set(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    mode = out.stat().st_mode & 0o7777 if out.is_dir() else 0o755
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-publish-", dir=out.parent))
    try:
        copy_set(qs, staging)
        write_table(qs, staging / TABLE)
        dataset_card(qs, license.strip(), name).save(staging / "README.md")
        copied = load_question_set(staging).dataset_hash
        if copied != qs.dataset_hash:  # a source altered while it was copied
            raise PublishError(f"{staging}: the copy's dataset hash {copied} differs from the source's")
        staging.chmod(mode)
        try:
            os.rename(staging, out)
        except OSError as exc:
            raise PublishError(
                f"{out}: cannot be replaced ({exc.strerror}) (fix: pass a new or empty folder)"
            ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def copy_set(qs: QuestionSet, target: Path) -> None:
    """The set's files byte for byte: questions and manifest copied, the manifest's videos hard-linked.

    Links are followed (a Hub snapshot's files are symbolic links into its cache) and never
    created: a set whose videos link outside its folder is refused on load, and uploads would
    carry the link instead of the video.
    """
    for name in ("questions.jsonl", "manifest.json"):
        shutil.copyfile(qs.root / name, target / name)
    for record in qs.manifest["videos"].values():
        source, dest = qs.root / record["path"], target / record["path"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:  # resolved first: Linux's link(2) links a symbolic link itself, whatever follow_symlinks says
            os.link(source.resolve(), dest)
        except OSError:  # another file system, or one without hard links
            shutil.copyfile(source, dest)


def table_rows(qs: QuestionSet) -> list[dict[str, Any]]:
    """One row per question with the same type in every row (empty lists, not nulls)."""
    videos = qs.manifest["videos"]
    return [
        {
            "id": q.id,
            "video": q.video,
            "video_path": q.video_path,
            "video_sha256": videos[q.video]["sha256"],
            "level": q.level,
            "type": q.type,
            "speed": float(q.speed),
            "prompt": q.prompt,
            "options": list(q.options),
            "answer": answer_label(q),
            "answer_type": q.answer_type,
            "frames": [int(f) for f in q.frames or ()],
            "window": [float(t) for t in q.window or ()],
            "answer_json": json.dumps(q.answer),
            "evidence": json.dumps(q.evidence, sort_keys=True),
        }
        for q in qs.questions
    ]


def write_table(qs: QuestionSet, path: Path) -> None:
    """Write `table_rows` as parquet with the explicit schema of FIELDS.

    An explicit schema, not inference: a set without choice questions would otherwise give
    `options` a null type, and the Hub's viewer and `datasets` want one type per column.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        "string": pa.string(),
        "float64": pa.float64(),
        "list<string>": pa.list_(pa.string()),
        "list<int64>": pa.list_(pa.int64()),
        "list<float64>": pa.list_(pa.float64()),
    }
    schema = pa.schema([(column, types[kind]) for column, kind, _ in FIELDS])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(table_rows(qs), schema=schema), path)


def size_category(n: int) -> str:
    """The Hub's `size_categories` bucket for `n` rows."""
    return next((label for bound, label in _SIZES if n < bound), "n>1B")


def dataset_card(qs: QuestionSet, license: str, name: str | None = None) -> DatasetCard:
    """The README.md: Hub metadata (license, tasks, size, the table as the only config) and a description."""
    from huggingface_hub import DatasetCard, DatasetCardData

    pretty = name or "FineVidBench question set"
    data = DatasetCardData(
        license=license,
        language=["en"],
        task_categories=TASK_CATEGORIES,
        size_categories=[size_category(len(qs.questions))],
        pretty_name=pretty,
        tags=TAGS,
        configs=[{"config_name": "default", "data_files": [{"split": "test", "path": TABLE}]}],
    )
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{card_body(qs, license, pretty)}")


def card_body(qs: QuestionSet, license: str, title: str) -> str:
    """The card's Markdown: what the set is, its counts, its identity, how to load it, its fields."""
    m = qs.manifest
    per_type = Counter((q.type, q.level) for q in qs.questions)
    per_level = Counter(q.level for q in qs.questions)
    type_rows = "\n".join(f"| `{t}` | {level} | {n} |" for (t, level), n in sorted(per_type.items()))
    level_text = ", ".join(f"{level}: {n}" for level, n in sorted(per_level.items()))
    fields = "\n".join(f"- `{column}` (`{kind}`): {text}" for column, kind, text in FIELDS)
    return f"""# {title}

A **FineVidBench** question set: {len(qs.questions)} questions on fine-grained video understanding
over {m["n_videos"]} videos ({level_text}). Scene-level questions show a clip (at a playback speed);
fragment-level questions show selected frames of it, in a given order.

License: `{license}`. The videos come from their source dataset: reuse them only under its terms.

| type | level | questions |
|---|---|---|
{type_rows}

- protocol version: `{m["protocol_version"]}`
- dataset hash: `{qs.dataset_hash}` (the questions and every video's content; `finevidbench` checks it on load)

## Loading

With `finevidbench`, pinned to a revision (a commit hash or tag) so scores stay comparable:

```bash
make eval DATA=hf://ORG/NAME@REV
```

With `datasets` (the table `{TABLE}`; the videos lie at `video_path` in the repository):

```python
from datasets import load_dataset
from huggingface_hub import snapshot_download

questions = load_dataset("ORG/NAME", revision="REV", split="test")
root = snapshot_download("ORG/NAME", repo_type="dataset", revision="REV")
video = f"{{root}}/{{questions[0]['video_path']}}"
```

`questions.jsonl` and `manifest.json` are the set exactly as `finevidbench build` wrote it.

## Fields

{fields}
"""
