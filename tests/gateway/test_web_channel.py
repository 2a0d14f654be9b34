"""The widget's Socket.IO protocol on the gateway, against the session's real Rasa and action server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import urllib.request
import uuid

import pytest

from bot.app import create_app

pytestmark = pytest.mark.e2e


def tracker_user_texts(servers, conversation_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    url = f"{servers.config.rasa_url}/conversations/{conversation_id}/tracker?token={servers.token}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return [e["text"] for e in json.loads(resp.read())["events"] if e.get("event") == "user"]


async def test_new_session_gets_an_id_and_a_reply_with_quick_replies(widget):
    w = await widget()
    assert w.session_id and len(w.session_id) >= 16
    ack = await w.say("你好", message_id="m1")
    assert ack == {"status": "ok", "message_id": "m1"}
    reply = (await w.wait_for("bot_uttered"))[0]
    assert "政策助手" in reply["text"]
    assert {q["title"] for q in reply["quick_replies"]} >= {"我们能申请吗", "有哪些资金"}
    assert reply["in_reply_to"] == "m1"


async def test_citations_and_materials_arrive_as_custom_payloads(widget):
    w = await widget()
    await w.say("我们想融资，主要是贷款")
    await w.wait_for("bot_uttered", until=lambda d: (d.get("custom") or {}).get("type") == "citations")
    await w.say("要准备什么材料")
    materials = await w.wait_for("bot_uttered", until=lambda d: (d.get("custom") or {}).get("type") == "materials")
    assert {i["source"] for i in materials[0]["custom"]["items"]} == {"clause", "typical"}


async def test_a_resent_message_is_answered_once(widget, servers):
    w = await widget()
    acks = await asyncio.gather(*(w.say("有哪些资金", message_id="same-id") for _ in range(3)))
    assert sorted(a["status"] for a in acks) == ["duplicate", "duplicate", "ok"]
    await w.wait_for("bot_uttered")
    await asyncio.sleep(1.0)
    assert len([d for d in w.of("bot_uttered") if "5项支持资金" in (d.get("text") or "")]) == 1
    assert tracker_user_texts(servers, w.conversation_id) == ["有哪些资金"]


async def test_reload_keeps_the_conversation_and_shows_history(widget):
    first = await widget()
    await first.say("第5条讲的什么")
    await first.wait_for("bot_uttered")
    await first.close()
    again = await widget(session_id=first.session_id)
    assert again.session_id == first.session_id
    history = (await again.wait_for("session_history"))[0]["messages"]
    assert history[0] == {"sender": "user", "text": "第5条讲的什么", "timestamp": history[0]["timestamp"]}
    assert any("大力发展天使和创业投资" in (m.get("text") or "") for m in history if m["sender"] == "bot")


async def test_button_clicks_show_their_title_in_history(widget):
    w = await widget()
    await w.say("你好")
    greeting = (await w.wait_for("bot_uttered"))[0]
    button = next(q for q in greeting["quick_replies"] if q["title"] == "有哪些资金")
    await w.say(button["payload"], display=button["title"])
    await w.wait_for("bot_uttered", until=lambda d: "5项支持资金" in (d.get("text") or ""))
    again = await widget(session_id=w.session_id)
    history = (await again.wait_for("session_history"))[0]["messages"]
    assert [m["text"] for m in history if m["sender"] == "user"] == ["你好", "有哪些资金"]


async def test_a_second_tab_of_the_session_sees_the_replies(widget):
    a = await widget()
    b = await widget(session_id=a.session_id)
    await a.say("你好")
    await b.wait_for("bot_uttered")


async def test_an_invalid_session_id_gets_a_fresh_one(widget):
    w = await widget(session_id="../../etc/passwd")
    assert w.session_id != "../../etc/passwd" and w.of("session_history") == []


@pytest.mark.parametrize("payload, code", [
    ("just a string", "bad_request"),
    ({"message": 42}, "bad_request"),
    ({"message": "你好", "customData": {"message_id": "<script>"}}, "bad_request"),
    ({"message": "长" * 2001}, "too_long"),
])
async def test_bad_messages_get_an_error_event_and_reach_nobody(widget, servers, payload, code):
    w = await widget()
    ack = await w.sio.call("user_uttered", payload, timeout=10)
    assert ack == {"status": "error", "code": code}
    error = (await w.wait_for("error"))[0]
    assert error["code"] == code and error["message"]
    if code == "too_long":
        assert "2000" in error["message"]
    assert w.of("bot_uttered") == []
    with pytest.raises(Exception):  # noqa: B017 - nothing was recorded: the tracker does not exist yet
        tracker_user_texts(servers, w.conversation_id) or (_ for _ in ()).throw(LookupError())
    await w.say("你好")  # the connection still works
    await w.wait_for("bot_uttered")


async def test_empty_messages_are_ignored(widget):
    w = await widget()
    assert await w.say("   ") == {"status": "ignored"}


async def test_messages_before_a_session_are_refused(widget):
    w = await widget(connect=False)
    await w.sio.connect(w.url, transports=["websocket"])
    ack = await w.sio.call("user_uttered", {"message": "你好"}, timeout=10)
    assert ack["code"] == "no_session"


async def test_rasa_down_gives_a_polite_line_and_the_gateway_keeps_running(aiohttp_client, gateway_settings):
    down = dataclasses.replace(gateway_settings, rasa_url="http://127.0.0.1:9", rasa_timeout_s=2, rasa_retry_s=1)
    client = await aiohttp_client(create_app(down))
    from .conftest import WidgetClient

    w = WidgetClient(str(client.make_url("/")).rstrip("/"))
    await w.connect()
    await w.say("你好")
    reply = (await w.wait_for("bot_uttered"))[0]
    assert "稍后再试" in reply["text"]
    assert (await client.get("/healthz")).status == 200
    await w.close()


async def test_pages_and_assets(gateway):
    page = await gateway.get("/")
    assert page.status == 200 and '<script src="/widget.js"' in await page.text()
    js = await gateway.get("/widget.js")
    assert js.status == 200 and js.headers["Content-Type"].startswith("application/javascript")
    assert "isComposing" in await js.text()
    vendor = await gateway.get("/vendor/socket.io.min.js")
    assert vendor.status == 200
    assert (await gateway.get("/nope")).status == 404


async def test_malformed_or_oversize_socketio_requests_are_4xx_not_500(gateway):
    import aiohttp

    # each on its own connection: the server closes one whose upload it refused
    for query in ("EIO=4&transport=polling", "EIO=4&transport=polling&sid=nope"):
        async with aiohttp.ClientSession() as fresh:
            async with fresh.post(gateway.make_url(f"/socket.io/?{query}"), data=b"x" * (200 * 1024)) as resp:
                assert 400 <= resp.status < 500, query
    async with aiohttp.ClientSession() as fresh:
        async with fresh.get(gateway.make_url("/healthz")) as health:
            assert health.status == 200


async def test_unique_conversation_ids_per_session(widget, servers):
    a, b = await widget(), await widget()
    await a.say("你好")
    await b.say(f"{uuid.uuid4().hex[:4]}第5条讲的什么")
    await a.wait_for("bot_uttered")
    await b.wait_for("bot_uttered")
    assert tracker_user_texts(servers, a.conversation_id) == ["你好"]


# --- a stock Rasa web client (no "rich" in its session_request): Rasa 3.6's socketio wire format --------------

def tracker(servers, conversation_id: str) -> dict:  # type: ignore[no-untyped-def]
    url = f"{servers.config.rasa_url}/conversations/{conversation_id}/tracker?token={servers.token}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


async def test_a_stock_client_gets_rasas_own_bot_uttered_shapes(widget):
    w = await widget(rich=False)
    await w.say("你好")
    greeting = await w.wait_for("bot_uttered", until=lambda d: bool(d.get("quick_replies")))
    await w.say("我们想融资，主要是贷款")
    await w.wait_for("bot_uttered", until=lambda d: "来源：" in d.get("text", ""))
    await asyncio.sleep(0.5)
    events = w.of("bot_uttered")
    for e in events:  # exactly what rasa/core/channels/socketio.py emits: nothing added, no custom
        assert set(e) in ({"text"}, {"text", "quick_replies"}), e
        assert "\n\n" not in e["text"]  # one event per text part
    assert {q["title"] for q in greeting[0]["quick_replies"]} >= {"我们能申请吗", "有哪些资金"}
    assert all(set(q) == {"content_type", "title", "payload"} for q in greeting[0]["quick_replies"])
    answer = next(e for e in events if "来源：" in e["text"])
    assert "来源：京科发〔2022〕4号 二（二）第5条" in answer["text"] and "依据：" not in answer["text"]


async def test_a_stock_client_gets_the_materials_checklist_as_text(widget):
    w = await widget(rich=False)
    await w.say("我们想融资，主要是贷款")
    await w.wait_for("bot_uttered", until=lambda d: "来源：" in d.get("text", ""))
    await w.say("要准备什么材料")
    reply = await w.wait_for("bot_uttered", until=lambda d: "☐" in d.get("text", ""))
    assert "诚信承诺" in reply[0]["text"]


def test_stock_payloads_split_parts_and_put_quick_replies_on_the_last():
    from bot.gateway.channels.web import stock_payloads
    from bot.conversation.messages import BotMessage, Button

    message = BotMessage(text="第一段\n\n第二段\n依据：某文件", buttons=(Button("好", "/affirm"),),
                         custom={"type": "citations", "items": [{"citation": "某文件", "quote": "……"}]}, sender="bot")
    assert stock_payloads(message) == [
        {"text": "第一段", "quick_replies": []},
        {"text": "第二段\n来源：某文件", "quick_replies": [{"content_type": "text", "title": "好", "payload": "/affirm"}]},
    ]
    assert stock_payloads(BotMessage(text="一\n\n二", sender="staff")) == [{"text": "一"}, {"text": "二"}]
    assert stock_payloads(BotMessage(custom={"type": "handoff"})) == []


@pytest.mark.parametrize("data", [{"message": None, "customData": {}}, {"session_id": "x", "customData": {}}])
async def test_a_null_or_absent_message_is_ignored_quietly(widget, data):
    w = await widget(rich=False)
    assert await w.sio.call("user_uttered", {**data, "session_id": w.session_id}, timeout=10) == {"status": "ignored"}
    await asyncio.sleep(0.3)
    assert w.of("error") == [] and w.of("bot_uttered") == []


# --- the session id is a bearer secret: only its keyed hash leaves the channel ------------------------------

async def test_the_session_id_is_not_the_conversation_id_nor_logged(widget, servers, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    w = await widget()
    await w.say("你好")
    await w.wait_for("bot_uttered")
    assert w.conversation_id != f"web:{w.session_id}" and w.session_id not in w.conversation_id
    assert tracker_user_texts(servers, w.conversation_id) == ["你好"]
    assert tracker(servers, f"web:{w.session_id}")["events"] in ([], None) or not any(
        e.get("event") == "user" for e in tracker(servers, f"web:{w.session_id}")["events"])
    assert w.session_id not in caplog.text


async def test_one_session_per_socket(widget):
    w = await widget()
    first = w.session_id
    other = uuid.uuid4().hex
    await w.sio.call("session_request", {"session_id": other, "rich": True}, timeout=10)
    await w.wait_for("session_confirm", count=2)
    old = await widget(session_id=first)  # another tab of the first session
    await old.say("你好")
    await old.wait_for("bot_uttered")
    await asyncio.sleep(0.5)
    assert w.of("bot_uttered") == []  # the socket left the first session's room


async def test_session_requests_are_limited_per_address(aiohttp_client, gateway_settings):
    client = await aiohttp_client(create_app(dataclasses.replace(gateway_settings,
                                                                 rate_limit_sessions_per_ip_per_min=3)))
    from .conftest import WidgetClient

    w = WidgetClient(str(client.make_url("/")).rstrip("/"))
    await w.connect()
    acks = [await w.sio.call("session_request", {"session_id": w.session_id, "rich": True}, timeout=10)
            for _ in range(3)]
    assert [a["status"] for a in acks] == ["ok", "ok", "error"]
    assert (await w.wait_for("error"))[0]["code"] == "rate_limited"
    await w.close()


# --- forced intents: "/intent{…}" passes only as the payload of a button the bot offered -----------------------

async def test_a_typed_intent_is_text_unless_the_bot_offered_that_button(widget, servers):
    w = await widget()
    await w.say('/ask_fund{"fund": "finance"}')
    await w.wait_for("bot_uttered")
    user = [e for e in tracker(servers, w.conversation_id)["events"] if e.get("event") == "user"]
    assert user[-1]["text"].startswith("／") and user[-1]["parse_data"]["intent"]["name"] != "ask_fund"
    assert not user[-1]["parse_data"].get("entities")

    await w.say("有哪些资金")
    funds = await w.wait_for("bot_uttered", until=lambda d: bool(d.get("quick_replies")))
    offered = funds[-1]["quick_replies"][0]
    await w.say(offered["payload"], display=offered["title"])
    for _ in range(100):
        user = [e for e in tracker(servers, w.conversation_id)["events"] if e.get("event") == "user"]
        if len(user) == 3:
            break
        await asyncio.sleep(0.1)
    assert user[-1]["text"] == offered["payload"]  # the bot's own button: an intent, as Rasa intends
    assert user[-1]["parse_data"]["intent"]["name"] == offered["payload"][1:].split("{")[0]
