r"""Text preparation and answer markers shared by every reader of the extractor.

A response is reduced to its answer part first (`strip_reasoning`, `prepare`), then each reader
looks for an explicit answer marker, of which the last one followed by an answer decides
(`decisive_segment`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.I | re.S)
_THINK_OPEN = re.compile(r"<think>", re.I)
_THINK_CLOSE = re.compile(r"</think>", re.I)
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_BOLD_LETTER = re.compile(r"\*{1,2}([A-Ha-h])\*{1,2}")
_EMPHASIS = re.compile(r"[*`]")
_WHITESPACE = re.compile(r"\s+")

VERB = r"(?:is|are|was|would\s+be|should\s+be|will\s+be|must\s+be|seems\s+to\s+be)"
"""The verbs between a marker and its answer ("the answer is", "the order should be")."""
ANSWER_MARKER = (
    r"\b(?:(?:final|correct|right|best)\s+(?:answer|option|choice)|answer"
    r"|i(?:\s+would|\s+will|'d|’d)?\s+(?:choose|select|pick|go\s+with))\b"
    rf"(?:\s*{VERB}\b)?(?:\s+(?:clearly|definitely|probably|likely))?\s*[:=\-]?\s*"
)
"""An explicit answer marker ("the answer is", "Answer:", "final answer", "I'd go with"), as a pattern
that readers extend with what they expect after it."""
ANSWER_MARKER_RE = re.compile(ANSWER_MARKER, re.I)


def strip_reasoning(text: str) -> str:
    """Drop `<think>` reasoning so that numbers and letters in it can never be read as the answer.

    An unclosed leading `<think>` means the model never finished reasoning, so nothing is an answer;
    a dangling `</think>` means the opening tag was part of the prompt, so only what follows counts.

    Args:
        text: raw model output (anything that is not a string counts as empty).

    Returns:
        The answer part of the output, trimmed; "" when there is none.
    """
    if not isinstance(text, str):
        return ""
    text = _THINK_BLOCK.sub(" ", text)
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end() :]
    opened = _THINK_OPEN.search(text)
    if opened:
        text = text[: opened.start()]
    return text.strip()


def prepare(text: str) -> str:
    r"""Reasoning-free text with `\boxed{x}` read as "Answer: x", without emphasis marks.

    Whitespace runs shrink to one space or newline, which also keeps every pattern linear-time.
    """
    text = strip_reasoning(text)
    text = _BOXED.sub(lambda m: f" Answer: {m.group(1)} ", text)
    text = _BOLD_LETTER.sub(lambda m: f"({m.group(1)})", text)
    text = _EMPHASIS.sub("", text)
    return _WHITESPACE.sub(lambda m: "\n" if "\n" in m.group() else " ", text).strip()


def decisive_segment(text: str, marker: re.Pattern[str], has_answer: Callable[[str], bool]) -> str | None:
    """The text after the last marker that is followed by something answer-like, up to the next marker.

    Markers such as "order" also occur in reasoning; taking the last one that actually precedes an
    answer implements "the last explicit answer wins" without letting an empty marker erase it.
    """
    matches = list(marker.finditer(text))
    for index in range(len(matches) - 1, -1, -1):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        segment = text[matches[index].end() : end]
        if has_answer(segment):
            return segment
    return None
