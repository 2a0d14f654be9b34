"""The load client: simulated users holding multi-turn conversations over Socket.IO (the widget's protocol) and
WeChat (signed XML), a stand-in of Tencent's customer-service API, and the audit of every conversation's Rasa
tracker (each user turn present once, in order, each with a bot reply). The load suite (bench/load.py) and the
scale tests (tests/scale/) drive servers with it."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import aiohttp
import aiohttp.web
import socketio

from bench import faults
from bench.servers import SCRIPT
from bot.gateway.wechat_sim import WeChatUser
from bot.launcher import Servers

SORRY_MARK = "稍后再试"
#: capacity is measured here, not the per-address limits (every simulated user comes from 127.0.0.1)
NO_LIMITS = {"RATE_LIMIT_PER_IP_PER_MIN": "0", "RATE_LIMIT_PER_CONVERSATION_PER_MIN": "0",
             "RATE_LIMIT_CALLBACK_PER_IP_PER_MIN": "0", "RATE_LIMIT_SESSIONS_PER_IP_PER_MIN": "0"}
# Every port here is below 32768: Linux gives 32768–60999 to outgoing connections as source ports, and one of those
# in TIME_WAIT on a server's port stops the server from starting.
WECHAT_API_PORT = 29099  # the stand-in of Tencent's customer-service API, run by this script
WECHAT = {**NO_LIMITS, "WECHAT_TOKEN": "load-token", "WECHAT_APP_ID": "wxload0000000000", "WECHAT_APP_SECRET": "load-secret",
          "WECHAT_API_BASE": f"http://127.0.0.1:{WECHAT_API_PORT}", "WECHAT_MAX_SKEW_S": "0"}
TURN_TIMEOUT = 30.0
RETRY_AFTER_S = 2.0  # a user told "稍后再试" sends the message again after this long …
MAX_ATTEMPTS = 8  # … this many times at most
TENCENT_GAVE_UP = "（微信：该公众号暂时无法提供服务，请稍后再试）"
FAULT_RUN_S = 45.0  # with faults, users keep starting conversations until the fault timeline is over


class ApiRecorder:
    """A local stand-in for Tencent's customer-service message API, recording what each user was sent."""

    def __init__(self) -> None:
        self.sent: dict[str, list[str]] = {}
        self.changed = asyncio.Event()

    async def _token(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.json_response({"access_token": uuid.uuid4().hex, "expires_in": 7200})

    async def _send(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        data = await request.json()
        self.sent.setdefault(data["touser"], []).append((data.get("text") or {}).get("content", ""))
        self.changed.set()
        self.changed = asyncio.Event()
        return aiohttp.web.json_response({"errcode": 0, "errmsg": "ok"})

    async def wait(self, user: str, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.sent.get(user, [])) < count:
            if time.monotonic() >= deadline:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())
            except asyncio.TimeoutError:
                return False
        return True

    async def serve(self) -> aiohttp.web.AppRunner:
        app = aiohttp.web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        runner = aiohttp.web.AppRunner(app, access_log=None)
        await runner.setup()
        await aiohttp.web.TCPSite(runner, "127.0.0.1", WECHAT_API_PORT).start()
        return runner


@dataclass
class Conversation:
    conversation_id: str
    sent: list[str] = field(default_factory=list)  # each turn that got its answer, once, in order
    attempts: dict[str, int] = field(default_factory=dict)  # text → times sent (a "稍后再试" is sent again)
    latencies: list[float] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)  # perf_counter() when each reply came
    errors: int = 0  # turns given up: no reply at all, or "稍后再试" every time
    sorry: int = 0  # attempts answered "稍后再试"
    replies_missing: int = 0  # WeChat: messages whose reply never arrived
    replies_duplicated: int = 0  # WeChat: reply pieces delivered more than once

    async def turn(self, text: str, attempt: Callable[[str], Awaitable[str]]) -> None:
        """One turn as a person takes it: told to try again later, they send it again a little later."""
        for _ in range(MAX_ATTEMPTS):
            started = time.perf_counter()
            self.attempts[text] = self.attempts.get(text, 0) + 1
            try:
                reply = await attempt(text)
            except Exception:  # noqa: BLE001 - counted
                self.errors += 1
                return
            self.latencies.append(time.perf_counter() - started)
            self.answered_at.append(time.perf_counter())
            if SORRY_MARK not in reply:
                self.sent.append(text)
                return
            self.sorry += 1
            await asyncio.sleep(RETRY_AFTER_S)
        self.errors += 1


