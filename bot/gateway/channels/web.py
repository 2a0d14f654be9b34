"""The website widget's channel: the Socket.IO protocol of Rasa's own socketio channel (and the widgets built on it).

Client → server: ``session_request {session_id}``, ``user_uttered {message, session_id, customData}``.
Server → client: ``session_confirm <session_id>``, ``bot_uttered``, and, which stock clients ignore,
``session_history {messages}`` (the transcript after a reload) and ``error {code, message}``.

``bot_uttered`` by default is exactly what Rasa 3.6's ``rasa/core/channels/socketio.py`` emits, so a stock client
(``rasa-webchat``, …) renders it: one event per text part (split at blank lines), ``{"text": …}``, or with buttons
``{"text": …, "quick_replies": […]}`` (the buttons on the last part, ``[]`` on the others), nothing added. Our
citations and the materials checklist reach such a client as plain text lines (``来源：…``, ``☐ …``). A client that
sends ``rich: true`` in its ``session_request`` (the project's widget) gets one richer event per bot message
instead: ``{sender, text, quick_replies, custom, in_reply_to}``.

The session id lives in the browser and is a bearer secret: whoever presents it reads the history and writes as
the user. So it is never used as such outside this module: the conversation id is ``web:<keyed hash of it>``
(``WEB_SESSION_KEY``), and that is what Rasa, the logs and the staff console see. Every socket of a session joins
the session's room (named by the hashed id), so a reloaded page or a second tab sees the replies; a socket holds
one session at a time. ``user_uttered`` is acknowledged as soon as it is accepted; a message re-sent after a
reconnect (same ``customData.message_id``) is acknowledged again but handled once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import socketio
from redis.exceptions import RedisError

from bot.conversation.addresses import TrustedProxies
from bot.gateway import logs
from bot.gateway.channel import Admit, admit_all
from bot.gateway.channels.socketio_redis import LocalFirstRedisManager
from bot.gateway.hub import SORRY, Hub
from bot.conversation.messages import BotMessage, HistoryEntry, UserMessage, clean_text
from bot.gateway.ratelimit import RATE_LIMITED
from bot.settings import Settings, local_secret

log = logging.getLogger(__name__)

CHANNEL = "web"
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SEEN_PER_CONVERSATION = 256
SEEN_CONVERSATIONS = 20000  # message ids are remembered for this many recent conversations
SOURCE_PREFIX = "依据："  # the actions' source line; a stock client gets 来源： lines instead
RICH, STOCK = "rich", "stock"


def derive_user_id(session_id: str, key: str) -> str:
    """The conversation's user id for a widget session id: a keyed hash, so neither Rasa, the logs nor staff ever
    hold the browser's secret, and nobody can go from a conversation id back to it."""
    return hmac.new(key.encode(), session_id.encode(), hashlib.sha256).hexdigest()[:32]


def bot_payload(message: BotMessage) -> dict[str, Any]:
    """The rich event (our widget, which opted in)."""
    payload: dict[str, Any] = {"sender": message.sender}
    if message.text:
        payload["text"] = message.text
    if message.buttons:
        payload["quick_replies"] = [{"content_type": "text", "title": b.title, "payload": b.payload}
                                    for b in message.buttons]
    if message.custom:
        payload["custom"] = message.custom
    return payload


def plain_text(message: BotMessage) -> str:
    """A bot message as text only: citations as 来源： lines, a materials checklist as ☐ lines."""
    text = (message.text or "").strip()
    custom = message.custom or {}
    items = [i for i in custom.get("items") or [] if isinstance(i, dict)]
    extra: list[str] = []
    if custom.get("type") == "citations":
        cites = list(dict.fromkeys(str(i["citation"]) for i in items if i.get("citation")))
        if cites:
            text = "\n".join(line for line in text.split("\n") if not line.startswith(SOURCE_PREFIX)).strip()
            extra = [f"来源：{c}" for c in cites]
    elif custom.get("type") == "materials" and "☐" not in text:
        extra = [f"☐ {i.get('name', '')}" + ("（待申报指南确认）" if i.get("source") == "typical" else "")
                 for i in items if i.get("name")]
    return "\n".join(part for part in (text, "\n".join(extra)) if part)


def stock_payloads(message: BotMessage) -> list[dict[str, Any]]:
    """What Rasa 3.6's socketio channel emits for this message (send_text_message / send_text_with_buttons)."""
    text = plain_text(message)
    if not message.buttons:
        return [{"text": part} for part in text.split("\n\n")] if text else []
    parts: list[dict[str, Any]] = [{"text": part, "quick_replies": []} for part in text.split("\n\n")]
    parts[-1]["quick_replies"] = [{"content_type": "text", "title": b.title, "payload": b.payload}
                                  for b in message.buttons]
    return parts


