"""Tencent's outbound HTTP API, as far as the channels need it: an access token and "send a text".

The token is fetched once, cached until shortly before ``expires_in`` runs out, shared by concurrent callers,
and refreshed (then the call retried once) when Tencent says it is invalid or expired. JSON bodies are sent as
raw UTF-8: the customer-service API shows ``\\uXXXX`` escapes to the user verbatim.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

OA_API_BASE = "https://api.weixin.qq.com"
WECOM_API_BASE = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, token expired
EARLY_S = 300.0  # refresh this long before the token expires


class TencentApiError(RuntimeError):
    def __init__(self, path: str, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"{path}: errcode {errcode}: {errmsg}")
        self.errcode = errcode


class TencentApi:
    """Base: subclasses say where the token comes from and how a text message looks."""

    token_path = ""
    send_path = ""

    def __init__(self, session: aiohttp.ClientSession, base_url: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def token_params(self) -> dict[str, str]:
        raise NotImplementedError

    def text_payload(self, user: str, text: str) -> dict[str, Any]:
        raise NotImplementedError

    async def _json(self, resp: aiohttp.ClientResponse, path: str) -> dict[str, Any]:
        if resp.status != 200:
            raise TencentApiError(path, None, f"HTTP {resp.status}")
        try:
            data = await resp.json(content_type=None)
        except (ValueError, aiohttp.ContentTypeError):
            raise TencentApiError(path, None, "the answer is not JSON") from None
        if not isinstance(data, dict):
            raise TencentApiError(path, None, "the answer is not a JSON object")
        return data

    async def access_token(self, stale: str | None = None) -> str:
        """The cached token; a new one when it is about to expire or when ``stale`` (a rejected one) is cached."""
        async with self._lock:
            if self._token and self._token != stale and self._clock() < self._expires_at:
                return self._token
            async with self._session.get(self._base + self.token_path, params=self.token_params()) as resp:
                data = await self._json(resp, self.token_path)
            token = data.get("access_token")
            if data.get("errcode") or not isinstance(token, str) or not token:
                raise TencentApiError(self.token_path, data.get("errcode"), str(data.get("errmsg", "no token")))
            expires_in = float(data.get("expires_in") or 7200)
            self._token = token
            self._expires_at = self._clock() + expires_in - min(EARLY_S, expires_in / 2)
            log.info("%s: new access token, valid for %.0f s", self.token_path, expires_in)
            return token

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with the access token; on a token error, refresh it and try once more."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        token = await self.access_token()
        for attempt in (1, 2):
            async with self._session.post(self._base + path, params={"access_token": token}, data=body,
                                          headers=headers) as resp:
                data = await self._json(resp, path)
            errcode = data.get("errcode") or 0
            if errcode in TOKEN_ERRORS and attempt == 1:
                log.info("%s: errcode %s, refreshing the access token", path, errcode)
                token = await self.access_token(stale=token)
                continue
            if errcode:
                raise TencentApiError(path, errcode, str(data.get("errmsg", "")))
            return data
        raise AssertionError("unreachable")

    async def send_text(self, user: str, text: str) -> None:
        await self.post(self.send_path, self.text_payload(user, text))


class OfficialAccountApi(TencentApi):
    """The Official Account's token and customer-service message API."""

    token_path = "/cgi-bin/token"
    send_path = "/cgi-bin/message/custom/send"

    def __init__(self, session: aiohttp.ClientSession, base_url: str, app_id: str, app_secret: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(session, base_url, clock)
        self._app_id = app_id
        self._secret = app_secret

    def token_params(self) -> dict[str, str]:
        return {"grant_type": "client_credential", "appid": self._app_id, "secret": self._secret}

    def text_payload(self, user: str, text: str) -> dict[str, Any]:
        return {"touser": user, "msgtype": "text", "text": {"content": text}}


class WeComApi(TencentApi):
    """WeCom's token and application message API."""

    token_path = "/cgi-bin/gettoken"
    send_path = "/cgi-bin/message/send"

    def __init__(self, session: aiohttp.ClientSession, base_url: str, corp_id: str, secret: str, agent_id: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(session, base_url, clock)
        self._corp_id = corp_id
        self._secret = secret
        self._agent_id = agent_id

    def token_params(self) -> dict[str, str]:
        return {"corpid": self._corp_id, "corpsecret": self._secret}

    def text_payload(self, user: str, text: str) -> dict[str, Any]:
        return {"touser": user, "msgtype": "text", "agentid": self._agent_id, "text": {"content": text}, "safe": 0}
