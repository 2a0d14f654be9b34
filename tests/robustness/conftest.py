"""The bad-input suite: property-based tests (Hypothesis) over every HTTP and socket entry point of the gateway.

Each test builds one in-process gateway in front of the session's real Rasa and action server and throws
examples at it. What must hold for every example: only 2xx/4xx (never 5xx), the gateway keeps answering, nothing is
stored from a refused request, and injected markup or SQL comes back as the same text. Examples are bounded
(``FUZZ``: 60 per test unless a test says otherwise) so the suite runs in about a minute; set
``HYPOTHESIS_EXAMPLES`` to run more.
"""

from __future__ import annotations

import dataclasses
import json
import os
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.helpdesk.service import HelpdeskService

from ..gateway.tencent_standin import tencent_api  # noqa: F401

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "60"))
# function-scoped fixtures (one gateway per test) are shared by a test's examples on purpose
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

WECHAT_TOKEN = "fuzz-wechat-token"
WECHAT_APP_ID = "wx0123456789abcdef"
WECOM_TOKEN = "fuzz-wecom-token"
WECOM_CORP_ID = "ww0123456789abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as Tencent issues them
PASSWORD = "correct horse battery"

# What attackers and unlucky users send: SQL, markup, template and format strings, protocol breakers
NASTY = [
    "'; DROP TABLE events; --", "\" OR 1=1 --", "1' UNION SELECT password_hash FROM helpdesk_staff --",
    "Robert'); DELETE FROM helpdesk_handoffs;--", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "\"><svg/onload=alert(1)>", "javascript:alert(1)", "]]></Content><MsgType>event</MsgType><![CDATA[",
    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a SYSTEM \"file:///etc/passwd\">]>&a;", "{{7*7}}${7*7}",
    "${jndi:ldap://127.0.0.1/x}", "%s%s%n%x", "../../../../etc/passwd", "\x00\x01\x02\x1b[31m\x7f", "\r\n\r\nX: y",
    "\u202e\u200b\ufeff\u2028", "半个表情\ud83d", "😀" * 20, "𠀀𪚥" * 10, "NULL", "undefined", "__proto__", "[]", "{}",
    "0", "-1",
    "我们是中关村的国高企业<b>能申请吗</b>", "13812345678 110105194912310021",
]
nasty_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=300),
                       st.lists(st.sampled_from(NASTY), min_size=2, max_size=4).map("".join))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | nasty_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12)


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


class Raw(bytes):
    """Bytes that print short in a falsifying example (deep JSON, huge bodies)."""

    def __repr__(self) -> str:
        return f"Raw({bytes(self[:40])!r}… {len(self)} bytes)" if len(self) > 60 else f"Raw({bytes(self)!r})"


def tracker(servers: Any, conversation_id: str) -> dict[str, Any]:
    url = f"{servers.config.rasa_url}/conversations/{quote(conversation_id, safe=':')}/tracker?token={servers.token}"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return {}
        raise


def user_events(servers: Any, conversation_id: str) -> list[dict[str, Any]]:
    return [e for e in tracker(servers, conversation_id).get("events") or [] if e.get("event") == "user"]


@pytest.fixture
def fuzz_settings(gateway_settings, servers, tencent_api, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    """Every entry point mounted; limits high enough that examples test the input, not the limiter."""
    helpdesk = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    service = HelpdeskService.from_url(helpdesk)
    service.add_staff("alice", PASSWORD, "王老师")
    service.engine.dispose()
    return dataclasses.replace(
        gateway_settings, action_server_url=servers.config.action_url, helpdesk_database_url=helpdesk,
        helpdesk_hours="mon-sun 00:00-24:00", helpdesk_cookie_secure=False, rate_limit_per_ip_per_min=100_000,
        rate_limit_per_conversation_per_min=100_000, rate_limit_callback_per_ip_per_min=100_000,
        rate_limit_sessions_per_ip_per_min=100_000,
        wechat_token=WECHAT_TOKEN, wechat_app_id=WECHAT_APP_ID, wechat_app_secret="fuzz-secret",
        wechat_aes_key=AES_KEY, wechat_api_base=tencent_api.url, wechat_reply_deadline_s=8.0,
        wecom_token=WECOM_TOKEN, wecom_corp_id=WECOM_CORP_ID, wecom_aes_key=AES_KEY, wecom_agent_id="1000002",
        wecom_secret="fuzz-secret", wecom_api_base=tencent_api.url)


@pytest.fixture
async def fuzz_gateway(aiohttp_client, fuzz_settings):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(fuzz_settings))


@pytest.fixture
async def fuzz_plain_gateway(aiohttp_client, fuzz_settings):  # type: ignore[no-untyped-def]
    """WeChat in plaintext mode (no WECHAT_AES_KEY: with a key set, plaintext messages are refused)."""
    return await aiohttp_client(create_app(dataclasses.replace(fuzz_settings, wechat_aes_key="")))


async def assert_up(client) -> None:  # type: ignore[no-untyped-def]
    resp = await client.get("/healthz")
    assert resp.status == 200
