"""`python -m bot wechat-sim`: chat with a running gateway's ``/wechat`` as a WeChat user would.

Every line you type becomes a real Official Account callback: signed with WECHAT_TOKEN (and, with ``--aes``,
encrypted with WECHAT_AES_KEY for WECHAT_APP_ID, as in safe mode), POSTed to the gateway; the passive reply —
with its numbered menu — is checked, decrypted and printed. Replies slower than the deadline go through the
customer-service API: with ``--api-port`` the simulator stands in for that API too and prints them (start the
gateway with ``WECHAT_API_BASE=http://127.0.0.1:<port>``).
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import sys
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TextIO

import aiohttp
from aiohttp import web

from bot.gateway.channels.wxcrypto import WxCrypto, WxProtocolError, build_xml, check_signature, parse_xml, signature

HELP = ("输入文字即发送。  :subscribe 关注事件   :image 发图片   :voice 文字 语音(带识别结果)   "
        ":retry 重发上一条(同一MsgId)   :quit 退出")
SLOW = "（网关答复 success，没有被动回复：重复的消息、无需回复的事件，或回复超时、改由客服消息接口发送）"


@dataclass
class WeChatUser:
    """One simulated user talking to one callback URL."""

    url: str  # e.g. http://127.0.0.1:8080/wechat
    token: str
    app_id: str
    crypto: WxCrypto | None = None  # set: safe mode
    openid: str = field(default_factory=lambda: "sim-" + secrets.token_hex(6))
    account: str = "gh_simulator"
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(int(time.time() * 1000)))
    last: dict[str, str | int] | None = None

    def message(self, kind: str = "text", text: str = "", event: str = "") -> dict[str, str | int]:
        fields: dict[str, str | int] = {"ToUserName": self.account, "FromUserName": self.openid,
                                        "CreateTime": int(time.time()), "MsgType": kind}
        if kind == "text":
            fields["Content"] = text
        elif kind == "voice":
            fields.update(MediaId="sim-media", Format="amr", Recognition=text)
        elif kind == "image":
            fields.update(PicUrl="http://127.0.0.1/sim.jpg", MediaId="sim-media")
        if kind == "event":
            fields["Event"] = event
        else:
            fields["MsgId"] = next(self._ids)
        return fields

    async def send(self, session: aiohttp.ClientSession, fields: dict[str, str | int]) -> str | None:
        """POST one message; the passive reply's text, or None when the gateway answered "success"."""
        self.last = fields
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
        query = {"signature": signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                 "openid": self.openid}
        body = build_xml(fields)
        if self.crypto is not None:
            encrypted = self.crypto.encrypt(body)
            query.update(encrypt_type="aes", msg_signature=signature(self.token, timestamp, nonce, encrypted))
            body = build_xml({"ToUserName": self.account, "Encrypt": encrypted})
        async with session.post(self.url, params=query, data=body,
                                headers={"Content-Type": "text/xml; charset=utf-8"}) as resp:
            raw = await resp.read()
            if resp.status != 200:
                raise WxProtocolError(f"the gateway answered HTTP {resp.status}: {raw[:200]!r}")
        if raw.strip() in (b"success", b""):
            return None
        reply = parse_xml(raw)
        if self.crypto is not None:
            check_signature(reply.get("MsgSignature"), self.token, reply.get("TimeStamp", ""),
                            reply.get("Nonce", ""), reply.get("Encrypt", ""))
            reply = parse_xml(self.crypto.decrypt(reply.get("Encrypt", "")))
        if reply.get("ToUserName") != self.openid or reply.get("MsgType") != "text":
            raise WxProtocolError(f"unexpected reply: {reply}")
        return reply.get("Content", "")


@asynccontextmanager
async def standin_api(port: int, out: TextIO) -> AsyncIterator[None]:
    """A local stand-in for the customer-service API that prints what the gateway sends."""
    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "sim-" + secrets.token_hex(8), "expires_in": 7200})

    async def custom_send(request: web.Request) -> web.Response:
        data = await request.json()
        print(f"\n[客服消息 → {data.get('touser')}]\n{(data.get('text') or {}).get('content', '')}\n", file=out,
              flush=True)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    app = web.Application()
    app.router.add_get("/cgi-bin/token", token)
    app.router.add_post("/cgi-bin/message/custom/send", custom_send)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def _lines(say: list[str] | None) -> AsyncIterator[str]:
    if say is not None:
        for line in say:
            yield line
        return
    while True:
        try:
            yield await asyncio.to_thread(input, "你> ")
        except EOFError:
            return


async def chat(user: WeChatUser, say: Iterable[str] | None = None, out: TextIO = sys.stdout,
               api_port: int | None = None, linger_s: float = 5.0) -> int:
    """Send ``say`` (or what is typed) and print the replies; 0 when every request was accepted. With a
    stand-in API, it stays up ``linger_s`` after the last line for replies still on their way."""
    print(f"WeChat 模拟器 → {user.url}  openid={user.openid}  {'安全模式' if user.crypto else '明文模式'}\n{HELP}",
          file=out, flush=True)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session, \
            (standin_api(api_port, out) if api_port else _nothing()):
        async for line in _lines(list(say) if say is not None else None):
            command, _, rest = line.strip().partition(" ")
            if command in (":quit", ":q"):
                break
            if not line.strip():
                continue
            fields = (user.message("event", event="subscribe") if command == ":subscribe"
                      else user.message("image") if command == ":image"
                      else user.message("voice", rest) if command == ":voice"
                      else user.last if command == ":retry" and user.last
                      else user.message("text", line.strip()))
            try:
                reply = await user.send(session, fields)
            except (WxProtocolError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                print(f"[错误] {exc}", file=out, flush=True)
                return 1
            print(f"机器人> {reply}" if reply is not None else SLOW, file=out, flush=True)
        if api_port:
            await asyncio.sleep(linger_s)
    return 0


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield
