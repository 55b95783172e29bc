"""The Qwen-VL families' multimodal rotary positions (MRoPE) as their checkpoints were trained.

Qwen2-VL, Qwen2.5-VL and Qwen3-VL give every vision token a (time, height, width) position and
continue the text after a vision block one past the block's largest position, the time axis
included: the rule of the Qwen reference code, of vLLM's `get_mrope_input_positions` and of
transformers up to 5.2. Since transformers 5.3 the text resumes at `start + max(h, w) // merge`
instead (transformers issue 45381, closed, still in 5.24). After a clip whose time positions run
past its height and width (more frames, a lower frame rate, smaller frames) the question then sits
on positions that overlap the video's, where the model never read text in training.

`use_trained_positions` gives a loaded model this rule whatever transformers version is installed.
`HFVideoModel` applies it to every model it loads, and the SF²T / SAVi training hook trains the
adapter's own model, so evaluation and fine-tuning both see the positions the checkpoint was trained
with. Qwen3-VL shows each frame as its own block of one time position (timestamps in the text between
frames), where the two rules agree; it takes the same rule so that no installed version can drift it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

RULE = "qwen-reference"
"""Recorded in a run's inputs (results.json, the answer store's fingerprint) for the families that use MRoPE."""

_MODULES = {"Qwen2VLModel", "Qwen2_5_VLModel", "Qwen3VLModel", "Qwen3VLMoeModel"}
"""The transformers classes that own `get_rope_index` in the Qwen-VL families."""


@dataclass(frozen=True)
class MRoPELayout:
    """What a checkpoint's config says about its vision positions."""

    image_token_id: int
    video_token_id: int
    spatial_merge_size: int
    tokens_per_second: float | None
    """Qwen2.5-VL: time positions per second of video. None: one time position per temporal patch (Qwen2-VL)."""
    frame_blocks: bool
    """Qwen3-VL: every frame of a video is a block of its own, its timestamp written as text before it."""

    @classmethod
    def of(cls, module: Any) -> MRoPELayout | None:
        """The layout of a transformers module that owns `get_rope_index`, or None for any other module."""
        if type(module).__name__ not in _MODULES:
            return None
        config = module.config
        vision = config.vision_config
        return cls(
            image_token_id=int(config.image_token_id),
            video_token_id=int(config.video_token_id),
            spatial_merge_size=int(vision.spatial_merge_size),
            tokens_per_second=getattr(vision, "tokens_per_second", None),
            frame_blocks=type(module).__name__.startswith("Qwen3"),
        )


def use_trained_positions(model: Any) -> str | None:
    """Give every Qwen-VL module inside `model` the trained rule; its name, or None when no module uses MRoPE.

    The installed method keeps the signature of the one it replaces (it binds its caller's arguments to
    that signature), so any transformers version's call sites reach it unchanged.
    """
    rule = None
    for module in model.modules():
        layout = MRoPELayout.of(module)
        if layout is not None:
            module.get_rope_index = _TrainedRopeIndex(layout, inspect.signature(type(module).get_rope_index))
            rule = RULE
    return rule


class _TrainedRopeIndex:
    """`get_rope_index` with the trained rule, called as the installed transformers calls its own."""

    def __init__(self, layout: MRoPELayout, replaced: inspect.Signature) -> None:
        self.layout = layout
        self.replaced = replaced
        parameters = list(replaced.parameters.values())[1:]  # as bound to the module: without `self`
        self.__signature__ = replaced.replace(parameters=parameters)

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        named = self.replaced.bind(None, *args, **kwargs).arguments  # None stands for the module's `self`
        named.update(named.pop("kwargs", {}))
        return rope_index(
            self.layout,
            named["input_ids"],
            image_grid_thw=named.get("image_grid_thw"),
            video_grid_thw=named.get("video_grid_thw"),
            second_per_grid_ts=named.get("second_per_grid_ts"),
            attention_mask=named.get("attention_mask"),
        )


