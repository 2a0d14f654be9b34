"""The staff console at /helpdesk: login, queue, claim, live chat, canned replies, return to bot, close.

Security: every route but the page and login needs a staff session (an HttpOnly, SameSite=Strict cookie whose
hash is stored server-side); every state-changing request needs the session's CSRF token in ``X-CSRF-Token``;
the websocket checks the session and the Origin. Login attempts are rate-limited per address and per username.
Staff only ever see conversations that were handed off.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from bot.gateway.messages import clean_text
from bot.helpdesk.relay import HandoffRelay
from bot.helpdesk.service import CLOSED, RETURNED, HelpdeskError, StaffInfo, utcnow

COOKIE = "hd_session"
STATIC = Path(__file__).resolve().parent / "static"
MAX_REPLY_CHARS = 2000

relay_key = web.AppKey("handoff_relay", HandoffRelay)
canned_key = web.AppKey("canned_replies", object)  # callable: () -> Awaitable[list[dict]]


class LoginLimiter:
    """At most ``attempts`` failed logins per ``window`` seconds per address and per username."""

    def __init__(self, attempts: int = 5, window: float = 300) -> None:
        self.attempts, self.window = attempts, window
        self._fails: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        q = self._fails[key]
        while q and q[0] < time.monotonic() - self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        return any(len(self._recent(k)) >= self.attempts for k in keys)

    def fail(self, *keys: str) -> None:
        for k in keys:
            self._recent(k).append(time.monotonic())


limiter_key = web.AppKey("login_limiter", LoginLimiter)


def _json_error(status: type[web.HTTPException], reason: str) -> web.HTTPException:
    return status(text=f'{{"error": "{reason}"}}', content_type="application/json")


async def _staff(request: web.Request, *, write: bool = False) -> StaffInfo:
    relay = request.app[relay_key]
    found = await asyncio.to_thread(relay.service.session, request.cookies.get(COOKIE))
    if found is None:
        raise _json_error(web.HTTPUnauthorized, "login required")
    staff, csrf = found
    if write and request.headers.get("X-CSRF-Token") != csrf:
        raise _json_error(web.HTTPForbidden, "missing or wrong CSRF token")
    return staff


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise _json_error(web.HTTPUnsupportedMediaType, "send JSON")
    try:
        data = await request.json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep for the parser
        raise _json_error(web.HTTPBadRequest, "malformed JSON") from None
    if not isinstance(data, dict):
        raise _json_error(web.HTTPBadRequest, "expected a JSON object")
    return data


def _handoff_id(request: web.Request) -> int:
    try:
        value = int(request.match_info["handoff_id"])
    except ValueError:
        raise _json_error(web.HTTPBadRequest, "bad handoff id") from None
    if not 0 < value < 2**31:  # beyond any id the database holds (and beyond SQLite's integers)
        raise _json_error(web.HTTPNotFound, "no such handoff")
    return value


routes = web.RouteTableDef()


@routes.get("/helpdesk")
async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "console.html", headers={
        "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'",
        "X-Frame-Options": "DENY"})


@routes.get("/helpdesk/console.js")
async def script(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "console.js", headers={"Content-Type": "application/javascript; charset=utf-8"})


@routes.post("/helpdesk/api/login")
async def login(request: web.Request) -> web.Response:
    data = await _body(request)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or len(password) > 256:
        raise _json_error(web.HTTPBadRequest, "username and password required")
    if clean_text(username) != username or clean_text(password) != password:  # no database takes them
        raise _json_error(web.HTTPBadRequest, "control characters in username or password")
    limiter = request.app[limiter_key]
    keys = (f"ip:{request.remote}", f"user:{username.lower()}")
    if limiter.blocked(*keys):
        raise _json_error(web.HTTPTooManyRequests, "too many attempts, try again later")
    relay = request.app[relay_key]
    staff = await asyncio.to_thread(relay.service.authenticate, username, password)
    if staff is None:
        limiter.fail(*keys)
        raise _json_error(web.HTTPUnauthorized, "wrong username or password")
    token, csrf = await asyncio.to_thread(relay.service.create_session, staff)
    response = web.json_response({"staff": staff.__dict__, "csrf": csrf})
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/helpdesk",
                        secure=request.secure, max_age=12 * 3600)
    return response


@routes.post("/helpdesk/api/logout")
async def logout(request: web.Request) -> web.Response:
    await _staff(request, write=True)
    await asyncio.to_thread(request.app[relay_key].service.end_session, request.cookies[COOKIE])
    response = web.json_response({"status": "ok"})
    response.del_cookie(COOKIE, path="/helpdesk")
    return response


@routes.get("/helpdesk/api/me")
async def me(request: web.Request) -> web.Response:
    relay = request.app[relay_key]
    found = await asyncio.to_thread(relay.service.session, request.cookies.get(COOKIE))
    if found is None:
        raise _json_error(web.HTTPUnauthorized, "login required")
    return web.json_response({"staff": found[0].__dict__, "csrf": found[1]})


@routes.get("/helpdesk/api/queue")
async def queue(request: web.Request) -> web.Response:
    await _staff(request)
    service = request.app[relay_key].service
    items = await asyncio.to_thread(service.queue)
    now = utcnow()
    out = []
    for h in items:
        d = h.as_dict()
        d["waiting_s"] = max(0, int((now - h.created_at).total_seconds()))
        d["claimed_by_name"] = await asyncio.to_thread(service.staff_name, h.claimed_by) if h.claimed_by else None
        out.append(d)
    return web.json_response({"handoffs": out})


@routes.get("/helpdesk/api/handoffs/{handoff_id}")
async def detail(request: web.Request) -> web.Response:
    await _staff(request)
    relay = request.app[relay_key]
    handoff = await asyncio.to_thread(relay.service.get, _handoff_id(request))
    if handoff is None:  # only handed-off conversations exist here
        raise _json_error(web.HTTPNotFound, "no such handoff")
    messages = await asyncio.to_thread(relay.service.messages, handoff.id)
    try:
        transcript = [e.__dict__ | {"buttons": [b.__dict__ for b in e.buttons]}
                      for e in await relay.rasa.history(handoff.conversation_id)]
    except Exception:  # noqa: BLE001 - the card still shows what the helpdesk database has
        transcript = []
    return web.json_response({"handoff": handoff.as_dict(), "messages": [m.as_dict() for m in messages],
                              "transcript": transcript})


async def _transition(request: web.Request, action: Callable[[HandoffRelay, int, StaffInfo, dict[str, Any]],
                                                              Awaitable[Any]]) -> web.Response:
    staff = await _staff(request, write=True)
    data = await _body(request) if request.can_read_body else {}
    try:
        result = await action(request.app[relay_key], _handoff_id(request), staff, data)
    except HelpdeskError as exc:
        raise web.HTTPConflict(text=f'{{"error": "{exc}"}}', content_type="application/json") from None
    return web.json_response(result.as_dict() if hasattr(result, "as_dict") else result)


@routes.post("/helpdesk/api/handoffs/{handoff_id}/claim")
async def claim(request: web.Request) -> web.Response:
    return await _transition(request, lambda relay, hid, staff, _: relay.claim(hid, staff))


@routes.post("/helpdesk/api/handoffs/{handoff_id}/messages")
async def reply(request: web.Request) -> web.Response:
    async def send(relay: HandoffRelay, hid: int, staff: StaffInfo, data: dict[str, Any]) -> Any:
        text = data.get("text")
        if not isinstance(text, str) or not clean_text(text).strip():
            raise _json_error(web.HTTPBadRequest, "text required")
        if len(text) > MAX_REPLY_CHARS:
            raise _json_error(web.HTTPRequestEntityTooLarge, f"at most {MAX_REPLY_CHARS} characters")
        return await relay.staff_reply(hid, staff, clean_text(text).strip())
    return await _transition(request, send)


@routes.post("/helpdesk/api/handoffs/{handoff_id}/return")
async def hand_back(request: web.Request) -> web.Response:
    return await _transition(request, lambda relay, hid, staff, _: relay.hand_back(hid, staff, RETURNED))


@routes.post("/helpdesk/api/handoffs/{handoff_id}/close")
async def close(request: web.Request) -> web.Response:
    async def done(relay: HandoffRelay, hid: int, staff: StaffInfo, data: dict[str, Any]) -> Any:
        note = data.get("resolution")
        if not isinstance(note, str) or not clean_text(note).strip() or len(note) > 2000:
            raise _json_error(web.HTTPBadRequest, "a resolution note (1–2000 characters) is required")
        return await relay.hand_back(hid, staff, CLOSED, clean_text(note).strip())
    return await _transition(request, done)


@routes.get("/helpdesk/api/canned")
async def canned(request: web.Request) -> web.Response:
    await _staff(request)
    return web.json_response({"replies": await request.app[canned_key]()})  # type: ignore[operator]


@routes.get("/helpdesk/ws")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    await _staff(request)
    origin = request.headers.get("Origin")
    if origin and origin.split("://", 1)[-1] != request.host:
        raise _json_error(web.HTTPForbidden, "cross-origin websocket refused")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    await ws.prepare(request)
    request.app[relay_key].notifier.add(ws)
    await ws.send_json({"type": "queue"})
    async for msg in ws:  # the console only listens; anything it sends is ignored
        if msg.type == WSMsgType.ERROR:
            break
    return ws


def setup_console(app: web.Application) -> None:
    app[limiter_key] = LoginLimiter()
    app.add_routes(routes)
