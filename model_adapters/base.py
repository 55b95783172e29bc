"""What every FineVidBench model shares: argument checking, the answer store, batching, progress.

`FineVidModel` is an lmms-eval model (`lmms_eval.api.model.lmms`) wherever lmms-eval is installed, which
is every environment `make venv` builds. Where it is not (an offline GPU node with only torch,
transformers, peft and accelerate, running the device-check bundle, runners/device_bundle.py), the
adapters still load and answer through `answer_batch`: the base class is then `WithoutLmmsEval`, which
holds the little of `lmms` the adapters themselves use (rank, world size, the task documents) and
refuses, naming lmms-eval, what only lmms-eval's evaluator calls. Only a missing lmms-eval takes that
path; an lmms-eval that fails to import for any other reason raises as before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import inspect
import json
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from tqdm.auto import tqdm

from finevidbench import taskdocs
from finevidbench.model_args import parse_model_args, typed
from finevidbench.request import Request, Turn, benchmark_request, content_digest
from finevidbench.store import AnswerStore, answer_key
from finevidbench.taskgen import blind_variant
from model_adapters.visuals import TaskVisuals

if TYPE_CHECKING:
    from lmms_eval.api.instance import Instance  # lmms-eval's request (typed Any: the package ships no types)

    from finevidbench.dataset import QuestionSet
    from finevidbench.protocol import Question
    from finevidbench.video import FramePolicy

LMMS_CONFIG_KEYS = ("batch_size", "max_batch_size", "device")
NO_LMMS_EVAL = "needs lmms-eval, which is not installed here (fix: make venv, or install the lmms-eval of the lock)"


class WithoutLmmsEval:
    """The part of lmms-eval's `lmms` base class the adapters use, where lmms-eval is not installed."""

    def __init__(self) -> None:
        self._rank = 0
        self._world_size = 1
        self.task_dict: dict[str, Any] = {}

    @property
    def rank(self) -> int:
        """This process's rank (one process: 0)."""
        return self._rank

    @property
    def world_size(self) -> int:
        """The number of processes (one)."""
        return self._world_size

    def set_cache_hook(self, cache_hook: Any) -> None:
        """lmms-eval's evaluator's hook: refused without lmms-eval."""
        raise ImportError(f"{type(self).__name__}.set_cache_hook {NO_LMMS_EVAL}")

    def clean(self) -> None:
        """lmms-eval's evaluator's clean-up: refused without lmms-eval."""
        raise ImportError(f"{type(self).__name__}.clean {NO_LMMS_EVAL}")


try:
    from lmms_eval.api.model import lmms
except ModuleNotFoundError as missing:  # only lmms-eval itself missing; a broken lmms-eval still raises
    if missing.name != "lmms_eval":
        raise
    lmms = WithoutLmmsEval


@dataclass(frozen=True)
class Shows:
    """What a model can be shown: frames of videos (clips, labelled frames), images, both in one request."""

    videos: bool = False
    images: bool = False
    mixed: bool = False


