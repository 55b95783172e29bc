"""Option letters and yes/no verdicts: the readers of the "choice" and "yes_no" answer types."""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import MappingProxyType

from finevidbench.scoring.parsing.text import ANSWER_MARKER, ANSWER_MARKER_RE, decisive_segment, prepare

LETTERS = "ABCDEFGH"
"""The option letters, defined once for the whole project (the protocol re-exports them and hashes
them into its version). They live beside the patterns below, which spell the same A-H range."""

# --- choice ---------------------------------------------------------------------------------------

_CHOICE_MARKED = re.compile(
    ANSWER_MARKER
    + r"(?:(?:option|choice|letter)\s*)?"
    + r"(?:[(\[]\s*(?P<bracketed>[A-Ha-h])\s*[)\]]|(?P<bare>[A-Ha-h])(?![\w'’]))",
    re.I,
)
_CHOICE_LEADING = re.compile(r"^[\s\"'>#]*(?:[(\[]\s*([A-Ha-h])\s*[)\]]|([A-Ha-h])(?=\s*(?:[.):\],;]|$)|[ \t]+[-–—]))")
_CHOICE_MENTION = re.compile(
    r"\b(?:options?|choices?)\s*[:#]?\s*(?:[(\[]\s*([A-Ha-h])\s*[)\]]|([A-Ha-h])(?![\w'’]))"
    r"|[(\[]\s*([A-Ha-h])\s*[)\]]"
    r"|(?-i:(?<![\w'’.\-])(?:([B-H])(?![\w'’\-])|(A)(?=\s*(?:[.,;:!?)]|$))))",
    re.I,
)
_LOWER_WORD_AFTER = re.compile(r"[ \t]+[a-z]")
_CONNECTOR_AFTER = re.compile(r"[ \t]+(?:because|since|as|which|given)\b")
_ARTICLE_WINDOW = 300  # characters after a marker that can hold option A's own text
_OWN_PREFIX = re.compile(r"^\s*\(?([A-Ha-h])[).:]\s+")
_WORDS = re.compile(r"[a-z0-9]+")

# --- yes / no -------------------------------------------------------------------------------------

_YES_NO_MARKED = re.compile(ANSWER_MARKER + r"[\"'(\[]?\s*(yes|no|true|false)\b", re.I)
_YES_NO_LEADING = re.compile(r"^\W*(yes|no|true|false)\b", re.I)
_YES_WORD = re.compile(r"\byes\b", re.I)
_NO_WORD = re.compile(r"\bno\b(?=\s*(?:[.,;:!?)\]\"']|$))", re.I)
_TRUTH = MappingProxyType({"yes": "yes", "true": "yes", "correct": "yes", "no": "no", "false": "no", "incorrect": "no"})


def _normalise(text: str) -> str:
    """Lower-case words joined by single spaces and padded, so `in` tests match whole words only."""
    return " " + " ".join(_WORDS.findall(text.lower())) + " "


def _option_needle(option: str, index: int) -> str:
    """The option text as it would appear in a response, without a "(B) " prefix of its own."""
    prefix = _OWN_PREFIX.match(option)
    if prefix and prefix.group(1).upper() == LETTERS[index]:
        option = option[prefix.end() :]
    return _normalise(option)


def _is_article(letter: str, after: str, options: Sequence[str]) -> bool:
    """Whether an "a"/"A" after an answer marker is the English article ("the answer is a man ...").

    It is a letter when followed by option A's own text ("A moves left") or a connector ("A because").
    """
    if letter not in "Aa" or not _LOWER_WORD_AFTER.match(after):
        return False
    if _CONNECTOR_AFTER.match(after):
        return False
    return not (options and _normalise(after).startswith(_option_needle(options[0], 0)))


def _marked_letter(text: str, options: Sequence[str]) -> str | None:
    """The letter after the last answer marker ("Answer: B", "the correct option is (C)")."""
    found = None
    for match in _CHOICE_MARKED.finditer(text):
        bare = match.group("bare")
        if bare and _is_article(bare, text[match.end() : match.end() + _ARTICLE_WINDOW], options):
            continue
        found = (match.group("bracketed") or bare).upper()
    return found


def _leading_letter(text: str) -> str | None:
    """A response that opens with a letter standing alone: "B", "b)", "(B)", "B. moves left"."""
    match = _CHOICE_LEADING.match(text)
    return (match.group(1) or match.group(2)).upper() if match else None


