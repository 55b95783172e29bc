r"""The project's one answer extractor: free text from a video LLM -> an answer a scorer can compare.

Every scorer goes through `extract`, so a single set of rules decides what a model "said"; a change
to any rule can change scores, which is why `EXTRACTOR_VERSION` travels into results files.

Rules shared by every answer type:

* `<think>...</think>` reasoning is dropped first (`strip_reasoning`), and markdown emphasis is ignored.
* An explicit answer marker ("the answer is", "Answer:", "final answer", "order is", `\boxed{}`)
  beats everything else; when there are several, the LAST one wins (models reason, then commit).
* Without a marker, a response that *is* an answer (a lone letter, "Yes, ...", one number) is taken
  as it stands; otherwise each type has one documented fallback (see the `extract_*` functions).
* What cannot be parsed unambiguously is `None`: the caller scores it wrong and counts it as a parse
  failure, so a guess never inflates a score silently.

All functions are pure and keep no mutable state (lmms-eval scores from several threads).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

EXTRACTOR_VERSION = "1"
ANSWER_TYPES: tuple[str, ...] = ("choice", "yes_no", "integer", "permutation", "frame_set")

LETTERS = "ABCDEFGH"
_NUMBER_WORD_LIST = (
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    + ("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen")
    + ("nineteen", "twenty")
)
NUMBER_WORDS = MappingProxyType({word: value for value, word in enumerate(_NUMBER_WORD_LIST)})

# --- shared patterns ------------------------------------------------------------------------------

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.I | re.S)
_THINK_OPEN = re.compile(r"<think>", re.I)
_THINK_CLOSE = re.compile(r"</think>", re.I)
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_BOLD_LETTER = re.compile(r"\*{1,2}([A-Ha-h])\*{1,2}")
_EMPHASIS = re.compile(r"[*`]")
_WHITESPACE = re.compile(r"\s+")

_VERB = r"(?:is|are|was|would\s+be|should\s+be|will\s+be|must\s+be|seems\s+to\s+be)"
_ANSWER_MARKER = (
    r"\b(?:(?:final|correct|right|best)\s+(?:answer|option|choice)|answer"
    r"|i(?:\s+would|\s+will|'d|’d)?\s+(?:choose|select|pick|go\s+with))\b"
    rf"(?:\s*{_VERB}\b)?(?:\s+(?:clearly|definitely|probably|likely))?\s*[:=\-]?\s*"
)
_ANSWER_MARKER_RE = re.compile(_ANSWER_MARKER, re.I)

# --- choice ---------------------------------------------------------------------------------------

_CHOICE_MARKED = re.compile(
    _ANSWER_MARKER
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

_YES_NO_MARKED = re.compile(_ANSWER_MARKER + r"[\"'(\[]?\s*(yes|no|true|false)\b", re.I)
_YES_NO_LEADING = re.compile(r"^\W*(yes|no|true|false)\b", re.I)
_YES_WORD = re.compile(r"\byes\b", re.I)
_NO_WORD = re.compile(r"\bno\b(?=\s*(?:[.,;:!?)\]\"']|$))", re.I)
_TRUTH = MappingProxyType({"yes": "yes", "true": "yes", "correct": "yes", "no": "no", "false": "no", "incorrect": "no"})

# --- integer --------------------------------------------------------------------------------------

_NUMBER_WORD_ALT = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_INT_TOKEN = rf"(?<![\w.])(?P<digits>\d+)(?![\w]|\.\d)|\b(?P<word>{_NUMBER_WORD_ALT})\b"
_INT_TOKEN_RE = re.compile(_INT_TOKEN, re.I)
_INT_MARKED = re.compile(
    rf"(?:{_ANSWER_MARKER}|\b(?:total|count|number\s+of\s+\w+)\s*(?:{_VERB}\b|[:=])\s*)"
    rf"(?:(?:approximately|about|around|exactly|roughly)\s+)?(?:{_INT_TOKEN})",
    re.I,
)
_PRONOUN_ONE = re.compile(r"\b(?:the|this|that|which|each|every|any|no)\s+$", re.I)

# --- frame labels (permutation, frame_set) --------------------------------------------------------

_LABEL = re.compile(r"(?<![\w.])(?:frames?[\s_#:]*)?(\d+(?:\.\d+)?)(?![\w]|\.\d)", re.I)
_SEPARATOR_GAP = re.compile(r"(?:[\s,;>\-–—→⇒/&|\[\](){}\"']|and|then|to|through|thru|followed\s+by|next)*", re.I)
_MAX_GAP = 40
_NUMBERED_ITEM = re.compile(r"^[ \t]*(\d+)[.)][ \t]+(?:frames?[ \t]*)?(\d+)\b", re.M | re.I)
_RANGE_GAPS = frozenset({"-", "–", "—", "to", "through", "thru"})
_PERM_MARKER = re.compile(
    rf"\b(?:(?:answer|order(?:ing)?|sequence|arrangement)\b\s*(?:{_VERB}\b|[:=])|final\s*[:=])", re.I
)
_SET_MARKER = re.compile(rf"\banswer\b\s*(?:{_VERB}\b|[:=])", re.I)
_NO_FRAMES = re.compile(
    r"\b(?:none|no\s+frames?|not\s+(?:\w+\s+){0,2}in\s+any\s+(?:of\s+the\s+)?frames?)\b|\[\s*\]", re.I
)


class _Label(NamedTuple):
    """One number in the text; `value` is None for a decimal, which no frame label can be."""

    value: int | None
    digits: str
    end: int


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


def _prepare(text: str) -> str:
    r"""Reasoning-free text with `\boxed{x}` read as "Answer: x", without emphasis marks.

    Whitespace runs shrink to one space or newline, which also keeps every pattern linear-time.
    """
    text = strip_reasoning(text)
    text = _BOXED.sub(lambda m: f" Answer: {m.group(1)} ", text)
    text = _BOLD_LETTER.sub(lambda m: f"({m.group(1)})", text)
    text = _EMPHASIS.sub("", text)
    return _WHITESPACE.sub(lambda m: "\n" if "\n" in m.group() else " ", text).strip()


def _decisive_segment(text: str, marker: re.Pattern[str], has_answer: Callable[[str], bool]) -> str | None:
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


# --- choice ---------------------------------------------------------------------------------------


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
    text = _prepare(text)
    if not text:
        return None
    count = min(len(options), len(LETTERS)) or len(LETTERS)
    letter = _marked_letter(text, options)
    mentions = _mentioned_letters(text)
    echoed = count >= 3 and set(LETTERS[:count]) <= set(mentions)
    if letter is None and not echoed:
        letter = _leading_letter(text) or (mentions[-1] if mentions else None)
    if letter is None:
        segment = _decisive_segment(text, _ANSWER_MARKER_RE, lambda s: bool(s.strip()))
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
    text = _prepare(text)
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


# --- integer --------------------------------------------------------------------------------------


def _int_value(match: re.Match[str], text: str) -> int | None:
    """The integer a token match stands for; None for "one" used as a pronoun ("the one on the left")."""
    if match.group("digits"):
        return int(match.group("digits"))
    word = match.group("word").lower()
    if word == "one" and _PRONOUN_ONE.search(text[max(0, match.start("word") - 12) : match.start("word")]):
        return None
    return NUMBER_WORDS[word]


def extract_integer(text: str, low: int | None = None, high: int | None = None) -> int | None:
    """An integer (digits or a word from zero to twenty), in order of trust.

    1. the number after the LAST marker ("the answer is 6", "Total: 7", "number of frames is 8");
    2. the number, when the response holds only one (possibly repeated: "8. There are 8 frames.");
    3. otherwise the LAST number (reasoning usually ends on its result). Frame labels are not
       special-cased: "Frame 1 ... Frame 2 ... 6 in total" -> 6 because it comes last.

    Decimals are not integers and are skipped. The chosen number outside [low, high] is None, not a
    reason to try another: it is what the model answered.

    Args:
        text: raw model output.
        low: smallest acceptable answer, if any.
        high: largest acceptable answer, if any.

    Returns:
        The integer, or None.
    """
    text = _prepare(text)
    marked = [v for m in _INT_MARKED.finditer(text) if (v := _int_value(m, text)) is not None]
    values = marked or [v for m in _INT_TOKEN_RE.finditer(text) if (v := _int_value(m, text)) is not None]
    if not values:
        return None
    value = values[-1]  # the lone number when there is only one, else the last
    if (low is not None and value < low) or (high is not None and value > high):
        return None
    return value


# --- frame labels ---------------------------------------------------------------------------------


def _label_runs(text: str) -> list[list[tuple[str, _Label]]]:
    """Numbers grouped into runs joined only by separators ("3, 1, 2", "Frame 3 -> Frame 1", "2-4").

    Each item pairs the separator before a label (lower-cased, "" for the first) with the label, so
    a set can read "-" / "to" as a range. A gap with any other word ends the run.
    """
    runs: list[list[tuple[str, _Label]]] = []
    for match in _LABEL.finditer(text):
        digits = match.group(1)
        label = _Label(int(digits) if digits.isdigit() else None, digits, match.end())
        if runs:
            gap = text[runs[-1][-1][1].end : match.start()]
            if len(gap) <= _MAX_GAP and _SEPARATOR_GAP.fullmatch(gap):
                runs[-1].append((gap.strip().lower(), label))
                continue
        runs.append([("", label)])
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
    runs = [[label for _, label in run] for run in _label_runs(segment)]
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
    text = _prepare(text)
    if k < 1 or not text:
        return None
    segment = _decisive_segment(text, _PERM_MARKER, lambda s: bool(_LABEL.search(s)))
    if segment is not None:
        return _numbered_order(segment, k) or _segment_permutation(segment, k)
    if order := _numbered_order(text, k):
        return order
    bare = text.strip(" \t\r\n.[](){}")
    for run in reversed(_label_runs(text)):
        labels = [label for _, label in run]
        if order := _as_permutation(labels, k, compact=labels[0].digits == bare):
            return order
    return None


def _as_frame_set(run: Sequence[tuple[str, _Label]], n: int) -> tuple[int, ...] | None:
    """A run of labels as a sorted set within 1..n, reading "2-4" / "2 to 4" as a range."""
    values: list[int] = []
    for gap, label in run:
        if label.value is None or not 1 <= label.value <= n:
            return None
        if gap in _RANGE_GAPS and values:
            if label.value < values[-1]:
                return None
            values.extend(range(values[-1] + 1, label.value + 1))
        else:
            values.append(label.value)
    return tuple(sorted(set(values)))


def _stretch_frame_set(text: str, n: int, first: bool) -> tuple[int, ...] | None:
    """The set stated in a stretch of text: its first (or last) run, else () if it says "none"."""
    runs = _label_runs(text)
    if runs:
        return _as_frame_set(runs[0] if first else runs[-1], n)
    return () if _NO_FRAMES.search(text) else None


def extract_frame_set(text: str, n: int) -> tuple[int, ...] | None:
    """A set of frame labels: "1, 3, 4", "Frames 2 and 5", "frames 2-4", "[1, 2]", "none".

    1. after the LAST "answer is" / "Answer:" followed by labels or "none", the first run decides;
    2. otherwise the LAST run of labels in the response;
    3. no labels at all and "none" / "no frames" / "not ... in any frame" / "[]" -> ().

    A label outside 1..n (or a decimal, or a backwards range) makes the answer None.

    Args:
        text: raw model output.
        n: number of frames shown (labels are 1..n).

    Returns:
        Sorted unique labels, () for "no frames", or None.
    """
    text = _prepare(text)
    if not text:
        return None
    segment = _decisive_segment(text, _SET_MARKER, lambda s: bool(_LABEL.search(s) or _NO_FRAMES.search(s)))
    if segment is not None:
        return _stretch_frame_set(segment, n, first=True)
    return _stretch_frame_set(text, n, first=False)


# --- dispatch -------------------------------------------------------------------------------------


def extract(
    answer_type: str,
    text: str,
    *,
    options: Sequence[str] = (),
    k: int | None = None,
    low: int | None = None,
    high: int | None = None,
) -> Any | None:
    """Parse one model output by answer type; the single entry point every scorer uses.

    Odd text never raises (it yields None, a counted parse failure); a wrong call does, because a
    silent None there would be scored as the model's mistake.

    Args:
        answer_type: one of `ANSWER_TYPES`.
        text: raw model output; reasoning is stripped first.
        options: option texts, for "choice".
        k: number of frames, for "permutation" and "frame_set" (required there).
        low: smallest acceptable value, for "integer".
        high: largest acceptable value, for "integer".

    Returns:
        The parsed answer (see the `extract_*` functions), or None.

    Raises:
        ValueError: unknown `answer_type`, or `k` missing where it is required.
    """
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"unknown answer type {answer_type!r}; expected one of {ANSWER_TYPES}")
    if answer_type in ("permutation", "frame_set") and k is None:
        raise ValueError(f"answer type {answer_type!r} needs k (the number of frames)")
    text = strip_reasoning(text)
    if answer_type == "choice":
        return extract_choice(text, options)
    if answer_type == "yes_no":
        return extract_yes_no(text)
    if answer_type == "integer":
        return extract_integer(text, low, high)
    if answer_type == "permutation":
        return extract_permutation(text, k)
    return extract_frame_set(text, k)
