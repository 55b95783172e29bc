"""The shared base of every Hugging Face Video-LLM adapter.

Everything common lives here: loading (`from_pretrained` with revision, dtype, device,
attention implementation, device_map, trust_remote_code), an optional PEFT LoRA adapter loaded
unmerged, the frame policy (the benchmark's or the card's, in whole temporal patches), the chat
messages and their inputs (model_adapters/chat.py: the cards' two steps), batching (left-padded,
split into the processor calls that answer exactly as one question at a time does), greedy
generation and the fingerprint. A family subclass sets only what is its own: the model class, how
fragment frames are shown (`fragment_form`), what one processor call can hold (`stacks_videos`,
`shows`), its card's sampling (`card_frames`) and, where its card's code does
more, `fit_video` / `fit_images` or `processor_kwargs`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from finevidbench.model_args import take_group
from finevidbench.protocol import DEFAULT_SCENE_POLICY
from finevidbench.request import Clip, DecodedFrames, Image, LabelledFrames, Request, Visual
from model_adapters.backends import Backend, TransformersBackend, settings_key
from model_adapters.base import Shows
from model_adapters.chat import TemplateLayout, processor_inputs
from model_adapters.engine import VLLMEngine
from model_adapters.frames import ShowsFrames
from model_adapters.loading import (
    AdapterError,
    Checkpoint,
    attach_adapter,
    load_pretrained,
    load_processor,
    local_weights_hash,
)
from model_adapters.positions import use_trained_positions
from model_adapters.serving import (
    BackendChoice,
    PromptLimit,
    VLLMBackend,
    check_served,
    check_weight_names,
    start_engine,
)

if TYPE_CHECKING:
    from transformers import BatchFeature
    from transformers.video_utils import VideoMetadata

INPUTS_REVISION = 2
"""Revision of how a document becomes processor inputs; in every fingerprint, so older stored answers are not reused.
2: the cards' two steps (rendered text, then the processor), metadata of the shown clip (frame positions at its
rate), frame sampling never left to the processor, frame labels in the text where a template reorders images."""


class HFVideoModel(BackendChoice, ShowsFrames):
    """Any `AutoModelForImageTextToText` video model; families override the little that differs."""

    is_simple = False
    answers_any_task = True
    backend: Backend
    """What answers the prompts: transformers' `generate` or the serving engine (model_adapters/backends.py)."""
    model_class: ClassVar[str] = "AutoModelForImageTextToText"
    fragment_form: ClassVar[str] = "images"
    """How fragment frames are shown: "images" (numbered images) or "video" (a clip, 1 s per frame)."""
    card_frames: ClassVar[str] = "num_frames=8,mode=start"
    """The model card's own frame sampling, as a policy (`frames=card`); default: transformers' sampler, 8 frames."""
    # What one processor call can hold. A batch is split into calls that hold only what the processor
    # handles exactly (`batch_group`), so batched greedy answers equal one-at-a-time answers. The generic
    # adapter (`fvb_hf`) assumes the worst of a processor it was not written for; each family declares its own.
    served_by_vllm: ClassVar[bool] = False
    """True where `backend=vllm` is offered: vLLM takes the family's video and the parity tests hold it."""
    not_served_because: ClassVar[str] = (
        "the generic adapter is held to no vLLM model; SmolVLM2, its tiny model's architecture, takes images only there"
    )
    """Why `backend=vllm` is refused where it is not offered (the refusal's one line says it)."""
    engine_weight_names: ClassVar[dict[str, str]] = {}
    """Weight-name prefixes transformers 5 saves where vLLM reads others, {saved: read}: a local checkpoint named
    the first way is refused before the engine starts (`serving.check_weight_names`)."""
    engine_prompt_limit: ClassVar[PromptLimit] = PromptLimit()
    """What one prompt may show through vLLM where its model code shows more than the checkpoint was trained on."""
    stacks_videos: ClassVar[bool] = True
    """True when the processor stacks a batch's videos into one tensor padded to the longest (a call needs equal
    frame counts). SmolVLM's also writes that padded count into every video's prompt ("series of N frames")."""
    shows: ClassVar[Shows] = Shows(videos=True, images=True, mixed=False)
    """What one processor call can hold: `mixed` where it takes images and videos together. Not where both come out
    under one name (SmolVLM's `pixel_values`: the processor merges the two outputs, and the videos' replace the
    images')."""
    module_parts: ClassVar[dict[str, tuple[str, ...]]] = {
        # projector first: Qwen's merger sits inside `model.visual`
        "projector": (
            "model.multi_modal_projector",
            "model.visual.merger",
            "model.visual.deepstack_merger_list",
            "model.projector",
            "model.connector",
            "model.mlp1",
        ),
        "vision_tower": ("model.visual", "model.vision_tower", "model.vision_model"),
        "language_model": ("model.language_model", "model.text_model", "lm_head"),
    }
    """Module-name prefixes of the parts SF2T can train (model_adapters/training.py)."""

    argument_groups: ClassVar[tuple[type[Any], ...]] = (Checkpoint,)

    def __init__(
        self, adapter: str | None = None, max_new_tokens: int = 64, frames: str = "benchmark", **kwargs: Any
    ) -> None:
        if not kwargs.get("pretrained"):
            raise AdapterError(
                f"{type(self).__name__} needs the model to load (fix: MODEL_ARGS=pretrained=ORG/NAME or "
                "pretrained=path/to/folder, e.g. pretrained=Qwen/Qwen2.5-VL-7B-Instruct)"
            )
        if frames not in ("benchmark", "card"):
            raise AdapterError(
                f"frames={frames}: expected 'benchmark' (the default policy) or 'card' (the model card's)"
            )
        checkpoint = take_group(Checkpoint, kwargs)
        super().__init__(**kwargs)
        self.pretrained = str(checkpoint.pretrained)
        self.max_new_tokens = int(max_new_tokens)
        self.frames = frames
        self.model: Any = None  # the transformers model; None where the serving engine holds the weights
        self.engine: VLLMEngine | None = None
        if self.backend_name == "vllm":
            check_served(type(self).__name__, self.served_by_vllm, self.not_served_because)
            check_weight_names(self.pretrained, self.engine_weight_names)
            self.processor = load_processor(checkpoint)
        else:
            self.processor, self.model = load_pretrained(checkpoint, self.model_class, self.device)
        self.layout = self._template_layout()
        base = self.card_frames if frames == "card" else DEFAULT_SCENE_POLICY
        self.frame_policy = self.frame_args.policy(base, self.temporal_patch())
        # recorded: the asked revision, else the commit the hub resolved, else a hash of local weights
        resolved = getattr(getattr(self.model, "config", None), "_commit_hash", None)
        self.revision = checkpoint.revision or resolved or local_weights_hash(self.pretrained)
        self.backend, self.adapter_info = self._backend(checkpoint, adapter)

    def _backend(self, checkpoint: Checkpoint, adapter: str | None) -> tuple[Backend, dict[str, Any] | None]:
        """The backend that answers (the adapter applied as it applies one), and the adapter's record."""
        if self.model is None:
            self.engine, record = start_engine(self.engine_settings.engine_args(checkpoint), adapter)
            return VLLMBackend(self.engine), record
        positions = use_trained_positions(self.model)
        record = None
        if adapter:
            self.model, record = attach_adapter(self.model, adapter, self.pretrained)
        self.model.eval()
        return TransformersBackend(self.model, positions), record

    # -- loading ------------------------------------------------------------------------------
    def _template_layout(self) -> TemplateLayout:
        try:
            return TemplateLayout.of(self.processor)
        except (ValueError, TypeError, KeyError) as exc:  # no template, or one that cannot render a user turn
            raise AdapterError(
                f"pretrained={self.pretrained}: its processor has no chat template that renders a user turn "
                f"({exc})".splitlines()[0]
                + " (fix: a checkpoint with chat_template.json, or a family that overrides `encode`)"
            ) from None

    def temporal_patch(self) -> int:
        """Frames the vision encoder patches together (Qwen: 2; 1 where it has no temporal patch)."""
        return int(getattr(getattr(self.processor, "video_processor", None), "temporal_patch_size", None) or 1)

    def close(self) -> None:
        """Drop the serving engine once the run is over (its process waits, vLLM imported, for the next engine)."""
        if self.engine is not None:
            self.engine.close()

    def inputs_record(self) -> dict[str, Any]:
        """How documents become inputs, beyond the frame policy: recorded in results.json and the fingerprint."""
        record = {
            "revision": INPUTS_REVISION,
            "frames": self.frames,
            "temporal_patch": self.temporal_patch(),
            "labels_in_text": not self.layout.interleaves,
        }
        return record | self.backend.record()

    def fingerprint_parts(self) -> dict[str, Any]:
        return {
            "model": type(self).__name__,
            "pretrained": self.pretrained,
            "revision": self.revision,
            "adapter": (self.adapter_info or {}).get("sha256"),
            "policy": self.frame_policy.id,
            "max_new_tokens": self.max_new_tokens,
            # answers stored before batches were split by `batch_group` may differ from batch-1 ones (SmolVLM)
            "batching": "grouped",
            "inputs": self.inputs_record(),
        }

    def policy_id(self) -> str:
        return self.frame_policy.id

    # -- inputs -------------------------------------------------------------------------------
    def shown(self, visual: Visual) -> tuple[list[dict[str, Any]], VideoMetadata | None]:
        """Content blocks of one visual, and its video metadata (None when shown as images).

        The metadata describes the clip the model is shown (a window at its speed): each frame's
        position in it, its length and frame rate, as a card's decoder describes the file it read.
        """
        if isinstance(visual, Image):
            return [{"type": "image", "image": image} for image in self.fit_images([visual.image])], None
        if isinstance(visual, Clip):
            sampling = self.frame_cache.sampling(visual)
            frames = self.fit_video(self.frame_cache.clip(visual))
            meta = _metadata(frames, sampling.positions, sampling.clip_frames, sampling.clip_fps)
            return [self.video_block(frames)], meta
        if isinstance(visual, DecodedFrames):
            frames = self.fit_video(visual.frames)
            return [self.video_block(frames)], _metadata(frames, range(len(frames)), len(frames), 1.0)
        frames = self.frame_cache.labelled(visual)
        if self.fragment_form == "images":
            return self.image_blocks(self.fit_images(_pictures(frames))), None
        frames = self.fit_video(frames)
        return [self.video_block(frames)], _metadata(frames, range(len(frames)), len(frames), 1 / visual.seconds_apart)

    def fit_video(self, frames: np.ndarray) -> np.ndarray:
        """A clip's frames as the card's path sizes them before the processor (default: left to the processor)."""
        return frames

    def fit_images(self, images: Sequence[Any]) -> list[Any]:
        """PIL images as the card's path hands them to the processor (default: unresized)."""
        return list(images)

    def video_block(self, frames: np.ndarray) -> dict[str, Any]:
        """The content block of a clip."""
        return {"type": "video", "video": frames}

    def image_blocks(self, images: Sequence[Any]) -> list[dict[str, Any]]:
        """Numbered images: "Frame 1:" <image> "Frame 2:" <image> ..."""
        blocks = []
        for number, image in enumerate(images, start=1):
            blocks += [{"type": "text", "text": f"Frame {number}:"}, {"type": "image", "image": image}]
        return blocks

    def processor_kwargs(self, metas: list[Any]) -> dict[str, Any]:
        """Keyword arguments of the processor call: padding, and the videos' metadata when there are videos.

        Frames are the policy's: a processor never samples them again (SmolVLM's and Qwen3-VL's
        configs turn their own sampling on).
        """
        if not metas:
            return {"padding": True}
        return {"padding": True, "video_metadata": metas, "videos_kwargs": {"do_sample_frames": False}}

    def conversation(self, request: Request) -> tuple[list[dict[str, Any]], list[VideoMetadata]]:
        """The chat messages of a request (each visual as this family shows it) and its videos' metadata."""
        messages, metas = [], []
        for turn in request.turns:
            blocks: list[dict[str, Any]] = []
            for piece in turn.content:
                if isinstance(piece, str):
                    blocks.append({"type": "text", "text": piece})
                    continue
                shown, meta = self.shown(piece)
                blocks += shown
                metas += [] if meta is None else [meta]
            messages.append({"role": turn.role, "content": blocks})
        return messages, metas

    def inputs(
        self, conversations: Sequence[list[dict[str, Any]]], metas: list[Any], add_generation_prompt: bool = True
    ) -> BatchFeature:
        """Padded model inputs of conversations: the card's two steps (model_adapters/chat.py)."""
        return processor_inputs(
            self.processor, self.layout, conversations, self.processor_kwargs(metas), add_generation_prompt
        )

    def encode(self, requests: Sequence[Request]) -> BatchFeature:
        """Tokenised, padded inputs of a batch of requests."""
        conversations, metas = [], []
        for request in requests:
            messages, request_metas = self.conversation(request)
            conversations.append(messages)
            metas += request_metas
        return self.inputs(conversations, metas)

    def frame_counts(self, request: Request) -> tuple[int, ...]:
        """How many frames each clip of a request holds, in order (sampling only, no decoding)."""
        counts = [len(indices) for _, indices in self.frame_cache.reads(request)]
        return tuple(counts) + tuple(len(v.frames) for v in request.visuals if isinstance(v, DecodedFrames))

    def shown_counts(self, request: Request) -> Counter[str]:
        """How many images and videos a request reaches the processor as (labelled frames by `fragment_form`)."""
        counts: Counter[str] = Counter()
        for visual in request.visuals:
            if isinstance(visual, LabelledFrames) and self.fragment_form == "images":
                counts["image"] += len(visual.indices)
            else:
                counts["image" if isinstance(visual, Image) else "video"] += 1
        return counts

    def kinds(self, request: Request) -> tuple[str, ...]:
        """What a request reaches the processor as: "image" and/or "video"."""
        return tuple(sorted(self.shown_counts(request)))

    def batch_group(self, request: Request) -> tuple[Any, ...]:
        """What requests must share to be encoded in one processor call: frame counts and/or visual forms.

        Requests asking different generation settings are never generated together either.
        """
        counts = self.frame_counts(request) if self.stacks_videos else None
        return counts, None if self.shows.mixed else self.kinds(request), settings_key(request)

    def check_shown(self, request: Request) -> None:
        """Refuse, in one line, a request the processor cannot hold, or the engine would show unlike training."""
        if not self.shows.mixed and len(self.kinds(request)) > 1:
            raise AdapterError(
                f"{type(self).__name__}: task {request.task} shows images and videos in one request, which this "
                "family's processor cannot hold together (its videos' pixel values replace the images')"
            )
        if self.backend_name == "vllm":
            refusal = self.engine_prompt_limit.refusal(type(self).__name__, request.task, self.shown_counts(request))
            if refusal is not None:
                raise AdapterError(refusal)

    def prepare(self, requests: Sequence[Request]) -> None:
        """Refuse what cannot be answered before the first answer, then plan the run's decodes."""
        for request in requests:
            self.check_shown(request)
        super().prepare(requests)

    def answer_batch(self, requests: Sequence[Request]) -> list[str]:
        for request in requests:
            self.check_shown(request)
        return self.backend.answer(self, requests)

    def usage(self) -> dict[str, Any] | None:
        """What the backend's engine did in this process (results.json's provenance); None where nothing counts."""
        return self.backend.usage()


def _pictures(frames: np.ndarray) -> list[Any]:
    """Frames as PIL images."""
    from PIL import Image

    return [Image.fromarray(frame) for frame in frames]


def _metadata(frames: np.ndarray, positions: Sequence[int], clip_frames: int, fps: float) -> VideoMetadata:
    """The VideoMetadata of frames at `positions` of a clip of `clip_frames` frames at `fps`."""
    from transformers.video_utils import VideoMetadata

    return VideoMetadata(
        total_num_frames=int(clip_frames),
        fps=float(fps),
        frames_indices=[int(p) for p in positions],
        duration=clip_frames / fps,
        width=int(frames.shape[2]),
        height=int(frames.shape[1]),
    )
