"""The backend contract: how a Video-LLM adapter's prompts become answers, written once.

An adapter (model_adapters/hf.py and its family) decides what a request shows the model and how:
the card's frames, sizes, labels, timestamps, chat template and processor call. A backend decides
only how the model answers them, which is where engines really differ:

- `TransformersBackend`: transformers' `generate` in this process, a batch split into the processor
  calls that answer exactly as one question at a time does (`HFVideoModel.batch_group`);
- `VLLMBackend` (model_adapters/serving.py): a vLLM engine in its own process, handed the same
  rendered text, frames and metadata, batching as it likes within the same groups (`in_groups`).

Both read a request's generation settings the same way (`samples`, `cut_at_stops`) and record what
the answers depend on (`record`: in the fingerprint and results.json) and what they cost (`usage`:
results.json's provenance). tests/lmms/test_contract.py holds every model and backend to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from finevidbench.request import Request

if TYPE_CHECKING:
    from model_adapters.chat import TemplateLayout


T = TypeVar("T")


class Adapter(Protocol):
    """What a backend reads of the adapter (model_adapters/hf.py): its processor and the prompts it builds."""

    processor: Any
    layout: TemplateLayout
    max_new_tokens: int

    def conversation(self, request: Request) -> tuple[list[dict[str, Any]], list[Any]]:
        """A request's chat messages (each visual as the family shows it) and its videos' metadata."""
        ...

    def processor_kwargs(self, metas: list[Any]) -> dict[str, Any]:
        """The keyword arguments of the processor call (metadata, no resampling)."""
        ...

    def encode(self, requests: Sequence[Request]) -> Any:
        """Padded model inputs of a batch: the card's two steps."""
        ...

    def batch_group(self, request: Request) -> tuple[Any, ...]:
        """What requests must share to be encoded in one processor call."""
        ...


class Backend(Protocol):
    """What answers an adapter's requests."""

    name: str
    """`backend=` in MODEL_ARGS: transformers or vllm."""

    def answer(self, adapter: Adapter, requests: Sequence[Request]) -> list[str]:
        """The raw answers to `requests`, in order, from the prompts `adapter` builds."""
        ...

    def record(self) -> dict[str, Any]:
        """What the answers depend on besides the adapter's inputs (engine and version, the position rule)."""
        ...

    def usage(self) -> dict[str, Any] | None:
        """What the engine did in this process (prompts, tokens, cache hit rates); None where nothing is counted."""
        ...


def in_groups(adapter: Adapter, requests: Sequence[Request], answer: Callable[[Sequence[Request]], list[T]]) -> list[T]:
    """`answer` called once per group of requests that share `adapter.batch_group`, the answers put back in order.

    The one rule of what a backend hands its model together: the requests one processor call holds (a family
    whose processor stacks videos, LLaVA's, takes one frame count a call: so does vLLM's model code for it, whose
    LLaVA-OneVision fails on a batch mixing clips of 8 and 16 frames) under one generation setting.
    """
    if len(requests) == 1:
        return answer(requests)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for position, request in enumerate(requests):
        groups.setdefault(adapter.batch_group(request), []).append(position)
    answers: dict[int, T] = {}
    for positions in groups.values():
        answers.update(zip(positions, answer([requests[p] for p in positions]), strict=True))
    return [answers[position] for position in range(len(requests))]


def samples(generation: Mapping[str, Any]) -> bool:
    """Whether a request samples: it asks for a positive temperature and does not turn sampling off.

    As lmms-eval's models read the settings; greedy otherwise. Self-alignment's questions sample.
    """
    return generation.get("do_sample") is not False and float(generation.get("temperature") or 0) > 0


def cut_at_stops(text: str, stops: Any) -> str:
    """`text` cut at the first of a task's stop strings (lmms-eval's `until`), as lmms-eval's models cut it."""
    for stop in [stops] if isinstance(stops, str) else stops or ():
        if stop:
            text = text.split(stop)[0]
    return text


class TransformersBackend:
    """transformers' `generate` on the loaded model: greedy unless a task samples or asks for beams."""

    name = "transformers"

    def __init__(self, model: Any, positions: str | None) -> None:
        self.model = model
        self.positions = positions
        """The position rule installed on the model (model_adapters/positions.py), None where none applies."""

    def answer(self, adapter: Adapter, requests: Sequence[Request]) -> list[str]:
        """Answers of a batch split into the processor calls that answer exactly as one at a time."""
        return in_groups(adapter, requests, lambda batch: self.generate(adapter, batch))

    def generate(self, adapter: Adapter, requests: Sequence[Request]) -> list[str]:
        """Answers to a batch whose inputs the processor puts in one tensor (one generation setting)."""
        import torch

        inputs = adapter.encode(requests).to(self.model.device)
        generation = requests[0].generation
        limit = int(generation.get("max_new_tokens", adapter.max_new_tokens))
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=limit, **generate_options(generation))
        texts = adapter.processor.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        return [cut_at_stops(text, generation.get("until")).strip() for text in texts]

    def record(self) -> dict[str, Any]:
        """The position rule the model runs on, where one was installed."""
        return {"positions": self.positions} if self.positions else {}

    def usage(self) -> dict[str, Any] | None:
        """Nothing is counted in this process."""
        return None


def generate_options(generation: Mapping[str, Any]) -> dict[str, Any]:
    """Transformers' `generate` options of a request: greedy, sampled, or beams."""
    if samples(generation):
        return {
            "do_sample": True,
            "temperature": float(generation["temperature"]),
            "top_p": float(generation.get("top_p") or 1.0),
        }
    if int(generation.get("num_beams") or 1) > 1:
        return {"do_sample": False, "num_beams": int(generation["num_beams"])}
    return {"do_sample": False}


def settings_key(request: Request) -> str:
    """A request's generation settings as one string: requests asking different ones are never batched."""
    return json.dumps(dict(request.generation), sort_keys=True, default=str)
