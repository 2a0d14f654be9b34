"""What the Official Account and WeCom callbacks share: the 5-second rule, retries, menus, the API fallback.

Tencent POSTs each user message to the callback URL and waits 5 seconds; without an answer it drops the
connection and sends the same message again (three times in all). So:

* each message becomes one *turn* (keyed by MsgId; events by FromUserName+CreateTime) that every retry shares;
  the bot is asked once;
* a request waits for its turn's reply until the deadline (default 4.5 s). The reply is delivered exactly once:
  passively, in the HTTP answer of the first request that sees it ready; or, when a request's deadline passes
  first (or every waiting request has gone away), through the message API, and every request answers "success";
* text beyond the first 2048 bytes goes through the message API after the passive part.

Subclasses (``wechat.py``, ``wecom.py``) only say how a request is verified and opened.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.gateway.channels.tencent_api import TencentApi, TencentApiError
from bot.gateway.channels.wxcrypto import SignatureError, WxCrypto, WxProtocolError, build_xml, check_signature, seal
from bot.gateway.channels.wxtext import TEXT_LIMIT_BYTES, MenuBook, render, split_utf8
from bot.gateway import logs
from bot.gateway.hub import SORRY, Hub
from bot.gateway.messages import BotMessage, UserMessage
from bot.gateway.ratelimit import RATE_LIMITED

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")  # an OpenID or a WeCom UserID
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TIMESTAMP = re.compile(r"^\d{1,12}$")
SUCCESS = "success"  # "received, no passive reply" in Tencent's protocol
WELCOME = ("您好，欢迎关注！我是中关村政策助手，可以帮您找对口的支持资金、判断申报资格、列出要准备的材料。"
           "直接发文字提问就行，比如“有哪些资金”“我们能申请吗”。")
TEXT_ONLY = "抱歉，我暂时只能看懂文字消息，请发送文字描述您的问题。"

Work = Callable[[], Coroutine[Any, Any, list[str]]]  # works out the reply to one message, as text pieces


class BodyTooLarge(WxProtocolError):
    pass


@dataclass(frozen=True)
class Inbound:
    """A verified callback request's message, and the crypto to seal the reply with (None: plaintext)."""

    fields: dict[str, str]
    crypto: WxCrypto | None = None


class Turn:
    """One user message's handling, shared by Tencent's retries of it."""

    def __init__(self, task: asyncio.Task[list[str]]) -> None:
        self.task = task
        self.waiting = 0  # requests waiting for the reply
        self.route: str | None = None  # "passive" or "api", once decided


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(f"body of {request.content_length} bytes, limit {limit}")
    body = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"body over {limit} bytes")
    return bytes(body)


def _nonce() -> str:
    return str(secrets.randbelow(10**10))


