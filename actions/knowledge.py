"""Access to the policy store and vocabulary for the actions: built once, on first use, or injected."""

from __future__ import annotations

import threading

from bot.knowledge.store import PolicyStore
from bot.knowledge.vocabulary import Vocabulary
from bot.settings import Settings

_lock = threading.Lock()
_store: PolicyStore | None = None
_vocabulary: Vocabulary | None = None


def get_store() -> PolicyStore:
    global _store
    with _lock:
        if _store is None:
            _store = PolicyStore.from_url(Settings.from_env().database_url)
        return _store


def get_vocabulary() -> Vocabulary:
    global _vocabulary
    with _lock:
        if _vocabulary is None:
            _vocabulary = Vocabulary.from_corpus(Settings.from_env().corpus_dir)
        return _vocabulary


def warm_up() -> None:
    """Load the store, index and vocabulary now (the action server calls this before it listens)."""
    store = get_store()
    store.search("预热")
    store.document()
    get_vocabulary().find("预热", "hightech")
    get_vocabulary().typos.repair("中观村")  # loads the readings table
