"""The staff console API with random JSON, bytes, ids and headers, and SQL/HTML injection in messages and staff
replies: only 2xx/4xx, nothing stored from a refused request, and injected text comes back as the same text."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from bot.conversation.messages import clean_text
from bot.helpdesk.service import HelpdeskService

from ..gateway.conftest import WidgetClient
from .conftest import FUZZ, NASTY, PASSWORD, Raw, assert_up, deep_json, json_values, nasty_text

pytestmark = pytest.mark.e2e

bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({}, optional={"username": nasty_text | st.sampled_from(["alice", "ALICE"]),
                                        "password": nasty_text, "text": nasty_text | json_values,
                                        "resolution": nasty_text | json_values}).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=512),
    st.sampled_from([Raw(b) for b in (
        deep_json(30000).encode(), b'{"text": ' + deep_json(20000).encode() + b"}", b'{"text": "\xff\xfe"}',
        b'{"text": "\\ud800"}', b'{"text": "a\\u0000b"}', b'{"resolution": "\\udfff"}', b"", b"null",
        b'{"username": "alice", "password": ' + b'"x"' * 3 + b"}", b"1e999999", b'"' + b"x" * 60000 + b'"',
        b'{"username": "\\ud800", "password": "x"}', b'{"username": "alice\\u0000", "password": "x"}')]),
)
content_types = st.sampled_from(["application/json"] * 4 + ["application/json; charset=latin-1", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""])
ids = st.one_of(st.integers(-2**70, 2**70).map(str), st.text(max_size=30), st.just("THE_HANDOFF"),
                st.sampled_from(["99999999999999999999999", "1e3", "0x10", "١٢", "1 ", "%00", "..", "-0", "९"]))


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())  # noqa: S608 - fixed names
    finally:
        engine.dispose()


async def _login(client) -> str:  # type: ignore[no-untyped-def]
    resp = await client.post("/helpdesk/api/login", json={"username": "alice", "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["csrf"]


@FUZZ
@given(body=bodies, content_type=content_types)
async def test_login_with_random_bodies_is_refused_with_a_4xx_and_creates_nothing(fuzz_gateway, fuzz_settings, body,
                                                                                  content_type):
    url = fuzz_settings.helpdesk_database_url
    before = (_count(url, "helpdesk_staff"), _count(url, "helpdesk_sessions"))
    resp = await fuzz_gateway.post("/helpdesk/api/login", data=body, headers={"Content-Type": content_type})
    event(str(resp.status))
    assert 400 <= resp.status < 500, (body[:100], content_type, resp.status)
    assert resp.headers["Content-Type"].startswith(("application/json", "text/plain"))
    assert (_count(url, "helpdesk_staff"), _count(url, "helpdesk_sessions")) == before
    assert "Set-Cookie" not in resp.headers


@pytest.fixture
async def staff(fuzz_gateway, fuzz_settings):  # type: ignore[no-untyped-def]
    """A logged-in staff member, and a handoff claimed by them for a widget that is connected."""
    csrf = await _login(fuzz_gateway)
    widget = WidgetClient(str(fuzz_gateway.make_url("/")).rstrip("/"))
    await widget.connect()
    service = HelpdeskService.from_url(fuzz_settings.helpdesk_database_url)
    handoff = service.enqueue(widget.conversation_id, "web", "user_request", {"need": "<b>融资</b>"})
    service.engine.dispose()
    resp = await fuzz_gateway.post(f"/helpdesk/api/handoffs/{handoff.id}/claim", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    yield {"csrf": csrf, "handoff": handoff.id, "widget": widget}
    await widget.close()


@FUZZ
@given(action=st.sampled_from(["claim", "messages", "return", "close"]), handoff_id=ids, body=bodies,
       content_type=content_types, csrf=st.sampled_from(["right", "wrong", "none"]))
async def test_console_writes_with_random_ids_bodies_and_tokens_are_never_5xx(fuzz_gateway, fuzz_settings, staff,
                                                                             action, handoff_id, body, content_type,
                                                                             csrf):
    url = fuzz_settings.helpdesk_database_url
    before = _count(url, "helpdesk_messages")
    headers = {"Content-Type": content_type}
    if csrf != "none":
        headers["X-CSRF-Token"] = staff["csrf"] if csrf == "right" else "x" + staff["csrf"]
    path = f"/helpdesk/api/handoffs/{handoff_id.replace('THE_HANDOFF', str(staff['handoff']))}/{action}"
    try:
        resp = await fuzz_gateway.post(path, data=body, headers=headers)
    except ValueError:  # an id aiohttp's client will not put in a URL
        return
    event(f"{action} {resp.status}")
    assert resp.status < 500, (path, body[:100], content_type, resp.status)
    if resp.status >= 400:
        assert _count(url, "helpdesk_messages") == before  # a refused request stores nothing
        assert (await resp.read()) is not None
    await assert_up(fuzz_gateway)


@FUZZ
@given(path=st.sampled_from(["/helpdesk/api/me", "/helpdesk/api/queue", "/helpdesk/api/canned",
                             "/helpdesk/api/handoffs/{}", "/helpdesk/ws"]), handoff_id=ids,
       cookie=st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=";,"), max_size=80))
async def test_console_reads_with_random_ids_and_cookies_are_never_5xx(fuzz_gateway, path, handoff_id, cookie):
    try:
        resp = await fuzz_gateway.get(path.format(handoff_id), headers={"Cookie": f"hd_session={cookie}"})
    except ValueError:
        return
    assert resp.status < 500 and resp.status in (400, 401, 403, 404), (path, handoff_id, resp.status)


@FUZZ
@given(reply=st.sampled_from(NASTY) | nasty_text)
async def test_staff_replies_with_injection_come_back_as_the_same_text(fuzz_gateway, fuzz_settings, staff, reply):
    hid, widget = staff["handoff"], staff["widget"]
    before = _count(fuzz_settings.helpdesk_database_url, "helpdesk_messages")
    resp = await fuzz_gateway.post(f"/helpdesk/api/handoffs/{hid}/messages", json={"text": reply},
                                   headers={"X-CSRF-Token": staff["csrf"]})
    if not clean_text(reply).strip():
        assert resp.status == 400 and _count(fuzz_settings.helpdesk_database_url, "helpdesk_messages") == before
        return
    assert resp.status == 200, (reply, resp.status, await resp.text())
    expected = (await resp.json())["text"]
    assert expected == clean_text(reply).strip()
    seen = await widget.wait_for("bot_uttered", until=lambda d: d.get("sender") == "staff" and d["text"] == expected)
    assert set(seen[0]) <= {"sender", "text", "in_reply_to"}  # plain JSON: text, no markup field
    detail = await fuzz_gateway.get(f"/helpdesk/api/handoffs/{hid}")
    assert detail.headers["Content-Type"].startswith("application/json")
    assert detail.headers["X-Content-Type-Options"] == "nosniff"
    assert (await detail.json())["messages"][-1]["text"] == expected


async def test_user_messages_with_injection_reach_staff_as_the_same_text(fuzz_gateway, staff):
    hid, widget = staff["handoff"], staff["widget"]
    for i, said in enumerate(NASTY):
        assert (await widget.say(said, message_id=f"u{i}"))["status"] == "ok"
    for _ in range(100):
        detail = await (await fuzz_gateway.get(f"/helpdesk/api/handoffs/{hid}")).json()
        users = [m["text"] for m in detail["messages"] if m["sender"] == "user"]
        if len(users) >= len(NASTY):
            break
        await asyncio.sleep(0.1)
    assert users == [clean_text(s).strip() for s in NASTY]


async def test_a_close_note_with_injection_is_kept_as_text(fuzz_gateway, staff):
    note = "已处理 <script>alert('x')</script>'; DROP TABLE helpdesk_handoffs; --"
    resp = await fuzz_gateway.post(f"/helpdesk/api/handoffs/{staff['handoff']}/close", json={"resolution": note},
                                   headers={"X-CSRF-Token": staff["csrf"]})
    assert resp.status == 200 and (await resp.json())["resolution"] == note
    detail = await (await fuzz_gateway.get(f"/helpdesk/api/handoffs/{staff['handoff']}")).json()
    assert detail["handoff"]["resolution"] == note
    assert (await fuzz_gateway.get("/helpdesk/api/queue")).status == 200  # the tables are all still there
