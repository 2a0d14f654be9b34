"""The WeChat (/wechat) and WeCom (/wecom) callbacks with random queries and bytes, signed garbage, XML bombs,
invalid UTF-8, control characters and injection in messages: only 2xx/4xx, and nothing from a refused request
reaches the bot."""

from __future__ import annotations

import re
import time
import uuid
from xml.sax.saxutils import escape

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from ..gateway.tencent_standin import BILLION_LAUGHS, XXE, sha1_sorted, signed_query, tencent_encrypt
from .conftest import (
    AES_KEY,
    FUZZ,
    WECHAT_APP_ID,
    WECHAT_TOKEN,
    WECOM_CORP_ID,
    WECOM_TOKEN,
    Raw,
    assert_up,
    nasty_text,
    user_events,
)

pytestmark = pytest.mark.e2e

QUERY_KEYS = ["signature", "timestamp", "nonce", "echostr", "openid", "encrypt_type", "msg_signature"]
queries = st.dictionaries(st.sampled_from(QUERY_KEYS), st.text(max_size=60), max_size=6)
BOMBS = [Raw(b) for b in (
    BILLION_LAUGHS, XXE,
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "' + b"x" * 20000 + b'">]><xml><Content>&a;&a;&a;</Content></xml>',
    b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/evil.dtd"><xml><MsgType>text</MsgType></xml>',
    b"<xml>" + b"<a>" * 12000 + b"</a>" * 12000 + b"</xml>",
    b"<xml>" + b"<F>x</F>" * 5000 + b"</xml>",
    b'<?xml version="1.0" encoding="UTF-16"?><xml/>', "<xml/>".encode("utf-16"),
    b"<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><Content>\xff\xfe\xed\xa0\x80</Content>"
    b"<MsgId>1</MsgId></xml>",
    b"<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><Content>a\x00b\x1b</Content></xml>",
    b"<xml><Content>&#0;&#xD800;</Content></xml>", b"<?xml-stylesheet href='x'?><xml/>", b"<xml", b"", b"\x00" * 100,
    b"<xml><![CDATA[" + b"]]>" * 1000, b"<ns:xml xmlns:ns='x'/>", b"<xml>" + b"x" * (64 * 1024) + b"</xml>",
)]


XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # what Tencent never sends


def _openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


