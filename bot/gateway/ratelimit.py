"""Rate limits on the public endpoints: token buckets in memory, per client address and per conversation.

* the widget (``user_uttered``): per address and per conversation; over the limit the user gets an ``error``
  event ``rate_limited`` and the message goes nowhere; ``session_request`` per address (each reads a tracker);
* ``/wechat`` and ``/wecom`` POSTs: per address before the body is read (HTTP 429; the callers are Tencent's
  servers, so their budget is larger), and per conversation (``wechat:<openid>``) once the message is verified:
  the user gets a polite passive reply instead of the bot;
* the console's login has its own limiter (bot/helpdesk/console.py), counting by the same client address.

A bucket holds ``per_min`` tokens and refills at ``per_min`` a minute; 0 turns a limit off. Buckets idle long
enough to be full again are forgotten, so memory stays bounded by the number of recently active keys. With
several gateway instances each keeps its own buckets (the limits are per instance).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from aiohttp import web

from bot.conversation.addresses import TrustedProxies
from bot.gateway.channel import Channel
from bot.settings import Settings

RATE_LIMITED = "发送太频繁，请稍后再试。"


class TokenBuckets:
    """One token bucket per key: ``per_min`` tokens, refilled continuously."""

    def __init__(self, per_min: int, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_min = per_min
        self._rate = per_min / 60.0
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def available(self, key: str) -> float:
        if self.per_min <= 0:
            return float("inf")
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.per_min), now))
        return min(float(self.per_min), tokens + (now - at) * self._rate)

    def take(self, key: str) -> None:
        if self.per_min <= 0:
            return
        self._buckets[key] = (self.available(key) - 1.0, self._clock())
        self._buckets.move_to_end(key)
        self._forget_full()

    def allow(self, key: str) -> bool:
        """Take a token if there is one."""
        if self.available(key) < 1.0:
            return False
        self.take(key)
        return True

    def _forget_full(self) -> None:
        """Drop the least recently used buckets that have refilled (they behave like new ones), and any over
        ``max_keys``."""
        now = self._clock()
        while self._buckets:
            key, (tokens, at) = next(iter(self._buckets.items()))
            if tokens + (now - at) * self._rate < self.per_min and len(self._buckets) <= self._max_keys:
                break
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimits:
    """The gateway's limits, from the settings."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_ip = TokenBuckets(settings.rate_limit_per_ip_per_min, clock=clock)
        self.per_conversation = TokenBuckets(settings.rate_limit_per_conversation_per_min, clock=clock)
        self.callback_per_ip = TokenBuckets(settings.rate_limit_callback_per_ip_per_min, clock=clock)
        self.sessions_per_ip = TokenBuckets(settings.rate_limit_sessions_per_ip_per_min, clock=clock)
        self.proxies = TrustedProxies(settings.forwarded_allow_ips)

    def trusts(self, peer: str | None) -> bool:
        """Whether the peer is a proxy trusted to speak for the client (FORWARDED_ALLOW_IPS)."""
        return self.proxies.trusts(peer)

    def client_ip(self, request: web.BaseRequest) -> str:
        """The client's address (bot/conversation/addresses.py)."""
        return self.proxies.client_ip(request)

    def admit_message(self, request: web.BaseRequest | None, conversation_id: str) -> str | None:
        """None when a user message may go on (a token is taken from both buckets), else why not."""
        ip = f"ip:{self.client_ip(request)}" if request is not None else None
        if ip is not None and self.per_ip.available(ip) < 1.0:
            return "too many messages from this address"
        if not self.per_conversation.allow(conversation_id):
            return "too many messages in this conversation"
        if ip is not None:
            self.per_ip.take(ip)
        return None

    def admit_callback(self, request: web.BaseRequest | None, conversation_id: str) -> str | None:
        """A callback channel's user message: per conversation only (its sender, Tencent's servers, is limited per
        address by :func:`callback_rate_limit` before the body is read)."""
        return None if self.per_conversation.allow(conversation_id) else "too many messages in this conversation"

    def admit_session(self, request: web.BaseRequest | None) -> bool:
        """A widget ``session_request`` (it reads the conversation's whole tracker) from this address."""
        return request is None or self.sessions_per_ip.allow(f"ip:{self.client_ip(request)}")


rate_limits_key = web.AppKey("rate_limits", RateLimits)
callback_paths_key = web.AppKey("callback_paths", frozenset)


@web.middleware
async def callback_rate_limit(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Per-address limit on the WeChat/WeCom callbacks, before their body is read."""
    if request.method == "POST" and request.path in request.app[callback_paths_key]:
        limits = request.app[rate_limits_key]
        if not limits.callback_per_ip.allow(f"ip:{limits.client_ip(request)}"):
            return web.Response(status=429, text="rate limited: too many requests from this address",
                                headers={"Retry-After": "60"})
    return await handler(request)


def setup_rate_limits(app: web.Application, settings: Settings, channels: Iterable[Channel]) -> RateLimits:
    """Install the limits on every mounted channel (its ``admit``; the widget's session requests too) and the
    per-address middleware on the callback channels' paths."""
    limits = RateLimits(settings)
    app[rate_limits_key] = limits
    callback_paths: set[str] = set()
    for channel in channels:
        channel.admit = limits.admit_callback if channel.callback else limits.admit_message
        if channel.callback:
            callback_paths.update(channel.routes())
        if hasattr(channel, "admit_session"):  # the widget: each session_request reads a whole tracker
            channel.admit_session = limits.admit_session
    app[callback_paths_key] = frozenset(callback_paths)
    app.middlewares.append(callback_rate_limit)
    return limits
