"""Everything the lmms-eval tasks need, without importing lmms-eval (tasks/finevidbench/utils.py binds it).

The question set is chosen at run time by $FINEVIDBENCH_DATA (`mini` by default, a built folder,
or `hf://ORG/NAME@REVISION`); the task YAMLs point at a one-line stub file that `docs_for`
replaces with the questions of one type. Scene items hand over the video (a speed-altered copy of
their window when they have one or the speed is not 1, so lmms-eval's built-in models see what our
adapters see) with their speed and window; our adapters sample the original file with the run's
FramePolicy through `FramePolicy.for_scene`.
Fragment items hand over their exact frames as images, in the order shown.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from finevidbench.dataset import QuestionSet, load_question_set
from finevidbench.protocol import Question
from finevidbench.request import question_text
from finevidbench.scoring.score import SampleResult, score_sample
from finevidbench.shards import in_rank_lanes, video_ranks

if TYPE_CHECKING:  # PIL is imported only when images are made
    from PIL import Image


DATA_ENV = "FINEVIDBENCH_DATA"
BLIND_VARIANTS = ("novideo", "oneframe", "shuffled")
SCENE_PREVIEW_FRAMES = 8
_lock = threading.Lock()


def data_source() -> str:
    """The question-set source of this run: $FINEVIDBENCH_DATA or `mini`."""
    return os.environ.get(DATA_ENV) or "mini"


def question_set() -> QuestionSet:
    """The run's question set: the one the runner loaded (`use_question_set`), else loaded once per process.

    Thread-safe: lmms-eval scores in threads.
    """
    source = data_source()
    with _lock:
        if source not in _sets:
            _sets[source] = load_question_set(source)
        return _sets[source]


def use_question_set(source: str, qs: QuestionSet) -> None:
    """Make `qs`, just loaded and checked by the runner, the set lmms-eval's tasks read for `source`.

    Loading a set of FineVidBench's size costs seconds; the tasks then read the runner's copy instead
    of loading it again. A runner that evaluates a folder again in the same process hands over the
    set as it is then.
    """
    with _lock:
        _sets[source] = qs


_sets: dict[str, QuestionSet] = {}
_ids: dict[str, dict[str, Question]] = {}
"""Questions by id, per dataset hash."""


def question(question_id: str) -> Question:
    """A question of the run's set by id."""
    qs = question_set()
    with _lock:
        if qs.dataset_hash not in _ids:
            _ids[qs.dataset_hash] = {q.id: q for q in qs.questions}
        return _ids[qs.dataset_hash][question_id]


def doc_of(q: Question, qs: QuestionSet) -> dict[str, Any]:
    """The lmms-eval document of one question (flat, one Arrow type per column within a type)."""
    return {
        "question_id": q.id,
        "type": q.type,
        "level": q.level,
        "video": q.video,
        "video_path": str(qs.video_path(q)),
        "speed": q.speed,
        # the part of the clip a scene item shows, source seconds ([] for the whole clip)
        "window": list(q.window or []),
        "frames": list(q.frames or []),
        "prompt": q.prompt,
        "options": list(q.options),
        "answer_type": q.answer_type,
        # a pasted target (training-only Localization items); the renderer paints it on the frames
        **({"overlay": q.evidence["overlay"]} if "overlay" in q.evidence else {}),
    }


def question_of(doc: Mapping[str, Any]) -> Question:
    """The question a document (`doc_of`) asks, rebuilt from its fields; its `video_path` is the file's own.

    A document carries no answer (None here): the trainers read documents their own code wrote,
    training sets and controls whose questions are not the run's.
    """
    fragment = doc["level"] == "fragment"
    return Question(
        id=str(doc["question_id"]),
        video=str(doc["video"]),
        video_path=str(doc["video_path"]),
        level=doc["level"],
        type=str(doc["type"]),
        speed=float(doc["speed"]),
        frames=tuple(int(f) for f in doc["frames"]) if fragment else None,
        prompt=str(doc["prompt"]),
        options=tuple(doc.get("options") or ()),
        answer=None,
        answer_type=str(doc.get("answer_type", "")),
        evidence={"overlay": doc["overlay"]} if doc.get("overlay") else {},
        window=(float(doc["window"][0]), float(doc["window"][1])) if doc.get("window") else None,
    )


DOC_KEYS = frozenset({"question_id", "type", "level", "video_path", "speed", "frames"})
"""The fields every FineVidBench document has (`doc_of`): what tells one apart from another task's document."""


