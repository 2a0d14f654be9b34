"""`make run` keeps its servers running: one that dies is started again, as a supervisor would; one that keeps dying
makes it give up with a clear message instead of restarting forever."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.knowledge.ingest import ingest_corpus
from bot.launcher import ServerConfig, Servers, wait_http
from bot.settings import Settings

from .conftest import port

pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Iterator[Servers]:
    tmp = tmp_path_factory.mktemp("supervised")
    db_url = f"sqlite:///{tmp / 'policy.db'}"
    ingest_corpus(db_url, Settings.from_env().corpus_dir)
    servers = Servers(ServerConfig(rasa_port=port(29005), action_port=port(29055), gateway_port=port(29080), model=trained_model,
                                   log_dir=tmp / "logs", tracker_store_url=f"sqlite:///{tmp / 'tracker.db'}",
                                   extra_env={"DATABASE_URL": db_url}))
    servers.start(timeout=300)
    yield servers
    servers.stop()


def test_a_server_that_dies_is_started_again(running, capsys):
    stop = threading.Event()
    result: list[int] = []
    supervisor = threading.Thread(target=lambda: result.append(running.supervise(stop.is_set)))
    supervisor.start()
    try:
        old = running.pids()["actions"]
        running.kill("actions")
        deadline = time.monotonic() + 60
        while running.pids()["actions"] == old and time.monotonic() < deadline:
            time.sleep(0.2)
        wait_http(f"{running.config.action_url}/health", 60)
        assert running.pids()["actions"] != old
    finally:
        stop.set()
        supervisor.join(timeout=60)
    assert result == [0]
    assert "actions exited with code" in capsys.readouterr().err


def test_a_server_that_keeps_dying_is_given_up_on(running, capsys):
    running.kill("gateway")
    assert running.supervise(lambda: False, max_restarts=0) == 1
    assert "giving up" in capsys.readouterr().err
    running.restart("gateway")
