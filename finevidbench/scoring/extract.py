r"""The project's one answer extractor: free text from a video LLM -> an answer a scorer can compare.

Every scorer goes through these rules (an answer type's `parse`, or `extract` by answer-type name),
so a single set of rules decides what a model "said"; a change to any rule can change scores, which
is why `EXTRACTOR_VERSION` travels into results files.

Rules shared by every answer type:

* `<think>...</think>` reasoning is dropped first (`strip_reasoning`), and markdown emphasis is ignored.
* An explicit answer marker ("the answer is", "Answer:", "final answer", "order is", `\boxed{}`)
  beats everything else; when there are several, the LAST one wins (models reason, then commit).
* Without a marker, a response that *is* an answer (a lone letter, "Yes, ...", one number) is taken
  as it stands; otherwise each type has one documented fallback (see the `extract_*` functions).
* What cannot be parsed unambiguously is `None`: the caller scores it wrong and counts it as a parse
  failure, so a guess never inflates a score silently.

All functions are pure and keep no mutable state (lmms-eval scores from several threads). The rules
live in `finevidbench.scoring.parsing` (text preparation, choice and yes/no, integer, permutation);
each answer type of `finevidbench.protocol.answers` parses with its reader, and this module is the
entry point by answer-type name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from finevidbench.protocol.answers import ANSWER_TYPES, AnswerSpace, get_answer_type
from finevidbench.scoring.parsing.choice import LETTERS, extract_choice, extract_yes_no
from finevidbench.scoring.parsing.integer import NUMBER_WORDS, extract_integer
from finevidbench.scoring.parsing.permutation import extract_permutation
from finevidbench.scoring.parsing.text import strip_reasoning

EXTRACTOR_VERSION = "1"

__all__ = [
    "ANSWER_TYPES",
    "EXTRACTOR_VERSION",
    "LETTERS",
    "NUMBER_WORDS",
    "extract",
    "extract_choice",
    "extract_integer",
    "extract_permutation",
    "extract_yes_no",
    "strip_reasoning",
]


def extract(answer_type: str, text: str, *, options: Sequence[str] = (), k: int | None = None) -> Any | None:
    """Parse one model output by answer type; the single entry point every scorer uses.

    Odd text never raises (it yields None, a counted parse failure); a wrong call does, because a
    silent None there would be scored as the model's mistake.

    Args:
        answer_type: a name of `ANSWER_TYPES`.
        text: raw model output; reasoning is stripped first.
        options: option texts, for "choice".
        k: number of frames, for "permutation" (required there).

    Returns:
        The parsed answer (see the `extract_*` functions), or None.

    Raises:
        ValueError: unknown `answer_type`, or `k` missing where it is required.
    """
    return get_answer_type(answer_type).parse(text, AnswerSpace(options=tuple(options), frames=k))
