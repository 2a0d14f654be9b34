"""What the Official Account and WeCom callbacks share: the 5-second rule, retries, menus, the API fallback.

Tencent POSTs each user message to the callback URL and waits 5 seconds; without an answer it drops the
connection and sends the same message again (three times in all). So:

* each message becomes one *turn* (keyed by MsgId; events by FromUserName+CreateTime) that every retry shares;
  the bot is asked once;
* a request waits for its turn's reply until the deadline (default 4.5 s). The reply is delivered exactly once:
  passively, in the HTTP answer of the first request that sees it ready; or, when a request's deadline passes
  first (or every waiting request has gone away), through the message API, and every request answers "success";
* text beyond the first 2048 bytes goes through the message API after the passive part.

With several gateways behind one callback URL (``REDIS_URL`` set), a retry can reach another gateway, so the
turn's state is shared in Redis (``tencent_state.py``): the first gateway to see a message claims it and works
out the reply, then publishes it; a gateway holding a retry of a message claimed elsewhere waits for the
published reply. The route ("passive" or "api") is claimed in Redis too, so whichever gateway holds the waiting
requests, the reply goes out once; a gateway that claims "api" sends it when the reply is published (waiting up to
a minute). Menus are kept in Redis, so a "1" picks from the user's last menu on any gateway, and a message to the
bot waits for the user's previous one wherever it is being worked out. When Redis cannot be reached, a request
is handled in its own gateway as without Redis (a warning is logged): it is still answered once there, but a
retry reaching another gateway during the outage is handled, and answered, again.

Subclasses (``wechat.py``, ``wecom.py``) only say how a request is verified and opened.
"""

from __future__ import annotations

import asyncio
import hashlib
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

from bot.gateway import logs
from bot.gateway.channel import Admit, admit_all
from bot.gateway.channels.tencent_api import TencentApi, TencentApiError
from bot.gateway.channels.tencent_state import (HOLD_EVERY_S, CallbackState, RedisCallbackState, StateUnavailable,
                                                TakenOver)
