"""The HTTP side of a Tencent callback: reading the body (bounded), the signature and freshness checks, one message
per signed URL, and the refusal (403 / 413 / 400, never a 500 that Tencent would retry)."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from bot.gateway.channels.wxcrypto import SignatureError, WxCrypto, WxProtocolError, check_signature

log = logging.getLogger("bot.gateway.channels.tencent_callback")

MAX_BODY = 64 * 1024
MAX_NONCES = 200_000  # signed URLs remembered (each for twice the skew window)
TIMESTAMP = re.compile(r"^\d{1,12}$")
SUCCESS = "success"  # "received, no passive reply" in Tencent's protocol


class BodyTooLarge(WxProtocolError):
    pass


@dataclass(frozen=True)
class Inbound:
    """A verified callback request's message, and the crypto to seal the reply with (None: plaintext)."""

    fields: dict[str, str]
    crypto: WxCrypto | None = None


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(f"body of {request.content_length} bytes, limit {limit}")
    body = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"body over {limit} bytes")
    return bytes(body)


def reply_nonce() -> str:
    return str(secrets.randbelow(10**10))


class SignedRequests:
    """The checks of a signed callback URL (part of :class:`~bot.gateway.channels.tencent_callback.TencentCallback`):
    ``token``, ``max_skew_s`` and the signed URLs seen (``_nonces``) are set by it."""

    name: str
    token: str
    max_skew_s: int
    _nonces: OrderedDict[str, tuple[str, float]]  # "timestamp:nonce" → (body hash, seen)

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

    def refuse(self, request: web.Request, exc: Exception) -> web.Response:
        status = 403 if isinstance(exc, SignatureError) else 413 if isinstance(exc, BodyTooLarge) else 400
        log.warning("%s: %s %s refused with %d: %s", self.name, request.method, request.path, status, exc)
        return web.Response(status=status, text={403: "forbidden", 413: "too large"}.get(status, "bad request"))
