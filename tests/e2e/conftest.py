"""One set of real servers per test session: the action server and Rasa on loopback, on a fresh store."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge.corpus import load_corpus
from bot.knowledge.ingest import ingest
from bot.knowledge.store import PolicyStore
from bot.launcher import ServerConfig, Servers
from bot.training import model_path, train

from ..conftest import CORPUS_DIR


@pytest.fixture(scope="session")
def trained_model() -> Path:
    assert train() == 0, "rasa train failed"
    return model_path()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Iterator[Servers]:
    tmp = tmp_path_factory.mktemp("servers")
    db_url = f"sqlite:///{tmp / 'policy.db'}"
    store = PolicyStore.from_url(db_url)
    ingest(store.engine, load_corpus(CORPUS_DIR), progress=lambda _: None)
    store.engine.dispose()
    config = ServerConfig(rasa_port=15005, action_port=15055, model=trained_model, log_dir=tmp / "logs",
                          tracker_store_url=f"sqlite:///{tmp / 'tracker.db'}",
                          extra_env={"DATABASE_URL": db_url})
    s = Servers(config)
    s.start(timeout=240)
    yield s
    s.stop()


class RestUser:
    """A user talking to Rasa's REST channel, as the gateway does."""

    def __init__(self, servers: Servers, sender: str) -> None:
        self.servers = servers
        self.sender = sender

    def say(self, message: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": self.sender, "message": message}).encode()
        req = urllib.request.Request(f"{self.servers.config.rasa_url}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def tracker(self) -> dict[str, Any]:
        url = f"{self.servers.config.rasa_url}/conversations/{self.sender}/tracker?token={self.servers.token}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())


def text_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def buttons_of(replies: list[dict[str, Any]]) -> list[str]:
    return [b["title"] for r in replies for b in r.get("buttons", [])]