def history_payload(entry: HistoryEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["quick_replies"] = [{"content_type": "text", **b} for b in data.pop("buttons")]
    return {k: v for k, v in data.items() if v not in (None, [], {})}


class WebChannel:
    """The widget's channel (bot/gateway/channel.py): users connect over Socket.IO themselves."""

    name = CHANNEL
    callback = False

    def __init__(self, hub: Callable[[], Hub], *, session_key: str, max_chars: int = 2000,
                 allowed_origins: str | list[str] = "*", socketio_path: str = "socket.io",
                 redis_url: str | None = None, proxies: TrustedProxies | None = None) -> None:
        if not session_key:
            raise ValueError("the web channel needs a session key (WEB_SESSION_KEY)")
        self._hub = hub  # looked up when needed: the hub is built when the app starts
        self._key = session_key
        self.max_chars = max_chars
        self.path = socketio_path
        # With several gateways, Socket.IO's Redis manager carries emits to a session's sockets on any instance,
        # and message ids are de-duplicated in Redis, so a re-send to another instance is still handled once.
        # With Redis down, this instance's own sockets still get their replies and ids are checked locally.
        manager = LocalFirstRedisManager(redis_url) if redis_url else None
        self._redis_url = redis_url
        self._redis: Any = None
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=allowed_origins,
                                        max_http_buffer_size=64 * 1024, logger=False, engineio_logger=False,
                                        client_manager=manager)
        self._sessions: dict[str, tuple[str, str]] = {}  # sid → (user id = hashed session id, RICH | STOCK)
        self._seen: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()  # recent conversations first out
        self._tasks: set[asyncio.Task[None]] = set()
        # rate limits (bot/gateway/ratelimit.py): (the socket's HTTP request, conversation id) → None or why not
        self.admit: Admit = admit_all
        # session_request per client address: (the socket's HTTP request) → allowed
        self.admit_session: Callable[[Any], bool] | None = None
        self._proxies = proxies or TrustedProxies("")  # the user's address, behind trusted proxies
        self.sio.on("connect", self.on_connect)
        self.sio.on("disconnect", self.on_disconnect)
        self.sio.on("session_request", self.on_session_request)
        self.sio.on("user_uttered", self.on_user_uttered)

    def routes(self) -> list[str]:
        return [f"/{self.path}/"]

    def attach(self, app: Any) -> None:
        self.sio.attach(app, socketio_path=self.path)

    def user_id(self, session_id: str) -> str:
        return derive_user_id(session_id, self._key)

    def conversation_id(self, session_id: str) -> str:
        return f"{CHANNEL}:{self.user_id(session_id)}"

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        return True

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._sessions.pop(sid, None)

    async def _error(self, sid: str, code: str, message: str, **extra: Any) -> dict[str, Any]:
        log.info("web %s: rejected (%s): %s", sid, code, message)
        await self.sio.emit("error", {"code": code, "message": message, **extra}, to=sid)
        return {"status": "error", "code": code}

    async def _room(self, sid: str, room: str, enter: bool) -> None:
        done = (self.sio.enter_room if enter else self.sio.leave_room)(sid, room)
        if inspect.isawaitable(done):  # python-socketio ≥ 5.10 made them coroutines
            await done

    async def on_session_request(self, sid: str, data: Any = None) -> dict[str, Any]:
        request = (self.sio.get_environ(sid) or {}).get("aiohttp.request")
        if self.admit_session is not None and not self.admit_session(request):
            return await self._error(sid, "rate_limited", RATE_LIMITED)
        requested = data.get("session_id") if isinstance(data, dict) else None
        session_id = requested if isinstance(requested, str) and SESSION_ID.match(requested) else uuid.uuid4().hex
        style = RICH if isinstance(data, dict) and data.get("rich") is True else STOCK
        user = self.user_id(session_id)
        previous = self._sessions.get(sid)
        if previous is not None:  # one session per socket: it leaves the room of the one it held
            await self._room(sid, f"{previous[0]}:{previous[1]}", enter=False)
        self._sessions[sid] = (user, style)
        await self._room(sid, f"{user}:{style}", enter=True)
        await self.sio.emit("session_confirm", session_id, to=sid)
        if session_id == requested:
            history = await self._hub().history(f"{CHANNEL}:{user}")
            await self.sio.emit("session_history", {"messages": [history_payload(h) for h in history]}, to=sid)
        return {"status": "ok", "session_id": session_id}

    async def on_user_uttered(self, sid: str, data: Any = None) -> dict[str, Any]:
        session = self._sessions.get(sid)
        if session is None:
            return await self._error(sid, "no_session", "请先建立会话（session_request）。")
        user = session[0]
        conversation_id = f"{CHANNEL}:{user}"
        logs.conversation_id.set(conversation_id)  # on this event's log lines (its own task)
        if not isinstance(data, dict):
            return await self._error(sid, "bad_request", "消息格式不正确。")
        text = data.get("message")
        if text is None:  # a stock widget's unset initPayload when it opens a new session: nothing to answer
            return {"status": "ignored"}
        if not isinstance(text, str):
            return await self._error(sid, "bad_request", "消息内容必须是文字。")
        text = clean_text(text).strip()
        if not text:
            return {"status": "ignored"}
        if len(text) > self.max_chars:
            return await self._error(sid, "too_long", f"消息过长（最多{self.max_chars}字），请精简或分几次发送。",
                                     max=self.max_chars)
        custom = data.get("customData") if isinstance(data.get("customData"), dict) else {}
        message_id = custom.get("message_id")
        if message_id is not None and not (isinstance(message_id, str) and MESSAGE_ID.match(message_id)):
            return await self._error(sid, "bad_request", "message_id 格式不正确。")
        request = (self.sio.get_environ(sid) or {}).get("aiohttp.request")
        if self.admit(request, conversation_id) is not None:
            return await self._error(sid, "rate_limited", RATE_LIMITED)  # not marked seen: a re-send may go later
        if message_id is not None and await self._seen_before(conversation_id, message_id):
            return {"status": "duplicate", "message_id": message_id}
        display = custom.get("display")
        metadata = {"display": display[:200]} if isinstance(display, str) and display.strip() else {}
        address = self._proxies.client_ip(request) if request is not None else ""
        message = UserMessage(conversation_id, CHANNEL, text, message_id, metadata, client_address=address)
        task = asyncio.create_task(self._reply(user, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"status": "ok", "message_id": message_id}

    async def _seen_before(self, conversation_id: str, message_id: str) -> bool:
        if not self._redis_url:
            return self._already_seen(conversation_id, message_id)
        if self._redis is None:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(self._redis_url, socket_connect_timeout=1, socket_timeout=1)
        local = self._already_seen(conversation_id, message_id)  # kept too, for when Redis is away
        try:
            first = await self._redis.set(f"zgc:web:seen:{conversation_id}:{message_id}", 1, nx=True, ex=24 * 3600)
        except (RedisError, OSError) as exc:
            log.warning("web %s: Redis unavailable for de-duplication (%s); checked on this instance only",
                        conversation_id, exc)
            return local
        return not first

    def _already_seen(self, conversation_id: str, message_id: str) -> bool:
        seen = self._seen.setdefault(conversation_id, OrderedDict())
        self._seen.move_to_end(conversation_id)
        while len(self._seen) > SEEN_CONVERSATIONS:
            self._seen.popitem(last=False)
        if message_id in seen:
            return True
        seen[message_id] = None
        while len(seen) > SEEN_PER_CONVERSATION:
            seen.popitem(last=False)
        return False

    async def _reply(self, user: str, message: UserMessage) -> None:
        try:
            replies = await self._hub().handle(message)
        except Exception:  # never let one conversation's failure take the gateway down
            log.exception("web %s: handling failed", message.conversation_id)
            replies = [BotMessage(text=SORRY)]
        await self.deliver(user, replies, in_reply_to=message.message_id)

    async def deliver(self, user: str, replies: list[BotMessage], in_reply_to: str | None = None) -> None:
        """Send messages to every open socket of a conversation (``user``: the hashed session id), each in the
        format it asked for (the hub calls this for staff messages too)."""
        for reply in replies:
            payload = bot_payload(reply)
            if in_reply_to:
                payload["in_reply_to"] = in_reply_to
            await self.sio.emit("bot_uttered", payload, room=f"{user}:{RICH}")
            for part in stock_payloads(reply):
                await self.sio.emit("bot_uttered", part, room=f"{user}:{STOCK}")

    async def drain(self) -> None:
        """Wait for replies still being worked on (used at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def from_settings(settings: Settings, hub: Callable[[], Hub]) -> tuple[WebChannel, str]:
    """The widget's channel, always mounted."""
    origins = "*" if settings.allowed_origins == "*" else [o.strip() for o in settings.allowed_origins.split(",")]
    channel = WebChannel(hub, session_key=settings.web_session_key or local_secret("web_session_key"),
                         max_chars=settings.max_message_chars, allowed_origins=origins,
                         redis_url=settings.redis_url or None, proxies=TrustedProxies(settings.forwarded_allow_ips))
    return channel, f"mounted at /{channel.path} (the widget)"
