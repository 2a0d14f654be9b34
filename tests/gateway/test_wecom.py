"""The WeCom (企业微信) application callback at /wecom: always encrypted, CorpID as the receive id, replies by
``message/send`` with the agent id; driven as WeCom drives it, in front of the session's real Rasa."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import logging
import random
import time
import uuid
from typing import Any

import aiohttp
import pytest

from bot.app import create_app
from bot.gateway.channels.tencent_api import WeComApi
from bot.settings import Settings

from .tencent_standin import (  # noqa: F401
    BILLION_LAUGHS,
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

TOKEN = "wecom-test-token"
CORP_ID = "ww0123456789abcdef"
KEY = base64.b64encode(bytes(range(50, 82))).decode().rstrip("=")
AGENT_ID = 1000002
SECRET = "wecom-app-secret"
SEND = "/cgi-bin/message/send"
_ids = itertools.count(random.randrange(10**15, 10**16))


def new_userid() -> str:
    return "zhang.san-" + uuid.uuid4().hex[:12]


@pytest.fixture
def make_wecom(aiohttp_client, gateway_settings, tencent_api):  # type: ignore[no-untyped-def]  # noqa: F811
    async def make(**overrides: Any):  # type: ignore[no-untyped-def]
        options = {"wecom_token": TOKEN, "wecom_corp_id": CORP_ID, "wecom_aes_key": KEY,
                   "wecom_agent_id": str(AGENT_ID), "wecom_secret": SECRET, "wecom_api_base": tencent_api.url,
                   "wechat_reply_deadline_s": 20.0, **overrides}
        return await aiohttp_client(create_app(dataclasses.replace(gateway_settings, **options)))
    return make


@pytest.fixture
async def wecom(make_wecom):  # type: ignore[no-untyped-def]
    return await make_wecom()


def wecom_message(userid: str, text: str, msg_id: int | None = None) -> dict[str, Any]:
    return {**text_message(userid, text, next(_ids) if msg_id is None else msg_id, to=CORP_ID),
            "AgentID": AGENT_ID}


def envelope(inner: bytes, receive_id: str = CORP_ID, key: str = KEY, agent: int = AGENT_ID,
             timestamp: int | None = None, **query_changes: str) -> tuple[dict[str, str], bytes]:
    encrypted = tencent_encrypt(key, receive_id, inner)
    # WeCom sends msg_signature only, no plain signature
    query = {k: v for k, v in signed_query(TOKEN, encrypted, timestamp).items() if k != "signature"}
    return {**query, **query_changes}, xml({"ToUserName": CORP_ID, "AgentID": agent, "Encrypt": encrypted})


async def post(client, query: dict[str, str], body: bytes) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    async with client.post("/wecom", params=query, data=body) as resp:
        return resp.status, await resp.read()


def open_reply(raw: bytes) -> dict[str, str]:
    reply = read_xml(raw)
    assert set(reply) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert reply["MsgSignature"] == sha1_sorted(TOKEN, reply["TimeStamp"], reply["Nonce"], reply["Encrypt"])
    inner, receive_id = tencent_decrypt(KEY, reply["Encrypt"])
    assert receive_id == CORP_ID.encode()
    return read_xml(inner)


# --- URL verification -------------------------------------------------------------------------------------
@pytest.mark.e2e
async def test_url_verification_decrypts_echostr(wecom):
    echostr = tencent_encrypt(KEY, CORP_ID, b"6183021465273589716")
    query = {k: v for k, v in signed_query(TOKEN, echostr).items() if k != "signature"}
    resp = await wecom.get("/wecom", params={**query, "echostr": echostr})
    assert resp.status == 200 and await resp.text() == "6183021465273589716"


async def test_url_verification_with_tencents_published_sample(aiohttp_client):
    env = {"WECOM_TOKEN": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "WECOM_CORP_ID": "ww1436e0e65a779aee",
           "WECOM_AES_KEY": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "WECOM_AGENT_ID": "1",
           "WECOM_SECRET": "x", "WECHAT_MAX_SKEW_S": "0"}  # the sample's timestamp is from 2016
    client = await aiohttp_client(create_app(Settings.from_env(env)))
    # as WeCom sends it: echostr URL-encoded ("+" as %2B, "/" as %2F)
    resp = await client.get("/wecom?msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373"
                            "&nonce=47744683&echostr=fsi1xnbH4yQh0%2BPJxcOdhhK6TDXkjMyhEPA7xB2TGz6b%2Bg7xyAbEkRxN"
                            "%2F3cNXW9qdqjnoVzEtpbhnFyq6SVHyA%3D%3D")
    assert resp.status == 200 and await resp.text() == "1288432023552776189"


@pytest.mark.e2e
@pytest.mark.parametrize("case, status", [("no signature", 403), ("wrong signature", 403), ("replay", 403),
                                          ("another CorpID", 400), ("not base64", 400)])
async def test_bad_url_verification_is_refused(wecom, case, status, caplog):
    caplog.set_level(logging.WARNING)
    echostr = tencent_encrypt(KEY, "wwffffffffffffffff" if case == "another CorpID" else CORP_ID, b"12345")
    if case == "not base64":
        echostr = "%%%not-base64"
    stamp = int(time.time()) - 3600 if case == "replay" else None
    query = {k: v for k, v in signed_query(TOKEN, echostr, timestamp=stamp).items() if k != "signature"}
    if case == "no signature":
        del query["msg_signature"]
    if case == "wrong signature":
        query["msg_signature"] = sha1_sorted("another-token", query["timestamp"], query["nonce"], echostr)
    resp = await wecom.get("/wecom", params={**query, "echostr": echostr})
    assert resp.status == status and "12345" not in await resp.text()
    assert f"refused with {status}" in caplog.text


# --- messages, through the real bot --------------------------------------------------------------------------
@pytest.mark.e2e
async def test_an_encrypted_message_gets_an_encrypted_passive_reply_from_the_bot(make_wecom, servers):
    client = await make_wecom(wechat_reply_deadline_s=Settings.wechat_reply_deadline_s)  # the default, 4.5 s
    userid = new_userid()
    status, raw = await post(client, *envelope(xml(wecom_message(userid, "你好"))))
    assert status == 200
    reply = open_reply(raw)
    assert reply["ToUserName"] == userid and reply["FromUserName"] == CORP_ID and reply["MsgType"] == "text"
    assert "政策助手" in reply["Content"] and "回复 2 我们能申请吗" in reply["Content"]
    status, raw = await post(client, *envelope(xml(wecom_message(userid, "2"))))
    assert status == 200 and open_reply(raw)["Content"]
    assert user_texts(servers, f"wecom:{userid}") == ["你好", "/check_eligibility"]


@pytest.mark.e2e
async def test_three_concurrent_retries_make_one_bot_turn_and_one_reply(wecom, tencent_api, servers):  # noqa: F811
    userid = new_userid()
    inner = xml(wecom_message(userid, "有哪些资金"))
    answers = await asyncio.gather(*(post(wecom, *envelope(inner)) for _ in range(3)))  # each freshly encrypted
    bodies = sorted(raw for status, raw in answers if status == 200)
    assert bodies[-2:] == [b"success", b"success"] and len(bodies) == 3
    assert "5项支持资金" in open_reply(bodies[0])["Content"]
    await asyncio.sleep(1.0)
    assert user_texts(servers, f"wecom:{userid}") == ["有哪些资金"]
    assert tencent_api.of(SEND) == []


@pytest.mark.e2e
async def test_a_slow_bot_gets_success_and_one_app_message(make_wecom, tencent_api, servers):  # noqa: F811
    client = await make_wecom(wechat_reply_deadline_s=0.001)
    userid = new_userid()
    inner = xml(wecom_message(userid, "你好"))
    answers = await asyncio.gather(*(post(client, *envelope(inner)) for _ in range(3)))
    assert answers == [(200, b"success")] * 3
    sends = await tencent_api.wait_for(SEND)
    await asyncio.sleep(1.5)
    assert len(tencent_api.of(SEND)) == 1
    sent = sends[0]["json"]
    assert (sent["touser"], sent["agentid"], sent["msgtype"]) == (userid, AGENT_ID, "text")
    assert "政策助手" in sent["text"]["content"]
    assert tencent_api.of("/cgi-bin/gettoken") == [{"path": "/cgi-bin/gettoken",
                                                     "query": {"corpid": CORP_ID, "corpsecret": SECRET}}]
    assert user_texts(servers, f"wecom:{userid}") == ["你好"]


# --- bad input ---------------------------------------------------------------------------------------------
def without(name: str, query: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return {k: v for k, v in query.items() if k != name}, body


OTHER_KEY = base64.b64encode(bytes(range(2, 34))).decode().rstrip("=")
BAD_INPUT = {
    "no msg_signature": (403, lambda u: without("msg_signature", *envelope(xml(wecom_message(u, "你好"))))),
    "wrong msg_signature": (403, lambda u: envelope(xml(wecom_message(u, "你好")), msg_signature="0" * 40)),
    "replay": (403, lambda u: envelope(xml(wecom_message(u, "你好")), timestamp=int(time.time()) - 3600)),
    "another CorpID": (400, lambda u: envelope(xml(wecom_message(u, "你好")), receive_id="wwffffffffffffffff")),
    "another key": (400, lambda u: envelope(xml(wecom_message(u, "你好")), key=OTHER_KEY)),
    "another AgentID": (400, lambda u: envelope(xml(wecom_message(u, "你好")), agent=1000099)),
    "plaintext body": (400, lambda u: ({k: v for k, v in signed_query(TOKEN, "").items() if k != "signature"},
                                       xml(wecom_message(u, "你好")))),
    "encrypted bomb": (400, lambda u: envelope(BILLION_LAUGHS.replace(b"bomb", u.encode()))),
    "bomb outside": (400, lambda u: ({k: v for k, v in signed_query(TOKEN, "").items() if k != "signature"},
                                     BILLION_LAUGHS)),
    "encrypted garbage": (400, lambda u: envelope(b"\x00\xff not xml")),
    "oversize body": (413, lambda u: envelope(xml(wecom_message(u, "长" * 20_000)))),
}


@pytest.mark.e2e
@pytest.mark.parametrize("case", BAD_INPUT)
async def test_bad_input_is_refused_with_a_logged_reason_and_reaches_nobody(wecom, servers, case, caplog):
    status, make = BAD_INPUT[case]
    userid = new_userid()
    query, body = make(userid)
    caplog.set_level(logging.WARNING)
    async with aiohttp.ClientSession() as fresh, \
            fresh.post(wecom.make_url("/wecom"), params=query, data=body) as resp:  # a refused upload closes it
        assert resp.status == status, await resp.text()
    assert f"refused with {status}" in caplog.text
    assert user_texts(servers, f"wecom:{userid}") == []
    assert (await wecom.get("/healthz")).status == 200


# --- mounting and the API client ---------------------------------------------------------------------------
async def test_the_channel_is_mounted_only_with_all_its_settings(aiohttp_client, caplog):
    caplog.set_level(logging.INFO)
    env = {"WECOM_TOKEN": TOKEN, "WECOM_CORP_ID": CORP_ID, "WECOM_AES_KEY": KEY, "WECOM_SECRET": SECRET}
    client = await aiohttp_client(create_app(Settings.from_env(env)))
    assert (await client.get("/wecom")).status == 404
    assert "channel wecom: not mounted: WECOM_AGENT_ID not set" in caplog.text
    create_app(Settings.from_env({**env, "WECOM_AGENT_ID": "abc"}))
    assert "WECOM_AGENT_ID is not a number" in caplog.text
    client = await aiohttp_client(create_app(Settings.from_env({**env, "WECOM_AGENT_ID": str(AGENT_ID)})))
    assert (await client.get("/wecom")).status == 403
    assert "channel wecom: mounted at /wecom: agent 1000002" in caplog.text
    assert (await client.get("/wechat")).status == 404  # the Official Account is separate


@pytest.mark.parametrize("how, errcode", [("revoke", 40014), ("expire", 42001)])
async def test_a_rejected_token_is_refreshed_and_the_call_retried_once(tencent_api, how, errcode):  # noqa: F811
    tencent_api.invalid_errcode = 40014  # WeCom's code for an invalid access_token
    async with aiohttp.ClientSession() as session:
        api = WeComApi(session, tencent_api.url, CORP_ID, SECRET, AGENT_ID)
        await asyncio.gather(api.send_text("u1", "一"), api.send_text("u2", "一"))
        getattr(tencent_api, how)()
        await api.send_text("u1", "二")
    sends = tencent_api.of(SEND)
    assert [c["errcode"] for c in sends] == [0, 0, errcode, 0]
    assert [c["query"]["access_token"] for c in sends] == ["token-1", "token-1", "token-1", "token-2"]
    assert len(tencent_api.of("/cgi-bin/gettoken")) == 2
    assert sends[-1]["json"] == {"touser": "u1", "msgtype": "text", "agentid": AGENT_ID, "text": {"content": "二"},
                                 "safe": 0}
