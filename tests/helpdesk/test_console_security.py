"""The console's security findings (issue 13): login limits, the cookie, console sockets, the queue flood."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from aiohttp import WSMsgType

from bot.app import create_app
from bot.helpdesk.console import LoginLimiter
from bot.helpdesk.service import HelpdeskService, utcnow

from ..conftest import ROOT
from ..gateway.conftest import WidgetClient
from .conftest import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture
async def console(aiohttp_client, hd_settings):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(hd_settings))


async def login(client, username: str = "alice", password: str = PASSWORD, **headers: str):  # type: ignore[no-untyped-def]
    return await client.post("/helpdesk/api/login", json={"username": username, "password": password},
                             headers=headers)


# --- staff login ---------------------------------------------------------------------------------------------

async def test_a_parallel_burst_of_wrong_passwords_gets_only_five_tries(console):
    statuses = await asyncio.gather(*(login(console, "bob", f"wrong-{i}") for i in range(20)))
    codes = sorted(r.status for r in statuses)
    assert codes.count(401) == 5 and codes.count(429) == 15, codes  # counted before the slow hash, not after
    assert (await login(console, "bob")).status == 429  # the name is locked out for the window


async def test_password_hashing_runs_in_its_own_small_pool(console, monkeypatch):
    from bot.helpdesk import service as service_module

    threads: set[str] = set()
    verify = service_module.PasswordHasher.verify

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        return verify(self, *args, **kwargs)

    monkeypatch.setattr(service_module.PasswordHasher, "verify", spy)
    assert (await login(console)).status == 200
    assert threads and all(name.startswith("argon2") for name in threads), threads


async def test_behind_a_trusted_proxy_the_limit_is_per_client_not_per_proxy(aiohttp_client, hd_settings):
    client = await aiohttp_client(create_app(dataclasses.replace(hd_settings, forwarded_allow_ips="127.0.0.1")))
    for i in range(5):
        assert (await login(client, f"nobody{i}", "nope", **{"X-Forwarded-For": "203.0.113.5"})).status == 401
    assert (await login(client, "nobody9", "nope", **{"X-Forwarded-For": "203.0.113.5"})).status == 429
    # every other staff member behind the same proxy still logs in
    assert (await login(client, "alice", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"})).status == 200


async def test_user_names_are_capped(console):
    assert (await login(console, "a" * 65, "x")).status == 400
    assert (await login(console, "a" * 10_000, "x")).status == 400


def test_the_limiter_table_expires_and_is_bounded(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("bot.helpdesk.console.time.monotonic", lambda: now[0])
    limiter = LoginLimiter(attempts=5, window=300, max_keys=100)
    for i in range(1000):
        limiter.attempt(f"user:{i}")
    assert len(limiter) <= 100
    now[0] += 301
    limiter.attempt("user:new")
    assert len(limiter) == 1


# --- the staff cookie and HSTS --------------------------------------------------------------------------------

async def test_the_staff_cookie_is_secure_by_default(aiohttp_client, hd_settings):
    client = await aiohttp_client(create_app(dataclasses.replace(hd_settings, helpdesk_cookie_secure=True)))
    resp = await login(client)
    assert resp.status == 200 and "Secure" in resp.headers["Set-Cookie"]
    plain = await aiohttp_client(create_app(hd_settings))  # HELPDESK_COOKIE_SECURE=false: plain-HTTP local use
    assert "Secure" not in (await login(plain)).headers["Set-Cookie"]


async def test_hsts_only_when_served_over_tls(aiohttp_client, hd_settings):
    client = await aiohttp_client(create_app(dataclasses.replace(hd_settings, forwarded_allow_ips="127.0.0.1")))
    assert "Strict-Transport-Security" not in (await client.get("/helpdesk")).headers
    tls = await client.get("/helpdesk", headers={"X-Forwarded-Proto": "https"})
    assert tls.headers["Strict-Transport-Security"].startswith("max-age=")
    untrusted = await aiohttp_client(create_app(hd_settings))  # a client cannot claim TLS itself
    assert "Strict-Transport-Security" not in (await untrusted.get("/helpdesk",
                                                                   headers={"X-Forwarded-Proto": "https"})).headers


# --- console websockets -----------------------------------------------------------------------------------------

async def test_logout_closes_the_sessions_console_socket(console):
    csrf = (await (await login(console)).json())["csrf"]
    ws = await console.ws_connect("/helpdesk/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "queue"
    assert (await console.post("/helpdesk/api/logout", headers={"X-CSRF-Token": csrf})).status == 200
    msg = await ws.receive(timeout=5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)


@pytest.mark.e2e  # runs `python -m bot …` as a process
async def test_staff_disable_revokes_sessions_and_their_sockets_close(console, hd_settings):
    csrf = (await (await login(console, "bob")).json())["csrf"]
    assert csrf
    ws = await console.ws_connect("/helpdesk/ws")
    await ws.receive_json(timeout=5)
    env = {**os.environ, "HELPDESK_DATABASE_URL": hd_settings.helpdesk_database_url,
           "DATABASE_URL": hd_settings.database_url}
    done = subprocess.run([sys.executable, "-m", "bot", "staff", "disable", "bob"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "1 session" in done.stderr
    assert (await console.get("/helpdesk/api/me")).status == 401
    assert (await login(console, "bob")).status == 401  # the password no longer opens it
    from bot.helpdesk.console import relay_key  # the gateway's sweep checks sessions every 30 s; do it now

    relay = console.server.app[relay_key]
    service = relay.service

    async def valid(token: str) -> bool:
        return await asyncio.to_thread(service.session, token) is not None

    await relay.notifier.check_sessions(valid)
    msg = await ws.receive(timeout=5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)


async def test_a_slow_console_does_not_stall_the_others():
    from bot.helpdesk.relay import StaffNotifier

    class Stuck:
        closed = False

        async def send_json(self, event):  # type: ignore[no-untyped-def]
            await asyncio.sleep(3600)

        async def close(self, **kwargs):  # type: ignore[no-untyped-def]
            self.closed = True

    class Quick:
        closed = False

        def __init__(self) -> None:
            self.got: list[dict] = []

        async def send_json(self, event):  # type: ignore[no-untyped-def]
            self.got.append(event)

    notifier = StaffNotifier(send_timeout_s=0.2)
    stuck, quick = Stuck(), Quick()
    notifier.add(stuck, "a")  # type: ignore[arg-type]
    notifier.add(quick, "b")  # type: ignore[arg-type]
    started = asyncio.get_running_loop().time()
    await notifier.broadcast({"type": "queue"})
    assert asyncio.get_running_loop().time() - started < 1.5
    assert quick.got == [{"type": "queue"}] and stuck.closed and len(notifier) == 1


# --- the helpdesk queue flood -------------------------------------------------------------------------------

async def ask_for_a_person(client) -> WidgetClient:  # type: ignore[no-untyped-def]
    w = WidgetClient(str(client.make_url("/")).rstrip("/"))
    await w.connect()
    await w.say("转人工")
    await w.wait_for("bot_uttered", until=lambda d: d.get("sender") == "system")
    return w


async def test_open_handoffs_are_capped_per_address(aiohttp_client, hd_settings):
    client = await aiohttp_client(create_app(dataclasses.replace(hd_settings, helpdesk_max_open_per_address=2)))
    users = [await ask_for_a_person(client) for _ in range(3)]
    assert "请求过多" not in users[0].of("bot_uttered")[-1]["text"]
    assert "请求过多" in users[2].of("bot_uttered")[-1]["text"]
    csrf = (await (await login(client)).json())["csrf"]
    assert csrf
    assert (await (await client.get("/helpdesk/api/queue")).json())["total"] == 2
    for w in users:
        await w.close()


async def test_the_queue_is_paginated(console, hd_settings):
    service = HelpdeskService.from_url(hd_settings.helpdesk_database_url)
    for i in range(7):
        service.enqueue(f"web:flood{i}", "web", "user_request", {})
    service.engine.dispose()
    await login(console)
    page = await (await console.get("/helpdesk/api/queue?limit=3&offset=3")).json()
    assert page["total"] == 7 and len(page["handoffs"]) == 3 and page["offset"] == 3
    assert [h["conversation_id"] for h in page["handoffs"]] == ["web:flood3", "web:flood4", "web:flood5"]
    assert len((await (await console.get("/helpdesk/api/queue")).json())["handoffs"]) == 7
    assert (await console.get("/helpdesk/api/queue?limit=x")).status == 400


async def test_queued_handoffs_expire_even_outside_working_hours(hd_settings):
    from bot.helpdesk.service import WorkingHours

    service = HelpdeskService.from_url(hd_settings.helpdesk_database_url)
    h = service.enqueue("web:old", "web", "user_request", {})
    never_open = WorkingHours(days=frozenset())  # outside working hours the timeout never hands it back…
    later = utcnow() + timedelta(hours=25)
    assert service.timed_out(later, timedelta(minutes=10), never_open) == []
    assert [x.id for x in service.expired(later, timedelta(hours=24))] == [h.id]  # …the expiry does
    assert service.expired(utcnow(), timedelta(hours=24)) == []
    service.engine.dispose()


async def test_queue_events_are_debounced(console, hd_settings):
    from bot.helpdesk.console import relay_key

    await login(console)
    ws = await console.ws_connect("/helpdesk/ws")
    await ws.receive_json(timeout=5)
    notifier = console.server.app[relay_key].notifier
    for _ in range(20):
        await notifier.queue_changed()
    await asyncio.sleep(notifier.debounce_s + 0.5)
    events = []
    while True:
        try:
            events.append(await ws.receive_json(timeout=0.3))
        except (asyncio.TimeoutError, TypeError):
            break
    assert events == [{"type": "queue"}]
