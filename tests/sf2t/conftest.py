"""Fixtures of the SF2T tests: a small synthetic training corpus (its own seed) and its training set."""

from __future__ import annotations

from pathlib import Path

import pytest

from finevidbench.corpus.synth import synthesize
from finevidbench.dataset import load_question_set
from finevidbench.sf2t import build_training_set


@pytest.fixture(scope="session")
def mini():
    return load_question_set("mini")


@pytest.fixture(scope="session")
def train_corpus(tmp_path_factory) -> Path:
    """Six synthetic clips rendered with seed 11 (the mini set uses 0)."""
    root = tmp_path_factory.mktemp("sf2t-corpus")
    synthesize(root, videos=6, seed=11, progress=False)
    return root


@pytest.fixture(scope="session")
def training_set(train_corpus, mini, tmp_path_factory):
    out = tmp_path_factory.mktemp("sf2t-set")
    build_training_set(train_corpus / "videos", out, mini, labels=train_corpus / "labels.csv", progress=False)
    return load_question_set(out)