def rope_index(
    layout: MRoPELayout,
    input_ids: torch.Tensor,
    image_grid_thw: torch.Tensor | None = None,
    video_grid_thw: torch.Tensor | None = None,
    second_per_grid_ts: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(positions of shape (3, batch, length), each row's delta between its last position and its length)."""
    import torch

    positions = torch.zeros(3, *input_ids.shape, dtype=input_ids.dtype, device=input_ids.device)
    blocks = _VisionBlocks(layout, image_grid_thw, video_grid_thw, second_per_grid_ts)
    deltas = []
    for row, ids in enumerate(input_ids):
        kept = attention_mask[row].bool() if attention_mask is not None else torch.ones_like(ids, dtype=torch.bool)
        row_positions = _row_positions(ids[kept].tolist(), blocks, layout)
        positions[:, row, kept] = row_positions.to(positions.device)
        deltas.append(int(row_positions.max()) + 1 - int(kept.sum()))
    return positions, torch.tensor(deltas, device=input_ids.device).unsqueeze(1)


def _row_positions(ids: list[int], blocks: _VisionBlocks, layout: MRoPELayout) -> torch.Tensor:
    """One sequence's positions: text one step at a time, each vision block from one past what came before."""
    import torch

    vision = {layout.image_token_id: "image", layout.video_token_id: "video"}
    parts: list[torch.Tensor] = []
    start = index = 0
    while index < len(ids):
        kind = vision.get(ids[index])
        if kind is None:
            text_end = next((i for i in range(index, len(ids)) if ids[i] in vision), len(ids))
            parts.append(torch.arange(start, start + text_end - index).expand(3, -1))
            index = text_end
        else:
            block = blocks.next(kind, start)
            parts.append(block)
            index += block.shape[1]
        start = int(parts[-1].max()) + 1
    return torch.cat(parts, dim=1)


class _VisionBlocks:
    """The batch's images and videos in order, each turned into its block of positions when its tokens come."""

    def __init__(
        self,
        layout: MRoPELayout,
        image_grid_thw: torch.Tensor | None,
        video_grid_thw: torch.Tensor | None,
        second_per_grid_ts: torch.Tensor | None,
    ) -> None:
        self.layout = layout
        images = [(grid, None) for grid in _grids(image_grid_thw)]
        seconds = [float(s) for s in second_per_grid_ts] if second_per_grid_ts is not None else None
        videos = [(grid, seconds[i] if seconds else 1.0) for i, grid in enumerate(_grids(video_grid_thw))]
        if layout.frame_blocks:  # Qwen3-VL: a video of T temporal patches is T blocks of one
            videos = [((1, h, w), spg) for (t, h, w), spg in videos for _ in range(t)]
        self.queues: dict[str, Iterator[tuple[tuple[int, int, int], float | None]]] = {
            "image": iter(images),
            "video": iter(videos),
        }

    def next(self, kind: str, start: int) -> torch.Tensor:
        try:
            grid, seconds_per_patch = next(self.queues[kind])
        except StopIteration:
            raise ValueError(f"more {kind} tokens in the prompt than {kind} grids in the inputs") from None
        return _block(grid, start, self.layout.spatial_merge_size, self._time_step(kind, seconds_per_patch))

    def _time_step(self, kind: str, seconds_per_patch: float | None) -> Callable[[torch.Tensor], torch.Tensor]:
        """How temporal patch indices become time positions (multiplied in the reference code's order)."""
        per_second = self.layout.tokens_per_second
        if kind == "image" or per_second is None or seconds_per_patch is None:
            return lambda patches: patches
        return lambda patches: (patches * seconds_per_patch * per_second).long()


def _grids(grid_thw: torch.Tensor | None) -> list[tuple[int, int, int]]:
    return [] if grid_thw is None else [(int(t), int(h), int(w)) for t, h, w in grid_thw.tolist()]


def _block(
    grid: tuple[int, int, int], start: int, merge: int, time_step: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """A vision block's (time, height, width) positions, from `start`, in the order its tokens come."""
    import torch

    frames, height, width = grid[0], grid[1] // merge, grid[2] // merge
    time = time_step(torch.arange(frames)).view(-1, 1, 1).expand(frames, height, width)
    rows = torch.arange(height).view(1, -1, 1).expand(frames, height, width)
    cols = torch.arange(width).view(1, 1, -1).expand(frames, height, width)
    return torch.stack([time.flatten(), rows.flatten(), cols.flatten()]) + start
