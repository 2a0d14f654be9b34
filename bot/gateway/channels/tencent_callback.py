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

The parts, one module each: the HTTP checks (``tencent_http.py``), turns and retries (``tencent_turns.py``: a
:class:`~bot.gateway.channels.tencent_turns.CallbackMessage` per posted message, its
:class:`~bot.gateway.channels.tencent_turns.Turn`), the cross-gateway claim protocol (``tencent_claims.py``) and
the delivery through the message API (``tencent_delivery.py``). This module puts them together and holds the
HTTP handlers: ``post`` reads and checks a request, makes its message, asks the turn and answers. Subclasses
(``wechat.py``, ``wecom.py``) only say how a request is verified and opened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from bot.gateway import logs
from bot.gateway.channel import Admit, admit_all
from bot.gateway.channels.tencent_api import TencentApi
from bot.gateway.channels.tencent_claims import Claims
from bot.gateway.channels.tencent_delivery import Delivery
from bot.gateway.channels.tencent_http import SUCCESS, Inbound, SignedRequests, read_body, reply_nonce
from bot.gateway.channels.tencent_state import CallbackState, RedisCallbackState
from bot.gateway.channels.tencent_turns import CallbackMessage, Turn, Turns, read_message
from bot.gateway.channels.wxcrypto import WxProtocolError, build_xml, seal
from bot.gateway.channels.wxtext import TEXT_LIMIT_BYTES
from bot.gateway.hub import Hub
from bot.gateway.ratelimit import RATE_LIMITED

__all__ = ["CallbackMessage", "Inbound", "TencentCallback"]

log = logging.getLogger(__name__)


class TencentCallback(SignedRequests, Turns, Claims, Delivery):
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
        self.state: CallbackState = (RedisCallbackState(redis_url, f"zgc:wx:{self.name}:") if redis_url
                                     else CallbackState())
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

    # --- the channel --------------------------------------------------------------------------------------
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

    def classify(self, fields: dict[str, str]) -> CallbackMessage:
        """The message of a verified request (tencent_turns.py)."""
        return read_message(fields)

    # --- HTTP handlers ------------------------------------------------------------------------------------
    async def get(self, request: web.Request) -> web.Response:
        try:
            echo = self.verify_url(dict(request.query))
        except WxProtocolError as exc:
            return self.refuse(request, exc)
        except Exception as exc:  # odd input must never become a 500
            log.exception("%s: could not read a URL verification", self.name)
            return self.refuse(request, WxProtocolError(f"unreadable request: {exc.__class__.__name__}"))
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
            message = self.classify(inbound.fields)
        except WxProtocolError as exc:
            return self.refuse(request, exc)
        except Exception as exc:  # odd input must never become a 500 (Tencent would retry it)
            log.exception("%s: could not read a callback request", self.name)
            return self.refuse(request, WxProtocolError(f"unreadable request: {exc.__class__.__name__}"))
        user = message.user
        logs.conversation_id.set(f"{self.name}:{user}")
        if message.key not in self._turns and self.admit(request, f"{self.name}:{user}") is not None:
            log.info("%s: %s is over the rate limit; it gets a polite reply, not the bot", self.name, message.key)
            message = message.answered_with(RATE_LIMITED)  # retries of it share this turn

        text = await self.respond(message, deadline - loop.time(), lambda: still_waiting(request))
        if text is None:
            return web.Response(text=SUCCESS, content_type="text/plain")
        reply = build_xml({"ToUserName": user, "FromUserName": inbound.fields.get("ToUserName", ""),
                           "CreateTime": int(time.time()), "MsgType": "text", "Content": text})
        if inbound.crypto is not None:
            reply = seal(inbound.crypto, self.token, reply, str(int(time.time())), reply_nonce())
        return web.Response(body=reply, content_type="application/xml", charset="utf-8")


def still_waiting(request: web.Request) -> bool:
    """Whether Tencent still waits for this request's answer (it hangs up after 5 s)."""
    return request.transport is not None and not request.transport.is_closing()
