"""The shared base of every Hugging Face Video-LLM adapter.

Everything common lives here: loading (`from_pretrained` with revision, dtype, device,
attention implementation, device_map, trust_remote_code), an optional PEFT LoRA adapter loaded
unmerged, the frame policy, decoding through `finevidbench.video` (and its cache), the chat
messages, batching (left-padded, split into the processor calls that answer exactly as one question
at a time does), greedy generation and the fingerprint. A family subclass sets only what is its own:
the model class, how fragment frames are shown (`fragment_form`), what one processor call can hold
(`stacks_videos`, `mixes_images_and_videos`) and, where needed, `processor_kwargs` or `video_block`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from finevidbench.protocol import DEFAULT_SCENE_POLICY, FRAGMENT_FRAME_SECONDS
from finevidbench.protocol.overlay import apply_overlay
from finevidbench.video import DEFAULT_CACHE, FramePolicy, Sampling, load_frames, probe
from model_adapters.base import FineVidModel, Request


class AdapterError(ValueError):
    """A model or adapter cannot be loaded as asked; the message names the path and the fix."""


class DecodesEachVideoOnce:
    """Frame loading shared by every model that feeds frames: each video is decoded once per run.

    `prepare` (called with all pending requests) notes the union of every frame the run shows of a
    video, over all speeds, windows and fragments; each request then cuts its frames from that one
    decode, kept in the shared frame cache. Needs a `frame_policy`.
    """

    frame_policy: FramePolicy
    _release_lock = threading.Lock()
    """Serialises a prefetch's check-and-load with `release` (shared by instances: one run at a time)."""

    def scene_sampling(self, doc: dict) -> Sampling:
        """The frames the run's policy takes for a scene document (its speed and window), without decoding."""
        return self.frame_policy.for_scene(doc["speed"], doc.get("window")).sample(probe(doc["video_path"]))

    def frames_needed(self, doc: dict) -> tuple[int, ...]:
        """Source frame indices a document shows, in the order shown."""
        return tuple(doc["frames"]) if doc["level"] == "fragment" else self.scene_sampling(doc).indices

    def prepare(self, requests: Sequence[Request]) -> None:
        """Note, per video, every frame the run will show (all speeds, windows, fragments): one decode each."""
        self._union: dict[str, tuple[int, ...]] = {}
        for request in requests:
            path = request.doc["video_path"]
            self._union[path] = tuple(sorted({*self._union.get(path, ()), *self.frames_needed(request.doc)}))

    def prefetch(self, requests: Sequence[Request]) -> None:
        """Decode (into the shared frame cache) the videos of the next batch.

        A prefetcher that falls behind a fast model must not decode a video whose questions are all
        answered (released) again: it skips released videos, and `release` waits for a load under way.
        """
        for request in requests:
            path = request.doc["video_path"]
            # checked and loaded under the lock `release` takes: a video is never loaded once released
            with self._release_lock:
                union = getattr(self, "_union", {}).get(path)
                if union is not None:
                    load_frames(path, union)

    def release(self, videos: Sequence[str]) -> None:
        """Drop the answered videos' decoded frames: memory stays bounded by the videos in flight."""
        with self._release_lock:
            for path in videos:
                getattr(self, "_union", {}).pop(path, None)
                DEFAULT_CACHE.forget(path)

    def frames_of(self, doc: dict, indices: Sequence[int]) -> np.ndarray:
        """Frames at `indices`, cut from one decode of every frame the run shows of the document's video."""
        union = getattr(self, "_union", {}).get(doc["video_path"], ())
        if not set(indices) <= set(union):  # a document the run did not announce
            union = tuple(sorted(set(indices)))
        row = {index: position for position, index in enumerate(union)}
        return np.asarray(load_frames(doc["video_path"], union))[[row[i] for i in indices]]

    def fragment_frames(self, doc: dict) -> np.ndarray:
        """A fragment item's frames in the order shown, with its pasted target (if any) painted on."""
        return apply_overlay(self.frames_of(doc, doc["frames"]), doc.get("overlay"))


