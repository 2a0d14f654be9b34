"""A short version of the load and fault suites on the scaled profile: PostgreSQL + Redis (Debian packages,
installed and started by scripts/scaled-services.sh), 2 action servers, 2 Rasa servers, 2 gateways on loopback.
The long versions: `make load` (bench/load.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import WECHAT, audit, run_load
from bot.launcher import Servers, scaled_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Iterator[tuple[Servers, list[str]]]:
    config = scaled_config(rasa_port=55005, action_port=55055, gateway_port=58080, model=trained_model,
                           log_dir=tmp_path_factory.mktemp("scaled") / "logs")
    config.extra_env.update(WECHAT)
    servers = Servers(config)
    servers.start(timeout=300)
    yield servers, [f"http://127.0.0.1:{58080 + i}" for i in range(config.instances)]
    servers.stop()


def test_scaled_profile_loses_nothing_when_a_rasa_server_and_a_gateway_die(scaled):
    servers, gateways = scaled
    figures, conversations, notes = asyncio.run(run_load(servers, gateways, users=6, conversations=2, faults=True))
    result = audit(servers, conversations)
    assert len(notes) == 2  # both faults happened during the load
    assert result["turns"] == figures["messages"] > 0
    assert result["lost"] == result["duplicated"] == result["reordered"] == 0, result
    assert result["unanswered"] == 0, result
    assert figures["errors"] == 0
