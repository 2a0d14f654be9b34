"""A short version of the fault suite on the embedded profile (one action server, Rasa and gateway on SQLite, what
`make run` starts): each is killed during the load and started again a few seconds later, as a supervisor would.
Users get "稍后再试" meanwhile, send again, and nothing is lost, duplicated or left unanswered. The long version:
`make load-faults` (bench/load.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.client import WECHAT
from bot.knowledge.ingest import ingest_corpus
from bot.launcher import ServerConfig, Servers
from bot.settings import Settings
from .conftest import port
from .faulty_load import load_through_faults

pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Iterator[tuple[Servers, list[str]]]:
    tmp = tmp_path_factory.mktemp("embedded-faults")
    db_url = f"sqlite:///{tmp / 'policy.db'}"
    ingest_corpus(db_url, Settings.from_env().corpus_dir)
    config = ServerConfig(rasa_port=port(28005), action_port=port(28055), gateway_port=port(28080), model=trained_model,
                          log_dir=tmp / "logs", tracker_store_url=f"sqlite:///{tmp / 'tracker.db'}",
                          extra_env={"DATABASE_URL": db_url, **WECHAT})
    servers = Servers(config)
    servers.start(timeout=300)
    yield servers, [config.gateway_url]
    servers.stop()


def test_embedded_profile_loses_nothing_when_each_server_dies_and_comes_back(embedded):
    figures = load_through_faults(*embedded, faults=6)  # three kills, three restarts
    assert figures["sorry"] > 0  # the outages were visible, politely