def _field(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>"


def usually(valid: st.SearchStrategy[str], other: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Three examples in four get past the envelope, so the bot sees what is inside."""
    return st.integers(0, 3).flatmap(lambda i: other if i == 0 else valid)


messages = st.fixed_dictionaries(
    {"FromUserName": usually(st.just("FRESH"), st.text(max_size=70)),
     "MsgType": usually(st.just("text"), st.sampled_from(["event", "voice", "image", ""]) | st.text(max_size=8)),
     "Content": nasty_text.map(lambda t: XML_ILLEGAL.sub("", t)) | nasty_text | st.text(min_size=2001, max_size=2100),
     "MsgId": usually(st.integers(0, 10**18).map(str), st.text(max_size=70))},
    optional={"CreateTime": st.integers(0, 2**40).map(str) | st.text(max_size=15), "Event": st.text(max_size=20),
              "Recognition": nasty_text, "AgentID": st.sampled_from(["1000002", "1", "x"])})


def _wechat_request(fields: dict[str, str], mode: str) -> tuple[str, dict[str, str], bytes, str]:
    """(path, query, body, openid) for a message as Tencent would send it in ``mode``."""
    openid = _openid() if fields["FromUserName"] == "FRESH" else fields["FromUserName"]
    inner = ("<xml>" + "".join(_field(k, openid if k == "FromUserName" else v) for k, v in fields.items())
             + "</xml>").encode("utf-8", "surrogatepass")
    if mode == "plain":
        return "/wechat", signed_query(WECHAT_TOKEN), inner, openid
    receive_id, token, path = ((WECHAT_APP_ID, WECHAT_TOKEN, "/wechat") if mode == "aes"
                               else (WECOM_CORP_ID, WECOM_TOKEN, "/wecom"))
    encrypted = tencent_encrypt(AES_KEY, receive_id, inner)
    query = signed_query(token, encrypted)
    if mode == "aes":
        query["encrypt_type"] = "aes"
    else:
        del query["signature"]
    return path, query, f"<xml><ToUserName>x</ToUserName><Encrypt>{encrypted}</Encrypt></xml>".encode(), openid


@FUZZ
@given(path=st.sampled_from(["/wechat", "/wecom"]), query=queries, method=st.sampled_from(["GET", "POST"]),
       body=st.binary(max_size=2048) | st.sampled_from(BOMBS))
async def test_unsigned_requests_with_random_queries_and_bodies_are_refused_with_a_4xx(fuzz_gateway, path, query,
                                                                                       method, body):
    async with fuzz_gateway.request(method, path, params=query, data=body if method == "POST" else None) as resp:
        event(f"{method} {resp.status}")
        assert 400 <= resp.status < 500, (method, path, query, resp.status)


@FUZZ
@given(mode=st.sampled_from(["plain", "aes", "wecom"]), body=st.binary(max_size=2048) | st.sampled_from(BOMBS))
async def test_signed_garbage_and_xml_bombs_are_400_or_413_and_the_gateway_stays_up(fuzz_gateway, fuzz_plain_gateway,
                                                                                    mode, body):
    if mode == "plain":
        fuzz_gateway = fuzz_plain_gateway
        path, query, data = "/wechat", signed_query(WECHAT_TOKEN), bytes(body)
    else:  # the garbage is what decrypts out of a correctly signed, correctly encrypted envelope
        path, query, data, _ = _wechat_request({"FromUserName": "FRESH", "MsgType": "text", "Content": "x",
                                               "MsgId": "1"}, mode)
        receive_id = WECHAT_APP_ID if mode == "aes" else WECOM_CORP_ID
        token = WECHAT_TOKEN if mode == "aes" else WECOM_TOKEN
        encrypted = tencent_encrypt(AES_KEY, receive_id, bytes(body))
        query = {**query, "msg_signature": sha1_sorted(token, query["timestamp"], query["nonce"], encrypted)}
        data = f"<xml><Encrypt>{encrypted}</Encrypt></xml>".encode()
    started = time.monotonic()
    async with fuzz_gateway.post(path, params=query, data=data) as resp:
        event(f"{mode} {resp.status}")
        assert resp.status in (400, 413), (mode, body, resp.status, await resp.text())
    assert time.monotonic() - started < 5  # no entity expansion or network fetch
    await assert_up(fuzz_gateway)


@FUZZ
@given(fields=messages, mode=st.sampled_from(["plain", "aes", "wecom"]))
async def test_signed_messages_with_random_fields_are_answered_or_refused_and_refusals_reach_nobody(
        fuzz_gateway, fuzz_plain_gateway, servers, fields, mode):
    if mode == "plain":
        fuzz_gateway = fuzz_plain_gateway
    path, query, body, openid = _wechat_request(fields, mode)
    conversation = f"{path.strip('/')}:{openid}"
    looked_at = 0 < len(openid) <= 64 and openid.strip() == openid and "/" not in openid
    before = len(user_events(servers, conversation)) if looked_at else 0
    async with fuzz_gateway.post(path, params=query, data=body) as resp:
        raw = await resp.read()
        event(f"{mode} {resp.status}")
        assert resp.status in (200, 400, 403), (path, fields, resp.status, raw[:200])
    if not looked_at:
        return  # no conversation to look at
    said = [e["text"] for e in user_events(servers, conversation)]
    if resp.status != 200:
        assert len(said) == before  # refused: nothing reached the bot
    elif fields["FromUserName"] == "FRESH" and fields["MsgType"] == "text" and said:
        assert 0 < len(fields["Content"].strip()) <= 2000
        expected = fields["Content"].replace("\r\n", "\n").replace("\r", "\n").strip()
        if expected.startswith("/"):
            expected = "／" + expected[1:]  # typed intent syntax reaches Rasa as text (only offered buttons pass)
        assert said == [expected]  # as text


async def test_valid_url_verification_echoes_injection_as_plain_text(fuzz_gateway):
    echo = "<script>alert(1)</script>'; DROP TABLE events; --"
    resp = await fuzz_gateway.get("/wechat", params={**signed_query(WECHAT_TOKEN), "echostr": echo})
    assert resp.status == 200 and await resp.text() == echo
    assert resp.headers["Content-Type"].startswith("text/plain") and resp.headers["X-Content-Type-Options"] == "nosniff"
