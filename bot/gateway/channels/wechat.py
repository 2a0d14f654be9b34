"""The WeChat Official Account (公众号) callback at ``/wechat``: plaintext, compatible and safe mode.

* ``GET ?signature&timestamp&nonce&echostr`` — URL verification: answer ``echostr`` when the signature holds.
* ``POST ?signature&timestamp&nonce&openid`` — a message as plaintext XML; with ``encrypt_type=aes`` and
  ``msg_signature`` the XML carries ``Encrypt`` (safe mode) and the reply is encrypted the same way. With
  ``WECHAT_AES_KEY`` set only safe mode is accepted (a plaintext POST is refused: no downgrade), and the ``openid``
  of the URL must be the message's ``FromUserName``.

The conversation id is ``wechat:<openid>``. Slow replies go through the customer-service message API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp

from bot.gateway.channels.tencent_api import OA_API_BASE, OfficialAccountApi, TencentApi
from bot.gateway.channels.tencent_callback import Inbound, TencentCallback
from bot.gateway.channels.wxcrypto import (
    SignatureError,
    WxCrypto,
    WxProtocolError,
    XmlError,
    check_signature,
    parse_xml,
)
from bot.gateway.hub import Hub
from bot.settings import Settings

PATH = "/wechat"


class WeChatChannel(TencentCallback):
    name = "wechat"
    path = PATH

    def __init__(self, hub: Callable[[], Hub], *, token: str, app_id: str, app_secret: str, aes_key: str = "",
                 api_base: str = OA_API_BASE, **options: Any) -> None:
        super().__init__(hub, token=token, **options)
        self.app_id = app_id
        self._secret = app_secret
        self._api_base = api_base
        self.crypto = WxCrypto(aes_key, app_id) if aes_key else None

    def make_api(self, session: aiohttp.ClientSession) -> TencentApi:
        return OfficialAccountApi(session, self._api_base, self.app_id, self._secret)

    def verify_url(self, query: dict[str, str]) -> str:
        self.check_plain_signature(query)
        echostr = query.get("echostr", "")
        if not echostr:
            raise WxProtocolError("no echostr to echo")
        return echostr

    def before_body(self, query: dict[str, str]) -> None:
        if query.get("encrypt_type", "raw") != "aes":
            if self.crypto is not None:  # safe mode is on: a plaintext message would be a downgrade
                raise SignatureError("plaintext message refused: WECHAT_AES_KEY is set, only safe mode is accepted")
            self.check_plain_signature(query)
        elif not query.get("msg_signature"):
            raise SignatureError("safe-mode request without msg_signature")
        elif query.get("signature"):  # Tencent sends both; the plain one must hold too
            self.check_plain_signature(query)

    def open(self, query: dict[str, str], body: bytes) -> Inbound:
        inbound = self._open(query, body)
        openid = query.get("openid")
        if openid is not None and openid != inbound.fields.get("FromUserName"):  # Tencent signs the URL, not this
            raise SignatureError("the openid of the signed URL is not the message's FromUserName")
        return inbound

    def _open(self, query: dict[str, str], body: bytes) -> Inbound:
        fields = parse_xml(body)
        mode = query.get("encrypt_type") or "raw"
        if mode == "raw":
            return Inbound(fields)
        if mode != "aes":
            raise WxProtocolError(f"unknown encrypt_type {mode[:20]!r}")
        if self.crypto is None:
            raise WxProtocolError("safe-mode message, but WECHAT_AES_KEY is not set")
        encrypted = fields.get("Encrypt")
        if not encrypted:
            raise XmlError("safe-mode message without an Encrypt field")
        check_signature(query.get("msg_signature"), self.token, query.get("timestamp", ""),
                        query.get("nonce", ""), encrypted)
        self.check_fresh(query)
        return Inbound(parse_xml(self.crypto.decrypt(encrypted)), self.crypto)


def from_settings(settings: Settings, hub: Callable[[], Hub]) -> tuple[WeChatChannel | None, str]:
    """The channel, or None and why not; with it, a line saying how it runs."""
    required = {"WECHAT_TOKEN": settings.wechat_token, "WECHAT_APP_ID": settings.wechat_app_id,
                "WECHAT_APP_SECRET": settings.wechat_app_secret}
    if missing := [name for name, value in required.items() if not value]:
        return None, f"not mounted: {', '.join(missing)} not set"
    try:
        channel = WeChatChannel(hub, token=settings.wechat_token, app_id=settings.wechat_app_id,
                                app_secret=settings.wechat_app_secret, aes_key=settings.wechat_aes_key,
                                api_base=settings.wechat_api_base, deadline_s=settings.wechat_reply_deadline_s,
                                max_skew_s=settings.wechat_max_skew_s, max_chars=settings.max_message_chars,
                                redis_url=settings.redis_url or None)
    except ValueError as exc:
        return None, f"not mounted: WECHAT_AES_KEY is unusable ({exc})"
    mode = "safe mode only (plaintext refused)" if channel.crypto else "plaintext mode only (WECHAT_AES_KEY not set)"
    shared = ", turns and menus shared through Redis" if settings.redis_url else ""
    return channel, f"mounted at {PATH}: {mode}, API {settings.wechat_api_base}{shared}"
