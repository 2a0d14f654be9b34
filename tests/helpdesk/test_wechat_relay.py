"""Handoff on WeChat: the user asks for a person in WeChat, staff answer in the console, replies arrive through
the customer-service API (the local stand-in for Tencent's API records them), and the bot stays silent."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.app import create_app

from ..gateway.tencent_standin import tencent_api, text_message  # noqa: F401
from ..gateway.test_wechat import APP_ID, GH, KEY, SECRET, SEND, TOKEN, _ids, new_openid, post, reply_of
from .test_console import login

pytestmark = pytest.mark.e2e


@pytest.fixture
async def wechat_with_helpdesk(aiohttp_client, hd_settings, tencent_api):  # type: ignore[no-untyped-def]  # noqa: F811
    settings = dataclasses.replace(hd_settings, wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_app_secret=SECRET,
                                   wechat_aes_key="", wechat_api_base=tencent_api.url, wechat_reply_deadline_s=20.0)
    return await aiohttp_client(create_app(settings))


async def wechat_says(client, openid: str, text: str) -> str:  # type: ignore[no-untyped-def]
    status, raw = await post(client, text_message(openid, text, next(_ids), to=GH))
    assert status == 200
    return "" if raw in (b"success", b"") else reply_of(raw).get("Content", "")


async def test_wechat_user_and_staff_relay_both_ways(wechat_with_helpdesk, tencent_api):  # noqa: F811
    client, openid = wechat_with_helpdesk, new_openid()
    first = await wechat_says(client, openid, "转人工")
    assert "已为您转人工" in first and "请稍候" in first
    csrf = await login(client)
    queue = (await (await client.get("/helpdesk/api/queue")).json())["handoffs"]
    handoff = next(h for h in queue if h["conversation_id"] == f"wechat:{openid}")
    assert handoff["channel"] == "wechat"
    assert (await client.post(f"/helpdesk/api/handoffs/{handoff['id']}/claim",
                              headers={"X-CSRF-Token": csrf})).status == 200

    silent = await wechat_says(client, openid, "我们的营业执照地址在昌平")
    assert silent == ""  # no bot turn: the message went to the staff member
    detail = await (await client.get(f"/helpdesk/api/handoffs/{handoff['id']}")).json()
    assert [m["text"] for m in detail["messages"]] == ["我们的营业执照地址在昌平"]

    resp = await client.post(f"/helpdesk/api/handoffs/{handoff['id']}/messages", json={"text": "昌平有示范区园区，请核对地址。"},
                             headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    for _ in range(50):
        contents = [c["json"]["text"]["content"] for c in tencent_api.of(SEND) if c["json"]["touser"] == openid]
        if any("昌平有示范区园区" in c for c in contents):
            break
        await asyncio.sleep(0.1)
    assert any(c.startswith("【人工客服】") and "昌平有示范区园区" in c for c in contents)
