"""The Official Account callback at /wechat, driven as Tencent drives it, in front of the session's real Rasa.

Requests are signed and encrypted by tencent_standin.py (the published algorithm written out, not the code under
test); the outbound API is a local stand-in that records calls."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import itertools
import logging
import random
import time
import uuid
from typing import Any

import aiohttp
import pytest

from bot.app import create_app
from bot.gateway.app import hub_key, channels_key
from bot.gateway.channels.tencent_api import OfficialAccountApi, TencentApiError
from bot.gateway.channels.wxtext import MenuBook, render, split_utf8
from bot.conversation.messages import BotMessage, Button
from bot.gateway.wechat_sim import WeChatUser, chat
from bot.settings import Settings

from .tencent_standin import (  # noqa: F401
    BILLION_LAUGHS,
    XXE,
    read_xml,
    sha1_sorted,
    signed_query,
    tencent_api,
    tencent_decrypt,
    tencent_encrypt,
    text_message,
    user_texts,
    xml,
)

TOKEN = "wechat-test-token"
APP_ID = "wx0123456789abcdef"
SECRET = "test-app-secret"
KEY = base64.b64encode(bytes(range(100, 132))).decode().rstrip("=")
GH = "gh_0123456789ab"
SEND = "/cgi-bin/message/custom/send"
_ids = itertools.count(random.randrange(10**15, 10**16))


def new_openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


@pytest.fixture
def make_wechat(aiohttp_client, gateway_settings, tencent_api):  # type: ignore[no-untyped-def]  # noqa: F811
    async def make(**overrides: Any):  # type: ignore[no-untyped-def]
        options = {"wechat_token": TOKEN, "wechat_app_id": APP_ID, "wechat_app_secret": SECRET,
                   "wechat_aes_key": "", "wechat_api_base": tencent_api.url, "wechat_reply_deadline_s": 20.0,
                   **overrides}
        return await aiohttp_client(create_app(dataclasses.replace(gateway_settings, **options)))
    return make


@pytest.fixture
async def wechat(make_wechat):  # type: ignore[no-untyped-def]
    """Plaintext mode (no WECHAT_AES_KEY)."""
    return await make_wechat()


@pytest.fixture
async def wechat_safe(make_wechat):  # type: ignore[no-untyped-def]
    """Safe mode (WECHAT_AES_KEY set): only encrypted messages are accepted."""
    return await make_wechat(wechat_aes_key=KEY)


async def post(client, fields: dict[str, Any] | bytes, *, aes: bool = False,  # type: ignore[no-untyped-def]
               query: dict[str, str] | None = None, **kwargs: Any) -> tuple[int, bytes]:
    body = fields if isinstance(fields, bytes) else xml(fields)
    if aes:
        encrypted = tencent_encrypt(KEY, APP_ID, body)
        query = {**signed_query(TOKEN, encrypted), "encrypt_type": "aes", **(query or {})}
        body = xml({"ToUserName": GH, "Encrypt": encrypted})
    async with client.post("/wechat", params=query if query is not None else signed_query(TOKEN), data=body,
                           **kwargs) as resp:
        return resp.status, await resp.read()


def reply_of(raw: bytes, aes: bool = False) -> dict[str, str]:
    reply = read_xml(raw)
    if aes:
        assert set(reply) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
        assert reply["MsgSignature"] == sha1_sorted(TOKEN, reply["TimeStamp"], reply["Nonce"], reply["Encrypt"])
        inner, receive_id = tencent_decrypt(KEY, reply["Encrypt"])
        assert receive_id == APP_ID.encode()
        reply = read_xml(inner)
    return reply


async def say(client, openid: str, text: str, aes: bool = False) -> dict[str, str]:  # type: ignore[no-untyped-def]
    status, raw = await post(client, text_message(openid, text, next(_ids), to=GH), aes=aes)
    assert status == 200, raw
    return reply_of(raw, aes)


# --- the real bot, end to end ---------------------------------------------------------------------------------
@pytest.mark.e2e
async def test_a_signed_text_message_gets_the_bots_passive_reply_with_a_numbered_menu(make_wechat, servers):
    client = await make_wechat(wechat_reply_deadline_s=Settings.wechat_reply_deadline_s)  # the default, 4.5 s
    openid = new_openid()
    started = time.monotonic()
    reply = await say(client, openid, "你好")
    assert time.monotonic() - started < 4.5
    assert reply["ToUserName"] == openid and reply["FromUserName"] == GH and reply["MsgType"] == "text"
    assert int(reply["CreateTime"]) == pytest.approx(time.time(), abs=60)
    assert "政策助手" in reply["Content"]
    assert "回复 1 按需求找资金\n回复 2 我们能申请吗\n回复 3 有哪些资金" in reply["Content"]
    assert user_texts(servers, f"wechat:{openid}") == ["你好"]


@pytest.mark.e2e
async def test_safe_mode_message_and_reply_are_encrypted_and_signed(wechat_safe, servers):
    openid = new_openid()
    reply = await say(wechat_safe, openid, "你好", aes=True)
    assert reply["ToUserName"] == openid and "政策助手" in reply["Content"]
    assert user_texts(servers, f"wechat:{openid}") == ["你好"]


@pytest.mark.e2e
async def test_a_bare_number_picks_that_users_menu_button(wechat, servers):
    openid, other = new_openid(), new_openid()
    await say(wechat, openid, "你好")
    reply = await say(wechat, openid, "３")  # a full-width digit, as some keyboards type it
    assert "5项支持资金" in reply["Content"]
    await say(wechat, other, "3")  # another user has no menu: the text goes to the bot as typed
    await say(wechat, openid, "99")  # out of range: as typed
    assert user_texts(servers, f"wechat:{openid}") == ["你好", "/list_funds", "99"]
    assert user_texts(servers, f"wechat:{other}") == ["3"]


@pytest.mark.e2e
async def test_a_number_typed_before_the_last_reply_waits_for_its_menu(make_wechat, tencent_api, servers):  # noqa: F811
    client = await make_wechat(wechat_reply_deadline_s=0.001)  # both answered "success" at once
    openid = new_openid()
    assert await post(client, text_message(openid, "你好", next(_ids), to=GH)) == (200, b"success")
    assert await post(client, text_message(openid, "3", next(_ids), to=GH)) == (200, b"success")
    sends = await tencent_api.wait_for(SEND, count=2)
    assert "政策助手" in sends[0]["json"]["text"]["content"]
    assert "5项支持资金" in sends[1]["json"]["text"]["content"]
    assert user_texts(servers, f"wechat:{openid}") == ["你好", "/list_funds"]


@pytest.mark.e2e
async def test_a_policy_answer_keeps_its_citation(wechat):
    reply = await say(wechat, new_openid(), "第5条讲的什么")
    assert "依据：" in reply["Content"]


@pytest.mark.e2e
async def test_three_concurrent_retries_make_one_bot_turn_and_one_reply(wechat, tencent_api, servers):  # noqa: F811
    openid, msg_id = new_openid(), next(_ids)
    message = text_message(openid, "有哪些资金", msg_id, to=GH)
    answers = await asyncio.gather(*(post(wechat, message) for _ in range(3)))
    assert [status for status, _ in answers] == [200, 200, 200]
    bodies = sorted(raw for _, raw in answers)
    assert bodies[-2:] == [b"success", b"success"]
    assert "5项支持资金" in reply_of(bodies[0])["Content"]
    assert await post(wechat, message) == (200, b"success")  # a retry after the reply: no second reply
    await asyncio.sleep(1.0)
    assert user_texts(servers, f"wechat:{openid}") == ["有哪些资金"]
    assert tencent_api.of(SEND) == []


@pytest.mark.e2e
async def test_a_slow_bot_gets_success_at_once_and_one_api_message(make_wechat, tencent_api, servers):  # noqa: F811
    client = await make_wechat(wechat_reply_deadline_s=0.001)  # the real bot is far slower than this
    openid = new_openid()
    message = text_message(openid, "你好", next(_ids), to=GH)
    started = time.monotonic()
    answers = await asyncio.gather(*(post(client, message) for _ in range(3)))  # with Tencent's retries
    assert time.monotonic() - started < 2.0
    assert answers == [(200, b"success")] * 3
    sends = await tencent_api.wait_for(SEND)
    await asyncio.sleep(1.5)
    assert len(tencent_api.of(SEND)) == 1
    sent = sends[0]["json"]
    assert sent["touser"] == openid and sent["msgtype"] == "text" and "政策助手" in sent["text"]["content"]
    assert "回复 1 按需求找资金" in sent["text"]["content"]
    assert "政策助手".encode() in sends[0]["raw"] and b"\\u" not in sends[0]["raw"]  # raw UTF-8, not escapes
    assert tencent_api.of("/cgi-bin/token") == [{"path": "/cgi-bin/token", "query": {
        "grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}}]
    assert user_texts(servers, f"wechat:{openid}") == ["你好"]


@pytest.mark.e2e
async def test_when_tencent_hangs_up_the_reply_goes_through_the_api(wechat, tencent_api, servers):  # noqa: F811
    """Tencent drops a connection after 5 s: a reply that finds its request gone (or cancelled) is sent by API."""
    channel = wechat.server.app[channels_key]["wechat"]
    gone, cancelled = new_openid(), new_openid()
    message = channel.classify(text_message(gone, "你好", str(next(_ids)), to=GH))
    assert await channel.respond(message, 20.0, connected=lambda: False) is None
    message = channel.classify(text_message(cancelled, "有哪些资金", str(next(_ids)), to=GH))
    waiting = asyncio.create_task(channel.respond(message, 20.0, connected=lambda: True))
    await asyncio.sleep(0)
    waiting.cancel()
    sends = await tencent_api.wait_for(SEND, count=2)
    await asyncio.sleep(1.0)
    assert len(tencent_api.of(SEND)) == 2
    contents = {s["json"]["touser"]: s["json"]["text"]["content"] for s in sends}
    assert "政策助手" in contents[gone] and "5项支持资金" in contents[cancelled]
    assert user_texts(servers, f"wechat:{gone}") == ["你好"]
    assert user_texts(servers, f"wechat:{cancelled}") == ["有哪些资金"]


@pytest.mark.e2e
async def test_a_long_reply_is_split_by_bytes_passive_first_then_the_api(wechat, tencent_api):  # noqa: F811
    full = (await say(wechat, new_openid(), "有哪些资金"))["Content"]
    limit = 150
    assert len(full.encode()) > 3 * limit
    wechat.server.app[channels_key]["wechat"].text_limit = limit
    first = (await say(wechat, new_openid(), "有哪些资金"))["Content"]
    await tencent_api.wait_for(SEND, count=3)
    await asyncio.sleep(0.5)
    pieces = [first] + [c["json"]["text"]["content"] for c in tencent_api.of(SEND)]
    assert all(len(p.encode()) <= limit for p in pieces)
    assert "".join(pieces).replace("\n", "") == full.replace("\n", "")


@pytest.mark.e2e
async def test_subscribe_gets_a_welcome_once_and_nothing_reaches_the_bot(wechat, servers):
    openid = new_openid()
    event = {"ToUserName": GH, "FromUserName": openid, "CreateTime": int(time.time()), "MsgType": "event",
             "Event": "subscribe"}
    status, raw = await post(wechat, event)
    assert status == 200 and "欢迎" in reply_of(raw)["Content"]
    assert await post(wechat, event) == (200, b"success")  # the same event again (FromUserName+CreateTime)
    assert await post(wechat, {**event, "Event": "unsubscribe", "CreateTime": event["CreateTime"] + 1}) \
        == (200, b"success")
    assert user_texts(servers, f"wechat:{openid}") == []


@pytest.mark.e2e
async def test_voice_with_recognition_is_text_and_other_types_get_asked_for_text(wechat, servers):
    openid = new_openid()
    base = {"ToUserName": GH, "FromUserName": openid, "CreateTime": int(time.time())}
    status, raw = await post(wechat, {**base, "MsgType": "voice", "MediaId": "m", "Format": "amr",
                                      "Recognition": "有哪些资金", "MsgId": next(_ids)})
    assert status == 200 and "5项支持资金" in reply_of(raw)["Content"]
    for extra in ({"MsgType": "voice", "MediaId": "m", "Format": "amr", "Recognition": ""},
                  {"MsgType": "image", "PicUrl": "http://example.com/a.jpg", "MediaId": "m"},
                  {"MsgType": "location", "Location_X": "39.9", "Location_Y": "116.3", "Label": "中关村"}):
        status, raw = await post(wechat, {**base, **extra, "MsgId": next(_ids)})
        assert status == 200 and "请发送文字" in reply_of(raw)["Content"], extra
    assert user_texts(servers, f"wechat:{openid}") == ["有哪些资金"]


@pytest.mark.e2e
async def test_an_overlong_message_is_answered_without_the_bot(wechat, servers):
    openid = new_openid()
    reply = await say(wechat, openid, "长" * 2001)
    assert "2000" in reply["Content"]
    assert user_texts(servers, f"wechat:{openid}") == []


@pytest.mark.e2e
async def test_the_simulator_chats_through_the_real_protocol(wechat, wechat_safe, servers):
    for crypto in (None, "aes"):
        from bot.gateway.channels.wxcrypto import WxCrypto

        gateway = wechat_safe if crypto else wechat
        user = WeChatUser(str(gateway.make_url("/wechat")), TOKEN, APP_ID,
                          WxCrypto(KEY, APP_ID) if crypto else None, openid=new_openid())
        out = io.StringIO()
        assert await chat(user, ["你好", "3", ":retry", ":image", ":quit", "不会发送"], out=out) == 0
        printed = out.getvalue()
        assert "回复 3 有哪些资金" in printed and "5项支持资金" in printed
        assert "success" in printed and "请发送文字" in printed
        assert user_texts(servers, f"wechat:{user.openid}") == ["你好", "/list_funds"]


@pytest.mark.e2e
async def test_messages_outside_a_turn_are_pushed_through_the_api(wechat, tencent_api):  # noqa: F811
    channel = wechat.server.app[channels_key]["wechat"]
    openid = new_openid()
    await channel.deliver(openid, [BotMessage("您好，我是客服小王。", sender="staff"),
                                BotMessage("还需要什么？", (Button("结束人工服务", "/end_handoff"),))])
    sent = [c["json"] for c in tencent_api.of(SEND)]
    assert sent == [{"touser": openid, "msgtype": "text",
                     "text": {"content": "【人工客服】您好，我是客服小王。\n\n还需要什么？\n\n回复 1 结束人工服务"}}]
    assert await channel.state.choose(openid, "1") == Button("结束人工服务", "/end_handoff")
    hub = wechat.server.app[hub_key]
    if hasattr(hub, "deliver"):  # a hub that pushes staff replies finds the channel by its name
        await hub.deliver(f"wechat:{openid}", [BotMessage("第二条", sender="staff")])
        assert tencent_api.of(SEND)[-1]["json"]["text"]["content"] == "【人工客服】第二条"


# --- URL verification -----------------------------------------------------------------------------------------
@pytest.mark.e2e
async def test_url_verification_echoes_echostr(wechat):
    resp = await wechat.get("/wechat", params={**signed_query(TOKEN), "echostr": "8346239841093201"})
    assert resp.status == 200 and await resp.text() == "8346239841093201"


@pytest.mark.e2e
@pytest.mark.parametrize("query", [
    {},
    {"timestamp": "1", "nonce": "2"},
    signed_query("another-token"),
    {**signed_query(TOKEN), "nonce": "999"},
    signed_query(TOKEN, timestamp=int(time.time()) - 3600),  # a replay
])
async def test_url_verification_without_a_valid_signature_is_403(wechat, query, caplog):
    caplog.set_level(logging.WARNING)
    resp = await wechat.get("/wechat", params={**query, "echostr": "42"})
    assert resp.status == 403 and "42" not in await resp.text()
    assert "refused with 403" in caplog.text


# --- bad input: nothing reaches the bot, a 4xx with a logged reason, never a 500 ------------------------------
def _aes_query(encrypted: str, **changes: str) -> dict[str, str]:
    return {**signed_query(TOKEN, encrypted), "encrypt_type": "aes", **changes}


def _aes(openid: str, receive_id: str = APP_ID, key: str = KEY, body: bytes | None = None) -> tuple[dict, bytes]:
    encrypted = tencent_encrypt(key, receive_id, body or xml(text_message(openid, "你好", next(_ids), to=GH)))
    return _aes_query(encrypted), xml({"ToUserName": GH, "Encrypt": encrypted})


def _plain(openid: str, **changes: Any) -> bytes:
    return xml({**text_message(openid, "你好", next(_ids), to=GH), **changes})


OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")
BAD_INPUT = {
    "no signature": (403, lambda o: ({}, _plain(o))),
    "wrong token": (403, lambda o: (signed_query("another-token"), _plain(o))),
    "signature for another timestamp": (403, lambda o: ({**signed_query(TOKEN), "timestamp": "1700000000"},
                                                        _plain(o))),
    "replayed timestamp": (403, lambda o: (signed_query(TOKEN, timestamp=int(time.time()) - 301), _plain(o))),
    "timestamp from the future": (403, lambda o: (signed_query(TOKEN, timestamp=int(time.time()) + 3600),
                                                  _plain(o))),
    "malformed XML": (400, lambda o: (signed_query(TOKEN), _plain(o)[:-10])),
    "billion laughs": (400, lambda o: (signed_query(TOKEN), BILLION_LAUGHS.replace(b"bomb", o.encode()))),
    "external entity": (400, lambda o: (signed_query(TOKEN), XXE.replace(b"xxe", o.encode()))),
    "not <xml>": (400, lambda o: (signed_query(TOKEN), _plain(o).replace(b"xml>", b"html>"))),
    "no sender": (400, lambda o: (signed_query(TOKEN), _plain(o, FromUserName=""))),
    "odd sender": (400, lambda o: (signed_query(TOKEN), _plain(o, FromUserName="../" + o))),
    "odd MsgId": (400, lambda o: (signed_query(TOKEN), _plain(o, MsgId="1 OR 1=1"))),
    "oversize body": (413, lambda o: (signed_query(TOKEN), _plain(o, Content="长" * 25_000))),
    "safe mode, no msg_signature": (403, lambda o: ({k: v for k, v in _aes(o)[0].items() if k != "msg_signature"},
                                                    _aes(o)[1])),
    "safe mode, wrong msg_signature": (403, lambda o: (_aes(o)[0] | {"msg_signature": "0" * 40}, _aes(o)[1])),
    "safe mode, msg_signature of another message": (403, lambda o: (_aes(o)[0], _aes(o)[1])),
    "safe mode, wrong plain signature": (403, lambda o: (_aes(o)[0] | {"signature": "1" * 40}, _aes(o)[1])),
    "safe mode, another AppID": (400, lambda o: _aes(o, receive_id="wxffffffffffffffff")),
    "safe mode, another key": (400, lambda o: _aes(o, key=OTHER_KEY)),
    "safe mode, not base64": (400, lambda o: (_aes_query("%%%"), xml({"ToUserName": o, "Encrypt": "%%%"}))),
    "safe mode, encrypted bomb": (400, lambda o: _aes(o, body=BILLION_LAUGHS.replace(b"bomb", o.encode()))),
    "safe mode, no Encrypt": (400, lambda o: (_aes_query(""), _plain(o))),
    "unknown encrypt_type": (400, lambda o: ({**signed_query(TOKEN), "encrypt_type": "rsa"}, _plain(o))),
}


@pytest.mark.e2e
@pytest.mark.parametrize("case", BAD_INPUT)
async def test_bad_input_is_refused_with_a_logged_reason_and_reaches_nobody(wechat, wechat_safe, servers, case,
                                                                           caplog):
    status, make = BAD_INPUT[case]
    wechat = wechat_safe if case.startswith("safe mode") else wechat
    openid = new_openid()
    query, body = make(openid)
    caplog.set_level(logging.WARNING)
    async with aiohttp.ClientSession() as fresh, \
            fresh.post(wechat.make_url("/wechat"), params=query, data=body) as resp:  # a refused upload closes it
        assert resp.status == status, await resp.text()
    assert f"refused with {status}" in caplog.text
    assert user_texts(servers, f"wechat:{openid}") == []
    assert (await wechat.get("/healthz")).status == 200


@pytest.mark.e2e
async def test_with_a_key_set_a_plaintext_message_is_refused(wechat_safe, servers, caplog):
    """No downgrade: with WECHAT_AES_KEY set, a correctly signed plaintext POST (no encrypt_type) is refused."""
    openid = new_openid()
    caplog.set_level(logging.WARNING)
    status, _ = await post(wechat_safe, text_message(openid, "你好", next(_ids), to=GH))
    assert status == 403 and "plaintext message refused" in caplog.text
    assert user_texts(servers, f"wechat:{openid}") == []


@pytest.mark.e2e
async def test_a_signed_url_is_good_for_one_message(wechat, servers):
    """A captured signed URL (the signature covers token, timestamp, nonce — not the body) cannot carry another
    message within the window; the same body again is Tencent retrying and is answered from its turn."""
    victim, attacker_says = new_openid(), new_openid()
    query = signed_query(TOKEN, nonce="24680")
    first = text_message(victim, "你好", next(_ids), to=GH)
    assert (await post(wechat, first, query=query))[0] == 200
    assert (await post(wechat, first, query=query))[0] == 200  # a retry of the same message
    forged = text_message(attacker_says, "有哪些资金", next(_ids), to=GH)
    assert (await post(wechat, forged, query=query))[0] == 403
    assert user_texts(servers, f"wechat:{attacker_says}") == []


@pytest.mark.e2e
async def test_the_openid_of_the_url_must_be_the_sender(wechat, servers):
    openid, other = new_openid(), new_openid()
    status, _ = await post(wechat, text_message(other, "你好", next(_ids), to=GH),
                           query={**signed_query(TOKEN, nonce="97531"), "openid": openid})
    assert status == 403
    assert user_texts(servers, f"wechat:{other}") == []
    ok, _ = await post(wechat, text_message(openid, "你好", next(_ids), to=GH),
                       query={**signed_query(TOKEN, nonce="97532"), "openid": openid})
    assert ok == 200


@pytest.mark.e2e
async def test_safe_mode_needs_the_aes_key(make_wechat, servers):
    client = await make_wechat(wechat_aes_key="")
    openid = new_openid()
    query, body = _aes(openid)
    assert (await post(client, body, query=query))[0] == 400
    assert "政策助手" in (await say(client, openid, "你好"))["Content"]  # plaintext mode still works


@pytest.mark.e2e
async def test_the_replay_check_can_be_turned_off(make_wechat):
    client = await make_wechat(wechat_max_skew_s=0)
    status, raw = await post(client, text_message(new_openid(), "你好", next(_ids), to=GH),
                             query=signed_query(TOKEN, timestamp=1_000_000_000))
    assert status == 200 and "政策助手" in reply_of(raw)["Content"]


@pytest.mark.e2e
async def test_a_failing_api_is_logged_and_the_gateway_keeps_going(make_wechat, tencent_api, caplog):  # noqa: F811
    tencent_api.token_errcode = 40125
    client = await make_wechat(wechat_reply_deadline_s=0.001)
    caplog.set_level(logging.WARNING)
    assert await post(client, text_message(new_openid(), "你好", next(_ids), to=GH)) == (200, b"success")
    await tencent_api.wait_for("/cgi-bin/token")
    for _ in range(100):
        if "could not send" in caplog.text:
            break
        await asyncio.sleep(0.05)
    assert "40125" in caplog.text and tencent_api.of(SEND) == []
    assert (await client.get("/healthz")).status == 200


# --- mounting ---------------------------------------------------------------------------------------------
async def test_the_channel_is_mounted_only_with_its_settings(aiohttp_client, caplog):
    caplog.set_level(logging.INFO)
    client = await aiohttp_client(create_app(Settings.from_env({})))
    assert (await client.get("/wechat")).status == 404
    assert "channel wechat: not mounted: WECHAT_TOKEN, WECHAT_APP_ID, WECHAT_APP_SECRET not set" in caplog.text
    caplog.clear()
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": SECRET}
    client = await aiohttp_client(create_app(Settings.from_env(env)))
    assert (await client.get("/wechat")).status == 403
    assert "channel wechat: mounted at /wechat: plaintext mode only" in caplog.text
    caplog.clear()
    create_app(Settings.from_env({**env, "WECHAT_AES_KEY": "too-short"}))
    assert "channel wechat: not mounted: WECHAT_AES_KEY is unusable" in caplog.text


def test_settings_come_from_the_documented_environment_names():
    s = Settings.from_env({"WECHAT_TOKEN": "t", "WECHAT_APP_ID": "a", "WECHAT_APP_SECRET": "s", "WECHAT_AES_KEY": "k",
                           "WECOM_TOKEN": "wt", "WECOM_CORP_ID": "c", "WECOM_AES_KEY": "wk", "WECOM_AGENT_ID": "7",
                           "WECOM_SECRET": "ws", "WECHAT_MAX_SKEW_S": "0", "WECHAT_REPLY_DEADLINE_S": "2.5",
                           "WECHAT_API_BASE": "http://127.0.0.1:1/", "WECOM_API_BASE": "http://127.0.0.1:2"})
    assert (s.wechat_token, s.wechat_app_id, s.wechat_app_secret, s.wechat_aes_key) == ("t", "a", "s", "k")
    assert (s.wecom_token, s.wecom_corp_id, s.wecom_aes_key, s.wecom_agent_id, s.wecom_secret) == \
        ("wt", "c", "wk", "7", "ws")
    assert (s.wechat_max_skew_s, s.wechat_reply_deadline_s) == (0, 2.5)
    assert (s.wechat_api_base, s.wecom_api_base) == ("http://127.0.0.1:1", "http://127.0.0.1:2")
    default = Settings.from_env({})
    assert (default.wechat_max_skew_s, default.wechat_reply_deadline_s) == (300, 4.5)
    assert default.wechat_api_base == "https://api.weixin.qq.com"
    assert default.wecom_api_base == "https://qyapi.weixin.qq.com"


# --- the access token ---------------------------------------------------------------------------------------
async def test_the_token_is_cached_until_shortly_before_it_expires(tencent_api):  # noqa: F811
    now = [1000.0]
    async with aiohttp.ClientSession() as session:
        api = OfficialAccountApi(session, tencent_api.url, APP_ID, SECRET, clock=lambda: now[0])
        await asyncio.gather(*(api.send_text("o1", f"消息{i}") for i in range(5)))  # concurrent: one fetch
        assert len(tencent_api.of("/cgi-bin/token")) == 1
        now[0] += 7200 - 300 - 1
        await api.send_text("o1", "还在有效期")
        assert len(tencent_api.of("/cgi-bin/token")) == 1
        now[0] += 2  # within five minutes of expiry: fetch a new one first
        await api.send_text("o1", "换新的")
        assert len(tencent_api.of("/cgi-bin/token")) == 2
        assert [c["query"]["access_token"] for c in tencent_api.of(SEND)][-2:] == ["token-1", "token-2"]


@pytest.mark.parametrize("how, errcode", [("revoke", 40001), ("expire", 42001)])
async def test_a_rejected_token_is_refreshed_and_the_call_retried_once(tencent_api, how, errcode):  # noqa: F811
    async with aiohttp.ClientSession() as session:
        api = OfficialAccountApi(session, tencent_api.url, APP_ID, SECRET)
        await api.send_text("o1", "一")
        getattr(tencent_api, how)()  # e.g. the secret was reset, or Tencent expired it early
        await api.send_text("o1", "二")
    sends = tencent_api.of(SEND)
    assert [c["query"]["access_token"] for c in sends] == ["token-1", "token-1", "token-2"]
    assert [c["json"]["text"]["content"] for c in sends] == ["一", "二", "二"]
    assert [c["errcode"] for c in sends] == [0, errcode, 0]
    assert len(tencent_api.of("/cgi-bin/token")) == 2


async def test_the_retry_happens_once_then_the_error_is_raised(tencent_api):  # noqa: F811
    async with aiohttp.ClientSession() as session:
        api = OfficialAccountApi(session, tencent_api.url, APP_ID, SECRET)
        tencent_api.valid = _NeverValid()
        with pytest.raises(TencentApiError) as err:
            await api.send_text("o1", "你好")
    assert err.value.errcode == 40001
    assert len(tencent_api.of(SEND)) == 2 and len(tencent_api.of("/cgi-bin/token")) == 2


async def test_a_token_error_is_raised_without_sending(tencent_api):  # noqa: F811
    tencent_api.token_errcode = 40013
    async with aiohttp.ClientSession() as session:
        with pytest.raises(TencentApiError, match="40013"):
            await OfficialAccountApi(session, tencent_api.url, APP_ID, SECRET).send_text("o1", "你好")
    assert tencent_api.of(SEND) == []


class _NeverValid(set):  # type: ignore[type-arg]
    def add(self, item: object) -> None:
        pass


# --- text: menus and splitting ------------------------------------------------------------------------------
def test_buttons_become_one_numbered_menu_and_custom_payloads_are_dropped():
    text, buttons = render([
        BotMessage("第一条回答\n依据：京科发〔2022〕4号 第5条", (Button("查看材料", "/ask_materials"),),
                   custom={"type": "citations"}),
        BotMessage(None, custom={"type": "materials"}),
        BotMessage("还想了解什么？", (Button("有哪些资金", "/list_funds"), Button("人工", "/handoff"))),
    ])
    assert text == ("第一条回答\n依据：京科发〔2022〕4号 第5条\n\n回复 1 查看材料\n\n"
                    "还想了解什么？\n\n回复 2 有哪些资金\n回复 3 人工")
    assert [b.payload for b in buttons] == ["/ask_materials", "/list_funds", "/handoff"]


def test_the_menu_maps_bare_numbers_per_user_and_is_bounded():
    menus = MenuBook(max_users=2)
    menus.remember("a", (Button("一", "/one"), Button("二", "/two")))
    assert menus.choose("a", " 2 ") == Button("二", "/two")
    assert menus.choose("a", "１") == Button("一", "/one")
    assert [menus.choose("a", t) for t in ("0", "3", "1.", "一", "12345", "")] == [None] * 6
    assert menus.choose("b", "1") is None
    menus.remember("b", (Button("x", "/x"),))
    menus.remember("c", (Button("y", "/y"),))
    assert menus.choose("a", "1") is None  # the least recently used was forgotten
    menus.remember("c", ())
    assert menus.choose("c", "1") is None  # a reply without buttons clears the menu


@pytest.mark.parametrize("text", [
    "政策" * 2000,
    "a" * 5000,
    "😀" * 1000 + "混合 mixed ü" * 300,
    "\n".join(f"第{i}行：支持资金说明" for i in range(400)),
])
def test_splitting_counts_bytes_and_never_breaks_a_character(text):
    pieces = split_utf8(text, 2048)
    assert len(pieces) > 1
    assert all(0 < len(p.encode("utf-8")) <= 2048 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    if "\n" in text:
        assert all(p.endswith("说明") for p in pieces)  # broken at line ends


def test_short_text_is_one_piece():
    assert split_utf8("你好") == ["你好"]
    assert split_utf8("") == []
    assert split_utf8("政" * 682) == ["政" * 682]  # 2046 bytes