def is_benchmark_doc(doc: Mapping[str, object]) -> bool:
    """Whether an lmms-eval document is one of ours (built by `doc_of`)."""
    return set(doc) >= DOC_KEYS


def docs_for(type_name: str) -> list[dict[str, Any]]:
    """Documents of every question of one type in the run's set (in rank lanes where the run asks for them)."""
    qs = question_set()
    docs = [doc_of(q, qs) for q in qs.questions if q.type == type_name]
    if not docs:
        raise ValueError(f"the question set {data_source()!r} has no {type_name!r} questions")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if _rank_lanes and world_size > 1:
        ranks = video_ranks((q.video for q in qs.questions), world_size)
        return in_rank_lanes(docs, world_size, lambda doc: ranks[doc["video"]])
    return docs


_rank_lanes = False


def use_rank_lanes(on: bool) -> None:
    """Whether a data-parallel run's documents come in rank lanes (finevidbench/shards.py).

    `make eval`'s runner turns them on for a whole run; not under a limit, where lmms-eval asks the
    first N documents, which must stay the questions one process would ask.
    """
    global _rank_lanes
    _rank_lanes = on


def doc_to_text(doc: dict[str, Any]) -> str:
    """The prompt as a model reads it (`finevidbench.request.question_text`)."""
    return question_text(question_of(doc))


def _above_cap(path: str) -> bool:
    """Whether the video is larger than frames are ever decoded (`FINEVIDBENCH_MAX_SIDE`)."""
    from finevidbench.video import probe
    from finevidbench.video.decode import max_side

    meta = probe(path)
    return max(meta.width, meta.height) > max_side()


def doc_to_visual(doc: dict[str, Any], variant: str | None = None) -> list[str | Image.Image]:
    """Visual inputs of a document: a video path (scene) or PIL images (fragment, blind variants)."""
    from PIL import Image

    from finevidbench.video import speed_altered_copy

    if variant == "novideo":
        return []
    if doc["level"] == "fragment":
        frames = list(fragment_frames(doc))
    elif variant is None:
        # a model that reads the file itself gets a copy: at the item's speed, of its window, and
        # under the decode cap (its own decoder would open a 6000-pixel video at full size)
        altered = doc["speed"] != 1.0 or doc.get("window") or _above_cap(doc["video_path"])
        path = speed_altered_copy(doc["video_path"], doc["speed"], doc.get("window")) if altered else doc["video_path"]
        return [str(path)]
    else:
        frames = list(_scene_preview(doc))
    if variant == "oneframe":
        frames = frames[len(frames) // 2 : len(frames) // 2 + 1]
    elif variant == "shuffled":
        seed = int.from_bytes(hashlib.sha256(doc["question_id"].encode()).digest()[:8], "little")
        order = np.random.default_rng(seed).permutation(len(frames))
        frames = [frames[i] for i in order]
    return [Image.fromarray(np.asarray(f)) for f in frames]


def fragment_frames(doc: dict[str, Any]) -> npt.NDArray[np.uint8]:
    """A fragment document's frames in the order shown, with its pasted target (if any) painted on."""
    from finevidbench.protocol.overlay import apply_overlay
    from finevidbench.video import load_frames

    return apply_overlay(load_frames(doc["video_path"], doc["frames"]), doc.get("overlay"))


def _scene_preview(doc: dict[str, Any]) -> npt.NDArray[np.uint8]:
    from finevidbench.video import FramePolicy, load_clip

    policy = FramePolicy(num_frames=SCENE_PREVIEW_FRAMES, mode="segment").for_scene(doc["speed"], doc.get("window"))
    return load_clip(doc["video_path"], policy).frames


def score(doc: dict[str, Any], response: str) -> SampleResult:
    """One response scored: what our results files hold per sample.

    Remembered: lmms-eval's `process_results` and our results files score the same response once.
    """
    return _scored(question_set().dataset_hash, str(doc["question_id"]), response)


@lru_cache(maxsize=1 << 16)
def _scored(dataset_hash: str, question_id: str, response: str) -> SampleResult:
    """`score` of a question of the set with `dataset_hash` (the key keeps sets apart)."""
    return score_sample(question(question_id), response)


def process_result(doc: dict[str, Any], response: str) -> dict[str, float]:
    """lmms-eval's per-sample metric: 1.0 when correct, else 0.0.

    A plain number, aggregated by lmms-eval's own `mean`, so its table prints a standard error
    beside the accuracy; our results files score each logged response again (`score`), with the
    parsed answer, the intervals and the breakdowns.
    """
    return {"acc": float(score(doc, response).correct)}
