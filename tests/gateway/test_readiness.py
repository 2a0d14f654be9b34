"""/healthz (the process answers) and /readyz (Rasa, the action server and the database answer)."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket

import pytest

from bot.app import create_app
from bot.gateway.logs import JsonFormatter
from bot.masking import MaskingFilter

from .conftest import WidgetClient

pytestmark = pytest.mark.e2e


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ready_settings(gateway_settings, servers):  # type: ignore[no-untyped-def]
    return dataclasses.replace(gateway_settings, action_server_url=servers.config.action_url)


async def test_ready_when_rasa_the_action_server_and_the_database_answer(aiohttp_client, ready_settings):
    client = await aiohttp_client(create_app(ready_settings))
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["status"] == "ready" and "failing" not in body
    assert {name: c["status"] for name, c in body["components"].items()} == {
        "rasa": "ok", "action_server": "ok", "database": "ok"}
    assert resp.headers["Cache-Control"] == "no-store"


async def test_not_ready_names_each_failing_component_and_liveness_stays_ok(aiohttp_client, ready_settings, tmp_path):
    dead = f"http://127.0.0.1:{_unused_port()}"
    settings = dataclasses.replace(ready_settings, rasa_url=dead, action_server_url=dead, readiness_timeout_s=1.0,
                                   database_url=f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}",
                                   helpdesk_database_url=f"sqlite:///{tmp_path / 'helpdesk.db'}")
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 503
    assert body["status"] == "not ready" and body["failing"] == ["rasa", "action_server", "database"]
    assert body["components"].pop("helpdesk_database")["status"] == "ok"  # another database: checked on its own
    assert all(c["status"] == "fail" and c["error"] for c in body["components"].values())
    assert dead not in json.dumps(body) and str(tmp_path) not in json.dumps(body)  # no addresses or paths
    assert (await client.get("/healthz")).status == 200


async def test_one_failing_component_makes_it_not_ready(aiohttp_client, ready_settings):
    settings = dataclasses.replace(ready_settings, action_server_url=f"http://127.0.0.1:{_unused_port()}")
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 503 and body["failing"] == ["action_server"]
    assert body["components"]["rasa"]["status"] == "ok" and body["components"]["database"]["status"] == "ok"


async def test_with_several_rasa_servers_one_answering_is_enough(aiohttp_client, ready_settings, servers):
    dead = f"http://127.0.0.1:{_unused_port()}"
    client = await aiohttp_client(create_app(dataclasses.replace(
        ready_settings, rasa_urls=(dead, servers.config.rasa_url), readiness_timeout_s=1.0)))
    resp = await client.get("/readyz")
    rasa = (await resp.json())["components"]["rasa"]
    assert resp.status == 200 and rasa["status"] == "ok"
    assert [s["status"] for s in rasa["servers"]] == ["fail", "ok"]


async def test_widget_log_lines_carry_the_conversation_id(gateway, caplog):
    lines: list[dict[str, object]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("bot.gateway")
    logger.addHandler(handler)
    caplog.set_level(logging.INFO, logger="bot.gateway")
    try:
        w = WidgetClient(str(gateway.make_url("/")).rstrip("/"))
        await w.connect()
        await w.say("x" * 3000)  # refused as too long: logged
        await w.wait_for("error")
        await w.close()
    finally:
        logger.removeHandler(handler)
    refused = [line for line in lines if "too_long" in str(line["message"])]
    assert refused and refused[0]["conversation_id"] == w.conversation_id


async def test_the_launched_gateway_is_ready_and_logs_json_lines(servers):
    """`python -m bot gateway` as the launcher starts it: the action server is found from ACTION_ENDPOINT_URL."""
    import urllib.request

    with urllib.request.urlopen(f"{servers.config.gateway_url}/readyz", timeout=10) as resp:
        body = json.loads(resp.read())
    assert resp.status == 200 and body["status"] == "ready", body
    lines = (servers.config.log_dir / "gateway.log").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["message"].startswith("channel web: mounted") for r in records)
