"""The widget's socket: Engine.IO polling and websocket transports with random bytes, and the Socket.IO events
session_request / user_uttered with random JSON. Refused messages reach nobody; accepted ones come back as text."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import aiohttp
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from bot.gateway.hub import SORRY
from bot.conversation.messages import clean_text

from ..gateway.conftest import WidgetClient
from .conftest import FUZZ, NASTY, assert_up, deep_json, json_values, nasty_text, user_events

pytestmark = pytest.mark.e2e

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


async def _polling_sid(client) -> str:  # type: ignore[no-untyped-def]
    resp = await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
    assert resp.status == 200
    return json.loads((await resp.text())[1:])["sid"]


engineio_payload = st.one_of(
    st.binary(max_size=1024),
    st.text(max_size=300).map(str.encode),
    st.sampled_from([b"40", b"42", b"42[", b'42["user_uttered"]', b'42["session_request",{"session_id":null}]',
                     b"4" + b"\x1e4" * 50, b"\x1e\x1e\x1e", b"b" + b"A" * 100, b"6", b"1", b"3probe",
                     ('42["user_uttered",' + deep_json(5000) + "]").encode(), b"42" + deep_json(20000).encode(),
                     '42["user_uttered",{"message":"\ud800"}]'.encode("utf-8", "surrogatepass"),
                     b'42["user_uttered",{"message":"\xff\xfe"}]']),
    json_values.map(lambda v: ("42" + json.dumps(["user_uttered", v])).encode()),
)


polling_params = st.dictionaries(st.sampled_from(["EIO", "transport", "t", "b64", "j", "sid"]), st.text(max_size=12),
                                 max_size=3)


@FUZZ
@given(body=engineio_payload, params=polling_params)
async def test_polling_requests_with_random_bodies_are_never_5xx(fuzz_gateway, body, params):
    sid = await _polling_sid(fuzz_gateway)
    # bounded: a request that happened to long-poll a live session must not hang the example
    bounded = aiohttp.ClientTimeout(total=40)
    try:
        async with fuzz_gateway.post("/socket.io/", params={"EIO": "4", "transport": "polling", "sid": sid, **params},
                                     data=body, timeout=bounded) as resp:
            assert resp.status < 500, (body[:80], params, resp.status)
    except asyncio.TimeoutError:
        # python-engineio now and then holds a polling POST on a live session when the machine is loaded (2 of 4
        # full runs, never alone): not a 5xx; the gateway must still answer everything below
        pass
    # a GET with a live sid long-polls (up to the 25 s ping interval): only random ones here
    random_sid = {k: v for k, v in params.items() if k != "sid"}
    async with fuzz_gateway.get("/socket.io/", params={"transport": "polling", **random_sid, "sid": sid[::-1]},
                                timeout=bounded) as resp:
        assert resp.status < 500, (params, resp.status)
    async with fuzz_gateway.get("/socket.io/", params=random_sid, timeout=bounded) as resp:
        assert resp.status < 500, (params, resp.status)
    await assert_up(fuzz_gateway)


@FUZZ
@given(frames=st.lists(engineio_payload.map(lambda b: b.decode("utf-8", "replace")) | st.binary(max_size=256),
                       min_size=1, max_size=4))
async def test_websocket_frames_with_random_content_never_take_the_gateway_down(fuzz_gateway, frames):
    async with fuzz_gateway.session.ws_connect(fuzz_gateway.make_url("/socket.io/?EIO=4&transport=websocket"),
                                              autoping=False) as ws:
        opened = await ws.receive(timeout=5)
        assert opened.type == aiohttp.WSMsgType.TEXT and opened.data.startswith("0")
        for frame in ["40", *frames]:
            if ws.closed:
                break
            try:
                await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
            except ConnectionResetError:
                break
        try:
            await ws.receive(timeout=0.2)
        except asyncio.TimeoutError:
            pass
    await assert_up(fuzz_gateway)


@FUZZ
@given(data=json_values)
async def test_session_requests_with_random_data_get_a_valid_session(fuzz_gateway, data):
    client = WidgetClient(str(fuzz_gateway.make_url("/")).rstrip("/"))
    await client.sio.connect(client.url, transports=["websocket"], socketio_path="socket.io")
    try:
        ack = await client.sio.call("session_request", data, timeout=10)
        assert ack["status"] == "ok" and SESSION_ID.match(ack["session_id"])
        requested = data.get("session_id") if isinstance(data, dict) else None
        if requested != ack["session_id"]:
            assert client.of("session_history") == []  # nobody else's history for a bad id
    finally:
        await client.close()


@pytest.fixture
async def widget_session(fuzz_gateway):  # type: ignore[no-untyped-def]
    client = WidgetClient(str(fuzz_gateway.make_url("/")).rstrip("/"))
    await client.connect()
    yield client
    await client.close()


user_uttered = st.one_of(
    json_values,
    st.fixed_dictionaries({"message": json_values}),
    st.fixed_dictionaries({"message": nasty_text, "customData": json_values}),
    st.fixed_dictionaries({"message": st.text(min_size=2001, max_size=2100)}),
    st.fixed_dictionaries({"message": nasty_text, "customData": st.fixed_dictionaries(
        {"message_id": st.text(max_size=70), "display": json_values})}),
)


@FUZZ
@given(data=user_uttered)
async def test_user_uttered_with_random_data_is_refused_or_answered_and_refusals_reach_nobody(
        fuzz_gateway, widget_session, servers, data):
    w = widget_session
    conversation = w.conversation_id
    before = len(user_events(servers, conversation))
    errors_before = len(w.of("error"))
    ack = await w.sio.call("user_uttered", data, timeout=10)
    assert isinstance(ack, dict) and ack["status"] in ("ok", "ignored", "error", "duplicate"), ack
    event(f"{ack['status']} {ack.get('code', '')}")
    if ack["status"] == "ok":
        mid = ack.get("message_id")
        if mid is not None:
            await w.wait_for("bot_uttered", until=lambda d: d.get("in_reply_to") == mid, timeout=30)
        else:
            await _wait_for_events(servers, conversation, before + 1)
        said = user_events(servers, conversation)
        assert len(said) == before + 1
        assert said[-1]["text"] == clean_text(data["message"]).strip()  # what was typed, as text
    else:
        await asyncio.sleep(0.05)
        assert len(user_events(servers, conversation)) == before, (data, ack)  # refused or ignored: not stored
        if ack["status"] == "error":
            error = (await w.wait_for("error", count=errors_before + 1))[-1]
            assert set(error) >= {"code", "message"} and error["code"] == ack["code"]


async def _wait_for_events(servers, conversation: str, count: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(300):
        if len(user_events(servers, conversation)) >= count:
            return
        await asyncio.sleep(0.1)


@FUZZ
@given(text=st.sampled_from(NASTY) | nasty_text.filter(lambda t: any(c in t for c in "<>'\"&")))
async def test_injected_text_is_stored_and_replayed_as_the_same_text(fuzz_gateway, servers, text):
    if not clean_text(text).strip():
        return
    w = WidgetClient(str(fuzz_gateway.make_url("/")).rstrip("/"))
    await w.connect()
    try:
        mid = uuid.uuid4().hex
        assert (await w.say(text, message_id=mid))["status"] == "ok"
        reply = await w.wait_for("bot_uttered", until=lambda d: d.get("in_reply_to") == mid, timeout=30)
        assert isinstance(reply[0].get("text", ""), str)
        again = WidgetClient(w.url)  # a reload: the history replays what the user typed, character for character
        await again.connect(w.session_id)
        history = (await again.wait_for("session_history"))[0]["messages"]
        await again.close()
        assert [m["text"] for m in history if m["sender"] == "user"] == [clean_text(text).strip()]
    finally:
        await w.close()


async def test_every_nasty_string_is_answered_and_replayed_as_the_same_text(fuzz_gateway, servers):
    w = WidgetClient(str(fuzz_gateway.make_url("/")).rstrip("/"))
    await w.connect()
    try:
        for i, text in enumerate(NASTY):
            assert (await w.say(text, message_id=f"n{i}"))["status"] == "ok", text
            reply = await w.wait_for("bot_uttered", until=lambda d, mid=f"n{i}": d.get("in_reply_to") == mid)
            assert reply[0].get("text") != SORRY, text  # answered by the bot, not "try again later"
        said = [e["text"] for e in user_events(servers, w.conversation_id)]
        assert said == [clean_text(t).strip() for t in NASTY]  # control characters dropped, nothing else
    finally:
        await w.close()
