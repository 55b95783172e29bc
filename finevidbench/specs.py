"""What a run evaluates and with which model, as frozen values built once from the command line.

`ModelSpec` is a model as lmms-eval loads it (its name and its MODEL_ARGS), held apart: the
checkpoint (`pretrained`), a PEFT adapter on it, the frame policy a recipe asks for (whole, as a
`FramePolicy`), the serving backend and every other argument. `EvaluationSpec` is what `make eval`
evaluates it on. The MODEL_ARGS string is parsed once at the edge (`ModelSpec.parse`) and written
once where lmms-eval takes it (`model_args`); in between, code changes fields, never strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from finevidbench.model_args import format_model_args, parse_model_args
from finevidbench.protocol import DEFAULT_SCENE_POLICY
from finevidbench.video import FramePolicy

UNREACHABLE = {"multiple": 1, "start": None, "end": None, "speed": 1.0}
"""FramePolicy fields no model argument carries, with their defaults (the model's temporal patch sets
`multiple`; each question sets its speed and window)."""


@dataclass(frozen=True)
class FrameArgs:
    """The frame arguments of every model that shows frames (MODEL_ARGS): overrides of its base policy.

    One group, so the adapters, the pixel oracle and the bench's model read the same arguments the same
    way, and a recipe's policy travels to them whole (`of`, then `model_args`).
    """

    num_frames: int | None = None
    fps: float | None = None
    max_frames: int | None = None
    min_frames: int | None = None
    frame_mode: str | None = None
    """The policy's `mode` (`uniform`, `segment`, `start`)."""

    @classmethod
    def of(cls, policy: FramePolicy) -> FrameArgs:
        """The arguments that make a model sample `policy`.

        Raises ValueError for a policy field no model argument carries, rather than dropping it.
        """
        lost = {k: getattr(policy, k) for k, default in UNREACHABLE.items() if getattr(policy, k) != default}
        if lost:
            raise ValueError(
                f"frames: {policy}: {', '.join(lost)} cannot reach the model (its MODEL_ARGS take "
                f"{', '.join(f.name for f in fields(cls))}; the model's temporal patch sets multiple) "
                "(fix: leave them out of frames:)"
            )
        return cls(policy.num_frames, policy.fps, policy.max_frames, policy.min_frames, policy.mode)

    def model_args(self) -> dict[str, Any]:
        """The arguments that are set, as MODEL_ARGS name them."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def policy(self, base: str = DEFAULT_SCENE_POLICY, multiple: int = 1) -> FramePolicy:
        """The run's frame policy: `base` with these overrides, counts in whole temporal patches of `multiple`.

        A frame count replaces the base's rate and bounds; a rate replaces its count; a `max_frames` below the
        base's `min_frames` lowers that bound with it (one given here is kept, and checked by the policy).
        """
        spec = FramePolicy.parse(base).to_dict()
        if self.num_frames is not None:
            spec.update(num_frames=int(self.num_frames), fps=None, max_frames=None, min_frames=None)
        if self.fps is not None:
            spec.update(fps=float(self.fps), num_frames=None)
        if self.max_frames is not None:
            spec.update(max_frames=int(self.max_frames))
        if spec.get("min_frames") is not None and spec.get("max_frames") is not None:
            spec["min_frames"] = min(spec["min_frames"], spec["max_frames"])
        if self.min_frames is not None:
            spec.update(min_frames=int(self.min_frames))
        if self.frame_mode is not None:
            spec.update(mode=self.frame_mode)
        return FramePolicy.parse({**spec, "multiple": multiple})


@dataclass(frozen=True)
class ModelSpec:
    """A model to load: its lmms-eval name and its arguments, by what each one is."""

    name: str
    pretrained: str | None = None
    adapter: str | None = None
    """A PEFT adapter folder loaded on `pretrained` (None: the base model)."""
    frames: FramePolicy | None = None
    """The frame policy a recipe asks for, replacing any frame argument in `args` (None: `args` decide)."""
    args: Mapping[str, str] = field(default_factory=dict)
    """Every other model argument, in the order given (revision, backend, batch_size, frame arguments, ...)."""

    @classmethod
    def parse(cls, name: str, text: str | None) -> ModelSpec:
        """The spec of `--model NAME --model_args TEXT` (the one place MODEL_ARGS is parsed)."""
        args = parse_model_args(text)
        pretrained, adapter = args.pop("pretrained", None), args.pop("adapter", None)
        return cls(name, pretrained, adapter, None, args)

    def model_args(self) -> str:
        """The MODEL_ARGS string lmms-eval hands the model (pretrained first, the adapter last)."""
        args: dict[str, Any] = {"pretrained": self.pretrained, **self.args}
        if self.frames is not None:
            frame_names = {f.name for f in fields(FrameArgs)}
            args = {k: v for k, v in args.items() if k not in frame_names} | FrameArgs.of(self.frames).model_args()
        return format_model_args({**args, "adapter": self.adapter})

    def with_adapter(self, adapter: str | None) -> ModelSpec:
        """The same model with `adapter` on it (None: the base)."""
        return replace(self, adapter=adapter)

    def with_weights(self, pretrained: str) -> ModelSpec:
        """Another checkpoint of the same model (a fully fine-tuned or merged copy), no revision, no adapter."""
        args = {k: v for k, v in self.args.items() if k != "revision"}
        return replace(self, pretrained=pretrained, adapter=None, args=args)

    def with_frames(self, frames: FramePolicy | None) -> ModelSpec:
        """The same model sampling `frames` (None: leave the arguments' own)."""
        return self if frames is None else replace(self, frames=frames)

    @property
    def backend(self) -> str | None:
        """The serving engine its evaluation runs on (`vllm`), or None (transformers)."""
        return self.args.get("backend")

    def for_training(self) -> ModelSpec:
        """The model as the trainer loads it: on transformers, whatever engine serves its evaluation."""
        return replace(self, args={k: v for k, v in self.args.items() if k != "backend"})


@dataclass(frozen=True)
class EvaluationSpec:
    """What `make eval` evaluates on: the question set, the tasks, and how."""

    data: str = "mini"
    tasks: str = "finevidbench"
    """Comma-separated FineVidBench groups or tasks and any other lmms-eval task, as lmms-eval takes them."""
    limit: float | None = None
    generation: Mapping[str, str] = field(default_factory=dict)
    """Generation overrides for every task (--gen_kwargs, parsed once)."""
    include_path: tuple[str, ...] = ()

    @property
    def gen_kwargs(self) -> str | None:
        """The generation overrides as lmms-eval takes them (None: none)."""
        return format_model_args(self.generation) or None
