"""The SF2T / self-alignment training hook: a family adapter's own inputs, turned into training batches.

Training must show a model exactly what evaluation shows it, so the hook reuses the adapter's
visual blocks (numbered images or a clip, our frames and timestamps), the example's prompt and the
model's processor and chat template; only the assistant's answer is appended and it alone
carries loss. Each family's parts (language model, projector, vision tower) are located by
module-name prefixes that cover every family here; a family whose names differ overrides
`HFVideoModel.module_parts`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from finevidbench.request import Request
from finevidbench.specs import ModelSpec
from finevidbench.training import RunRecord, TrainingRun, train
from finevidbench.training.examples import Example, PreferenceExample, request
from finevidbench.video import DEFAULT_CACHE
from model_adapters.chat import render
from model_adapters.hf import HFVideoModel

IGNORE = -100
"""Label of positions that carry no loss (the Trainer's and PyTorch's convention)."""


class AnswerMaskError(ValueError):
    """The chat template renders the answer in a way the tokens cannot be told apart from the prompt."""


class TrainingHook:
    """Collator, trainable-module lookup and base-model record for one loaded family adapter."""

    def __init__(self, adapter: HFVideoModel) -> None:
        if adapter.model is None:
            raise ValueError(f"{adapter.pretrained}: training runs on transformers (fix: drop backend=vllm)")
        self.adapter = adapter
        self.model: Any = adapter.model
        self.processor = adapter.processor

    # -- batches ------------------------------------------------------------------------------
    def request(self, example: Example | PreferenceExample) -> Request:
        """The request record of one example: its question shown as evaluation shows it, its prompt."""
        return request(example.question, example.prompt, self.adapter.frame_policy)

    def plan(self, examples: Sequence[Example] | Sequence[PreferenceExample]) -> bool:
        """Decode each video once for every example that shows it, where those decodes fit the decode cache.

        Training visits examples in a shuffled order, epoch after epoch: cut from one decode per video,
        an example costs no decode of its own (the SF2T demonstration: about 1,500 decodes an epoch become
        one per video). Where the decodes would not fit, each example decodes its own frames, as before:
        one decode per video that the cache keeps evicting would cost more. Returns whether it planned.
        """
        cache = self.adapter.frame_cache
        cache.plan([self.request(example) for example in examples])
        if cache.planned_bytes() <= DEFAULT_CACHE.max_bytes:
            return True
        cache.plan([])
        return False

    def conversation(self, example: Example, with_answer: bool) -> tuple[list[dict[str, Any]], list[Any]]:
        """The chat messages of one example (user turn as evaluation builds it) and its videos' metadata."""
        messages, metas = self.adapter.conversation(self.request(example))
        if with_answer:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": example.answer}]})
        return messages, metas

    def answer_suffix(self, messages: list[dict[str, Any]]) -> str:
        """The text the chat template adds after the generation prompt: the answer and its end-of-turn."""
        prompt = render(self.processor, self.adapter.layout, messages[:1], add_generation_prompt=True)
        full = render(self.processor, self.adapter.layout, messages, add_generation_prompt=False)
        if not full.startswith(prompt):
            raise AnswerMaskError(
                f"{self.adapter.pretrained}: the chat template renders the assistant turn differently from its "
                "generation prompt, so the answer tokens cannot be located"
            )
        return full[len(prompt) :]

    def collate(self, examples: list[Example]) -> dict[str, Any]:
        """Right-padded model inputs of a batch with `labels` on the answer tokens only."""
        requests = [self.request(e) for e in examples]
        counts = {self.adapter.frame_counts(r) for r in requests}
        videos = any("video" in self.adapter.kinds(r) for r in requests)
        if self.adapter.stacks_videos and len(counts) > 1 and videos:
            raise ValueError(
                f"{type(self.adapter).__name__} stacks a batch's videos into one tensor, and this batch mixes "
                "frame counts (fix: batch_size: 1 in the recipe, with grad_accum for the effective batch)"
            )
        if not self.adapter.shows.mixed and len({self.adapter.kinds(r) for r in requests}) > 1:
            raise ValueError(
                f"{type(self.adapter).__name__}'s processor cannot hold images and videos in one batch, and this "
                "batch mixes them (fix: batch_size: 1 in the recipe, with grad_accum for the effective batch)"
            )
        conversations, metas, suffixes = [], [], []
        for example in examples:
            messages, example_metas = self.conversation(example, with_answer=True)
            conversations.append(messages)
            suffixes.append(self.answer_suffix(messages))
            metas += example_metas
        tokenizer = self.processor.tokenizer
        side, tokenizer.padding_side = tokenizer.padding_side, "right"
        try:
            batch = self.adapter.inputs(conversations, metas, add_generation_prompt=False)
        finally:
            tokenizer.padding_side = side
        batch["labels"] = self.labels(batch["input_ids"], batch["attention_mask"], suffixes)
        return dict(batch)

    def collate_preference(self, examples: list[PreferenceExample]) -> dict[str, Any]:
        """DPO inputs (TRL's DPOTrainer layout): chosen rows then rejected rows, `completion_mask` on responses."""
        rows = [e.answered(chosen=True) for e in examples] + [e.answered(chosen=False) for e in examples]
        batch = self.collate(rows)
        batch["completion_mask"] = (batch.pop("labels") != IGNORE).long()
        return batch

    def labels(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, suffixes: Sequence[str]) -> torch.Tensor:
        """Input ids where the answer suffix is, IGNORE elsewhere (prompt, visual tokens, padding)."""
        labels = torch.full_like(input_ids, IGNORE)
        for row, suffix in enumerate(suffixes):
            answer = self.processor.tokenizer(suffix, add_special_tokens=False)["input_ids"]
            end = int(attention_mask[row].sum())  # right padding: real tokens come first
            start = end - len(answer)
            if start <= 0 or input_ids[row, start:end].tolist() != answer:
                raise AnswerMaskError(
                    f"{self.adapter.pretrained}: the answer {suffix!r} does not tokenize the same at the end of "
                    "the conversation as alone; its loss mask would be wrong"
                )
            labels[row, start:end] = input_ids[row, start:end]
        return labels

    # -- what trains --------------------------------------------------------------------------
    def part_of(self, name: str) -> str | None:
        """Which part (language_model, projector, vision_tower) a module or parameter name belongs to."""
        for part, prefixes in self.adapter.module_parts.items():
            if name.startswith(prefixes):
                return part
        return None

    def part_prefixes(self, parts: Sequence[str]) -> tuple[str, ...]:
        return tuple(p for part in parts for p in self.adapter.module_parts[part])

    def linear_modules(self, parts: Sequence[str], target: Sequence[str] | str) -> list[str]:
        # like PEFT's own `all-linear`, the output layer is left out: LoRA on it makes PEFT save the
        # whole (vocabulary-sized) matrix into the adapter
        output = self.model.get_output_embeddings()
        names = []
        for name, module in self.model.named_modules():
            if not isinstance(module, torch.nn.Linear) or self.part_of(name) not in parts:
                continue
            if module is output and target == "all-linear":
                continue
            if target == "all-linear" or name.rsplit(".", 1)[-1] in target:
                names.append(name)
        return names

    def base_info(self) -> dict[str, Any]:
        return {
            "model": type(self.adapter).__name__,
            "pretrained": self.adapter.pretrained,
            "revision": self.adapter.revision,
        }


