"""Counts: the reader of the "integer" answer type (digits, or a number word from zero to twenty)."""

from __future__ import annotations

import re
from types import MappingProxyType

from finevidbench.scoring.parsing.text import ANSWER_MARKER, VERB, prepare

_NUMBER_WORD_LIST = (
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    + ("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen")
    + ("nineteen", "twenty")
)
NUMBER_WORDS = MappingProxyType({word: value for value, word in enumerate(_NUMBER_WORD_LIST)})

_NUMBER_WORD_ALT = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_INT_TOKEN = rf"(?<![\w.])(?P<digits>\d+)(?![\w]|\.\d)|\b(?P<word>{_NUMBER_WORD_ALT})\b"
_INT_TOKEN_RE = re.compile(_INT_TOKEN, re.I)
_INT_MARKED = re.compile(
    rf"(?:{ANSWER_MARKER}|\b(?:total|count|number\s+of\s+\w+)\s*(?:{VERB}\b|[:=])\s*)"
    rf"(?:(?:approximately|about|around|exactly|roughly)\s+)?(?:{_INT_TOKEN})",
    re.I,
)
_PRONOUN_ONE = re.compile(r"\b(?:the|this|that|which|each|every|any|no)\s+$", re.I)


def _int_value(match: re.Match[str], text: str) -> int | None:
    """The integer a token match stands for; None for "one" used as a pronoun ("the one on the left")."""
    if match.group("digits"):
        return int(match.group("digits"))
    word = match.group("word").lower()
    if word == "one" and _PRONOUN_ONE.search(text[max(0, match.start("word") - 12) : match.start("word")]):
        return None
    return NUMBER_WORDS[word]


def extract_integer(text: str) -> int | None:
    """An integer (digits or a word from zero to twenty), in order of trust.

    1. the number after the LAST marker ("the answer is 6", "Total: 7", "number of frames is 8");
    2. the number, when the response holds only one (possibly repeated: "8. There are 8 frames.");
    3. otherwise the LAST number (reasoning usually ends on its result). Frame labels are not
       special-cased: "Frame 1 ... Frame 2 ... 6 in total" -> 6 because it comes last.

    Decimals are not integers and are skipped. The chosen number is returned even when no item
    could have it as its answer: it is what the model answered, and the scorer marks it wrong.

    Args:
        text: raw model output.

    Returns:
        The integer, or None.
    """
    text = prepare(text)
    marked = [v for m in _INT_MARKED.finditer(text) if (v := _int_value(m, text)) is not None]
    values = marked or [v for m in _INT_TOKEN_RE.finditer(text) if (v := _int_value(m, text)) is not None]
    return values[-1] if values else None  # the lone number when there is only one, else the last
