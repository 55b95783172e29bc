"""Lettered options with the correct one at a chosen position (the builder balances positions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from finevidbench.protocol.registry import LETTERS


def place_options(
    correct: str, distractors: Sequence[str], position: int, rng: np.random.Generator
) -> tuple[tuple[str, ...], str]:
    """Options with `correct` at `position` and the distractors in seeded order; returns (options, letter)."""
    others = [distractors[i] for i in rng.permutation(len(distractors))]
    options = others[:position] + [correct] + others[position:]
    return tuple(options), LETTERS[position]


def humanize(label: str) -> str:
    """`move_left` -> `move left`: label ids are shown to models as words."""
    return label.replace("_", " ").strip()
