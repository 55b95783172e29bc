"""Label files of the action datasets researchers own, read into one shape: video id -> its labels.

- `csv`, ours: columns `video`, `action`[, `effect`, `time_symmetric`]; a video's id is the stem of
  its `video` cell.
- `ssv2`, Something-Something V2's labels JSON: objects with `id`, `label`, `template`,
  `placeholders`; videos `<id>.webm`; the class is the template without its brackets (174 classes).
- `kinetics`, Kinetics-400/600/700's CSV: `label,youtube_id,time_start,time_end[,split]`; videos
  `<youtube_id>_<start:06d>_<end:06d>.mp4` (YouTube ids hold `-` and `_`, so the id is built from the
  columns, never split out of a file name); the class is `label`.
- `folders`, the UCF101 / HMDB51 layout (`--labels folders`): one folder per class; the class is the
  folder's name in words (UCF101's `RidingABike` is "Riding a bike", HMDB51's `ride_bike` "ride bike"),
  as the other formats' classes read; a UCF101 list or HMDB51 split files (`--split`) choose a split.

The format is recognised from the file's content (`label_format=` forces one). Effects stay optional:
only our CSV has them. Every problem is one `LabelError` line naming the file and the fix.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from finevidbench.video import VIDEO_EXTENSIONS

LABEL_COLUMNS = ("action", "effect", "time_symmetric")
FORMATS = ("csv", "ssv2", "kinetics", "folders")
KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end")
HMDB_TAGS = {"0": "unused", "1": "train", "2": "test"}


class LabelError(ValueError):
    """A labels file (or folder layout) cannot be read as asked; the message names it and the fix."""


@dataclass(frozen=True)
class LabelSet:
    """Labels of one source, keyed by video id (the file stem the video must have)."""

    format: str
    """One of FORMATS."""
    source: str
    """The labels file, or the videos folder for `folders`."""
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    """Video id -> {"action": class[, "effect": ..., "time_symmetric": ...]}."""
    split: str | None = None
    """The split the rows were chosen by, if any."""


def read_text(path: Path) -> str:
    """A labels file as text: UTF-8 (a byte-order mark allowed), else one clear error."""
    if not path.is_file():
        raise LabelError(f"{path}: labels file not found (fix: pass --labels FILE, or --labels folders)")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelError(
            f"{path}: not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r}); "
            "fix: convert it, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8"
        ) from None


def detect_format(path: Path, text: str) -> str:
    """The format a labels file's content is in; a LabelError names the known ones otherwise."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            entries = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LabelError(f"{path}: looks like JSON but does not parse ({exc.msg}, line {exc.lineno})") from None
        if entries and isinstance(entries[0], dict) and "id" in entries[0]:
            return "ssv2"
    try:
        header = {name.strip() for name in next(csv.reader(io.StringIO(stripped)), [])}
    except csv.Error as exc:
        raise LabelError(f"{path}: neither JSON nor a CSV header line ({exc}) (fix: save it as UTF-8 CSV)") from None
    if {"youtube_id", "label"} <= header:
        return "kinetics"
    if {"video", "action"} <= header:
        return "csv"
    raise LabelError(
        f"{path}: not a labels file this builder knows; formats: csv (columns video, action[, effect]), "
        "ssv2 (Something-Something V2 labels JSON), kinetics (label,youtube_id,time_start,time_end CSV), "
        "folders (--labels folders: one folder per class) (fix: --label-format NAME to force one)"
    )


def _once(rows: Mapping[str, dict[str, str]], video: str, where: str, path: Path) -> None:
    if video in rows:
        raise LabelError(f"{path}: {where}: video id {video!r} is labelled twice (fix: keep one entry per video)")


def _read_csv(path: Path, text: str, split: str | None) -> dict[str, dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"video", "action"} <= set(reader.fieldnames):
        raise LabelError(
            f"{path}: needs the columns 'video' and 'action' (optional: 'effect'); found {reader.fieldnames}"
        )
    rows: dict[str, dict[str, str]] = {}
    for line, row in enumerate(reader, start=2):
        video = Path((row.get("video") or "").strip()).stem
        if not video:
            raise LabelError(f"{path}:{line}: empty 'video' cell")
        _once(rows, video, f"line {line}", path)
        rows[video] = {k: row[k].strip() for k in LABEL_COLUMNS if (row.get(k) or "").strip()}
    return rows


def ssv2_class(template: str) -> str:
    """Something-Something V2's class name: the template without its placeholder brackets."""
    return re.sub(r"\s+", " ", template.replace("[", "").replace("]", "")).strip()


def folder_class(name: str) -> str:
    """A class folder's name in words: CamelCase split (first word kept, the rest lower case), underscores as spaces.

    Options reach the model as text; "RidingABike" next to "ride a horse" would tell formats apart, not actions.
    """
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name.replace("_", " ")).split()
    return " ".join(words[:1] + [w if w.isupper() and len(w) > 1 else w.lower() for w in words[1:]])


