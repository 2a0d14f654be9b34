"""What the WeChat/WeCom callbacks keep between requests: who works out each message's reply, the reply itself,
how it is delivered, and each user's last numbered menu.

``CallbackState`` is one gateway process on its own: its memory is the whole state, so every claim succeeds and
there is nothing to wait for elsewhere. ``RedisCallbackState`` shares the state between gateways (``REDIS_URL``),
under ``zgc:wx:<channel>:``; when Redis cannot be reached it logs a warning and answers as ``CallbackState`` does,
so the request is still handled in this process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from bot.gateway.channels.wxtext import MenuBook, menu_number, pick
from bot.conversation.messages import Button

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

TURN_TTL_S = 600  # Tencent's retries come within about 15 s; a turn's keys outlive them comfortably
CLAIM_TTL_S = 15  # a claim on a message being worked out lapses this soon if its gateway dies …
HOLD_EVERY_S = 5.0  # … and is renewed this often while it is alive
MENU_TTL_S = 24 * 3600
WAIT_ELSEWHERE_S = 60.0  # how long to wait for a reply being worked out by another gateway
POLL_S = 0.1
DOWN = (RedisError, OSError, asyncio.TimeoutError)


class StateUnavailable(Exception):
    """The shared state could not be read (Redis is down)."""


class TakenOver(Exception):
    """The gateway working out a message went away before publishing its reply; this gateway claimed it instead."""


class CallbackState:
    """One gateway process: claims always succeed, no reply is worked out elsewhere, menus live in memory."""

    wait_elsewhere_s = WAIT_ELSEWHERE_S  # how long to wait for a reply another gateway works out

    def __init__(self, menus: MenuBook | None = None) -> None:
        self.menus = menus or MenuBook()

    async def claim(self, key: str) -> bool:
        """Whether this process works out the reply to message ``key`` (False: another gateway does)."""
        return True

    async def hold(self, key: str) -> None:
        """Renew this gateway's claim on ``key`` while it works the reply out (a claim lapses if its gateway dies)."""

    async def publish(self, key: str, pieces: list[str]) -> None:
        """Make a worked-out reply available to the other gateways."""

    async def wait_reply(self, key: str, timeout: float, take_over: bool = False) -> list[str] | None:
        """A reply published by another gateway, waiting up to ``timeout`` s for it (None: it did not come, or the
        gateway working it out went away). With ``take_over``, a claim that lapsed is claimed here: TakenOver."""
        return None

    async def claim_route(self, key: str, route: str) -> bool:
        """Claim how the reply to ``key`` goes out ("passive" or "api"); False: it was claimed already."""
        return True

    async def route(self, key: str) -> str | None:
        """The delivery route already claimed for ``key``, if any."""
        return None

    async def follow(self, user: str, key: str) -> str | None:
        """Record ``key`` as the user's latest message going to the bot; the one before it, if another gateway may
        still be working on it (in one process the channel's own turn table tells)."""
        return None

    async def remember(self, user: str, buttons: tuple[Button, ...]) -> None:
        """The menu of the user's latest reply; a reply without buttons clears it."""
        self.menus.remember(user, buttons)

    async def choose(self, user: str, text: str) -> Button | None:
        """The button a bare number picks from the user's last menu, if it does."""
        return self.menus.choose(user, text)

    async def close(self) -> None:
        pass


