"""Two Rasa servers on one SQLite tracker store, with the one action server and the one gateway (`ServerConfig(
rasa_instances=2)`), on Rasa's in-memory lock store: each conversation stays on its Rasa server. The embedded fault
timeline runs during the load — the action server, the first Rasa server and the gateway are killed and started
again: the conversations of the Rasa server that is down get "稍后再试" until it is back (they never move to the
other server, which could run them beside it), and nothing is lost, duplicated, reordered or left unanswered."""

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
def two_rasa(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Iterator[tuple[Servers, list[str]]]:
    tmp = tmp_path_factory.mktemp("two-rasa")
    db_url = f"sqlite:///{tmp / 'policy.db'}"
    ingest_corpus(db_url, Settings.from_env().corpus_dir)
    config = ServerConfig(rasa_port=port(30005), action_port=port(30055), gateway_port=port(30080), model=trained_model,
                          log_dir=tmp / "logs", tracker_store_url=f"sqlite:///{tmp / 'tracker.db'}",
                          extra_env={"DATABASE_URL": db_url, "LOCK_STORE_TYPE": "in_memory", **WECHAT},
                          rasa_instances=2)
    servers = Servers(config)
    servers.start(timeout=300)
    yield servers, [config.gateway_url]
    servers.stop()


def test_two_rasa_servers_on_sqlite_lose_nothing_and_keep_each_conversation_on_its_server(two_rasa):
    servers, _ = two_rasa
    assert sorted(servers.procs) == ["actions", "gateway", "rasa", "rasa-2"]  # only Rasa is doubled
    figures = load_through_faults(*two_rasa, faults=6)  # three kills, three restarts
    assert figures["sorry"] > 0  # the first Rasa server's conversations waited for it, politely
    gateway_log = (servers.config.log_dir / "gateway.log").read_text(encoding="utf-8")
    assert "its conversations stay on it" in gateway_log
    assert "trying the next server" not in gateway_log
