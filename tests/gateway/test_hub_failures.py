"""The hub when Rasa fails inside a turn: asked again only when the turn cannot have run, otherwise the polite line
and a record in the tracker. Rasa's failure modes are played by a small HTTP stand-in speaking Rasa's REST and
tracker APIs (the real failures — lock store, PostgreSQL, action server down — are exercised by the fault suite,
tests/scale and `make load --faults`)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.gateway.hub import FAILED_TURN, SORRY, Hub
from bot.conversation.messages import UserMessage
from bot.conversation.rasa_client import RasaClient


class RasaStandIn:
    """Answers turns from a script: "ok" (logged and answered), "empty-unlogged" (failed before the tracker was
    touched, as with the lock store down) or "empty-logged" (the user turn logged, the action failed)."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.events: list[dict[str, Any]] = []
        self.turns = 0

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        step = self.script[min(self.turns, len(self.script) - 1)]
        self.turns += 1
        if step == "slow":  # still working when the gateway stops waiting
            await asyncio.sleep(1.0)
            step = "ok"
        if step == "ok":
            self.events += [{"event": "user", "text": body["message"], "metadata": body["metadata"]},
                            {"event": "bot", "text": "答复"}]
            return web.json_response([{"recipient_id": body["sender"], "text": "答复"}])
        if step == "empty-logged":
            self.events.append({"event": "user", "text": body["message"], "metadata": body["metadata"]})
        return web.json_response([])

    async def tracker(self, request: web.Request) -> web.Response:
        return web.json_response({"events": self.events})

    async def append(self, request: web.Request) -> web.Response:
        self.events += await request.json()
        return web.json_response({})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_get("/conversations/{cid}/tracker", self.tracker)
        app.router.add_post("/conversations/{cid}/tracker/events", self.append)
        return app


async def ask(aiohttp_server, script: list[str], budget: float = 3.0,  # type: ignore[no-untyped-def]
              timeout: float = 10.0) -> tuple[list[Any], RasaStandIn]:
    rasa = RasaStandIn(script)
    server = await aiohttp_server(rasa.app())
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        hub = Hub(RasaClient(session, str(server.make_url("")).rstrip("/"), "t"), retry_budget_s=budget)
        replies = await hub.handle(UserMessage("web:abc", "web", "你好", "m1"))
    return replies, rasa


async def test_a_turn_that_failed_before_it_was_logged_is_asked_again(aiohttp_server):
    replies, rasa = await ask(aiohttp_server, ["empty-unlogged", "empty-unlogged", "ok"])
    assert [r.text for r in replies] == ["答复"]
    assert rasa.turns == 3
    assert [e["event"] for e in rasa.events] == ["user", "bot"]  # once in the tracker


async def test_a_logged_turn_that_failed_is_not_run_twice_and_is_recorded(aiohttp_server):
    replies, rasa = await ask(aiohttp_server, ["empty-logged", "ok"])
    assert [r.text for r in replies] == [SORRY]
    assert rasa.turns == 1
    assert rasa.events[-1] == {"event": "bot", "text": SORRY, "metadata": FAILED_TURN}
    assert rasa.events[0]["metadata"]["message_id"] == "m1"


async def test_retries_stop_at_the_budget_with_the_polite_line(aiohttp_server):
    replies, rasa = await ask(aiohttp_server, ["empty-unlogged"], budget=1.0)
    assert [r.text for r in replies] == [SORRY]
    assert 1 <= rasa.turns <= 2
    assert rasa.events == []  # nothing logged, nothing to record


@pytest.mark.parametrize("budget", [0.0, 2.0])
async def test_no_rasa_reachable_is_the_polite_line(budget):
    async with aiohttp.ClientSession() as session:
        hub = Hub(RasaClient(session, "http://127.0.0.1:9", "t"), retry_budget_s=budget)
        replies = await hub.handle(UserMessage("web:abc", "web", "你好", None))
    assert [r.text for r in replies] == [SORRY]


async def test_a_turn_that_timed_out_is_not_asked_again_it_may_still_be_running(aiohttp_server):
    replies, rasa = await ask(aiohttp_server, ["slow", "ok"], timeout=0.3)
    assert [r.text for r in replies] == [SORRY]
    await asyncio.sleep(1.0)
    assert rasa.turns == 1  # asking again would have made it two turns


async def test_a_message_taken_over_from_a_dead_gateway_is_not_run_again_if_rasa_answered_it(aiohttp_server):
    rasa = RasaStandIn(["ok"])
    server = await aiohttp_server(rasa.app())
    async with aiohttp.ClientSession() as session:
        hub = Hub(RasaClient(session, str(server.make_url("")).rstrip("/"), "t"))
        await hub.handle(UserMessage("wechat:o1", "wechat", "你好", "m1"))  # the gateway that then died
        replies = await hub.handle(UserMessage("wechat:o1", "wechat", "你好", "m1", resumed=True))
        assert [r.text for r in replies] == ["答复"]  # from the tracker
        assert rasa.turns == 1
        fresh = await hub.handle(UserMessage("wechat:o1", "wechat", "再问", "m2", resumed=True))
        assert [r.text for r in fresh] == ["答复"] and rasa.turns == 2  # never reached Rasa: asked now