class HFVideoModel(DecodesEachVideoOnce, FineVidModel):
    """Any `AutoModelForImageTextToText` video model; families override the little that differs."""

    is_simple = False
    model_class: ClassVar[str] = "AutoModelForImageTextToText"
    fragment_form: ClassVar[str] = "images"
    """How fragment frames are shown: "images" (numbered images) or "video" (a clip, 1 s per frame)."""
    # What one processor call can hold. A batch is split into calls that hold only what the processor
    # handles exactly (`batch_group`), so batched greedy answers equal one-at-a-time answers. The generic
    # adapter (`fvb_hf`) assumes the worst of a processor it was not written for; each family declares its own.
    stacks_videos: ClassVar[bool] = True
    """True when the processor stacks a batch's videos into one tensor padded to the longest (a call needs equal
    frame counts). SmolVLM's also writes that padded count into every video's prompt ("series of N frames")."""
    mixes_images_and_videos: ClassVar[bool] = False
    """True when one call can hold images and videos. False where both come out under one name (SmolVLM's
    `pixel_values`: the processor merges the two outputs, and the videos' replace the images')."""
    module_parts: ClassVar[dict[str, tuple[str, ...]]] = {
        # projector first: Qwen's merger sits inside `model.visual`
        "projector": ("model.multi_modal_projector", "model.visual.merger", "model.visual.deepstack_merger_list",
                      "model.projector", "model.connector", "model.mlp1"),
        "vision_tower": ("model.visual", "model.vision_tower", "model.vision_model"),
        "language_model": ("model.language_model", "model.text_model", "lm_head"),
    }  # fmt: skip
    """Module-name prefixes of the parts SF2T can train (model_adapters/training.py)."""

    def __init__(
        self,
        pretrained: str,
        revision: str | None = None,
        adapter: str | None = None,
        max_new_tokens: int = 64,
        dtype: str = "auto",
        attn_implementation: str | None = None,
        device_map: str | None = None,
        trust_remote_code: bool = False,
        num_frames: int | None = None,
        fps: float | None = None,
        max_frames: int | None = None,
        frame_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pretrained = str(pretrained)
        self.max_new_tokens = int(max_new_tokens)
        self.frame_policy = self._policy(num_frames, fps, max_frames, frame_mode)
        self.processor, self.model = self._load(revision, dtype, attn_implementation, device_map, trust_remote_code)
        # recorded: the asked revision, else the commit the hub resolved, else a hash of local weights
        self.revision = (
            revision or getattr(self.model.config, "_commit_hash", None) or _local_weights_hash(self.pretrained)
        )
        self.adapter_info = None
        if adapter:
            self.model, self.adapter_info = _attach_adapter(self.model, adapter, self.pretrained)
        self.model.eval()

    # -- loading ------------------------------------------------------------------------------
    @staticmethod
    def _policy(num_frames, fps, max_frames, frame_mode) -> FramePolicy:
        base = FramePolicy.parse(DEFAULT_SCENE_POLICY).to_dict()
        if num_frames is not None:
            base.update(num_frames=int(num_frames), fps=None, max_frames=None)
        if fps is not None:
            base.update(fps=float(fps), num_frames=None)
        if max_frames is not None:
            base.update(max_frames=int(max_frames))
        if frame_mode is not None:
            base.update(mode=frame_mode)
        return FramePolicy.parse(base)

    def _load(self, revision, dtype, attn_implementation, device_map, trust_remote_code):
        import torch
        import transformers

        looks_like_hub_id = self.pretrained.count("/") == 1 and not self.pretrained.startswith((".", "/", "~"))
        if not Path(self.pretrained).expanduser().exists() and not looks_like_hub_id:
            raise AdapterError(
                f"pretrained={self.pretrained}: no such folder, and not a hub id "
                "(fix: pass a local model folder or ORG/NAME)"
            )
        torch_dtype = {"auto": torch.float32 if self.device.type == "cpu" else torch.bfloat16}.get(dtype, dtype)
        options = {"revision": revision, "trust_remote_code": bool(trust_remote_code)}
        load = {"dtype": torch_dtype, "attn_implementation": attn_implementation, "device_map": device_map}
        try:
            processor = transformers.AutoProcessor.from_pretrained(self.pretrained, **options)
            model_class = getattr(transformers, self.model_class)
            model = model_class.from_pretrained(self.pretrained, **options, **{k: v for k, v in load.items() if v})
        except (OSError, ValueError, KeyError) as exc:
            raise AdapterError(f"pretrained={self.pretrained}: cannot load it ({exc})".splitlines()[0]) from None
        if device_map is None:
            model = model.to(self.device)
        processor.tokenizer.padding_side = "left"  # batched greedy generation continues from the right
        return processor, model

    def fingerprint_parts(self) -> dict:
        return {
            "model": type(self).__name__,
            "pretrained": self.pretrained,
            "revision": self.revision,
            "adapter": (self.adapter_info or {}).get("sha256"),
            "policy": self.frame_policy.id,
            "max_new_tokens": self.max_new_tokens,
            # answers stored before batches were split by `batch_group` may differ from batch-1 ones (SmolVLM)
            "batching": "grouped",
        }

    def policy_id(self) -> str:
        return self.frame_policy.id

    # -- inputs -------------------------------------------------------------------------------
    def visual_blocks(self, doc: dict) -> tuple[list[dict], Any]:
        """Content blocks for one document, and its video metadata (None when shown as images)."""
        from transformers.video_utils import VideoMetadata

        if doc["level"] == "scene":
            sampling = self.scene_sampling(doc)
            frames, fps = self.frames_of(doc, sampling.indices), sampling.sampled_fps
        else:
            frames = self.fragment_frames(doc)
            if self.fragment_form == "images":
                return self.image_blocks(frames), None
            fps = 1.0 / FRAGMENT_FRAME_SECONDS
        meta = VideoMetadata(
            total_num_frames=len(frames), fps=fps, frames_indices=list(range(len(frames))),
            duration=len(frames) / fps, width=frames.shape[2], height=frames.shape[1],
        )  # fmt: skip
        return [self.video_block(frames)], meta

    def video_block(self, frames: np.ndarray) -> dict:
        """The content block of a clip."""
        return {"type": "video", "video": frames}

    def image_blocks(self, frames: np.ndarray) -> list[dict]:
        """Numbered images: "Frame 1:" <image> "Frame 2:" <image> ..."""
        from PIL import Image

        blocks = []
        for number, frame in enumerate(frames, start=1):
            blocks += [{"type": "text", "text": f"Frame {number}:"}, {"type": "image", "image": Image.fromarray(frame)}]
        return blocks

    def processor_kwargs(self, metas: list) -> dict:
        """Keyword arguments of the processor call: padding, and video metadata when there are videos."""
        return {"padding": True, **({"video_metadata": metas} if metas else {})}

    def encode(self, requests: Sequence[Request]):
        """Tokenised, padded inputs of a batch of requests."""
        conversations, metas = [], []
        for request in requests:
            blocks, meta = self.visual_blocks(request.doc)
            if meta is not None:
                metas.append(meta)
            content = [*blocks, {"type": "text", "text": request.prompt}]
            conversations.append([{"role": "user", "content": content}])
        return self.processor.apply_chat_template(
            conversations, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
            processor_kwargs=self.processor_kwargs(metas),
        )  # fmt: skip

    def frame_count(self, doc: dict) -> int:
        """How many frames a document's visual input holds (probe and policy only, no decoding)."""
        return len(self.frames_needed(doc))

    def shown_as_images(self, doc: dict) -> bool:
        """Whether a document's frames reach the processor as images (fragment items) rather than a video."""
        return doc["level"] == "fragment" and self.fragment_form == "images"

    def batch_group(self, doc: dict) -> tuple:
        """What requests must share to be encoded in one processor call: frame count and/or visual form."""
        return (
            self.frame_count(doc) if self.stacks_videos else None,
            None if self.mixes_images_and_videos else self.shown_as_images(doc),
        )

    def answer_batch(self, requests: Sequence[Request]) -> list[str]:
        if len(requests) == 1:
            return self.generate(requests)
        groups: dict[tuple, list[int]] = {}
        for position, request in enumerate(requests):
            groups.setdefault(self.batch_group(request.doc), []).append(position)
        answers: list[str] = [""] * len(requests)
        for positions in groups.values():
            for position, answer in zip(positions, self.generate([requests[p] for p in positions]), strict=True):
                answers[position] = answer
        return answers

    def generate(self, requests: Sequence[Request]) -> list[str]:
        """Greedy answers to a batch whose inputs the processor can put in one tensor."""
        import torch

        inputs = self.encode(requests).to(self.model.device)
        generation = requests[0].generation
        limit = int(generation.get("max_new_tokens", self.max_new_tokens))
        # greedy unless a request asks for sampling with a positive temperature (self-alignment's questions)
        sampling = bool(generation.get("do_sample")) and float(generation.get("temperature") or 0) > 0
        options = {"do_sample": True, "temperature": float(generation["temperature"]),
                   "top_p": float(generation.get("top_p", 1.0))} if sampling else {"do_sample": False}  # fmt: skip
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=limit, **options)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        return [t.strip() for t in self.processor.batch_decode(new_tokens, skip_special_tokens=True)]


