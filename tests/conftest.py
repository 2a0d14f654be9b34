"""Shared fixtures: the real corpus, ingested into a real SQLite store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import jieba
import pytest

from bot.knowledge.corpus import Corpus, load_corpus
from bot.knowledge.ingest import ingest
from bot.knowledge.store import PolicyStore

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "policy_corpus"
DATA_DIR = Path(__file__).resolve().parent / "data"

jieba.setLogLevel(logging.WARNING)


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load_corpus(CORPUS_DIR)


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus) -> Iterator[PolicyStore]:
    """A store on a real SQLite file, built from the committed corpus (shared: tests only read it)."""
    db = tmp_path_factory.mktemp("store") / "policy.db"
    s = PolicyStore.from_url(f"sqlite:///{db}")
    ingest(s.engine, corpus, progress=lambda _: None)
    yield s
    s.engine.dispose()
