"""`backend=vllm`: the adapters' prompts answered by a vLLM engine in the serving engine's own environment.

The adapter builds every prompt exactly as for transformers (the policy's frames from the one decode
per video, sized as the card sizes them, frame labels, timestamps and metadata, the rendered chat
text) and hands the engine the text, the images and the videos with their metadata instead of the
processor's tensors; vLLM's processor expands the placeholders and neither samples nor resizes.
vLLM pins another transformers than ours, so the engine runs in its own interpreter
(`model_adapters/vllm_worker.py`, under `make vllm-venv`'s `.venv-vllm`, or the current one where
vLLM is installed beside us), reached over a socket pair that only the two processes hold. Scale is
vLLM's own: tensor and data parallel sizes, memory share, context length and prefix caching are
passed to it as they are.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from finevidbench.model_args import take_group
from finevidbench.request import Request
from model_adapters.backends import cut_at_stops, in_groups, samples
from model_adapters.chat import blocks_of_kind, render
from model_adapters.engine import VLLMEngine
from model_adapters.loading import AdapterError, Checkpoint, adapter_record

if TYPE_CHECKING:
    from model_adapters.backends import Adapter

BACKENDS = ("transformers", "vllm")
LIMIT_MM_PER_PROMPT = {"image": 64, "video": 4}
"""How many images and videos one prompt may hold (vLLM reserves memory for it): fragment items show up to a
few dozen numbered frames."""


@dataclass(frozen=True)
class EngineSettings:
    """vLLM's own scale knobs, from MODEL_ARGS; None leaves vLLM's default."""

    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    enable_prefix_caching: bool | None = None
    enforce_eager: bool | None = None
    """True skips vLLM's graph compilation: a faster start, slower answers (small runs, tests)."""

    def engine_args(self, checkpoint: Checkpoint) -> dict[str, Any]:
        """The keyword arguments of `vllm.LLM`; dtype "auto" as for transformers (float32 where no GPU is seen)."""
        import torch

        dtype = {"auto": "bfloat16" if torch.cuda.is_available() else "float32"}.get(checkpoint.dtype, checkpoint.dtype)
        chosen = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        # statistics on: the cache counters results.json records (vLLM's periodic log stays below WARNING)
        fixed = {"model": checkpoint.pretrained, "dtype": dtype, **checkpoint.hub_options()}
        return {**fixed, "seed": 0, "disable_log_stats": False, "limit_mm_per_prompt": LIMIT_MM_PER_PROMPT, **chosen}


@dataclass(frozen=True)
class EnginePrompt:
    """One prompt as the engine takes it: the rendered text and the visuals it names, in order."""

    text: str
    images: tuple[np.ndarray, ...]
    videos: tuple[tuple[np.ndarray, dict[str, Any]], ...]
    processor_kwargs: dict[str, Any]
    sampling: dict[str, Any]

    @classmethod
    def of(
        cls,
        text: str,
        messages: list[dict[str, Any]],
        metas: list[Any],
        processor_kwargs: dict[str, Any],
        sampling: dict[str, Any],
    ) -> EnginePrompt:
        """The prompt of rendered `text` and its messages' visuals; the engine's processor told what ours is told.

        Frames are never sampled again and sized ones never resized (the adapter's processor kwargs);
        padding is the engine's business.
        """
        kwargs = {k: v for k, v in processor_kwargs.items() if k not in ("padding", "video_metadata", "videos_kwargs")}
        kwargs.update(processor_kwargs.get("videos_kwargs", {}))
        videos = blocks_of_kind(messages, "video")
        return cls(
            text=text,
            images=tuple(np.asarray(image.convert("RGB")) for image in blocks_of_kind(messages, "image")),
            videos=tuple((np.ascontiguousarray(v), engine_metadata(m)) for v, m in zip(videos, metas, strict=True)),
            processor_kwargs=kwargs,
            sampling=sampling,
        )

    def message(self) -> dict[str, Any]:
        """What crosses to the engine's process (plain types and arrays, pickled; not `asdict`, which copies frames)."""
        fields = ("text", "processor_kwargs", "sampling")
        return {name: getattr(self, name) for name in fields} | {"images": self.images, "videos": self.videos}


class BackendChoice:
    """The MODEL_ARGS that choose the backend: `backend=transformers` (default) or `vllm`, and vLLM's knobs."""

    argument_groups: ClassVar[tuple[type[Any], ...]] = (EngineSettings,)

    def __init__(self, backend: str = "transformers", **kwargs: Any) -> None:
        if backend not in BACKENDS:
            raise AdapterError(f"backend={backend}: expected one of {', '.join(BACKENDS)}")
        self.backend_name = backend
        self.engine_settings = take_group(EngineSettings, kwargs)
        super().__init__(**kwargs)


