"""Local lmms-eval tasks in the shapes of benchmarks that are not ours, for offline tests and examples.

The real MVBench, TempCompass and image-QA sets are hub datasets (not reachable offline); these tasks
keep their shapes, built over local videos:

- `local_mvbench`: `doc_to_visual` returns `[video path]`, lettered options, the letter scored
  (as lmms-eval's mvbench task);
- `local_tempcompass` (a group): multi-choice, yes/no and caption-matching prompts on one video each,
  with a stop string (`until`), as lmms-eval's tempcompass tasks;
- `local_imageqa`: `doc_to_visual` returns one PIL image;
- `local_multi_image`: two PIL images in one request;
- `local_textqa`: no `doc_to_visual` at all (text only);
- `local_span`: `doc_to_messages` hands a video with a time span (`video_start` / `video_end`).

    python -m model_adapters.testing.foreign_tasks OUT VIDEO [VIDEO ...]   # writes the folder; INCLUDE=OUT
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LEAVES = (
    "local_mvbench",
    "local_tempcompass_multi_choice",
    "local_tempcompass_yes_no",
    "local_tempcompass_caption_matching",
    "local_imageqa",
    "local_multi_image",
    "local_textqa",
    "local_span",
)
GROUPS = {"local_tempcompass": LEAVES[1:4]}

UTILS = '''"""Bindings of the local tasks (model_adapters/testing/foreign_tasks.py)."""

import re

import numpy as np
from PIL import Image


def video(doc):
    return [doc["video"]]


def image(doc):
    return [Image.fromarray(np.full((56, 84, 3), doc["shade"], dtype=np.uint8))]


def two_images(doc):
    return [Image.fromarray(np.full((56, 56, 3), s, dtype=np.uint8)) for s in doc["shades"]]


def text(doc, lmms_eval_specific_kwargs=None):
    return doc["question"]


def span_messages(doc, lmms_eval_specific_kwargs=None):
    clip = {"type": "video", "url": {"video": doc["video"], "video_start": doc["start"], "video_end": doc["end"]}}
    return [{"role": "user", "content": [clip, {"type": "text", "text": doc["question"]}]}]


def letter(doc, results):
    found = re.search(r"\\(?([A-D])\\)?", results[0].strip())
    return {"accuracy": float(bool(found) and found.group(1) == doc["answer"])}


def exact(doc, results):
    return {"accuracy": float(results[0].strip().lower().startswith(doc["answer"].lower()))}
'''


def _yaml(task: str, data: Path, visual: str | None, text: str, results: str, metric: str, extra: str = "") -> str:
    lines = [
        f"task: {task}",
        "dataset_path: json",
        "dataset_kwargs:",
        "  data_files:",
        f"    test: {data}",
        "test_split: test",
        "output_type: generate_until",
        *([f"doc_to_visual: !function utils.{visual}"] if visual else []),
        f"doc_to_text: !function utils.{text}",
        "doc_to_target: answer",
        "generation_kwargs:",
        "  max_new_tokens: 4",
        "  temperature: 0",
        "  do_sample: false",
        *([extra] if extra else []),
        f"process_results: !function utils.{results}",
        "metric_list:",
        f"  - metric: {metric}",
        "    aggregation: mean",
        "    higher_is_better: true",
        "metadata:",
        "  version: 1",
    ]
    return "\n".join(lines) + "\n"


OPTIONS = "Options:\n(A) it moves left\n(B) it moves right\n(C) it stays\n(D) it spins"
VIDEO_QUESTIONS = {
    "local_mvbench": (f"Question: What does the object do?\n{OPTIONS}\nOnly give the best option.", ("A", "B", "C")),
    "local_tempcompass_multi_choice": (f"What happens first?\n{OPTIONS}\nAnswer with the option's letter.", ("A", "B")),
    "local_tempcompass_yes_no": ("Is the video played in reverse? Please answer yes or no.", ("yes", "no")),
    "local_tempcompass_caption_matching": (
        "Which caption matches the video?\nCaption A: a fast pan\nCaption B: a slow zoom\nAnswer A or B.",
        ("A", "B"),
    ),
}
"""Per task over whole videos: its question, and the answer of each document (one document a video)."""


def _docs(task: str, videos: list[str]) -> list[dict[str, Any]]:
    """Two documents per task (three for mvbench), over the given videos in turn."""
    pick = [videos[i % len(videos)] for i in range(3)]
    if task in VIDEO_QUESTIONS:
        question, answers = VIDEO_QUESTIONS[task]
        return [{"video": v, "question": question, "answer": a} for v, a in zip(pick, answers, strict=False)]
    if task == "local_imageqa":
        return [
            {
                "shade": s,
                "question": "Is the image bright or dark? Answer bright or dark.",
                "answer": "bright" if s > 127 else "dark",
            }
            for s in (30, 220)
        ]
    if task == "local_multi_image":
        return [
            {
                "shades": s,
                "question": "Which image is brighter, the first or the second? Answer A or B.",
                "answer": "A" if s[0] > s[1] else "B",
            }
            for s in ([200, 40], [40, 200])
        ]
    if task == "local_textqa":
        return [{"question": f"What is {a} plus {a}? Answer with a number.", "answer": str(2 * a)} for a in (2, 3)]
    if task == "local_span":
        return [
            {
                "video": v,
                "start": 0.0,
                "end": 1.0 + i,
                "question": "How many times does it flash? Answer with a number.",
                "answer": "1",
            }
            for i, v in enumerate(pick[:2])
        ]
    raise KeyError(task)


def write_foreign_tasks(out: str | Path, videos: Sequence[str | Path]) -> Path:
    """Write the local tasks over `videos` into `out` (YAMLs, utils.py, one JSON Lines file per task)."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    paths = [str(Path(v).resolve()) for v in videos]
    (out / "utils.py").write_text(UTILS)
    shapes = {
        "local_mvbench": ("video", "text", "letter", "accuracy", ""),
        "local_tempcompass_multi_choice": ("video", "text", "letter", "accuracy", ""),
        "local_tempcompass_yes_no": ("video", "text", "exact", "accuracy", '  until:\n    - "\\n\\n"'),
        "local_tempcompass_caption_matching": ("video", "text", "letter", "accuracy", ""),
        "local_imageqa": ("image", "text", "exact", "accuracy", ""),
        "local_multi_image": ("two_images", "text", "letter", "accuracy", ""),
        "local_textqa": (None, "text", "exact", "accuracy", ""),
        "local_span": ("video", "text", "exact", "accuracy", "doc_to_messages: !function utils.span_messages"),
    }
    for task in LEAVES:
        data = out / f"{task}.jsonl"
        data.write_text("".join(json.dumps(doc) + "\n" for doc in _docs(task, paths)))
        visual, text, results, metric, extra = shapes[task]
        (out / f"{task}.yaml").write_text(_yaml(task, data, visual, text, results, metric, extra))
    for group, members in GROUPS.items():
        listed = "".join(f"  - {m}\n" for m in members)
        (out / f"{group}.yaml").write_text(
            f"group: {group}\ntask:\n{listed}aggregate_metric_list:\n  - metric: accuracy\n    aggregation: mean\n"
            "    weight_by_size: true\n"
            "metadata:\n  version: 1\n"
        )
    return out


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python -m model_adapters.testing.foreign_tasks OUT VIDEO [VIDEO ...]")
    print(write_foreign_tasks(sys.argv[1], sys.argv[2:]))
