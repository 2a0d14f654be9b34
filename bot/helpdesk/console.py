"""The staff console at /helpdesk: login, queue, claim, live chat, canned replies, return to bot, close.

Security: every route but the page and login needs a staff session (an HttpOnly, SameSite=Strict cookie whose
hash is stored server-side); every state-changing request needs the session's CSRF token in ``X-CSRF-Token``;
the websocket checks the session and the Origin. Login attempts are rate-limited per address and per username.
Staff only ever see conversations that were handed off.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from bot.conversation.addresses import TrustedProxies
from bot.conversation.messages import clean_text
from bot.helpdesk.relay import HandoffRelay
from bot.helpdesk.service import CLOSED, RETURNED, HelpdeskError, StaffInfo, utcnow

COOKIE = "hd_session"
STATIC = Path(__file__).resolve().parent / "static"
MAX_REPLY_CHARS = 2000
QUEUE_PAGE = 50

relay_key = web.AppKey("handoff_relay", HandoffRelay)
canned_key = web.AppKey("canned_replies", object)  # callable: () -> Awaitable[list[dict]]


class LoginLimiter:
    """At most ``attempts`` logins per ``window`` seconds per address and per username that did not succeed.

    An attempt is counted *before* its password is checked (:meth:`attempt`), so a burst of parallel attempts
    cannot all get in before the first failure is recorded; a success gives its attempt back. Keys idle for a
    window are forgotten and at most ``max_keys`` are kept, so the table stays small whatever names are tried.
    """

    def __init__(self, attempts: int = 5, window: float = 300, max_keys: int = 10_000) -> None:
        self.attempts, self.window, self.max_keys = attempts, window, max_keys
        self._tries: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._tries.get(key) or deque()
        while q and q[0] < now - self.window:
            q.popleft()
        return q

    def _expire(self, now: float) -> None:
        while self._tries:
            key, q = next(iter(self._tries.items()))
            if q and q[-1] >= now - self.window and len(self._tries) <= self.max_keys:
                break
            del self._tries[key]

    def attempt(self, *keys: str) -> bool:
        """Count an attempt under every key; False (and nothing counted) when any key is used up."""
        now = time.monotonic()
        self._expire(now)
        if any(len(self._recent(k, now)) >= self.attempts for k in keys):
            return False
        for k in keys:
            q = self._recent(k, now)
            q.append(now)
            self._tries[k] = q
            self._tries.move_to_end(k)
        self._expire(now)
        return True

    def succeeded(self, *keys: str) -> None:
        """A good password: its attempt does not count against the address or the name."""
        for k in keys:
            q = self._tries.get(k)
            if q:
                q.pop()

    def __len__(self) -> int:
        return len(self._tries)


limiter_key = web.AppKey("login_limiter", LoginLimiter)
#: the client address a login counts against: the same as the gateway's rate limits (FORWARDED_ALLOW_IPS)
proxies_key = web.AppKey("login_proxies", TrustedProxies)
#: argon2 runs in a small pool of its own: a burst of logins must not take the default pool every user message needs
hash_pool_key = web.AppKey("password_hash_pool", ThreadPoolExecutor)
cookie_secure_key = web.AppKey("cookie_secure", bool)
MAX_USERNAME = 64


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
    if not username or len(username) > MAX_USERNAME:
        raise _json_error(web.HTTPBadRequest, f"a username has 1–{MAX_USERNAME} characters")
    if clean_text(username) != username or clean_text(password) != password:  # no database takes them
        raise _json_error(web.HTTPBadRequest, "control characters in username or password")
    limiter = request.app[limiter_key]
    keys = (f"ip:{request.app[proxies_key].client_ip(request)}", f"user:{username.lower()}")
    if not limiter.attempt(*keys):  # counted before the slow hash: a parallel burst gets no more tries
        raise _json_error(web.HTTPTooManyRequests, "too many attempts, try again later")
    relay = request.app[relay_key]
    loop = asyncio.get_running_loop()
    staff = await loop.run_in_executor(request.app[hash_pool_key], relay.service.authenticate, username, password)
    if staff is None:
        raise _json_error(web.HTTPUnauthorized, "wrong username or password")
    limiter.succeeded(*keys)
    token, csrf = await asyncio.to_thread(relay.service.create_session, staff)
    response = web.json_response({"staff": staff.as_dict(), "csrf": csrf})
    # Secure unless explicitly turned off for plain-HTTP local use (HELPDESK_COOKIE_SECURE=false): behind a TLS
    # proxy the request the gateway sees is plain HTTP, so request.secure would leave it off exactly there
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/helpdesk",
                        secure=request.app[cookie_secure_key] or request.secure, max_age=12 * 3600)
    return response


@routes.post("/helpdesk/api/logout")
async def logout(request: web.Request) -> web.Response:
    await _staff(request, write=True)
    token = request.cookies[COOKIE]
    await asyncio.to_thread(request.app[relay_key].service.end_session, token)
    await request.app[relay_key].notifier.close_session(token)  # its console sockets go with it
    response = web.json_response({"status": "ok"})
    response.del_cookie(COOKIE, path="/helpdesk")
    return response


@routes.get("/helpdesk/api/me")
async def me(request: web.Request) -> web.Response:
    relay = request.app[relay_key]
    found = await asyncio.to_thread(relay.service.session, request.cookies.get(COOKIE))
    if found is None:
        raise _json_error(web.HTTPUnauthorized, "login required")
    return web.json_response({"staff": found[0].as_dict(), "csrf": found[1]})


@routes.get("/helpdesk/api/queue")
async def queue(request: web.Request) -> web.Response:
    """Open handoffs, longest waiting first, a page at a time (``?limit=`` up to 200, ``?offset=``)."""
    await _staff(request)
    try:
        limit = min(max(int(request.query.get("limit", QUEUE_PAGE)), 1), 200)
        offset = max(int(request.query.get("offset", 0)), 0)
    except ValueError:
        raise _json_error(web.HTTPBadRequest, "limit and offset are numbers") from None
    service = request.app[relay_key].service
    items, total, names = await asyncio.to_thread(service.queue_page, limit, offset)
    now = utcnow()
    out = []
    for h in items:
        d = h.as_dict()
        d["waiting_s"] = max(0, int((now - h.created_at).total_seconds()))
        d["claimed_by_name"] = names.get(h.claimed_by) if h.claimed_by else None
        out.append(d)
    return web.json_response({"handoffs": out, "total": total, "limit": limit, "offset": offset})


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
    request.app[relay_key].notifier.add(ws, request.cookies[COOKIE])  # closed on logout, expiry, disable
    await ws.send_json({"type": "queue"})
    async for msg in ws:  # the console only listens; anything it sends is ignored
        if msg.type == WSMsgType.ERROR:
            break
    return ws


async def hash_pool_ctx(app: web.Application):  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2") as pool:
        app[hash_pool_key] = pool
        yield


def setup_console(app: web.Application, cookie_secure: bool = True, forwarded_allow_ips: str = "") -> None:
    app[limiter_key] = LoginLimiter()
    app[proxies_key] = TrustedProxies(forwarded_allow_ips)
    app[cookie_secure_key] = cookie_secure
    app.cleanup_ctx.append(hash_pool_ctx)
    app.add_routes(routes)
