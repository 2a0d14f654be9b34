"""Rate limits: per address and per conversation on the widget, the WeChat callback; never a 500."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import uuid
from typing import Any
from unittest import mock

import pytest
from aiohttp.test_utils import make_mocked_request

from bot.app import create_app
from bot.gateway.ratelimit import RATE_LIMITED, RateLimits, TokenBuckets
from bot.settings import Settings

from .conftest import WidgetClient
from .tencent_standin import read_xml, signed_query, tencent_api, text_message, user_texts, xml  # noqa: F401

TOKEN = "wechat-test-token"
_ids = itertools.count(random.randrange(10**15, 10**16))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_budget_then_refills_over_the_minute() -> None:
    clock = Clock()
    buckets = TokenBuckets(3, clock=clock)
    assert [buckets.allow("a") for _ in range(4)] == [True, True, True, False]
    assert buckets.allow("b")  # keys are independent
    clock.now += 20  # a third of a minute: one token back
    assert buckets.allow("a") and not buckets.allow("a")
    clock.now += 120
    assert buckets.allow("c") and len(buckets) == 1  # "a" and "b" are full again: forgotten
    assert all(TokenBuckets(0, clock=clock).allow("x") for _ in range(1000))  # 0: no limit


def test_a_bucket_keeps_at_most_max_keys() -> None:
    buckets = TokenBuckets(5, max_keys=100)
    for i in range(1000):
        buckets.allow(f"k{i}")
    assert len(buckets) <= 100


def _request(peer: str, forwarded: str | None = None):  # type: ignore[no-untyped-def]
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (peer, 4321) if name == "peername" else default
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return make_mocked_request("GET", "/", headers=headers, transport=transport)


def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy() -> None:
    plain = RateLimits(Settings.from_env({}))
    assert plain.client_ip(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"  # nobody trusted: ignore it
    proxied = RateLimits(Settings.from_env({"FORWARDED_ALLOW_IPS": "127.0.0.1, 10.0.0.0/8"}))
    assert proxied.client_ip(_request("127.0.0.1", "1.2.3.4, 10.1.1.1")) == "1.2.3.4"
    assert proxied.client_ip(_request("127.0.0.1", "6.6.6.6, 1.2.3.4")) == "1.2.3.4"  # nearest untrusted hop
    assert proxied.client_ip(_request("127.0.0.1")) == "127.0.0.1"
    assert proxied.client_ip(_request("198.51.100.7", "1.2.3.4")) == "198.51.100.7"  # not from the proxy


def test_a_refusal_by_one_limit_does_not_spend_the_others_token() -> None:
    limits = RateLimits(dataclasses.replace(Settings.from_env({}), rate_limit_per_ip_per_min=1,
                                            rate_limit_per_conversation_per_min=1))
    request = _request("192.0.2.1")
    assert limits.admit_message(request, "web:a") is None
    assert limits.admit_message(request, "web:b") == "too many messages from this address"
    assert limits.admit_message(_request("192.0.2.2"), "web:b") is None  # web:b's token was not spent above
    assert limits.admit_message(_request("192.0.2.3"), "web:a") == "too many messages in this conversation"


@pytest.fixture
def limited(aiohttp_client, gateway_settings):  # type: ignore[no-untyped-def]
    async def make(**limits: Any):  # type: ignore[no-untyped-def]
        client = await aiohttp_client(create_app(dataclasses.replace(gateway_settings, **limits)))
        return client
    return make


async def _widget(client) -> WidgetClient:  # type: ignore[no-untyped-def]
    w = WidgetClient(str(client.make_url("/")).rstrip("/"))
    await w.connect()
    return w


@pytest.mark.e2e
async def test_a_conversation_over_its_limit_gets_a_visible_refusal_and_nothing_reaches_the_bot(limited, servers):
    client = await limited(rate_limit_per_conversation_per_min=2)
    w = await _widget(client)
    for i, text in enumerate(("你好", "有哪些资金")):
        assert (await w.say(text, message_id=f"m{i}"))["status"] == "ok"
        await w.wait_for("bot_uttered", until=lambda d, mid=f"m{i}": d.get("in_reply_to") == mid)
    ack = await w.say("我们能申请吗", message_id="m2")
    assert ack == {"status": "error", "code": "rate_limited"}
    errors = await w.wait_for("error")
    assert errors[0] == {"code": "rate_limited", "message": RATE_LIMITED}
    await asyncio.sleep(0.5)
    assert user_texts(servers, w.conversation_id) == ["你好", "有哪些资金"]
    other = await _widget(client)  # another conversation is not affected
    assert (await other.say("你好"))["status"] == "ok"
    await other.wait_for("bot_uttered")
    await w.close()
    await other.close()


@pytest.mark.e2e
async def test_an_address_over_its_limit_is_refused_across_conversations(limited, servers):
    client = await limited(rate_limit_per_ip_per_min=2, rate_limit_per_conversation_per_min=100)
    a, b = await _widget(client), await _widget(client)
    assert (await a.say("你好"))["status"] == "ok"
    assert (await b.say("你好"))["status"] == "ok"
    assert (await a.say("有哪些资金"))["code"] == "rate_limited"
    assert (await client.get("/healthz")).status == 200  # the gateway itself is fine
    await a.close()
    await b.close()


@pytest.fixture
def wechat_limited(aiohttp_client, gateway_settings, tencent_api):  # type: ignore[no-untyped-def]  # noqa: F811
    async def make(**limits: Any):  # type: ignore[no-untyped-def]
        settings = dataclasses.replace(gateway_settings, wechat_token=TOKEN, wechat_app_id="wx0123456789abcdef",
                                       wechat_app_secret="s", wechat_api_base=tencent_api.url,
                                       wechat_reply_deadline_s=20.0, **limits)
        return await aiohttp_client(create_app(settings))
    return make


async def _post(client, body: bytes,  # type: ignore[no-untyped-def]
                query: dict[str, str] | None = None) -> tuple[int, bytes]:
    async with client.post("/wechat", params=signed_query(TOKEN) if query is None else query, data=body) as resp:
        return resp.status, await resp.read()


@pytest.mark.e2e
async def test_a_wechat_user_over_the_limit_gets_a_polite_passive_reply_not_the_bot(wechat_limited, servers):
    client = await wechat_limited(rate_limit_per_conversation_per_min=1)
    openid = "o" + uuid.uuid4().hex[:27]
    status, raw = await _post(client, xml(text_message(openid, "你好", next(_ids))))
    assert status == 200 and "政策助手" in read_xml(raw)["Content"]
    second = xml(text_message(openid, "有哪些资金", next(_ids)))
    status, raw = await _post(client, second)
    assert status == 200 and read_xml(raw)["Content"] == RATE_LIMITED
    status, raw = await _post(client, second)  # Tencent's retry of it shares its turn: answered once
    assert (status, raw) == (200, b"success")
    assert user_texts(servers, f"wechat:{openid}") == ["你好"]


@pytest.mark.e2e
async def test_too_many_callback_posts_from_one_address_get_429_before_anything_is_read(wechat_limited, servers):
    client = await wechat_limited(rate_limit_callback_per_ip_per_min=2)
    openid = "o" + uuid.uuid4().hex[:27]
    assert (await _post(client, b"<xml/>", query={}))[0] == 403  # unsigned: refused, but counted
    assert (await _post(client, xml(text_message(openid, "你好", next(_ids)))))[0] == 200
    status, raw = await _post(client, xml(text_message(openid, "有哪些资金", next(_ids))))
    assert status == 429 and b"rate limited" in raw
    assert (await client.get("/wechat", params=signed_query(TOKEN) | {"echostr": "x"})).status == 200  # GET: not
    assert user_texts(servers, f"wechat:{openid}") == ["你好"]
