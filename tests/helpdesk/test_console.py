"""The staff console and the live relay, through the gateway, against the real Rasa and action server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import urllib.request

import pytest

from bot.app import create_app
from bot.helpdesk.service import HelpdeskService

from ..gateway.conftest import WidgetClient

pytestmark = pytest.mark.e2e
from .conftest import PASSWORD


@pytest.fixture
async def console(aiohttp_client, hd_settings):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(hd_settings))


async def login(client, username: str = "alice", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    resp = await client.post("/helpdesk/api/login", json={"username": username, "password": password})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["csrf"]


async def user_asks_for_a_person(console) -> WidgetClient:  # type: ignore[no-untyped-def]
    w = WidgetClient(str(console.make_url("/")).rstrip("/"))
    await w.connect()
    await w.say("我们是中关村的国高企业")
    await w.wait_for("bot_uttered", until=lambda d: "初步判断" in (d.get("text") or ""))
    await w.say("想了解贷款方面的支持")
    await w.wait_for("bot_uttered", until=lambda d: "科技金融" in (d.get("text") or ""))
    await w.say("转人工")
    await w.wait_for("bot_uttered", until=lambda d: "前面还有" in (d.get("text") or "") or "请稍候" in (d.get("text") or ""))
    return w


def tracker_events(servers, conversation_id):  # type: ignore[no-untyped-def]
    url = f"{servers.config.rasa_url}/conversations/{conversation_id}/tracker?token={servers.token}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


async def test_full_handoff_relay_both_ways_and_back_to_the_bot(console, servers):
    w = await user_asks_for_a_person(console)
    csrf = await login(console)
    queue = (await (await console.get("/helpdesk/api/queue")).json())["handoffs"]
    assert len(queue) == 1
    card = queue[0]["context"]
    assert card["profile"]["hightech"] == "国家高新技术企业" and card["channel"] == "web"
    assert "贷款" in (card["need"] or "") and card["suggested_fund"] == "科技金融"
    assert card["eligibility"]["outcome"] == "eligible"
    hid = queue[0]["id"]

    resp = await console.post(f"/helpdesk/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    await w.wait_for("bot_uttered", until=lambda d: "王老师已接入" in (d.get("text") or ""))

    bot_replies_before = len(w.of("bot_uttered"))
    await w.say("请问材料要盖章吗")
    await asyncio.sleep(1.0)
    assert len(w.of("bot_uttered")) == bot_replies_before  # the bot is silent while handed off
    detail = await (await console.get(f"/helpdesk/api/handoffs/{hid}")).json()
    assert [m["text"] for m in detail["messages"] if m["sender"] == "user"] == ["请问材料要盖章吗"]

    resp = await console.post(f"/helpdesk/api/handoffs/{hid}/messages", json={"text": "需要加盖单位公章。"},
                              headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    staff_msg = await w.wait_for("bot_uttered", until=lambda d: d.get("sender") == "staff")
    assert staff_msg[0]["text"] == "需要加盖单位公章。"

    events = tracker_events(servers, w.conversation_id)["events"]
    texts = [(e["event"], e.get("text")) for e in events if e["event"] in ("user", "bot")]
    assert ("user", "请问材料要盖章吗") in texts and ("bot", "需要加盖单位公章。") in texts

    resp = await console.post(f"/helpdesk/api/handoffs/{hid}/return", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    back = await w.wait_for("bot_uttered", until=lambda d: "继续为您服务" in (d.get("text") or ""))
    assert "国家高新技术企业" in back[0]["text"]  # it remembers what it knew
    slots = tracker_events(servers, w.conversation_id)["slots"]
    assert slots["handoff_requested"] is False and slots["hightech"] == "national"
    await w.say("有哪些资金")
    await w.wait_for("bot_uttered", until=lambda d: "5项支持资金" in (d.get("text") or ""))  # the bot answers again
    fallbacks = [e for e in tracker_events(servers, w.conversation_id)["events"]
                 if e["event"] == "action" and e.get("name") == "action_fallback"]
    assert fallbacks == []
    await w.close()


async def test_a_second_claim_is_refused_and_others_cannot_reply(console, aiohttp_client, hd_settings):
    w = await user_asks_for_a_person(console)
    csrf_a = await login(console)
    hid = (await (await console.get("/helpdesk/api/queue")).json())["handoffs"][0]["id"]
    assert (await console.post(f"/helpdesk/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf_a})).status == 200
    other = await aiohttp_client(create_app(hd_settings))
    csrf_b = await login(other, "bob")
    resp = await other.post(f"/helpdesk/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf_b})
    assert resp.status == 409 and "其他工作人员" in (await resp.json())["error"]
    resp = await other.post(f"/helpdesk/api/handoffs/{hid}/messages", json={"text": "插话"},
                            headers={"X-CSRF-Token": csrf_b})
    assert resp.status == 409
    await w.close()


async def test_console_requires_login_csrf_and_limits_attempts(console):
    assert (await console.get("/helpdesk")).status == 200  # the page itself (login form)
    for path in ("/helpdesk/api/queue", "/helpdesk/api/me", "/helpdesk/api/canned", "/helpdesk/api/handoffs/1",
                 "/helpdesk/ws"):
        assert (await console.get(path)).status == 401, path
    assert (await console.post("/helpdesk/api/handoffs/1/claim")).status == 401
    resp = await console.post("/helpdesk/api/login", json={"username": "alice", "password": PASSWORD})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/helpdesk" in cookie
    assert (await console.post("/helpdesk/api/handoffs/1/claim")).status == 403  # no CSRF token
    assert (await console.post("/helpdesk/api/handoffs/1/claim", headers={"X-CSRF-Token": "forged"})).status == 403
    assert (await console.get("/helpdesk/api/handoffs/999")).status == 404
    assert (await console.get(f"/helpdesk/api/handoffs/{2**63}")).status == 404  # not an overflow 500
    assert (await console.post("/helpdesk/api/login", data=b"{not json",
                               headers={"Content-Type": "application/json"})).status == 400
    for _ in range(5):
        assert (await console.post("/helpdesk/api/login", json={"username": "bob", "password": "nope"})).status == 401
    assert (await console.post("/helpdesk/api/login", json={"username": "bob", "password": PASSWORD})).status == 429


async def test_queued_user_is_told_their_place_and_messages_are_kept(console):
    w = await user_asks_for_a_person(console)
    await w.say("我还在等")
    reply = await w.wait_for("bot_uttered", until=lambda d: "已收到" in (d.get("text") or ""))
    assert "工作人员接入后会看到您的留言" in reply[0]["text"]
    await w.close()


async def test_outside_working_hours_the_user_is_told_when(aiohttp_client, hd_settings):
    closed = dataclasses.replace(hd_settings, helpdesk_hours="mon-mon 00:00-00:00")
    client = await aiohttp_client(create_app(closed))
    w = WidgetClient(str(client.make_url("/")).rstrip("/"))
    await w.connect()
    await w.say("转人工")
    notice = await w.wait_for("bot_uttered", until=lambda d: "非工作时间" in (d.get("text") or ""))
    assert "起回复" in notice[0]["text"]
    await w.close()


async def test_a_gateway_restart_loses_nothing(aiohttp_client, hd_settings):
    first = await aiohttp_client(create_app(hd_settings))
    w = await user_asks_for_a_person(first)
    csrf = await login(first)
    hid = (await (await first.get("/helpdesk/api/queue")).json())["handoffs"][0]["id"]
    await first.post(f"/helpdesk/api/handoffs/{hid}/claim", headers={"X-CSRF-Token": csrf})
    await w.close()
    await first.close()
    second = await aiohttp_client(create_app(hd_settings))
    await login(second)
    queue = (await (await second.get("/helpdesk/api/queue")).json())["handoffs"]
    assert [(h["id"], h["status"]) for h in queue] == [(hid, "claimed")]


async def test_canned_replies_cite_the_document(console):
    await login(console)
    replies = (await (await console.get("/helpdesk/api/canned")).json())["replies"]
    measure5 = next(r for r in replies if r["label"].startswith("措施：第5条"))
    assert "依据：京科发〔2022〕4号 二（二）第5条" in measure5["text"]
    assert any(r["label"] == "材料：科技金融资金" and "请以官方申报指南为准" in r["text"] for r in replies)
