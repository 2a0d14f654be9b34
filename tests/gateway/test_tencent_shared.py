"""The WeChat callback on two gateways sharing one real Redis, as behind a load balancer: Tencent's retries of a
message may reach either gateway, yet the bot is asked once and the reply goes out once; a "1" picks from the
menu another gateway showed; with Redis gone each gateway still answers on its own.

The bot is a stand-in that counts turns (no Rasa needed); the outbound API is the recording stand-in of
tencent_standin.py. Redis is a real ``redis-server`` on a free loopback port."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.gateway.channels.tencent_state import CallbackState
from bot.gateway.channels.wechat import WeChatChannel
from bot.conversation.messages import BotMessage, Button, UserMessage

from .tencent_standin import StandinApi, tencent_api, text_message  # noqa: F401
from .test_wechat import APP_ID, GH, SECRET, SEND, TOKEN, _ids, new_openid, post, reply_of

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
MENU = (Button("有哪些资金", "/list_funds"), Button("我们能申请吗", "/check_eligibility"))
channel_key = web.AppKey("channel", WeChatChannel)


# --- a real Redis --------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway ``redis-server`` on loopback, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not shutil.which(REDIS_SERVER):
            pytest.skip(f"redis-server is not installed ({REDIS_SERVER}): the shared-state tests need a real Redis")
        self.process = subprocess.Popen([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if self.ping():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


# --- the bot and two gateways -----------------------------------------------------------------------------
class CountingHub:
    """The bot as a channel sees it: records every turn and answers after ``delay`` s; "你好" gets a menu."""

    def __init__(self) -> None:
        self.turns: list[UserMessage] = []
        self.delay = 0.0

    def said(self) -> list[str]:
        return [m.text for m in self.turns]

    async def handle(self, message: UserMessage) -> list[BotMessage]:
        self.turns.append(message)
        await asyncio.sleep(self.delay)
        if message.text == "你好":
            return [BotMessage("您好，请选择：", MENU)]
        return [BotMessage(f"收到：{message.text}")]


@pytest.fixture
def hub() -> CountingHub:
    return CountingHub()


Gateway = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_gateway(aiohttp_client: Any, hub: CountingHub, tencent_api: StandinApi) -> Gateway:  # noqa: F811
    """A gateway with only the /wechat callback, in front of ``hub``; ``redis_url`` None: in memory."""
    async def make(redis_url: str | None, deadline_s: float = 3.0) -> TestClient:
        channel = WeChatChannel(lambda: hub, token=TOKEN, app_id=APP_ID, app_secret=SECRET,  # type: ignore[arg-type,return-value]
                                api_base=tencent_api.url, deadline_s=deadline_s, redis_url=redis_url)
        app = web.Application()
        channel.attach(app)
        app[channel_key] = channel
        return await aiohttp_client(app)
    return make


async def post_after(delay: float, client: TestClient, message: dict[str, Any]) -> tuple[int, bytes]:
    await asyncio.sleep(delay)
    return await post(client, message)


def content(raw: bytes) -> str:
    return reply_of(raw)["Content"]


# --- (1) retries on both gateways: one turn, one reply ---------------------------------------------------------
@pytest.mark.parametrize("order", ["AB", "BA", "ABB", "BAA", "ABAB"])
async def test_retries_on_two_gateways_make_one_bot_turn_and_one_reply(redis_server, make_gateway, hub,
                                                                       tencent_api, order):  # noqa: F811
    gateways = {"A": await make_gateway(redis_server.url), "B": await make_gateway(redis_server.url)}
    hub.delay = 0.3
    openid = new_openid()
    message = text_message(openid, "有哪些资金", next(_ids), to=GH)
    answers = await asyncio.gather(*(post(gateways[g], message) for g in order))  # concurrently, as Tencent may
    assert [status for status, _ in answers] == [200] * len(order)
    await asyncio.sleep(0.5)
    passive = [raw for _, raw in answers if raw != b"success"]
    sends = tencent_api.of(SEND)
    assert (len(passive), len(sends)) in {(1, 0), (0, 1)}, (answers, sends)
    delivered = content(passive[0]) if passive else sends[0]["json"]["text"]["content"]
    assert delivered == "收到：有哪些资金"
    for gateway in gateways.values():  # a late retry, on either gateway: answered, no second reply
        assert await post(gateway, message) == (200, b"success")
    await asyncio.sleep(0.3)
    assert hub.said() == ["有哪些资金"]
    assert len(tencent_api.of(SEND)) == len(sends)


async def test_each_message_of_a_busy_user_is_answered_once_across_gateways(redis_server, make_gateway, hub,
                                                                             tencent_api):  # noqa: F811
    a, b = await make_gateway(redis_server.url), await make_gateway(redis_server.url)
    hub.delay = 0.05
    openid = new_openid()
    messages = [text_message(openid, f"问题{i}", next(_ids), to=GH) for i in range(6)]
    answers = await asyncio.gather(*(post(gateway, m) for m in messages for gateway in (a, b, a)))
    await asyncio.sleep(0.3)
    assert sorted(hub.said()) == sorted(f"问题{i}" for i in range(6))
    passive = sorted(content(raw) for _, raw in answers if raw != b"success")
    sent = sorted(c["json"]["text"]["content"] for c in tencent_api.of(SEND))
    assert sorted(passive + sent) == sorted(f"收到：问题{i}" for i in range(6))


async def test_a_message_whose_gateway_died_before_replying_is_taken_over(redis_server, make_gateway, hub):
    """Gateway A claimed the message and died (its claim is not renewed and lapses); Tencent's retry reaches B,
    which waits for A's reply, sees the claim lapse, and works the reply out itself — once."""
    import redis

    b = await make_gateway(redis_server.url, deadline_s=4.0)
    openid = new_openid()
    msg_id = next(_ids)
    message = text_message(openid, "有哪些资金", msg_id, to=GH)
    client = redis.Redis.from_url(redis_server.url)
    client.set(f"zgc:wx:wechat:turn:{openid}:msg:{msg_id}", 1, ex=1)  # A's claim, never renewed: A is gone
    status, raw = await post(b, message)
    assert status == 200 and content(raw) == "收到：有哪些资金"
    assert hub.said() == ["有哪些资金"]
    assert await post(b, message) == (200, b"success")  # and a later retry is not answered again


