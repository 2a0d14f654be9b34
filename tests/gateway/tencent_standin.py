"""Tencent's side, for the tests: the callback protocol written out independently of ``bot/`` (hashlib and the
``cryptography`` primitives, the published algorithm step by step), and a local stand-in for the outbound HTTP
API that records every call. Nothing here imports the code under test."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import struct
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


# --- the published algorithm, written out --------------------------------------------------------------------
def sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def tencent_encrypt(encoding_aes_key: str, receive_id: str, message: bytes, random16: bytes | None = None,
                    length: int | None = None) -> str:
    """16 random bytes + 4-byte big-endian length + message + receive id, PKCS#7 to 32 bytes, AES-256-CBC."""
    key = aes_key(encoding_aes_key)
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(message) if length is None else length)
    plain += message + receive_id.encode("utf-8")
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")


def tencent_decrypt(encoding_aes_key: str, encrypted: str) -> tuple[bytes, bytes]:
    """(message, receive id)."""
    key = aes_key(encoding_aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(base64.b64decode(encrypted)) + dec.finalize()
    plain = plain[:-plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20:20 + length], plain[20 + length:]


def xml(fields: dict[str, Any]) -> bytes:
    """A callback body as Tencent writes it (test values never contain "]]>")."""
    inner = "".join(f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>"
                    for k, v in fields.items())
    return f"<xml>{inner}</xml>".encode()


def read_xml(body: bytes) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ElementTree.fromstring(body)}


def signed_query(token: str, encrypted: str | None = None, timestamp: int | None = None,
                 nonce: str | None = None) -> dict[str, str]:
    """The query Tencent adds: the plain signature, and msg_signature over ``encrypted`` when given. A fresh
    nonce each time, as Tencent does (the gateway refuses a signed URL used again for another message)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce if nonce is not None else str(secrets.randbelow(10**10))
    query = {"timestamp": ts, "nonce": nonce, "signature": sha1_sorted(token, ts, nonce)}
    if encrypted is not None:
        query["msg_signature"] = sha1_sorted(token, ts, nonce, encrypted)
    return query


def text_message(openid: str, text: str, msg_id: int, to: str = "gh_test") -> dict[str, Any]:
    return {"ToUserName": to, "FromUserName": openid, "CreateTime": int(time.time()), "MsgType": "text",
            "Content": text, "MsgId": msg_id}


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
                  b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
                  b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
                  b'<xml><ToUserName>gh</ToUserName><FromUserName>bomb</FromUserName><CreateTime>1</CreateTime>'
                  b'<MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId></xml>')
XXE = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<xml><FromUserName>xxe</FromUserName><MsgType>text</MsgType><Content>&x;</Content><MsgId>2</MsgId></xml>')


# --- Rasa, as the tests look at it ----------------------------------------------------------------------------
def user_texts(servers: Any, conversation_id: str) -> list[str]:
    """What reached the bot in a conversation ([] when it never started)."""
    url = f"{servers.config.rasa_url}/conversations/{quote(conversation_id, safe=':')}/tracker?token={servers.token}"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            events = json.loads(resp.read()).get("events") or []
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise
    return [e["text"] for e in events if e.get("event") == "user"]


# --- the outbound API ----------------------------------------------------------------------------------------
class StandinApi:
    """Serves /cgi-bin/token, /cgi-bin/gettoken, /cgi-bin/message/custom/send and /cgi-bin/message/send like
    Tencent does (JSON with errcode), recording every call. Tokens can be revoked or expired to test refresh."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.valid: set[str] = set()
        self.expired: set[str] = set()
        self.issued = 0
        self.expires_in = 7200
        self.token_errcode = 0
        self.invalid_errcode = 40001  # WeCom says 40014
        self.url = ""
        self.app = web.Application()
        self.app.router.add_get("/cgi-bin/token", self.token)
        self.app.router.add_get("/cgi-bin/gettoken", self.token)
        self.app.router.add_post("/cgi-bin/message/custom/send", self.send)
        self.app.router.add_post("/cgi-bin/message/send", self.send)

    async def token(self, request: web.Request) -> web.Response:
        self.calls.append({"path": request.path, "query": dict(request.query)})
        if self.token_errcode:
            return web.json_response({"errcode": self.token_errcode, "errmsg": "invalid appsecret"})
        self.issued += 1
        token = f"token-{self.issued}"
        self.valid.add(token)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token,
                                  "expires_in": self.expires_in})

    async def send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        token = request.query.get("access_token", "")
        self.calls.append({"path": request.path, "query": dict(request.query), "raw": raw,
                           "json": json.loads(raw.decode("utf-8"))})
        errcode = 42001 if token in self.expired else 0 if token in self.valid else self.invalid_errcode
        self.calls[-1]["errcode"] = errcode
        return web.json_response({"errcode": errcode, "errmsg": "ok" if not errcode else "invalid credential"})

    def revoke(self) -> None:
        self.valid.clear()

    def expire(self) -> None:
        self.expired |= self.valid
        self.valid.clear()

    def of(self, path: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["path"] == path]

    async def wait_for(self, path: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
        async def enough() -> list[dict[str, Any]]:
            while len(self.of(path)) < count:
                await asyncio.sleep(0.05)
            return self.of(path)
        return await asyncio.wait_for(enough(), timeout)


@pytest.fixture
async def tencent_api(aiohttp_server: Any) -> AsyncIterator[StandinApi]:
    api = StandinApi()
    server = await aiohttp_server(api.app)
    api.url = str(server.make_url("")).rstrip("/")
    yield api