def _read_ssv2(path: Path, text: str, split: str | None) -> dict[str, dict[str, str]]:
    entries = json.loads(text)
    rows: dict[str, dict[str, str]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or "id" not in entry:
            raise LabelError(f"{path}: entry {index} is not an object with an 'id'")
        if not entry.get("template"):
            raise LabelError(
                f"{path}: entry {index} (id {entry['id']}) has no 'template', the class "
                "(SSv2's test labels have none; fix: use the train or validation labels JSON)"
            )
        video = str(entry["id"]).strip()
        _once(rows, video, f"entry {index}", path)
        rows[video] = {"action": ssv2_class(entry["template"])}
    return rows


def kinetics_id(youtube_id: str, start: str | float, end: str | float) -> str:
    """The file stem Kinetics' download tools give a clip: `<youtube_id>_<start:06d>_<end:06d>`."""
    return f"{youtube_id}_{int(float(start)):06d}_{int(float(end)):06d}"


def _read_kinetics(path: Path, text: str, split: str | None) -> dict[str, dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in KINETICS_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise LabelError(f"{path}: Kinetics CSV without the column(s) {missing}; found {reader.fieldnames}")
    if split and "split" not in (reader.fieldnames or []):
        raise LabelError(f"{path}: --split {split}: this file has no 'split' column (fix: leave --split out)")
    rows: dict[str, dict[str, str]] = {}
    for line, row in enumerate(reader, start=2):
        if split and (row.get("split") or "").strip() != split:
            continue
        if any(row.get(c) is None for c in KINETICS_COLUMNS):
            raise LabelError(
                f"{path}:{line}: fewer cells than the header's {len(reader.fieldnames or [])} (fix: fill the row)"
            )
        try:
            video = kinetics_id(row["youtube_id"].strip(), row["time_start"], row["time_end"])
        except (TypeError, ValueError):
            raise LabelError(f"{path}:{line}: time_start/time_end must be seconds, got {row}") from None
        _once(rows, video, f"line {line}", path)
        rows[video] = {"action": row["label"].strip()}
    return rows


READERS: dict[str, Callable[[Path, str, str | None], dict[str, dict[str, str]]]] = {
    "csv": _read_csv,
    "ssv2": _read_ssv2,
    "kinetics": _read_kinetics,
}


def _split_entries(pattern: str) -> set[str]:
    """Video ids a UCF101 list (`Class/v_x.avi [index]`) or HMDB51 split files (`x.avi TAG`) choose.

    `pattern` is a file or a glob, optionally `:TAG` for HMDB51's tags (1 train, 2 test; default 2).
    """
    pattern, _, tag = pattern.partition(":") if not Path(pattern).exists() else (pattern, "", "")
    files = sorted(Path(f) for f in glob.glob(pattern)) if any(c in pattern for c in "*?[") else [Path(pattern)]
    if not files or not all(f.is_file() for f in files):
        raise LabelError(f"--split {pattern}: no such split list (fix: a UCF101 list or HMDB51 *_split1.txt glob)")
    chosen: set[str] = set()
    for file in files:
        for line in read_text(file).splitlines():
            parts = line.split()
            if not parts:
                continue
            hmdb = "/" not in parts[0] and len(parts) == 2 and parts[1] in HMDB_TAGS
            if not hmdb or parts[1] == (tag or "2"):
                chosen.add(Path(parts[0]).stem)
    return chosen


def _read_folders(videos: Path, split: str | None, extensions: tuple[str, ...]) -> dict[str, dict[str, str]]:
    if not videos.is_dir():
        raise LabelError(f"{videos}: not a folder (fix: --videos the folder holding one folder per class)")
    files = sorted(p for p in videos.rglob("*") if p.suffix.lower() in extensions and p.is_file())
    flat = [p for p in files if p.parent == videos]
    if flat or not files:
        raise LabelError(
            f"{videos}: --labels folders needs one folder per class with the videos inside "
            f"({len(flat)} video(s) lie directly in it; fix: move them into class folders or pass a labels file)"
        )
    chosen = _split_entries(split) if split else None
    rows: dict[str, dict[str, str]] = {}
    for path in files:
        if chosen is not None and path.stem not in chosen:
            continue
        _once(rows, path.stem, str(path.relative_to(videos)), videos)
        rows[path.stem] = {"action": folder_class(path.relative_to(videos).parts[0])}
    return rows


def read_label_set(
    spec: str | Path, videos: Path | None = None, label_format: str | None = None, split: str | None = None
) -> LabelSet:
    """Read labels from a file (or `folders`: the layout of `videos`), in `label_format` or the detected one."""
    if label_format is not None and label_format not in FORMATS:
        raise LabelError(f"--label-format {label_format}: not one of {FORMATS}")
    if str(spec) == "folders" or label_format == "folders":
        if videos is None:
            raise LabelError("--labels folders reads the class of each video from --videos DIR; pass it")
        return LabelSet("folders", str(videos), _read_folders(Path(videos), split, VIDEO_EXTENSIONS), split)
    path = Path(spec)
    text = read_text(path)
    fmt = label_format or detect_format(path, text)
    if split and fmt not in ("kinetics",):
        raise LabelError(
            f"--split {split}: only kinetics labels (a split column) and folders (split lists) have splits"
        )
    try:
        rows = READERS[fmt](path, text, split)
    except (json.JSONDecodeError, csv.Error) as exc:
        raise LabelError(f"{path}: not readable as {fmt} ({exc})") from None
    if not rows:
        raise LabelError(f"{path}: no labelled video{f' in split {split!r}' if split else ''}")
    return LabelSet(fmt, str(path), rows, split)


def read_labels(path: str | Path) -> dict[str, dict[str, str]]:
    """Labels keyed by video id from a labels file of any known format (see the table above)."""
    return read_label_set(path).rows