def load_for_training(model: ModelSpec, device: str = "cpu") -> TrainingHook:
    """Load the family adapter of `model` (an lmms-eval name such as fvb_qwen2_5_vl) for training.

    Always on transformers: a `backend=vllm` that serves the model's evaluation is left out here.
    """
    from model_adapters.registry import adapter_class

    if model.adapter:
        raise ValueError(f"MODEL_ARGS={model.model_args()}: train from the base model, without adapter=")
    model_class = adapter_class(model.name)
    adapter = model_class.create_from_arg_string(model.for_training().model_args(), {"device": device})
    adapter.model.train()
    return TrainingHook(adapter)


def merged_copy(model: ModelSpec, adapter: str | Path, out: str | Path) -> ModelSpec:
    """Merge a PEFT adapter into its base, save it with the processor into `out` once; the merged model.

    Used to start self-alignment from an SF2T adapter: the merged weights become the base and the
    DPO reference, whatever layers the adapter touched (TRL cannot train LoRA on the output layer).
    """
    import transformers
    from peft import PeftModel

    from model_adapters.registry import adapter_class

    out = Path(out)
    revision = model.args.get("revision")
    if not (out / "config.json").is_file():
        model_class = getattr(transformers, adapter_class(model.name).model_class)
        base = model_class.from_pretrained(model.pretrained, revision=revision)
        merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
        merged.save_pretrained(out)
        transformers.AutoProcessor.from_pretrained(model.pretrained, revision=revision).save_pretrained(out)
    return model.with_weights(str(out))


class FamilyAnswerer:
    """A family adapter loaded for generation, answering request records in batches with progress."""

    def __init__(self, model: ModelSpec, device: str, batch_size: int = 4) -> None:
        from model_adapters.registry import adapter_class

        self.adapter = adapter_class(model.name).create_from_arg_string(model.model_args(), {"device": device})
        self.frame_policy = self.adapter.frame_policy
        self.batch_size = batch_size

    def answer(self, requests: Sequence[Request], desc: str) -> list[str]:
        """One answer per request, `batch_size` at a time."""
        from tqdm.auto import tqdm

        answers: list[str] = []
        for start in tqdm(range(0, len(requests), self.batch_size), desc=desc, unit="batch"):
            answers += self.adapter.answer_batch(list(requests[start : start + self.batch_size]))
        return answers


class FamilyModels:
    """The models a fine-tuning loop asks and trains (`finevidbench.savi.loop.Models`): one family adapter.

    Each use loads the model and releases it after, so generation and training never hold two copies.
    """

    def __init__(self, model: ModelSpec, device: str) -> None:
        self.model = model
        self.device = device

    @contextmanager
    def answerer(self, adapter: str | None) -> Iterator[FamilyAnswerer]:
        """The base with `adapter` on it (None: the base), for the block."""
        answerer = FamilyAnswerer(self.model.with_adapter(adapter), self.device)
        try:
            yield answerer
        finally:
            answerer.adapter.close()  # a serving engine is dropped before training needs the memory
            del answerer
            gc.collect()

    def train(self, examples: Sequence[Example] | Sequence[PreferenceExample], run: TrainingRun) -> RunRecord:
        """Train `examples` per `run` on a freshly loaded base model (transformers; released after)."""
        hook = load_for_training(self.model, device=self.device)
        try:
            return train(hook, examples, run)
        finally:
            del hook
            gc.collect()