class WebUser:
    """One widget user: sends a message and waits for its reply. When the gateway drops, it reconnects (to the next
    gateway, with the same session) and, like a person looking at the restored history, takes the reply from there
    if the message was answered, or sends the message again if it was not (``resent`` counts those)."""

    def __init__(self, gateways: list[str]) -> None:
        self.gateways = gateways
        self.gateway_index = 0
        self.session_id = uuid.uuid4().hex
        self.sio: socketio.AsyncClient | None = None
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.history: list[dict[str, Any]] = []
        self.resent = 0

    async def connect(self) -> None:
        for attempt in range(len(self.gateways) * 3):
            url = self.gateways[(self.gateway_index + attempt) % len(self.gateways)]
            sio = socketio.AsyncClient(reconnection=False)
            sio.on("bot_uttered", self._on_reply)
            sio.on("session_history", self._on_history)
            sio.on("disconnect", self._on_disconnect)
            self.history = []
            try:
                await sio.connect(url, transports=["websocket"], wait_timeout=5)
                await sio.call("session_request", {"session_id": self.session_id, "rich": True}, timeout=10)
            except Exception:  # noqa: BLE001 - that gateway is down: the next one
                await discard(sio)
                await asyncio.sleep(0.3)
                continue
            self.sio, self.gateway_index = sio, (self.gateway_index + attempt) % len(self.gateways)
            return
        raise ConnectionError("no gateway reachable")

    async def _on_reply(self, data: dict[str, Any]) -> None:
        fut = self.replies.get(data.get("in_reply_to", ""))
        if fut is not None and not fut.done():
            fut.set_result(data)

    async def _on_history(self, data: dict[str, Any]) -> None:
        self.history = list((data or {}).get("messages") or [])

    async def _on_disconnect(self) -> None:
        for fut in self.replies.values():
            if not fut.done():
                fut.set_exception(ConnectionError("the gateway went away"))
                fut.exception()  # seen here: say() may be between two awaits and never look

    def _answer_in_history(self, text: str) -> dict[str, Any] | None:
        """The reply to ``text`` if it is the last thing the user said in the restored history and was answered."""
        users = [i for i, m in enumerate(self.history) if m.get("sender") == "user"]
        if not users or self.history[users[-1]].get("text") != text:
            return None
        after = [m for m in self.history[users[-1] + 1:] if m.get("text")]
        return after[0] if after else None

    async def say(self, text: str) -> dict[str, Any]:
        deadline = time.monotonic() + TURN_TIMEOUT
        sent = False
        while time.monotonic() < deadline:
            message_id = uuid.uuid4().hex[:16]
            fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self.replies = {message_id: fut}
            try:
                if self.sio is None or not self.sio.connected:
                    await self.connect()
                    await asyncio.sleep(0.3)  # the restored history arrives
                    if sent:
                        answered = self._answer_in_history(text)
                        if answered is not None:
                            return answered
                        self.resent += 1
                assert self.sio is not None
                sent = True
                await self.sio.call("user_uttered", {"message": text, "session_id": self.session_id,
                                                     "customData": {"message_id": message_id}}, timeout=10)
                return await asyncio.wait_for(asyncio.shield(fut), timeout=max(0.1, deadline - time.monotonic()))
            except (socketio.exceptions.SocketIOError, ConnectionError, asyncio.TimeoutError, OSError):
                if fut.done() and fut.exception() is None:
                    return fut.result()
                if self.sio is not None:
                    await discard(self.sio)
                self.sio = None
                self.gateway_index += 1
                await asyncio.sleep(0.5)
        raise TimeoutError(text)

    async def close(self) -> None:
        if self.sio is not None:
            await discard(self.sio)


async def discard(sio: socketio.AsyncClient) -> None:
    """Disconnect a client and close its HTTP session, whatever state it is in."""
    try:
        await sio.disconnect()
    except Exception:  # noqa: BLE001 - it may be half-connected to a dead gateway
        pass
    http = getattr(sio.eio, "http", None)
    if http is not None and not http.closed:
        await http.close()


def web_conversation_id(session_id: str) -> str:
    """The gateway names a widget conversation by a keyed hash of the session id (the id is the user's secret)."""
    from bot.gateway.channels.web import derive_user_id
    from bot.settings import local_secret

    return derive_user_id(session_id, os.environ.get("WEB_SESSION_KEY") or local_secret("web_session_key"))


