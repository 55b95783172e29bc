"""What every FineVidBench model shares: argument checking, the answer store, progress."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lmms_eval.api.model import lmms
from tqdm.auto import tqdm

from finevidbench.store import AnswerStore, answer_key

LMMS_CONFIG_KEYS = ("batch_size", "max_batch_size", "device")


class FineVidModel(lmms):
    """A model that answers one neutral request at a time and resumes from a durable answer store.

    Subclasses implement `answer` (and `fingerprint_parts` when their answers depend on more than
    their arguments). With `store=PATH` every answer is committed the moment it exists; a killed
    run started again recomputes only what is missing.
    """

    is_simple = True

    def __init__(self, store: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        unknown = sorted(set(kwargs) - set(LMMS_CONFIG_KEYS))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: unknown model argument(s) {unknown}; "
                f"accepted: {sorted(self.accepted_args())}"
            )
        import torch

        self.device = torch.device(kwargs.get("device") or "cpu")  # lmms-eval gathers counts on it
        self.store = AnswerStore(store) if store else None
        self.computed = 0
        self.reused = 0

    @classmethod
    def accepted_args(cls) -> set[str]:
        """Names accepted in --model_args."""
        import inspect

        names = set()
        for klass in cls.__mro__:
            if "__init__" in vars(klass) and klass not in (lmms, object):
                names |= {
                    p for p in inspect.signature(klass.__init__).parameters if p not in ("self", "kwargs")
                }
        return names

    def fingerprint_parts(self) -> dict:
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

    def answer(self, doc: dict, prompt: str, generation: dict, visuals) -> str:
        """The raw response to one document."""
        raise NotImplementedError

    def generate_until(self, requests) -> list[str]:
        """Answer each request, from the store when it holds the answer already."""
        responses = []
        for request in tqdm(requests, desc=f"{type(self).__name__}", unit="q", disable=self.rank != 0):
            prompt, generation, doc_to_visual, doc_id, task, split = request.args
            doc = self.task_dict[task][split][doc_id]
            key = answer_key(self.fingerprint, f"{task}/{doc['question_id']}", self.policy_id(), generation)
            response = self.store.get(key) if self.store is not None else None
            if response is None:
                response = self.answer(doc, prompt, generation, doc_to_visual)
                if self.store is not None:
                    self.store.put(key, doc["question_id"], response, {"task": task})
                self.computed += 1
            else:
                self.reused += 1
            responses.append(response)
        return responses

    def loglikelihood(self, requests):
        """FineVidBench scores generated answers only."""
        raise NotImplementedError("FineVidBench models answer generate_until requests only")

    def generate_until_multi_round(self, requests):
        """FineVidBench questions are single-turn."""
        raise NotImplementedError("FineVidBench questions are single-turn")
