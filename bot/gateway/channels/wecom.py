"""The WeCom (企业微信) application callback at ``/wecom``: always encrypted, the CorpID is the receive id.

* ``GET ?msg_signature&timestamp&nonce&echostr`` — URL verification: ``msg_signature`` covers the encrypted
  ``echostr``; answer its decrypted plaintext.
* ``POST ?msg_signature&timestamp&nonce`` — ``<xml><ToUserName/><AgentID/><Encrypt/></xml>``; the reply is
  encrypted the same way.

The conversation id is ``wecom:<userid>``. Slow replies go through the application message API (``agentid``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp

from bot.gateway.channels.tencent_api import WECOM_API_BASE, TencentApi, WeComApi
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

PATH = "/wecom"


class WeComChannel(TencentCallback):
    name = "wecom"
    path = PATH

    def __init__(self, hub: Callable[[], Hub], *, token: str, corp_id: str, aes_key: str, agent_id: int,
                 secret: str, api_base: str = WECOM_API_BASE, **options: Any) -> None:
        super().__init__(hub, token=token, **options)
        self.crypto = WxCrypto(aes_key, corp_id)
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._secret = secret
        self._api_base = api_base

    def make_api(self, session: aiohttp.ClientSession) -> TencentApi:
        return WeComApi(session, self._api_base, self.corp_id, self._secret, self.agent_id)

    def _check(self, query: dict[str, str], encrypted: str) -> None:
        check_signature(query.get("msg_signature"), self.token, query.get("timestamp", ""),
                        query.get("nonce", ""), encrypted)
        self.check_fresh(query)

    def verify_url(self, query: dict[str, str]) -> str:
        echostr = query.get("echostr", "").replace(" ", "+")  # a "+" that arrived unescaped
        self._check(query, echostr)
        return self.crypto.decrypt(echostr).decode("utf-8", "replace")

    def before_body(self, query: dict[str, str]) -> None:
        if not query.get("msg_signature"):
            raise SignatureError("request without msg_signature")

    def _check_agent(self, fields: dict[str, str]) -> None:
        agent = fields.get("AgentID", "")
        if agent and agent != str(self.agent_id):
            raise WxProtocolError(f"AgentID {agent[:20]!r} is not WECOM_AGENT_ID {self.agent_id}")

    def open(self, query: dict[str, str], body: bytes) -> Inbound:
        outer = parse_xml(body)
        encrypted = outer.get("Encrypt")
        if not encrypted:
            raise XmlError("no Encrypt field (WeCom callbacks are always encrypted)")
        self._check(query, encrypted)
        self._check_agent(outer)
        fields = parse_xml(self.crypto.decrypt(encrypted))
        self._check_agent(fields)
        return Inbound(fields, self.crypto)


def from_settings(settings: Settings, hub: Callable[[], Hub]) -> tuple[WeComChannel | None, str]:
    """The channel, or None and why not; with it, a line saying how it runs."""
    required = {"WECOM_TOKEN": settings.wecom_token, "WECOM_CORP_ID": settings.wecom_corp_id,
                "WECOM_AES_KEY": settings.wecom_aes_key, "WECOM_AGENT_ID": settings.wecom_agent_id,
                "WECOM_SECRET": settings.wecom_secret}
    if missing := [name for name, value in required.items() if not value]:
        return None, f"not mounted: {', '.join(missing)} not set"
    if not settings.wecom_agent_id.isdigit():
        return None, "not mounted: WECOM_AGENT_ID is not a number"
    try:
        channel = WeComChannel(hub, token=settings.wecom_token, corp_id=settings.wecom_corp_id,
                               aes_key=settings.wecom_aes_key, agent_id=int(settings.wecom_agent_id),
                               secret=settings.wecom_secret, api_base=settings.wecom_api_base,
                               deadline_s=settings.wechat_reply_deadline_s, max_skew_s=settings.wechat_max_skew_s,
                               max_chars=settings.max_message_chars,
                               redis_url=settings.redis_url or None)
    except ValueError as exc:
        return None, f"not mounted: WECOM_AES_KEY is unusable ({exc})"
    shared = ", turns and menus shared through Redis" if settings.redis_url else ""
    return channel, f"mounted at {PATH}: agent {channel.agent_id}, API {settings.wecom_api_base}{shared}"
