"""Frame orders: the reader of the "permutation" answer type."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from finevidbench.scoring.parsing.text import VERB, decisive_segment, prepare

_LABEL = re.compile(r"(?<![\w.])(?:frames?[\s_#:]*)?(\d+(?:\.\d+)?)(?![\w]|\.\d)", re.I)
_SEPARATOR_GAP = re.compile(r"(?:[\s,;>\-–—→⇒/&|\[\](){}\"']|and|then|to|through|thru|followed\s+by|next)*", re.I)
_MAX_GAP = 40
_NUMBERED_ITEM = re.compile(r"^[ \t]*(\d+)[.)][ \t]+(?:frames?[ \t]*)?(\d+)\b", re.M | re.I)
_PERM_MARKER = re.compile(
    rf"\b(?:(?:answer|order(?:ing)?|sequence|arrangement)\b\s*(?:{VERB}\b|[:=])|final\s*[:=])", re.I
)


class _Label(NamedTuple):
    """One number in the text; `value` is None for a decimal, which no frame label can be."""

    value: int | None
    digits: str
    end: int


def _label_runs(text: str) -> list[list[_Label]]:
    """Numbers grouped into runs joined only by separators ("3, 1, 2", "Frame 3 -> Frame 1", "3-1-2").

    A gap with any other word ends the run, so numbers in reasoning never join the stated order.
    """
    runs: list[list[_Label]] = []
    for match in _LABEL.finditer(text):
        digits = match.group(1)
        label = _Label(int(digits) if digits.isdigit() else None, digits, match.end())
        if runs:
            gap = text[runs[-1][-1].end : match.start()]
            if len(gap) <= _MAX_GAP and _SEPARATOR_GAP.fullmatch(gap):
                runs[-1].append(label)
                continue
        runs.append([label])
    return runs


def _as_permutation(labels: Sequence[_Label], k: int, compact: bool) -> tuple[int, ...] | None:
    """The labels as a permutation of 1..k; `compact` lets one k-digit number ("312") stand for k labels."""
    if compact and len(labels) == 1 and 2 <= k <= 9 and len(labels[0].digits) == k:
        if not labels[0].digits.isdigit():
            return None
        values = tuple(int(c) for c in labels[0].digits)
    else:
        values = tuple(label.value if label.value is not None else -1 for label in labels)
    return values if sorted(values) == list(range(1, k + 1)) else None


def _numbered_order(text: str, k: int) -> tuple[int, ...] | None:
    """An order written as a numbered list ("1. Frame 3" / "2. Frame 1" / "3. Frame 2"), else None."""
    items = _NUMBERED_ITEM.findall(text)
    if [int(position) for position, _ in items] != list(range(1, k + 1)):
        return None
    order = tuple(int(label) for _, label in items)
    return order if sorted(order) == list(range(1, k + 1)) else None


def _segment_permutation(segment: str, k: int) -> tuple[int, ...] | None:
    """The order stated right after a marker: its first run, else all its numbers taken together.

    The second reading covers "Frame 3 shows the start, then Frame 1, then Frame 2".
    """
    runs = _label_runs(segment)
    first = next((run for run in runs if len(run) >= 2 or len(run[0].digits) == k), None)
    if first is not None and (order := _as_permutation(first, k, compact=True)):
        return order
    return _as_permutation([label for run in runs for label in run], k, compact=False)


def extract_permutation(text: str, k: int) -> tuple[int, ...] | None:
    """The chronological order of k frames, as a permutation of 1..k.

    Accepts "3 1 2", "3,1,2", "[3, 1, 2]", "3-1-2", "3 -> 1 -> 2", "Frame 3, Frame 1, Frame 2",
    "frame3 frame1 frame2", a numbered list "1. Frame 3 / 2. Frame 1 / 3. Frame 2", multi-digit
    labels, and "312" only when k <= 9 and it is exactly k digits.

    1. after the LAST marker followed by numbers ("order is", "sequence:", "answer:", "final:"),
       the first run of numbers decides (else all numbers of that stretch); invalid -> None;
    2. without a marker, the LAST run that is a permutation of 1..k.

    Repeats, gaps, out-of-range labels or a wrong length are None, never repaired.

    Args:
        text: raw model output.
        k: number of shuffled frames.

    Returns:
        The order as a tuple of k ints, or None.
    """
    text = prepare(text)
    if k < 1 or not text:
        return None
    segment = decisive_segment(text, _PERM_MARKER, lambda s: bool(_LABEL.search(s)))
    if segment is not None:
        return _numbered_order(segment, k) or _segment_permutation(segment, k)
    if order := _numbered_order(text, k):
        return order
    bare = text.strip(" \t\r\n.[](){}")
    for labels in reversed(_label_runs(text)):
        if order := _as_permutation(labels, k, compact=labels[0].digits == bare):
            return order
    return None