async def web_conversation(gateways: list[str]) -> Conversation:
    user = WebUser(gateways)
    conv = Conversation(f"web:{web_conversation_id(user.session_id)}")

    async def attempt(text: str) -> str:
        resent = user.resent
        try:
            return (await user.say(text)).get("text") or ""
        finally:
            conv.attempts[text] += user.resent - resent  # sent again after a lost gateway: attempts too

    try:
        for text in SCRIPT:
            await conv.turn(text, attempt)
    finally:
        await user.close()
    return conv


async def wechat_conversation(gateways: list[str], session: aiohttp.ClientSession, api: ApiRecorder) -> Conversation:
    users = [WeChatUser(f"{g}/wechat", WECHAT["WECHAT_TOKEN"], WECHAT["WECHAT_APP_ID"]) for g in gateways]
    openid = users[0].openid
    for u in users:
        u.openid = openid
    conv = Conversation(f"wechat:{openid}")
    first = itertools.count()

    async def attempt(text: str) -> str:
        fields = users[0].message(text=text)  # a new MsgId: the user typed it again
        seen = len(api.sent.get(openid, []))
        start = next(first)
        for n in range(len(users) * 3):  # Tencent retries the same MsgId; behind a balancer, maybe elsewhere
            try:
                passive = await users[(start + n) % len(users)].send(session, fields)
                break
            except Exception:  # noqa: BLE001 - that gateway is down: Tencent's retry
                await asyncio.sleep(0.5)
        else:  # Tencent gives up after its retries and tells the user itself
            return TENCENT_GAVE_UP
        if passive is None and not await api.wait(openid, seen + 1, TURN_TIMEOUT):
            conv.replies_missing += 1
            raise TimeoutError(text)
        if passive is None or len(passive.encode("utf-8")) > 1000:  # a piece split off at 2048 bytes may follow
            await asyncio.sleep(0.3)
        pushed = api.sent.get(openid, [])[seen:]
        delivered = ([passive] if passive is not None else []) + pushed
        conv.replies_duplicated += len(delivered) - len(set(delivered))
        return delivered[0]

    for text in SCRIPT:
        await conv.turn(text, attempt)
    return conv

def audit(servers: Servers, conversations: list[Conversation], problems: list[str] | None = None) -> dict[str, int]:
    """Compare what each user sent with the Rasa tracker: lost, duplicated, reordered, unanswered turns.

    A turn answered "稍后再试" and sent again may be in the tracker once per attempt (the failed attempt is logged
    with the "稍后再试" the user saw) but must be there at least once per answer and at most once per attempt."""
    import urllib.request
    from urllib.parse import quote

    result = {"turns": 0, "lost": 0, "duplicated": 0, "reordered": 0, "unanswered": 0}
    base = servers.config.rasa_urls()[0] if servers.config.instances > 1 else servers.config.rasa_url
    for conv in conversations:
        url = f"{base}/conversations/{quote(conv.conversation_id, safe=':')}/tracker?token={servers.token}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            events = json.loads(resp.read())["events"]
        users = [(i, e.get("text")) for i, e in enumerate(events) if e["event"] == "user"]
        texts = [t for _, t in users]
        result["turns"] += len(conv.sent)
        found: list[tuple[str, str]] = []
        for text in set(conv.attempts) | set(texts):
            if conv.sent.count(text) > texts.count(text):
                found.append(("lost", text))
            if texts.count(text) > conv.attempts.get(text, 0):
                found.append(("duplicated", text))
        logged = list(dict.fromkeys(t for t in texts if t in conv.attempts))  # first appearances, in order
        if logged != [t for t in conv.attempts if t in logged]:
            found.append(("reordered", " / ".join(logged)))
        for n, (i, text) in enumerate(users):
            end = users[n + 1][0] if n + 1 < len(users) else len(events)
            if not any(e["event"] == "bot" for e in events[i:end]):
                found.append(("unanswered", text or ""))
        for kind, text in found:
            result[kind] += 1
            if problems is not None:
                problems.append(f"{kind}: {conv.conversation_id} {text!r} (sent {conv.attempts.get(text, 0)}×, "
                                f"answered {conv.sent.count(text)}×, in the tracker {texts.count(text)}×)")
    return result