def engine_sampling(generation: Mapping[str, Any], max_new_tokens: int, repetition_penalty: float) -> dict[str, Any]:
    """The SamplingParams of a request for vLLM: what transformers' `generate` does with it."""
    if int(generation.get("num_beams") or 1) > 1:
        raise AdapterError("backend=vllm: beam search (num_beams > 1) is not offered (fix: backend=transformers)")
    limit = int(generation.get("max_new_tokens", max_new_tokens))
    options: dict[str, Any] = {"max_tokens": limit, "temperature": 0.0, "repetition_penalty": repetition_penalty}
    if samples(generation):
        options |= {"temperature": float(generation["temperature"]), "top_p": float(generation.get("top_p") or 1.0)}
    return options


def engine_metadata(meta: Any) -> dict[str, Any]:
    """A clip's VideoMetadata as vLLM's video input takes it (its processor derives the timing from it)."""
    fields = dataclasses.asdict(meta) | {"frames_indices": list(meta.frames_indices or ())}
    return fields | {"video_backend": "finevidbench", "do_sample_frames": False}


@dataclass(frozen=True)
class PromptLimit:
    """The most images and videos a prompt may hold where the engine would show more than the model was trained on.

    None: as many as the prompt holds. A request beyond the limit is refused before anything is answered
    (`HFVideoModel.prepare`): an answer the engine gives on inputs the checkpoint never saw could be published
    as the model's.
    """

    images: int | None = None
    videos: int | None = None
    because: str = ""

    def refusal(self, adapter_class: str, task: str, shown: Mapping[str, int]) -> str | None:
        """The one line refusing a request of `task` showing `shown` ({"image": n, "video": m}); None if it fits."""
        limits = {"image": self.images, "video": self.videos}
        over = [kind for kind, most in limits.items() if most is not None and shown.get(kind, 0) > most]
        if not over:
            return None
        held = ", ".join(f"{shown.get(kind, 0)} {kind}(s), at most {limits[kind]}" for kind in over)
        return (
            f"backend=vllm: {adapter_class} does not serve task {task}'s prompts through vLLM ({held}: "
            f"{self.because}) (fix: backend=transformers, or TASKS= without that task)"
        )


def check_served(adapter_class: str, served: bool, reason: str) -> None:
    """Refuse, with the reason and the way on, a family backend=vllm does not serve here."""
    if not served:
        raise AdapterError(
            f"backend=vllm: {adapter_class} is not served through vLLM here ({reason}) (fix: backend=transformers)"
        )


def check_weight_names(pretrained: str, names: Mapping[str, str]) -> None:
    """Refuse, before the engine starts, a local checkpoint whose weights vLLM would not find by their names.

    `names` are the family's {prefix transformers 5 saves: the prefix vLLM reads}. transformers 5.24 saves a LLaVA
    family's SigLIP or CLIP tower as `vision_tower.*` and reads either; vLLM 0.32 reads only
    `vision_tower.vision_model.*`, the names the hub checkpoints ship, and stops while loading
    ("There is no module or parameter named ..."). A model fine-tuned here in full and saved is such a checkpoint.
    """
    folder = Path(pretrained)
    if not names or not folder.is_dir():
        return  # a hub id: the hub's names
    saved = [name.removeprefix("model.") for name in _weight_names(folder)]
    for theirs, wanted in names.items():
        stray = next((name for name in saved if name.startswith(theirs) and not name.startswith(wanted)), None)
        if stray is not None:
            raise AdapterError(
                f"pretrained={pretrained}: its weights are named as transformers 5 saves them ({stray}), which vLLM "
                f"does not load: it reads {wanted}* as the hub checkpoints name them (fix: backend=transformers, or "
                f"rename the prefix {theirs} to {wanted} in its safetensors files; transformers loads either)"
            )


def _weight_names(folder: Path) -> list[str]:
    """The weight names of a checkpoint folder: its safetensors index, else its files' headers (no tensor read)."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        return list(json.loads(index.read_text())["weight_map"])
    from safetensors import safe_open

    names: list[str] = []
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), "pt") as opened:
            names += list(opened.keys())  # noqa: SIM118 - not a dict
    return names


def start_engine(engine_args: dict[str, Any], adapter: str | None) -> tuple[VLLMEngine, dict[str, Any] | None]:
    """The engine of `engine_args`, applying the LoRA `adapter` folder when one is given, and the adapter's record."""
    record = adapter_record(adapter) if adapter else None
    if adapter:
        check_language_model_lora(adapter)
    lora = lora_engine_args(record) if record else {}
    return VLLMEngine(engine_args | lora, lora=adapter), record