# --- (2) a slow bot: one message-API send, no passive duplicate ------------------------------------------------
@pytest.mark.parametrize("sender", ["first gateway", "other gateway"])
async def test_a_slow_bot_makes_one_api_send_whichever_gateway_gives_up_first(redis_server, make_gateway, hub,
                                                                              tencent_api, sender, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    # the first request reaches A; Tencent's retry reaches B. Whose deadline passes first claims the API route
    a = await make_gateway(redis_server.url, deadline_s=0.4 if sender == "first gateway" else 1.2)
    b = await make_gateway(redis_server.url, deadline_s=0.6 if sender == "first gateway" else 0.2)
    hub.delay = 2.0  # longer than every deadline
    openid = new_openid()
    message = text_message(openid, "你好", next(_ids), to=GH)
    started = time.monotonic()
    answers = await asyncio.gather(post(a, message), post_after(0.1, b, message))
    assert answers == [(200, b"success")] * 2
    assert time.monotonic() - started < 1.8  # answered before the bot was done
    assert await post(b, message) == (200, b"success")  # a third try, now the route is decided
    sends = await tencent_api.wait_for(SEND)
    await asyncio.sleep(0.5)
    assert len(tencent_api.of(SEND)) == 1
    assert sends[0]["json"]["touser"] == openid and "回复 1 有哪些资金" in sends[0]["json"]["text"]["content"]
    assert hub.said() == ["你好"]
    assert "delivered by another gateway" in caplog.text  # the one that gave up second stood back


# --- (3) menus: shown on one gateway, picked on the other ------------------------------------------------------
async def test_a_number_picks_from_the_menu_another_gateway_showed(redis_server, make_gateway, hub):
    a, b = await make_gateway(redis_server.url), await make_gateway(redis_server.url)
    openid, other = new_openid(), new_openid()
    status, raw = await post(a, text_message(openid, "你好", next(_ids), to=GH))
    assert status == 200 and "回复 1 有哪些资金\n回复 2 我们能申请吗" in content(raw)
    status, raw = await post(b, text_message(openid, "１", next(_ids), to=GH))
    assert status == 200 and content(raw) == "收到：/list_funds"
    assert hub.turns[-1].metadata == {"display": "有哪些资金"}
    await post(a, text_message(other, "1", next(_ids), to=GH))  # another user has no menu: as typed
    await post(b, text_message(openid, "2", next(_ids), to=GH))  # the last reply had no menu: as typed
    assert hub.said() == ["你好", "/list_funds", "1", "2"]


async def test_a_number_sent_to_another_gateway_before_the_menu_waits_for_it(redis_server, make_gateway, hub):
    a, b = await make_gateway(redis_server.url), await make_gateway(redis_server.url)
    hub.delay = 0.5
    openid = new_openid()
    first, second = await asyncio.gather(post(a, text_message(openid, "你好", next(_ids), to=GH)),
                                         post_after(0.1, b, text_message(openid, "2", next(_ids), to=GH)))
    assert "回复 2 我们能申请吗" in content(first[1])
    assert content(second[1]) == "收到：/check_eligibility"
    assert hub.said() == ["你好", "/check_eligibility"]


# --- (4) Redis down: each gateway still answers --------------------------------------------------------------
@pytest.fixture
def lone_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("down", ["stopped", "never there"])
async def test_with_redis_down_a_gateway_still_answers_on_its_own(lone_redis, make_gateway, hub, down, caplog,
                                                                 tencent_api):  # noqa: F811
    caplog.set_level(logging.WARNING)
    url = lone_redis.url if down == "stopped" else f"redis://127.0.0.1:{free_port()}/0"
    a, b = await make_gateway(url, deadline_s=1.0), await make_gateway(url, deadline_s=1.0)
    openid = new_openid()
    if down == "stopped":  # it worked, then Redis went away
        assert content((await post(b, text_message(openid, "在吗", next(_ids), to=GH)))[1]) == "收到：在吗"
        lone_redis.stop()
    message = text_message(openid, "你好", next(_ids), to=GH)
    answers = await asyncio.gather(post(a, message), post(a, message))  # a retry on the same gateway
    assert sorted(status for status, _ in answers) == [200, 200]
    passive = [raw for _, raw in answers if raw != b"success"]
    assert len(passive) == 1 and "回复 1 有哪些资金" in content(passive[0])
    status, raw = await post(a, text_message(openid, "1", next(_ids), to=GH))  # the menu, from memory
    assert status == 200 and content(raw) == "收到：/list_funds"
    hub.delay = 1.5  # slower than the deadline: the message API, once
    assert await post(a, text_message(openid, "慢", next(_ids), to=GH)) == (200, b"success")
    sends = await tencent_api.wait_for(SEND)
    await asyncio.sleep(0.3)
    assert len(tencent_api.of(SEND)) == 1 and sends[0]["json"]["text"]["content"] == "收到：慢"
    assert hub.said()[-3:] == ["你好", "/list_funds", "慢"]
    assert "Redis is unavailable" in caplog.text


# --- without Redis: one gateway keeps everything in memory, as before ------------------------------------------
async def test_without_redis_retries_share_one_turn_and_one_reply(make_gateway, hub, tencent_api):  # noqa: F811
    gateway = await make_gateway(None)
    assert type(gateway.server.app[channel_key].state) is CallbackState
    hub.delay = 0.2
    openid = new_openid()
    message = text_message(openid, "你好", next(_ids), to=GH)
    answers = await asyncio.gather(*(post(gateway, message) for _ in range(3)))
    bodies = sorted(raw for _, raw in answers)
    assert bodies[1:] == [b"success", b"success"] and "回复 2 我们能申请吗" in content(bodies[0])
    status, raw = await post(gateway, text_message(openid, "2", next(_ids), to=GH))
    assert status == 200 and content(raw) == "收到：/check_eligibility"
    assert hub.said() == ["你好", "/check_eligibility"] and tencent_api.of(SEND) == []


async def test_without_redis_a_slow_bot_makes_one_api_send(make_gateway, hub, tencent_api):  # noqa: F811
    gateway = await make_gateway(None, deadline_s=0.2)
    hub.delay = 0.8
    openid = new_openid()
    message = text_message(openid, "你好", next(_ids), to=GH)
    assert await asyncio.gather(*(post(gateway, message) for _ in range(3))) == [(200, b"success")] * 3
    sends = await tencent_api.wait_for(SEND)
    await asyncio.sleep(0.3)
    assert len(tencent_api.of(SEND)) == 1 and "回复 1 有哪些资金" in sends[0]["json"]["text"]["content"]
    assert hub.said() == ["你好"]