def _local_weights_hash(path: str) -> str | None:
    """A hash of a local model's config and weight files (a stand-in for a hub revision)."""
    folder = Path(path)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for file in sorted(folder.glob("*.json")) + sorted(folder.glob("*.safetensors")):
        digest.update(file.name.encode())
        digest.update(file.read_bytes() if file.stat().st_size < 64 * 2**20 else str(file.stat().st_size).encode())
    return "sha256:" + digest.hexdigest()[:16]


def _attach_adapter(model, adapter: str, pretrained: str):
    """Load a PEFT LoRA folder onto `model`, unmerged; returns the wrapped model and its record."""
    from peft import PeftModel

    folder = Path(adapter)
    config_file = folder / "adapter_config.json"
    if not config_file.is_file():
        raise AdapterError(f"adapter={adapter}: no adapter_config.json there (fix: pass a PEFT adapter folder)")
    try:
        wrapped = PeftModel.from_pretrained(model, str(folder), is_trainable=False)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise AdapterError(f"adapter={adapter} does not fit pretrained={pretrained}: {exc}".splitlines()[0]) from None
    digest = hashlib.sha256()
    for file in sorted(folder.iterdir()):
        if file.is_file():
            digest.update(file.name.encode() + file.read_bytes())
    config = json.loads(config_file.read_text())
    record = {"path": str(folder), "sha256": digest.hexdigest(), "peft_type": config.get("peft_type"),
              "r": config.get("r"), "target_modules": config.get("target_modules")}  # fmt: skip
    return wrapped, {**record, **_training_provenance(folder)}


def _training_provenance(folder: Path) -> dict:
    """What the adapter's own run record says about its training (SF2T / self-alignment), if it has one."""
    from finevidbench.files import FileFormatError
    from finevidbench.training.record import RECORD_NAME, RunRecord

    if not (folder / RECORD_NAME).is_file():
        return {}
    try:
        run = RunRecord.read(folder)
    except FileFormatError as exc:
        raise AdapterError(f"adapter={folder}: its run record is unreadable ({exc})") from None
    return {"training": {"kind": run.kind, "contaminated": run.contaminated,
                         "data_hash": run.data.get("dataset_hash"), "base_model": run.base_model}}  # fmt: skip