def _mentioned_letters(text: str) -> list[str]:
    """Letters referred to anywhere: "option B", "(B)", "**B**", or a capital standing alone ("it is C").

    A capital "A" counts only before punctuation or the end ("it must be A."), never as an article.
    """
    return [next(g for g in m.groups() if g).upper() for m in _CHOICE_MENTION.finditer(text)]


def _occurrences(haystack: str, needle: str) -> list[int]:
    """Every start of `needle` in `haystack`, overlapping ones included."""
    starts, start = [], haystack.find(needle)
    while start != -1:
        starts.append(start)
        start = haystack.find(needle, start + 1)
    return starts


def _option_text_letter(text: str, options: Sequence[str]) -> str | None:
    """The one option whose whole text appears in the response; None if none or several do.

    An occurrence inside an occurrence of a longer option ("red" inside "dark red") does not count.
    """
    haystack = _normalise(text)
    needles = [_option_needle(option, index) for index, option in enumerate(options[: len(LETTERS)])]
    found = set()
    for index, needle in enumerate(needles):
        if not needle.strip():
            continue
        covered = {
            start + offset
            for longer in needles
            if len(longer) > len(needle) and needle in longer
            for start in _occurrences(haystack, longer)
            for offset in _occurrences(longer, needle)
        }
        if any(start not in covered for start in _occurrences(haystack, needle)):
            found.add(index)
    return LETTERS[found.pop()] if len(found) == 1 else None


def extract_choice(text: str, options: Sequence[str]) -> str | None:
    """The option letter a model chose, in order of trust.

    1. the letter after the LAST explicit answer marker ("Final answer: (D)");
    2. a response that opens with a standalone letter ("B", "(B) moves left", "B. moves left");
    3. the LAST letter mentioned: "option B", "(B)", "**B**", a lone capital ("so it must be C");
    4. the only option whose text appears (after the last marker if any, else anywhere).

    Steps 2-3 are skipped when the response mentions every letter (3+ options): that is an echoed
    option list, whose first or last letter would bias scores towards A or D.

    An article "a"/"A" is never read as a letter, and "I" is never a letter. A letter past the
    number of options (up to 8; A-H when `options` is empty) is None rather than a fallback: it is
    what the model committed to.

    Args:
        text: raw model output.
        options: the option texts in the order shown as (A), (B), ...

    Returns:
        "A".."H", or None when nothing (or nothing unambiguous) was found.
    """
    text = prepare(text)
    if not text:
        return None
    count = min(len(options), len(LETTERS)) or len(LETTERS)
    letter = _marked_letter(text, options)
    mentions = _mentioned_letters(text)
    echoed = count >= 3 and set(LETTERS[:count]) <= set(mentions)
    if letter is None and not echoed:
        letter = _leading_letter(text) or (mentions[-1] if mentions else None)
    if letter is None:
        segment = decisive_segment(text, ANSWER_MARKER_RE, lambda s: bool(s.strip()))
        if segment is not None:
            letter = _option_text_letter(segment, options)
        letter = letter or _option_text_letter(text, options)
    return letter if letter and LETTERS.index(letter) < count else None


# --- yes / no -------------------------------------------------------------------------------------


def extract_yes_no(text: str) -> str | None:
    """The verdict, "yes" or "no", in order of trust.

    1. the word after the LAST answer marker ("... Answer: no");
    2. a response that opens with yes/no/true/false ("No, they are not");
    3. a whole response "Correct" / "Incorrect";
    4. a "yes" anywhere, or a standalone "no" ("I would say no."; never "no person"), if only one
       of the two occurs; both, or neither ("Not in order", "I cannot tell") -> None.

    Args:
        text: raw model output.

    Returns:
        "yes", "no" or None.
    """
    text = prepare(text)
    marked = [m.group(1).lower() for m in _YES_NO_MARKED.finditer(text)]
    if marked:
        return _TRUTH[marked[-1]]
    leading = _YES_NO_LEADING.match(text)
    if leading:
        return _TRUTH[leading.group(1).lower()]
    whole = " ".join(_WORDS.findall(text.lower()))
    if whole in ("correct", "incorrect"):
        return _TRUTH[whole]
    kinds = {"yes"} if _YES_WORD.search(text) else set()
    kinds |= {"no"} if _NO_WORD.search(text) else set()
    return kinds.pop() if len(kinds) == 1 else None
