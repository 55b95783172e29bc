"""From chat messages to model inputs, in the two steps the model cards show.

Every card (Qwen, LLaVA, InternVL, SmolVLM, VideoLLaMA3) renders the prompt text with the processor's
chat template, then hands text, images and videos to the processor. The adapters and the training
hook do the same, through `processor_inputs`, so evaluation and training see the same tokens.

One thing the cards' single-image examples never meet: some real chat templates (LLaVA-OneVision's,
LLaVA-NeXT-Video's) render every image of a message first and the text after it, so "Frame 1:" would
no longer stand next to frame 1. `TemplateLayout` finds that out by rendering a probe message; where
the template reorders, each image goes into the text as the placeholder the template itself writes,
at its place, the way the original LLaVA code writes interleaved prompts (`<image>` in the text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import BatchFeature

_BEFORE, _AFTER = "\u2460", "\u2461"  # probe text that no template writes itself


@dataclass(frozen=True)
class TemplateLayout:
    """How a processor's chat template places images among the text of a message."""

    interleaves: bool
    """True when an image block is rendered where it stands among the text blocks."""
    image_text: str
    """What the template writes for one image block (the placeholder the processor expands)."""

    @classmethod
    def of(cls, processor: Any) -> TemplateLayout:
        """Render a probe message (text, image, text) and an image alone, and read the layout off them."""

        def render(content: list[dict[str, Any]]) -> str:
            message = [{"role": "user", "content": content}]
            return str(processor.apply_chat_template(message, add_generation_prompt=False, tokenize=False))

        probe = render([{"type": "text", "text": _BEFORE}, {"type": "image"}, {"type": "text", "text": _AFTER}])
        image_text = _inserted(render([{"type": "text", "text": _BEFORE}]), render([{"type": "image"}, _text(_BEFORE)]))
        if not image_text.strip():
            return cls(interleaves=True, image_text="")  # the template writes nothing for images: nothing to move
        position = probe.find(image_text.strip())
        return cls(interleaves=probe.find(_BEFORE) < position < probe.find(_AFTER), image_text=image_text)

    def content(self, blocks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The content the template is given: images kept as blocks, or written in the text where they stand."""
        if self.interleaves:
            return list(blocks)
        merged: list[dict[str, Any]] = []
        for block in blocks:
            if block["type"] != "image":
                merged.append(block)
            elif merged and merged[-1]["type"] == "text":  # "Frame 1:" and its image stay one text block
                merged[-1] = _text(merged[-1]["text"] + self.image_text)
            else:
                merged.append(_text(self.image_text))
        return merged


def render(processor: Any, layout: TemplateLayout, messages: list[dict[str, Any]], add_generation_prompt: bool) -> str:
    """The prompt text of one conversation, as the chat template writes it."""
    shown = [{**m, "content": layout.content(m["content"])} if isinstance(m["content"], list) else m for m in messages]
    return str(processor.apply_chat_template(shown, add_generation_prompt=add_generation_prompt, tokenize=False))


def processor_inputs(
    processor: Any,
    layout: TemplateLayout,
    conversations: Sequence[list[dict[str, Any]]],
    processor_kwargs: dict[str, Any],
    add_generation_prompt: bool = True,
) -> BatchFeature:
    """Padded tensors of a batch of conversations: rendered text, then the processor on text, images and videos.

    Images and videos go per conversation (as transformers' own `apply_chat_template` passes them: a
    processor tells a message's several images from several messages' single images), and special
    tokens are added unless the rendered text already starts with the tokenizer's BOS.
    """
    texts = [render(processor, layout, messages, add_generation_prompt) for messages in conversations]
    images = [blocks_of_kind(messages, "image") for messages in conversations]
    videos = [blocks_of_kind(messages, "video") for messages in conversations]
    kwargs = dict(processor_kwargs)
    bos = getattr(processor.tokenizer, "bos_token", None)
    if bos is not None and texts[0].startswith(bos):
        kwargs["add_special_tokens"] = False
    batch: BatchFeature = processor(
        text=texts,
        images=images if any(images) else None,
        videos=videos if any(videos) else None,
        return_tensors="pt",
        **kwargs,
    )
    return batch


def blocks_of_kind(messages: list[dict[str, Any]], kind: str) -> list[Any]:
    """The visuals of one kind ("image" or "video") that a conversation's content blocks show, in order."""
    return [b[kind] for m in messages if isinstance(m["content"], list) for b in m["content"] if b["type"] == kind]


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _inserted(without: str, with_it: str) -> str:
    """The text `with_it` holds where `without` does not (their common prefix and suffix removed)."""
    start = 0
    while start < min(len(without), len(with_it)) and without[start] == with_it[start]:
        start += 1
    end = 0
    while end < min(len(without), len(with_it)) - start and without[-1 - end] == with_it[-1 - end]:
        end += 1
    return with_it[start : len(with_it) - end]