class FineVidModel(lmms):
    """A model that answers FineVidBench documents and resumes from a durable answer store.

    Subclasses implement `answer_batch` (or `answer` for one at a time) and `fingerprint_parts`.
    With `store=PATH` every batch's answers are committed the moment they exist; a killed run
    started again recomputes only what is missing. Requests are answered grouped by video, so
    the frame cache decodes each video once per frame policy.
    """

    is_simple = True
    answers_any_task: ClassVar[bool] = False
    """True for models that can answer any lmms-eval task (the Video-LLM adapters), not only FineVidBench's."""
    shows: ClassVar[Shows] = Shows()
    """What the model can be shown; a model shown nothing gets a question's text alone (nothing is decoded)."""
    frame_policy: FramePolicy | None = None
    """How the model's clips are sampled (None: the model reads no frames)."""
    argument_groups: ClassVar[tuple[type[Any], ...]] = ()
    """Dataclasses of model arguments a class takes besides its constructor's parameters (`take_group`)."""

    def __init__(self, store: str | None = None, batch_size: int | str = 1, **kwargs: Any) -> None:
        super().__init__()
        unknown = sorted(set(kwargs) - set(LMMS_CONFIG_KEYS))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: unknown model argument(s) {unknown}; accepted: {sorted(self.accepted_args())}"
            )
        import torch

        self.device = torch.device(kwargs.get("device") or "cpu")  # lmms-eval gathers counts on it
        self.batch_size = max(1, int(batch_size))
        self.store = AnswerStore(store) if store else None
        if self.store is not None and self.store.moved_aside is not None:
            print(
                f"make eval: {store} was not a readable answer store; kept as {self.store.moved_aside}, "
                "the answers are computed again",
                file=sys.stderr,
            )
        self.computed = 0
        self.reused = 0

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict[str, Any] | None = None) -> FineVidModel:
        """Build from MODEL_ARGS (finevidbench.model_args rules, as lmms-eval's) plus lmms-eval's own settings."""
        args = {key: typed(value) for key, value in parse_model_args(arg_string).items()}
        # lmms-eval's own settings (--batch_size, --device) yield to the same names given in --model_args
        settings = {k: v for k, v in (additional_config or {}).items() if v is not None and k not in args}
        make: Any = cls  # each subclass takes its own keywords: checked at run time, against `accepted_args`
        model: FineVidModel = make(**args, **settings)
        return model

    @classmethod
    def accepted_args(cls) -> set[str]:
        """Names accepted in --model_args."""
        names = set()
        for klass in cls.__mro__:
            if "__init__" in vars(klass) and klass not in (lmms, object):
                parameters = inspect.signature(vars(klass)["__init__"]).parameters
                names |= {p for p in parameters if p not in ("self", "kwargs")}
            for group in vars(klass).get("argument_groups", ()):
                names |= {f.name for f in dataclasses.fields(group)}
        return names

    def fingerprint_parts(self) -> dict[str, Any]:
        """What identifies this model's answers besides the question (name and arguments)."""
        return {"model": type(self).__name__}

    @property
    def fingerprint(self) -> str:
        """A short stable hash of `fingerprint_parts`."""
        blob = json.dumps(self.fingerprint_parts(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def policy_id(self) -> str:
        """Id of the frame policy the model samples scene clips with ("none" for blind baselines)."""
        return "none"

    def answer(self, request: Request) -> str:
        """The raw response to one request."""
        raise NotImplementedError

    def answer_batch(self, requests: Sequence[Request]) -> list[str]:
        """Raw responses to several requests (default: one at a time)."""
        return [self.answer(r) for r in requests]

    def prepare(self, requests: Sequence[Request]) -> None:
        """Called once with every request still to answer, before the first batch (default: nothing)."""

    def prefetch(self, requests: Sequence[Request]) -> None:
        """Load what `requests` will need (runs in a background thread during the previous batch)."""

    def release(self, videos: Sequence[str]) -> None:
        """Every question about `videos` is answered: free what was loaded for them (default: nothing)."""

    def _request(self, instance: Instance) -> Request:
        if self.is_simple:
            prompt, generation, visuals, doc_id, task, split = instance.args
        else:
            prompt, visuals, generation, doc_id, task, split = instance.args  # visuals: the task's doc_to_messages
        asked = Asked(self.task_dict[task][split][doc_id], doc_id, task, prompt, dict(generation))
        return asked.request(self, visuals)

    def request_for(self, question: Question, qs: QuestionSet, task: str = "finevidbench") -> Request:
        """A question of `qs` as the benchmark asks it, under this model's frame policy (trainers, tests, tools)."""
        return benchmark_request(question, str(qs.video_path(question)), self.frame_policy, task)

    def _key(self, request: Request) -> str:
        return answer_key(self.fingerprint, f"{request.task}/{request.key}", self.policy_id(), dict(request.generation))

    def generate_until(self, requests: Sequence[Instance]) -> list[str]:
        """Answer each request, from the store when it holds the answer already."""
        prepared = [self._request(instance) for instance in requests]
        responses: list[str | None] = [None] * len(prepared)
        pending = []
        for position, request in enumerate(prepared):
            stored = self.store.get(self._key(request)) if self.store is not None else None
            if stored is None:
                pending.append(position)
            else:
                responses[position] = stored
                self.reused += 1
        pending.sort(key=lambda p: (prepared[p].videos, prepared[p].key, prepared[p].task))
        self.prepare([prepared[p] for p in pending])
        # the run's one bar: every question, those the store answered counted from the start
        from_store = len(prepared) - len(pending)
        progress = tqdm(
            total=len(prepared), initial=from_store, desc=type(self).__name__, unit="q", disable=self.rank != 0
        )
        chunks = [pending[start : start + self.batch_size] for start in range(0, len(pending), self.batch_size)]
        lookahead = VideoLookahead([[prepared[p] for p in chunk] for chunk in chunks])
        # decode the next video while the model answers the current one's questions
        with ThreadPoolExecutor(max_workers=DECODE_AHEAD, thread_name_prefix="prefetch") as background:
            for number, chunk in enumerate(chunks):
                for request in lookahead.to_decode(number):  # one task a request: its video decodes in parallel
                    background.submit(self._prefetch_quietly, [request])
                answers = self.answer_batch([prepared[p] for p in chunk])
                for position, response in zip(chunk, answers, strict=True):
                    responses[position] = response
                    if self.store is not None:
                        request = prepared[position]
                        self.store.put(self._key(request), request.key, response, {"task": request.task})
                self.computed += len(chunk)
                progress.update(len(chunk))
                upcoming = chunks[number + 1] if number + 1 < len(chunks) else []
                self.release(_videos_done([prepared[p] for p in chunk], [prepared[p] for p in upcoming]))
        progress.close()
        missing = [p for p, r in enumerate(responses) if r is None]
        if missing:  # every pending request was answered above; a gap is a bug, never an empty answer
            raise RuntimeError(f"{len(missing)} request(s) left without an answer")
        return [r for r in responses if r is not None]

    def _prefetch_quietly(self, requests: Sequence[Request]) -> None:
        # an error here is met again, and reported, when the answering path loads the same video
        with contextlib.suppress(Exception):
            self.prefetch(requests)

    def loglikelihood(self, requests: Sequence[Instance]) -> list[tuple[float, bool]]:
        """FineVidBench scores generated answers only."""
        raise NotImplementedError("FineVidBench models answer generate_until requests only")

    def generate_until_multi_round(self, requests: Sequence[Instance]) -> list[str]:
        """FineVidBench questions are single-turn."""
        raise NotImplementedError("FineVidBench questions are single-turn")


DECODE_AHEAD = 2
"""Videos decoded in the background ahead of the one being answered, each in its own thread (decoders release the
GIL): a fast model answers a video's questions sooner than one decoder decodes the next video."""


class VideoLookahead:
    """What to decode in the background while a batch is answered: its videos, then the next videos not yet asked.

    Batches come sorted by video, so the next batch mostly shows the video being answered: looking one
    batch ahead left the decoder idle while the model worked through a video's questions, and the model
    then waited for the next video's whole decode. `depth` videos ahead, never more, keep memory bounded.
    """

    def __init__(self, batches: Sequence[Sequence[Request]], depth: int = DECODE_AHEAD) -> None:
        self.batches = batches
        self.depth = depth
        self.submitted: set[str] = set()
        self.started: set[str] = set()
        self.scan = 0

    def to_decode(self, number: int) -> list[Request]:
        """One request per video to decode while batch `number` is answered (none handed over before)."""
        batch = self.batches[number]
        self.started.update(path for request in batch for path in request.videos)
        wanted = self._new(batch)
        self.scan = max(self.scan, number + 1)
        while len(self.submitted - self.started) < self.depth and self.scan < len(self.batches):
            wanted += self._new(self.batches[self.scan])
            self.scan += 1
        return wanted

    def _new(self, batch: Sequence[Request]) -> list[Request]:
        """The first request of `batch` showing each video not handed over yet, now handed over."""
        new = []
        for request in batch:
            if not set(request.videos) <= self.submitted:
                new.append(request)
                self.submitted.update(request.videos)
        return new


def _videos_done(answered: Sequence[Request], upcoming: Sequence[Request]) -> list[str]:
    """Videos of a batch that the next batch does not ask about: requests are sorted by video, so they are done."""
    ahead = {path for request in upcoming for path in request.videos}
    return sorted({path for request in answered for path in request.videos} - ahead)


@dataclass(frozen=True)
class Asked:
    """One lmms-eval request as lmms-eval hands it over: the only place a task's document is read.

    A FineVidBench document asked by its own task becomes the question as the benchmark shows it; a
    blind variant of ours, or another task's request, becomes the turns the task gives (its visuals
    and text), keyed by their content. A model that reads no pixels gets the question's text alone.
    """

    doc: dict[str, Any]
    doc_id: int
    task: str
    prompt: str
    generation: dict[str, Any]

    def question(self) -> Question | None:
        """The FineVidBench question of the document (None: another task's document)."""
        return taskdocs.question(str(self.doc["question_id"])) if taskdocs.is_benchmark_doc(self.doc) else None

    def request(self, model: FineVidModel, visuals: Any) -> Request:
        """The request record of this document for `model` (`visuals`: the task's doc_to_visual or messages)."""
        question = self.question()
        if question is None and not model.answers_any_task:
            raise ValueError(
                f"{type(model).__name__} answers FineVidBench questions only; task {self.task!r} is not one of "
                "them (fix: run it with a Video-LLM adapter, fvb_<family>, or an lmms-eval model)"
            )
        sees = model.shows.videos or model.shows.images
        if question is not None and not sees:  # its text alone: nothing is decoded
            return Request(question.id, self.task, (Turn("user", (self.prompt,)),), self.generation, question)
        if question is not None and blind_variant(self.task) is None:
            policy = model.frame_policy
            return benchmark_request(question, self.doc["video_path"], policy, self.task, self.generation, self.prompt)
        reader = TaskVisuals(self.task, model.frame_policy)
        given = visuals(self.doc) if callable(visuals) else visuals
        turns = reader.user_turn(given, self.prompt) if model.is_simple else reader.turns(given)
        key = f"{self.doc.get('question_id', self.doc_id)}#{content_digest(turns)}"
        return Request(key, self.task, turns, self.generation, question)
