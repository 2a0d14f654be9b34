"""Which Rasa server a conversation's requests go to when its own refuses connections: with Rasa's in-memory lock
store it stays on its server (asked again there, then "not reached"); with a lock store every server shares
(Redis) the next server takes it. Real HTTP servers on loopback stand in for Rasa's REST channel and tracker API;
a server that is down is a port nobody listens on."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port

from bot.conversation.messages import UserMessage
from bot.conversation.rasa_client import RasaClient, RasaUnavailable
from bot.gateway.app import create_app, hub_key
from bot.gateway.hub import SORRY
from bot.settings import Settings


class RasaStandIn:
    """Answers every turn with its own name and records the conversations it served."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.senders: list[str] = []

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.senders.append(body["sender"])
        return web.json_response([{"recipient_id": body["sender"], "text": f"答复 {self.name}"}])

    async def tracker(self, request: web.Request) -> web.Response:
        self.senders.append(request.match_info["cid"])
        return web.json_response({"events": []})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_get("/conversations/{cid}/tracker", self.tracker)
        return app


def conversation_on(client: RasaClient, base: str) -> str:
    """A conversation id the client sends to ``base`` while every server is up."""
    return next(cid for cid in (f"web:c{n}" for n in range(1000)) if client.server_for(cid) == base)


@pytest.fixture
async def two_servers(aiohttp_server):  # type: ignore[no-untyped-def]
    """Server A is down (its port refuses connections), server B answers; B's stand-in records what it got."""
    down = f"http://127.0.0.1:{unused_port()}"
    b = RasaStandIn("B")
    server = await aiohttp_server(b.app())
    return down, str(server.make_url("")).rstrip("/"), b


async def test_with_its_own_lock_store_a_conversation_stays_on_its_server(two_servers):
    down, up, b = two_servers
    async with aiohttp.ClientSession() as session:
        client = RasaClient(session, [down, up], "t", stick_retry_s=0.6)
        cid = conversation_on(client, down)
        started = time.perf_counter()
        with pytest.raises(RasaUnavailable) as failed:
            await client.send(cid, "你好")
        assert failed.value.reached is False and failed.value.may_be_running is False  # nothing ran: may be asked again
        assert 0.3 <= time.perf_counter() - started < 2.0  # asked its server again for a bounded time
        with pytest.raises(RasaUnavailable):
            await client.tracker(cid)  # reads stay there too
    assert b.senders == []  # the other server never saw the conversation


async def test_a_conversation_whose_server_comes_back_is_answered_there(aiohttp_server):  # type: ignore[no-untyped-def]
    a, b = RasaStandIn("A"), RasaStandIn("B")
    port_a = unused_port()
    server_b = await aiohttp_server(b.app())

    async def start_a_later() -> None:
        await asyncio.sleep(0.4)  # a restart: refused until then
        await aiohttp_server(a.app(), port=port_a)

    async with aiohttp.ClientSession() as session:
        client = RasaClient(session, [f"http://127.0.0.1:{port_a}", str(server_b.make_url("")).rstrip("/")], "t",
                            stick_retry_s=5.0)
        cid = conversation_on(client, f"http://127.0.0.1:{port_a}")
        starting = asyncio.create_task(start_a_later())
        replies = await client.send(cid, "你好")
        await starting
    assert [r.text for r in replies] == ["答复 A"]
    assert a.senders == [cid] and b.senders == []


async def test_with_a_shared_lock_store_the_next_server_takes_the_conversation(two_servers):
    down, up, b = two_servers
    async with aiohttp.ClientSession() as session:
        client = RasaClient(session, [down, up], "t", failover=True)
        cid = conversation_on(client, down)
        started = time.perf_counter()
        replies = await client.send(cid, "你好")
    assert [r.text for r in replies] == ["答复 B"]
    assert b.senders == [cid]
    assert time.perf_counter() - started < 0.5  # at once, no waiting for the server that is down


async def test_with_a_shared_lock_store_no_server_up_is_not_reached():
    async with aiohttp.ClientSession() as session:
        client = RasaClient(session, [f"http://127.0.0.1:{unused_port()}", f"http://127.0.0.1:{unused_port()}"],
                            "t", failover=True)
        with pytest.raises(RasaUnavailable) as failed:
            await client.send("web:x", "你好")
    assert failed.value.reached is False


@pytest.mark.parametrize(("env", "failover"), [
    ({}, False),  # Rasa's default, the in-memory lock store (`make run`)
    ({"LOCK_STORE_TYPE": "in_memory"}, False),
    ({"LOCK_STORE_TYPE": "redis"}, True),  # `make run-scaled`
    ({"LOCK_STORE_TYPE": "Redis "}, True),
    ({"LOCK_STORE_TYPE": "redis", "RASA_FAILOVER": "false"}, False),  # said outright, it wins
    ({"LOCK_STORE_TYPE": "in_memory", "RASA_FAILOVER": "true"}, True),  # e.g. a gateway not told Rasa's lock store
])
def test_failover_follows_the_lock_store_rasa_is_given(env: dict[str, str], failover: bool) -> None:
    assert Settings.from_env(env).rasa_failover is failover


@pytest.mark.parametrize(("lock_store", "answered_by"), [("in_memory", None), ("redis", "B")])
async def test_the_gateway_moves_a_conversation_only_with_a_shared_lock_store(
        aiohttp_client, two_servers, tmp_path, lock_store: str, answered_by: str | None) -> None:  # type: ignore[no-untyped-def]
    down, up, b = two_servers
    env: dict[str, Any] = {"LOCK_STORE_TYPE": lock_store, "RASA_URLS": f"{down},{up}", "RASA_RETRY_S": "0.5",
                           "DATABASE_URL": f"sqlite:///{tmp_path / 'policy.db'}", "WEB_SESSION_KEY": "k"}
    gateway = await aiohttp_client(create_app(Settings.from_env(env)))
    hub = gateway.app[hub_key]
    cid = conversation_on(RasaClient(None, [down, up]), down)  # type: ignore[arg-type]
    replies = await hub.handle(UserMessage(cid, "web", "你好", "m1"))
    if answered_by is None:
        assert [r.text for r in replies] == [SORRY] and b.senders == []
    else:
        assert [r.text for r in replies] == [f"答复 {answered_by}"] and b.senders == [cid]