class RedisCallbackState(CallbackState):
    """The state in Redis, shared by every gateway; menus are kept in memory too, for when Redis is down."""

    def __init__(self, url: str, prefix: str, *, wait_elsewhere_s: float = WAIT_ELSEWHERE_S, poll_s: float = POLL_S,
                 timeout_s: float = 0.5, menus: MenuBook | None = None) -> None:
        super().__init__(menus)
        self.url = url
        self.prefix = prefix  # e.g. "zgc:wx:wechat:"
        self.wait_elsewhere_s = wait_elsewhere_s
        self.poll_s = poll_s
        self._timeout_s = timeout_s
        self._redis: Redis | None = None  # created on first use, in the running event loop

    def _client(self) -> Redis:
        if self._redis is None:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(self.url, socket_timeout=self._timeout_s,
                                            socket_connect_timeout=self._timeout_s)
        return self._redis

    def _down(self, doing: str, exc: BaseException) -> None:
        log.warning("%s Redis is unavailable (%s: %r); %s in this process only", self.prefix, exc.__class__.__name__,
                    exc, doing)

    async def claim(self, key: str) -> bool:
        try:
            return bool(await self._client().set(f"{self.prefix}turn:{key}", 1, nx=True, ex=CLAIM_TTL_S))
        except DOWN as exc:
            self._down(f"{key} is handled", exc)  # a retry on another gateway may be handled again
            return True

    async def hold(self, key: str) -> None:
        try:
            await self._client().expire(f"{self.prefix}turn:{key}", CLAIM_TTL_S)
        except DOWN as exc:
            self._down(f"the claim on {key} is kept", exc)

    async def publish(self, key: str, pieces: list[str]) -> None:
        try:
            async with self._client().pipeline(transaction=True) as pipe:  # the claim now lasts as long as the reply
                await pipe.set(f"{self.prefix}reply:{key}", json.dumps(pieces, ensure_ascii=False),
                               ex=TURN_TTL_S).set(f"{self.prefix}turn:{key}", 1, ex=TURN_TTL_S).execute()
        except DOWN as exc:
            self._down(f"the reply to {key} is kept", exc)

    async def wait_reply(self, key: str, timeout: float, take_over: bool = False) -> list[str] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                raw = await self._client().get(f"{self.prefix}reply:{key}")
                claimed = raw is not None or await self._client().exists(f"{self.prefix}turn:{key}")
                if not claimed and take_over and await self.claim(key):
                    raise TakenOver(key)
            except DOWN as exc:
                raise StateUnavailable(f"{exc.__class__.__name__}: {exc}") from exc
            if raw is not None:
                return _pieces(raw)
            if not claimed and not take_over:
                return None  # its gateway went away: nothing will come
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(self.poll_s)

    async def claim_route(self, key: str, route: str) -> bool:
        try:
            return bool(await self._client().set(f"{self.prefix}route:{key}", route, nx=True, ex=TURN_TTL_S))
        except DOWN as exc:
            self._down(f"the {route} route of {key} is decided", exc)
            return True

    async def route(self, key: str) -> str | None:
        try:
            raw = await self._client().get(f"{self.prefix}route:{key}")
        except DOWN as exc:
            self._down(f"the route of {key} is decided", exc)
            return None
        return raw.decode() if isinstance(raw, bytes) else raw

    async def follow(self, user: str, key: str) -> str | None:
        try:
            async with self._client().pipeline(transaction=True) as pipe:  # MULTI: read and replace at once
                earlier, _ = await pipe.get(f"{self.prefix}latest:{user}").set(
                    f"{self.prefix}latest:{user}", key, ex=TURN_TTL_S).execute()
        except DOWN as exc:
            self._down(f"the order of {user}'s messages is kept", exc)
            return None
        earlier = earlier.decode() if isinstance(earlier, bytes) else earlier
        return earlier if earlier and earlier != key else None

    async def remember(self, user: str, buttons: tuple[Button, ...]) -> None:
        self.menus.remember(user, buttons)  # for when Redis is down later
        name = f"{self.prefix}menu:{user}"
        try:
            if buttons:
                menu = json.dumps([[b.title, b.payload] for b in buttons], ensure_ascii=False)
                await self._client().set(name, menu, ex=MENU_TTL_S)
            else:
                await self._client().delete(name)
        except DOWN as exc:
            self._down(f"{user}'s menu is kept", exc)

    async def choose(self, user: str, text: str) -> Button | None:
        if menu_number(text) is None:  # not a bare number: no need to look
            return None
        try:
            raw = await self._client().get(f"{self.prefix}menu:{user}")
        except DOWN as exc:
            self._down(f"{user}'s menu is read", exc)
            return self.menus.choose(user, text)
        return pick(_buttons(raw), text)

    async def close(self) -> None:
        if self._redis is not None:
            redis, self._redis = self._redis, None
            close = getattr(redis, "aclose", None) or redis.close  # aclose from redis-py 5 on
            try:
                await close()
            except DOWN:
                pass


def _pieces(raw: Any) -> list[str]:
    try:
        pieces = json.loads(raw)
    except ValueError:
        pieces = None
    if not isinstance(pieces, list) or not all(isinstance(p, str) for p in pieces):
        log.warning("a shared reply is unreadable: %.80r", raw)
        return []
    return pieces


def _buttons(raw: Any) -> tuple[Button, ...]:
    if raw is None:
        return ()
    try:
        return tuple(Button(str(title), str(payload)) for title, payload in json.loads(raw))
    except (ValueError, TypeError):
        log.warning("a shared menu is unreadable: %.80r", raw)
        return ()