LANGUAGE_MODEL = ("model.language_model.", "model.layers.", "language_model.")
"""Where a Qwen-VL adapter's LoRA weights sit in the language model (transformers 5's names, then older ones)."""


def check_language_model_lora(adapter: str) -> None:
    """Refuse an adapter with weights vLLM would not apply: LoRA outside the language model, whole saved modules.

    vLLM 0.32 applies LoRA to the language model's layers; on the vision tower and its merger it drops
    the weights without an error unless told otherwise (then, on CPU, it fails on the first video),
    so such an adapter would answer as the base model does there.
    """
    from safetensors import safe_open

    weights = Path(adapter) / "adapter_model.safetensors"
    if not weights.is_file():
        raise AdapterError(f"adapter={adapter}: no adapter_model.safetensors (fix: save it with PEFT's safetensors)")
    with safe_open(str(weights), "pt") as opened:
        names = [name.removeprefix("base_model.model.") for name in opened.keys()]  # noqa: SIM118 - not a dict
    outside = sorted({name.rsplit(".lora_", 1)[0] for name in names if not _applied_by_vllm(name)})
    if outside:
        raise AdapterError(
            f"adapter={adapter}: weights outside the language model's layers' LoRA ({len(outside)} modules, e.g. "
            f"{outside[0]}), which this backend does not hand to vLLM (it drops a vision tower's LoRA without an "
            "error) (fix: backend=transformers, which loads the adapter unmerged)"
        )


def _applied_by_vllm(weight: str) -> bool:
    return weight.startswith(LANGUAGE_MODEL) and ".lora_" in weight


LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""The ranks vLLM reserves LoRA slots for (its `max_lora_rank`); an adapter takes the smallest that holds it."""


def lora_engine_args(adapter: dict[str, Any]) -> dict[str, Any]:
    """What `vllm.LLM` needs to apply one LoRA adapter (its record: `model_adapters.loading.adapter_record`)."""
    if adapter.get("peft_type") != "LORA":
        raise AdapterError(f"adapter={adapter['path']}: vLLM applies LoRA adapters only (fix: backend=transformers)")
    rank = int(adapter.get("r") or 0)
    fitting = [slots for slots in LORA_RANKS if slots >= rank]
    if not fitting:
        raise AdapterError(f"adapter={adapter['path']}: rank {rank} is above vLLM's largest, {LORA_RANKS[-1]}")
    return {"enable_lora": True, "max_loras": 1, "max_lora_rank": fitting[0]}


class VLLMBackend:
    """The engine answering the adapter's prompts: the rendered text, the frames and their metadata."""

    name = "vllm"

    def __init__(self, engine: VLLMEngine) -> None:
        self.engine = engine
        self.last_prompt_ids: list[list[int]] = []
        """The prompt tokens vLLM's processor made of the last `answer`'s requests, in their order (what the parity
        tests compare with ours)."""

    def prompt(self, adapter: Adapter, request: Request) -> EnginePrompt:
        """A request as the engine takes it: the messages, frames, sizes and metadata the adapter's `encode` uses."""
        messages, metas = adapter.conversation(request)
        text = render(adapter.processor, adapter.layout, messages, add_generation_prompt=True)
        sampling = engine_sampling(request.generation, adapter.max_new_tokens, self.engine.repetition_penalty)
        return EnginePrompt.of(text, messages, metas, adapter.processor_kwargs(metas), sampling)

    def answer(self, adapter: Adapter, requests: Sequence[Request]) -> list[str]:
        """One engine call per group of the batch (`in_groups`; vLLM schedules each), decoded by our tokenizer."""
        answered = in_groups(adapter, requests, lambda batch: self.generate(adapter, batch))
        self.last_prompt_ids = [prompt_ids for _, prompt_ids in answered]
        return [text for text, _ in answered]

    def generate(self, adapter: Adapter, requests: Sequence[Request]) -> list[tuple[str, list[int]]]:
        """The answers of requests the engine takes in one call, each with the prompt tokens vLLM made of it."""
        tokens = self.engine.generate([self.prompt(adapter, request) for request in requests])
        texts = adapter.processor.batch_decode(tokens, skip_special_tokens=True)
        cut = [cut_at_stops(text, r.generation.get("until")).strip() for text, r in zip(texts, requests, strict=True)]
        return list(zip(cut, self.engine.last_prompt_ids, strict=True))

    def record(self) -> dict[str, Any]:
        """The engine and its version; positions are vLLM's own `get_mrope_input_positions` (the trained rule)."""
        return {"engine": f"vllm {self.engine.version}", "positions": "vllm"}

    def usage(self) -> dict[str, Any] | None:
        """Prompts, prompt tokens and cache hit rates of the engine in this process."""
        return self.engine.usage()