async def run_load(servers: Servers, gateways: list[str], users: int, conversations: int,
                   faults_on: bool) -> tuple[dict[str, float], list[Conversation], list[str]]:
    notes: list[str] = []
    started = time.perf_counter()
    api = ApiRecorder()
    api_runner = await api.serve()

    finished: list[float] = []

    async def one_user(n: int, session: aiohttp.ClientSession) -> list[Conversation]:
        out: list[Conversation] = []
        for k in itertools.count():
            if k >= conversations and (not faults_on or time.perf_counter() - started >= FAULT_RUN_S):
                break
            if n % 5 == 4:  # one user in five is on WeChat
                out.append(await wechat_conversation(gateways, session, api))
            else:
                out.append(await web_conversation(gateways[n % len(gateways):] + gateways[:n % len(gateways)]))
        finished.append(time.perf_counter())
        return out

    def note(text: str) -> None:
        notes.append(f"t+{time.perf_counter() - started:.0f}s {text}")

    async def bring_back(name: str, after: float) -> None:
        await asyncio.sleep(after)
        seconds = await asyncio.to_thread(servers.restart, name)
        note(f"{name} back ({seconds:.1f}s from its restart to answering)")

    async def scaled_faults() -> None:
        back: list[asyncio.Task[None]] = []
        await asyncio.sleep(4)
        servers.kill("rasa-2")
        note("killed rasa-2; the gateways fail over to the other Rasa server")
        back.append(asyncio.create_task(bring_back("rasa-2", 6)))
        await asyncio.sleep(4)
        servers.kill("gateway-2")
        note("killed gateway-2; its users reconnect to the other gateway and re-send")
        back.append(asyncio.create_task(bring_back("gateway-2", 4)))
        await asyncio.sleep(4)
        servers.kill("actions-2")
        note("killed actions-2; turns needing it fail until it is back")
        back.append(asyncio.create_task(bring_back("actions-2", 4)))
        await asyncio.sleep(8)
        seconds = await asyncio.to_thread(faults.restart_postgres)
        note(f"restarted PostgreSQL ({seconds:.1f}s until it answered again)")
        await asyncio.sleep(6)
        await asyncio.to_thread(faults.stop_redis)
        note("stopped Redis")
        await asyncio.sleep(5)
        await asyncio.to_thread(faults.start_redis)
        note("started Redis again")
        await asyncio.gather(*back)

    async def embedded_faults() -> None:
        await asyncio.sleep(4)
        servers.kill("actions")
        note("killed the action server")
        await bring_back("actions", 4)
        await asyncio.sleep(4)
        servers.kill("rasa")
        note("killed Rasa")
        await bring_back("rasa", 2)
        await asyncio.sleep(4)
        servers.kill("gateway")
        note("killed the gateway; users reconnect when it is back and re-send")
        await bring_back("gateway", 2)

    async def inject_faults() -> None:
        await (scaled_faults() if servers.config.instances > 1 else embedded_faults())

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT)) as session:
            tasks = [one_user(n, session) for n in range(users)]
            if faults_on:
                results = await asyncio.gather(*tasks, inject_faults())
                results = results[:-1]
            else:
                results = await asyncio.gather(*tasks)
    finally:
        await api_runner.cleanup()
    elapsed = time.perf_counter() - started
    convs = [c for r in results for c in r]
    lat = sorted(x * 1000 for c in convs for x in c.latencies)
    wechat = [c for c in convs if c.conversation_id.startswith("wechat:")]
    # messages/s while every user was still talking (the first to finish ends the window), so the last user's
    # tail does not count as load
    window = min(finished) - started
    in_window = sum(1 for c in convs for t in c.answered_at if t - started <= window)
    figures = {
        "messages": float(len(lat)), "seconds": elapsed, "msg_per_s": in_window / window,
        "median_ms": statistics.median(lat) if lat else 0.0,
        "p95_ms": lat[int(0.95 * (len(lat) - 1))] if lat else 0.0,
        "p99_ms": lat[int(0.99 * (len(lat) - 1))] if lat else 0.0,
        "errors": float(sum(c.errors for c in convs)), "sorry": float(sum(c.sorry for c in convs)),
        "wechat_messages": float(sum(sum(c.attempts.values()) for c in wechat)),
        "wechat_missing": float(sum(c.replies_missing for c in wechat)),
        "wechat_duplicated": float(sum(c.replies_duplicated for c in wechat)),
    }
    return figures, convs, notes
