"""Fixtures of the self-alignment tests: the SF2T fixtures (a training corpus and its training set)."""

from __future__ import annotations

import pytest

from finevidbench.corpus.synth import synthesize
from finevidbench.dataset import load_question_set
from finevidbench.sf2t import build_training_set


@pytest.fixture(scope="session")
def mini():
    return load_question_set("mini")


@pytest.fixture(scope="session")
def savi_corpus(tmp_path_factory):
    """Four synthetic clips rendered with seed 13 (the mini set uses 0)."""
    root = tmp_path_factory.mktemp("savi-corpus")
    synthesize(root, videos=4, seed=13, progress=False)
    return root


@pytest.fixture(scope="session")
def savi_set(savi_corpus, mini, tmp_path_factory):
    out = tmp_path_factory.mktemp("savi-set")
    build_training_set(savi_corpus / "videos", out, mini, labels=savi_corpus / "labels.csv", progress=False)
    return load_question_set(out)