from bot.gateway.channels.wxcrypto import SignatureError, WxCrypto, WxProtocolError, build_xml, check_signature, seal
from bot.gateway.channels.wxtext import TEXT_LIMIT_BYTES, render, split_utf8
from bot.gateway.hub import SORRY, Hub
from bot.conversation.messages import BotMessage, UserMessage
from bot.gateway.ratelimit import RATE_LIMITED

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_NONCES = 200_000  # signed URLs remembered (each for twice the skew window)
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
    """A Tencent callback channel (bot/gateway/channel.py): Tencent's servers post each user's message here."""

    name = ""  # the channel name, and the conversation id prefix
    path = ""  # where Tencent posts, e.g. /wechat
    callback = True

    def __init__(self, hub: Callable[[], Hub], *, token: str, deadline_s: float = 4.5, max_skew_s: int = 300,
                 max_chars: int = 2000, max_turns: int = 4096, text_limit: int = TEXT_LIMIT_BYTES,
                 redis_url: str | None = None) -> None:
        self._hub = hub  # looked up when needed: the hub is built when the app starts
        self.token = token
        self.deadline_s = deadline_s
        self.max_skew_s = max_skew_s
        self.max_chars = max_chars
        self.text_limit = text_limit  # bytes per text message
        # turns' claims, replies and routes, and users' menus: shared by the gateways through Redis, if given
        self.state = RedisCallbackState(redis_url, f"zgc:wx:{self.name}:") if redis_url else CallbackState()
        self._turns: OrderedDict[str, Turn] = OrderedDict()
        self._latest: OrderedDict[str, asyncio.Task[list[str]]] = OrderedDict()  # each user's latest turn
        self._max_turns = max_turns
        self._tasks: set[asyncio.Task[None]] = set()
        self._resumed: set[str] = set()  # messages taken over from a gateway that died
        self._nonces: OrderedDict[str, tuple[str, float]] = OrderedDict()  # "timestamp:nonce" → (body hash, seen)
        self.api: TencentApi | None = None
        self.admit: Admit = admit_all  # per-conversation rate limit (bot/gateway/ratelimit.py)

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

    def check_replay(self, query: dict[str, str], body: bytes) -> None:
        """A signed URL is good for one message: its (timestamp, nonce) is remembered for twice the skew window,
        and coming again with another body it is refused. The same body again is Tencent retrying that message
        (the turn it belongs to answers it once)."""
        if not self.max_skew_s:
            return
        now = time.monotonic()
        while self._nonces:
            oldest, (_, seen_at) = next(iter(self._nonces.items()))
            if now - seen_at <= 2 * self.max_skew_s and len(self._nonces) <= MAX_NONCES:
                break
            del self._nonces[oldest]
        key = f"{query.get('timestamp', '')}:{query.get('nonce', '')}"
        digest = hashlib.sha256(body).hexdigest()
        seen = self._nonces.get(key)
        if seen is not None and seen[0] != digest:
            raise SignatureError(f"nonce {query.get('nonce', '')[:20]!r} of timestamp {query.get('timestamp', '')[:12]}"
                                 " was used for another message (replay)")
        if seen is None:
            self._nonces[key] = (digest, now)

    def routes(self) -> list[str]:
        return [self.path]

    def attach(self, app: web.Application) -> None:
        app.router.add_get(self.path, self.get)
        app.router.add_post(self.path, self.post)
        app.cleanup_ctx.append(self.context)

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            self.api = self.make_api(session)
            yield
            await self.drain()
            self.api = None
            await self.state.close()

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
            body = await read_body(request)
            self.check_replay(query, body)
            inbound = self.open(query, body)
            user, key, work = self.classify(inbound.fields)
        except WxProtocolError as exc:
            return self._refuse(request, exc)
        except Exception as exc:  # odd input must never become a 500 (Tencent would retry it)
            log.exception("%s: could not read a callback request", self.name)
            return self._refuse(request, WxProtocolError(f"unreadable request: {exc.__class__.__name__}"))
        logs.conversation_id.set(f"{self.name}:{user}")
        if key not in self._turns and self.admit(request, f"{self.name}:{user}") is not None:
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
        return user, key, lambda: self._converse(user, key, text.strip(), msg_id or None, self._latest.get(user))

    async def _fixed(self, pieces: list[str]) -> list[str]:
        return pieces

    async def _converse(self, user: str, key: str, text: str, msg_id: str | None,
                        previous: asyncio.Task[list[str]] | None) -> list[str]:
        if not text:
            return []
        if len(text) > self.max_chars:
            return [f"消息过长（最多{self.max_chars}字），请精简或分几次发送。"]
        if previous is not None:  # a "1" refers to the menu of the user's previous message: wait for it
            await asyncio.wait([previous])
        earlier = await self.state.follow(user, key)
        if earlier is not None:  # ... also when another gateway has it
            await self._after(earlier)
        button = await self.state.choose(user, text)
        metadata = {"display": button.title} if button else {}
        said = (button.payload or button.title) if button else text
        resumed = key in self._resumed
        self._resumed.discard(key)
        message = UserMessage(f"{self.name}:{user}", self.name, said, msg_id, metadata, resumed=resumed)
        try:
            replies = await self._hub().handle(message)
        except Exception:  # never let one conversation's failure take the channel down
            log.exception("%s: handling failed for %s", self.name, message.conversation_id)
            replies = [BotMessage(text=SORRY)]
        text_out, buttons = render(replies)
        await self.state.remember(user, buttons)
        return split_utf8(text_out, self.text_limit)

    def _start(self, key: str, work: Work) -> Turn:
        # work() is called now, not once the message is claimed: it notes the user's previous turn
        turn = Turn(asyncio.create_task(self._work_out(key, work())))
        self._turns[key] = turn
        while len(self._turns) > self._max_turns:
            self._turns.popitem(last=False)
        return turn

    async def _work_out(self, key: str, reply: Coroutine[Any, Any, list[str]]) -> list[str]:
        """A turn's reply: worked out here if this gateway is the first to claim the message, else the one
        another gateway publishes."""
        try:
            elsewhere = await self._elsewhere(key)
        except BaseException:  # cancelled (at shutdown)
            reply.close()
            raise
        if elsewhere is not None:
            reply.close()
            return elsewhere
        holding = asyncio.create_task(self._hold(key))
        try:
            pieces = await reply
        finally:
            holding.cancel()
        await self.state.publish(key, pieces)
        return pieces

    async def _hold(self, key: str) -> None:
        """Keep this gateway's claim on ``key`` alive while the reply is worked out."""
        while True:
            await asyncio.sleep(HOLD_EVERY_S)
            await self.state.hold(key)

    async def _elsewhere(self, key: str) -> list[str] | None:
        """The reply another gateway works out for ``key``; None when it is for this gateway to work out (it was
        first to claim the message, or the shared state is down)."""
        if await self.state.claim(key):
            return None
        log.info("%s: %s is being handled by another gateway; waiting for its reply", self.name, key)
        try:
            return await self._reply_elsewhere(key, take_over=True)
        except TakenOver:
            log.warning("%s: the gateway handling %s went away before replying; it is handled here", self.name, key)
            self._resumed.add(key)
            return None
        except StateUnavailable as exc:
            log.warning("%s: the shared state is unavailable (%s); %s is handled here too", self.name, exc, key)
            return None

    async def _reply_elsewhere(self, key: str, take_over: bool = False) -> list[str]:
        """The reply another gateway publishes for ``key``; [] (with a warning) if it does not come in time."""
        pieces = await self.state.wait_reply(key, self.state.wait_elsewhere_s, take_over)
        if pieces is None:
            log.warning("%s: no reply to %s came from another gateway in %.0f s", self.name, key,
                        self.state.wait_elsewhere_s)
            return []
        return pieces

    async def _after(self, key: str) -> None:
        """Wait until the reply to ``key`` is worked out, here or on another gateway (bounded)."""
        turn = self._turns.get(key)
        if turn is not None:
            await asyncio.wait([turn.task])
            return
        try:
            await self._reply_elsewhere(key)
        except StateUnavailable as exc:
            log.warning("%s: the shared state is unavailable (%s); not waiting for %s", self.name, exc, key)

    async def respond(self, user: str, key: str, work: Work, timeout: float,
                      connected: Callable[[], bool]) -> str | None:
        """The passive reply to a message (or a retry of it), or None to answer "success": the reply goes, or has
        gone, another way. ``connected`` says whether Tencent is still waiting for this request's answer."""
        deadline = asyncio.get_running_loop().time() + timeout
        turn = self._turns.get(key)
        if turn is None and await self.state.route(key) is not None:
            log.info("%s: %s is a retry of a message another gateway has answered", self.name, key)
            return None
        turn = self._turns.get(key)  # looked up again: another request may have started it meanwhile
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
            remaining = max(deadline - asyncio.get_running_loop().time(), 0.0)
            pieces = await asyncio.wait_for(asyncio.shield(turn.task), remaining)
        except asyncio.TimeoutError:
            self._send_later(turn, user, key)
            return None
        except asyncio.CancelledError:  # Tencent hung up; unless another retry is waiting, use the API
            if turn.waiting == 1:
                self._send_later(turn, user, key)
            raise
        finally:
            turn.waiting -= 1
        if turn.route is not None or not pieces:
            return None
        if not connected():  # Tencent hung up (it waits 5 s); unless a retry is waiting, use the API
            if turn.waiting == 0:
                self._send_later(turn, user, key)
            return None
        turn.route = "passive"
        claim = asyncio.ensure_future(self.state.claim_route(key, "passive"))
        try:
            if not await asyncio.shield(claim):
                return None  # another gateway answers it
        except asyncio.CancelledError:  # hung up while claiming: if the claim holds, the reply goes by the API
            self._spawn(self._send_if(claim, user, pieces))
            raise
        if len(pieces) > 1:
            self._spawn(self._send(user, pieces[1:]))
        return pieces[0]

    def _send_later(self, turn: Turn, user: str, key: str) -> None:
        if turn.route is None:
            turn.route = "api"

            async def deliver() -> None:
                if not await self.state.claim_route(key, "api"):
                    log.info("%s: the reply to %s is delivered by another gateway", self.name, key)
                    return
                log.info("%s: the reply to %s will go through the message API", self.name, user)
                await self._send(user, await turn.task)
            self._spawn(deliver())

    async def _send_if(self, claim: Awaitable[bool], user: str, pieces: list[str]) -> None:
        if await claim:
            await self._send(user, pieces)

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

    async def deliver(self, user: str, messages: list[BotMessage]) -> None:
        """Messages outside a turn (e.g. a staff member's reply) go through the message API."""
        text, buttons = render(messages)
        if buttons:
            await self.state.remember(user, buttons)
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
