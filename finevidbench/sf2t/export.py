r"""Export a question set as the messages + images/videos JSONL that LLaMA-Factory and ms-swift read.

One line per item:
`{"messages": [{"role": "user", "content": "Frame 1: <image>\\nFrame 2: <image>\\n..."},
{"role": "assistant", "content": "3"}], "images": ["media/<id>/frame_1.png", ...]}`.
Each `<image>` (or `<video>`) tag stands for the next file of the list, in order, which is the
rule both tools check. Paths are relative to the JSONL's folder, which LLaMA-Factory takes as
`dataset_dir` (`media_dir`); a `dataset_info.json` registering the file sits beside it. The
prompts and answers are the ones our own training and evaluation use.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from tqdm.auto import tqdm

from finevidbench.dataset import QuestionSet
from finevidbench.files import atomic_write_text
from finevidbench.protocol import FRAGMENT_FRAME_SECONDS, Question, get_type
from finevidbench.request import question_text
from finevidbench.taskdocs import doc_of, fragment_frames
from finevidbench.video import speed_altered_copy, write_video

FORMS = ("images", "video")
TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}


def write_frame_images(frames: npt.NDArray[np.uint8], folder: Path) -> list[Path]:
    """Frames as folder/frame_1.png, frame_2.png, ... (kept when already there); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, frame in enumerate(frames, start=1):
        path = folder / f"frame_{number}.png"
        if not path.is_file():
            Image.fromarray(frame).save(path)
        paths.append(path)
    return paths


def _fragment_media(q: Question, qs: QuestionSet, media: Path, form: str) -> tuple[str, list[Path]]:
    """The user-turn prefix and the media files of a fragment item (written once)."""
    frames = fragment_frames(doc_of(q, qs))
    if form == "video":
        path = media / f"{q.id}.mp4"
        if not path.is_file():
            write_video(path, frames, fps=1.0 / FRAGMENT_FRAME_SECONDS)
        return "<video>\n", [path]
    paths = write_frame_images(frames, media / q.id)
    return "".join(f"Frame {n}: <image>\n" for n in range(1, len(paths) + 1)), paths


def export_record(q: Question, qs: QuestionSet, out: Path, form: str = "images") -> dict[str, Any]:
    """The JSONL record of one item (its media written under out/media/)."""
    media = out / "media"
    media.mkdir(parents=True, exist_ok=True)
    if q.level == "fragment":
        prefix, files = _fragment_media(q, qs, media, form)
        key = "videos" if form == "video" else "images"
    else:
        altered = q.speed != 1.0 or q.window is not None
        path = speed_altered_copy(qs.video_path(q), q.speed, q.window) if altered else qs.video_path(q)
        prefix, files, key = "<video>\n", [Path(path).resolve()], "videos"
    user = prefix + question_text(q)
    answer = get_type(q.type).answer_text(q)
    return {
        "id": q.id,
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
        key: [_relative(path, out) for path in files],
    }


def _relative(path: Path, out: Path) -> str:
    try:
        return Path(path).resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def export_messages(
    qs: QuestionSet, out: str | Path, form: str = "images", name: str = "finevidbench_sf2t", progress: bool = True
) -> Path:
    """Write out/<name>.jsonl, its media and out/dataset_info.json; returns the JSONL path."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    records = [export_record(q, qs, out, form) for q in tqdm(qs.questions, desc="export", disable=not progress)]
    jsonl = out / f"{name}.jsonl"
    atomic_write_text(jsonl, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    keys: list[str] = sorted({key for r in records for key in ("images", "videos") if key in r})
    info = {
        name: {
            "file_name": jsonl.name,
            "formatting": "sharegpt",
            "columns": {"messages": "messages", **{key: key for key in keys}},
            "tags": TAGS,
        }
    }
    atomic_write_text(out / "dataset_info.json", json.dumps(info, indent=1) + "\n")
    return jsonl
