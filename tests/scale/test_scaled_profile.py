"""A short version of the load and fault suites on the scaled profile: PostgreSQL + Redis (Debian packages,
installed and started by scripts/scaled-services.sh), 2 action servers, 2 Rasa servers, 2 gateways on loopback;
during the load a Rasa server, a gateway and an action server are killed and restarted, PostgreSQL is restarted
and Redis is stopped for 5 s. The long versions: `make load` / `make load-faults` (bench/load.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.client import WECHAT
from bot.launcher import Servers, scaled_config
from .conftest import port
from .faulty_load import load_through_faults

pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Iterator[tuple[Servers, list[str]]]:
    config = scaled_config(rasa_port=port(27005), action_port=port(27055), gateway_port=port(27080), model=trained_model,
                           log_dir=tmp_path_factory.mktemp("scaled") / "logs")
    config.extra_env.update(WECHAT)
    servers = Servers(config)
    servers.start(timeout=300)
    yield servers, [f"http://127.0.0.1:{port(27080) + i}" for i in range(config.instances)]
    servers.stop()


def test_scaled_profile_loses_nothing_through_kills_a_postgresql_restart_and_a_redis_outage(scaled):
    load_through_faults(*scaled, faults=9)  # three kills, three restarts, PostgreSQL, Redis down and up
