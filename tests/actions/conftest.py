from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.knowledge.vocabulary import Vocabulary

from ..conftest import CORPUS_DIR


@pytest.fixture(scope="session")
def vocabulary() -> Vocabulary:
    return Vocabulary.from_corpus(CORPUS_DIR)


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def make_tracker() -> Callable[..., Tracker]:
    def _make(text: str = "", intent: str = "inform", slots: dict[str, Any] | None = None,
              entities: list[dict[str, Any]] | None = None, events: list[dict[str, Any]] | None = None,
              active_loop: str | None = None) -> Tracker:
        latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}
        return Tracker.from_dict({
            "sender_id": "test",
            "slots": slots or {},
            "latest_message": latest,
            "events": events or [{"event": "action", "name": "action_listen"},
                                 {"event": "user", "text": text, "parse_data": latest}],
            "active_loop": {"name": active_loop} if active_loop else {},
        })
    return _make


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def customs(dispatcher: CollectingDispatcher, kind: str) -> list[dict[str, Any]]:
    return [m["custom"] for m in dispatcher.messages if m.get("custom", {}).get("type") == kind]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