class TencentCallback:
    name = ""  # the channel name, and the conversation id prefix

    def __init__(self, hub: Callable[[], Hub], *, token: str, deadline_s: float = 4.5, max_skew_s: int = 300,
                 max_chars: int = 2000, max_turns: int = 4096, text_limit: int = TEXT_LIMIT_BYTES) -> None:
        self._hub = hub  # looked up when needed: the hub is built when the app starts
        self.token = token
        self.deadline_s = deadline_s
        self.max_skew_s = max_skew_s
        self.max_chars = max_chars
        self.text_limit = text_limit  # bytes per text message
        self.menus = MenuBook()
        self._turns: OrderedDict[str, Turn] = OrderedDict()
        self._latest: OrderedDict[str, asyncio.Task[list[str]]] = OrderedDict()  # each user's latest turn
        self._max_turns = max_turns
        self._tasks: set[asyncio.Task[None]] = set()
        self.api: TencentApi | None = None
        self.admit: Callable[[str], bool] | None = None  # per-conversation rate limit (bot/gateway/ratelimit.py)

    # --- what a subclass provides -------------------------------------------------------------------------
    def make_api(self, session: aiohttp.ClientSession) -> TencentApi:
        raise NotImplementedError

    def verify_url(self, query: dict[str, str]) -> str:
        """The GET URL verification: check it and return the text to answer with."""
        raise NotImplementedError

    def before_body(self, query: dict[str, str]) -> None:
        """Checks that need no body (a plain signature is checked here, before anything is read)."""

    def open(self, query: dict[str, str], body: bytes) -> Inbound:
        raise NotImplementedError

    # --- shared protocol pieces ---------------------------------------------------------------------------
    def check_plain_signature(self, query: dict[str, str]) -> None:
        check_signature(query.get("signature"), self.token, query.get("timestamp", ""), query.get("nonce", ""))
        self.check_fresh(query)

    def check_fresh(self, query: dict[str, str]) -> None:
        """Reject replays: a (signed) timestamp more than max_skew_s away from now. 0 turns this off."""
        if not self.max_skew_s:
            return
        stamp = query.get("timestamp", "")
        if not TIMESTAMP.match(stamp):
            raise WxProtocolError("timestamp is not a number")
        if abs(time.time() - int(stamp)) > self.max_skew_s:
            raise SignatureError(f"timestamp {stamp} is more than {self.max_skew_s} s away (replay?)")

    def attach(self, app: web.Application, path: str) -> None:
        app.router.add_get(path, self.get)
        app.router.add_post(path, self.post)
        app.cleanup_ctx.append(self.context)

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            self.api = self.make_api(session)
            register = getattr(self._hub(), "register_channel", None)
            if register is not None:  # a hub that pushes messages outside a turn (staff replies) uses push()
                register(self.name, self.push)
            yield
            await self.drain()
            self.api = None

    def _refuse(self, request: web.Request, exc: Exception) -> web.Response:
        status = 403 if isinstance(exc, SignatureError) else 413 if isinstance(exc, BodyTooLarge) else 400
        log.warning("%s: %s %s refused with %d: %s", self.name, request.method, request.path, status, exc)
        return web.Response(status=status, text={403: "forbidden", 413: "too large"}.get(status, "bad request"))

    # --- HTTP handlers ------------------------------------------------------------------------------------
    async def get(self, request: web.Request) -> web.Response:
        try:
            echo = self.verify_url(dict(request.query))
        except WxProtocolError as exc:
            return self._refuse(request, exc)
        except Exception as exc:  # odd input must never become a 500
            log.exception("%s: could not read a URL verification", self.name)
            return self._refuse(request, WxProtocolError(f"unreadable request: {exc.__class__.__name__}"))
        return web.Response(text=echo, content_type="text/plain")

    async def post(self, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_s
        query = dict(request.query)
        try:
            self.before_body(query)
            inbound = self.open(query, await read_body(request))
            user, key, work = self.classify(inbound.fields)
        except WxProtocolError as exc:
            return self._refuse(request, exc)
        except Exception as exc:  # odd input must never become a 500 (Tencent would retry it)
            log.exception("%s: could not read a callback request", self.name)
            return self._refuse(request, WxProtocolError(f"unreadable request: {exc.__class__.__name__}"))
        logs.conversation_id.set(f"{self.name}:{user}")
        if self.admit is not None and key not in self._turns and not self.admit(f"{self.name}:{user}"):
            log.info("%s: %s is over the rate limit; it gets a polite reply, not the bot", self.name, key)
            work = lambda: self._fixed([RATE_LIMITED])  # noqa: E731 - retries of it share this turn

        def connected() -> bool:
            return request.transport is not None and not request.transport.is_closing()

        text = await self.respond(user, key, work, deadline - loop.time(), connected)
        if text is None:
            return web.Response(text=SUCCESS, content_type="text/plain")
        reply = build_xml({"ToUserName": user, "FromUserName": inbound.fields.get("ToUserName", ""),
                           "CreateTime": int(time.time()), "MsgType": "text", "Content": text})
        if inbound.crypto is not None:
            reply = seal(inbound.crypto, self.token, reply, str(int(time.time())), _nonce())
        return web.Response(body=reply, content_type="application/xml", charset="utf-8")

    # --- turns --------------------------------------------------------------------------------------------
    def classify(self, fields: dict[str, str]) -> tuple[str, str, Work]:
        """Who sent it, its retry key, and how to work out the reply (as text pieces)."""
        user = fields.get("FromUserName", "")
        if not USER_ID.match(user):
            raise WxProtocolError("FromUserName is missing or malformed")
        kind = fields.get("MsgType", "")
        msg_id = fields.get("MsgId", "")
        if msg_id and not MESSAGE_ID.match(msg_id):
            raise WxProtocolError("MsgId is malformed")
        created = fields.get("CreateTime", "")
        if not msg_id and not TIMESTAMP.match(created):
            raise WxProtocolError("neither MsgId nor CreateTime to tell retries apart")
        key = f"{user}:msg:{msg_id}" if msg_id else f"{user}:at:{created}"
        if kind == "text":
            text = fields.get("Content", "")
        elif kind == "voice" and fields.get("Recognition", "").strip():
            text = fields["Recognition"]
        elif kind == "event":
            event = fields.get("Event", "").lower()
            return user, key, lambda: self._fixed([WELCOME] if event == "subscribe" else [])
        else:
            return user, key, lambda: self._fixed([TEXT_ONLY])
        return user, key, lambda: self._converse(user, text.strip(), msg_id or None, self._latest.get(user))

    async def _fixed(self, pieces: list[str]) -> list[str]:
        return pieces

    async def _converse(self, user: str, text: str, msg_id: str | None,
                        previous: asyncio.Task[list[str]] | None) -> list[str]:
        if not text:
            return []
        if len(text) > self.max_chars:
            return [f"消息过长（最多{self.max_chars}字），请精简或分几次发送。"]
        if previous is not None:  # a "1" refers to the menu of the user's previous message: wait for it
            await asyncio.wait([previous])
        button = self.menus.choose(user, text)
        metadata = {"display": button.title} if button else {}
        said = (button.payload or button.title) if button else text
        message = UserMessage(f"{self.name}:{user}", self.name, said, msg_id, metadata)
        try:
            replies = await self._hub().handle(message)
        except Exception:  # never let one conversation's failure take the channel down
            log.exception("%s: handling failed for %s", self.name, message.conversation_id)
            replies = [BotMessage(text=SORRY)]
        text_out, buttons = render(replies)
        self.menus.remember(user, buttons)
        return split_utf8(text_out, self.text_limit)

    def _start(self, key: str, work: Work) -> Turn:
        turn = Turn(asyncio.create_task(work()))
        self._turns[key] = turn
        while len(self._turns) > self._max_turns:
            self._turns.popitem(last=False)
        return turn

    async def respond(self, user: str, key: str, work: Work, timeout: float,
                      connected: Callable[[], bool]) -> str | None:
        """The passive reply to a message (or a retry of it), or None to answer "success": the reply goes, or has
        gone, another way. ``connected`` says whether Tencent is still waiting for this request's answer."""
        turn = self._turns.get(key)
        if turn is None:
            turn = self._start(key, work)
            self._latest[user] = turn.task
            self._latest.move_to_end(user)
            while len(self._latest) > self._max_turns:
                self._latest.popitem(last=False)
        else:
            log.info("%s: %s is a retry; it shares the first request's turn", self.name, key)
        if turn.route is not None:
            return None
        turn.waiting += 1
        try:
            pieces = await asyncio.wait_for(asyncio.shield(turn.task), max(timeout, 0.0))
        except asyncio.TimeoutError:
            self._send_later(turn, user)
            return None
        except asyncio.CancelledError:  # Tencent hung up; unless another retry is waiting, use the API
            if turn.waiting == 1:
                self._send_later(turn, user)
            raise
        finally:
            turn.waiting -= 1
        if turn.route is not None or not pieces:
            return None
        if not connected():  # Tencent hung up (it waits 5 s); unless a retry is waiting, use the API
            if turn.waiting == 0:
                self._send_later(turn, user)
            return None
        turn.route = "passive"
        if len(pieces) > 1:
            self._spawn(self._send(user, pieces[1:]))
        return pieces[0]

    def _send_later(self, turn: Turn, user: str) -> None:
        if turn.route is None:
            turn.route = "api"
            log.info("%s: the reply to %s will go through the message API", self.name, user)

            async def deliver() -> None:
                await self._send(user, await turn.task)
            self._spawn(deliver())

    async def _send(self, user: str, pieces: list[str]) -> None:
        for piece in pieces:
            if self.api is None:
                log.warning("%s: the message API is not running; a reply to %s is lost", self.name, user)
                return
            try:
                await self.api.send_text(user, piece)
            except (TencentApiError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                log.warning("%s: could not send a reply to %s: %s", self.name, user, exc)
                return

    async def push(self, user: str, messages: list[BotMessage]) -> None:
        """Messages outside a turn (e.g. a staff member's reply) go through the message API."""
        text, buttons = render(messages)
        if buttons:
            self.menus.remember(user, buttons)
        await self._send(user, split_utf8(text, self.text_limit))

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await coro
            except Exception:  # logged; a background send must not go unobserved
                log.exception("%s: background delivery failed", self.name)
        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for replies still being worked on or sent (used at shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
