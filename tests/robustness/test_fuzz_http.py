"""Pages, assets, health and readiness, and raw bytes on the socket: never a 5xx, never down."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ, Raw, assert_up, deep_json

pytestmark = pytest.mark.e2e

PATHS = ["/", "/widget.js", "/healthz", "/readyz", "/vendor/socket.io.min.js", "/helpdesk", "/helpdesk/console.js",
         "/wechat", "/wecom", "/socket.io/", "/helpdesk/api/me", "/helpdesk/api/queue", "/helpdesk/ws"]
header_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
HEADERS = ["Range", "If-Modified-Since", "If-None-Match", "Accept-Encoding", "Origin", "Cookie", "Content-Type",
           "X-Forwarded-For", "Upgrade", "Connection", "Sec-WebSocket-Key", "Accept-Language", "Authorization"]
query = st.dictionaries(st.text(max_size=10), st.text(max_size=40), max_size=4)
method = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"])


@FUZZ
# "/" + text with its leading slashes dropped: aiohttp ≥ 3.10's test client refuses "//x" (a network-path
# reference, i.e. an absolute URL) before sending anything; raw request lines reach the server in the socket tests
@given(path=st.sampled_from(PATHS) | st.text(max_size=60).map(lambda p: "/" + p.lstrip("/")), method=method, params=query,
       headers=st.dictionaries(st.sampled_from(HEADERS), header_value, max_size=4),
       body=st.binary(max_size=2048))
async def test_any_request_to_any_path_is_answered_without_a_5xx(fuzz_gateway, path, method, params, headers, body):
    async with fuzz_gateway.request(method, path, params=params, headers=headers, data=body or None,
                                    allow_redirects=False) as resp:
        await resp.read()
        assert resp.status < 500, (method, path, params, headers, resp.status)


async def test_the_known_pages_answer_and_readiness_is_ready(fuzz_gateway):
    for path in ("/", "/widget.js", "/healthz", "/vendor/socket.io.min.js", "/helpdesk", "/helpdesk/console.js"):
        resp = await fuzz_gateway.get(path)
        assert resp.status == 200, path
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    resp = await fuzz_gateway.get("/readyz")
    assert resp.status == 200, await resp.text()


async def test_a_body_over_the_limit_is_413_not_5xx(fuzz_gateway):
    for path in ("/helpdesk/api/login", "/wechat", "/wecom", "/socket.io/?EIO=4&transport=polling&sid=x", "/"):
        resp = await fuzz_gateway.post(path, data=b"x" * (5 * 1024 * 1024))
        assert 400 <= resp.status < 500, (path, resp.status)
    await assert_up(fuzz_gateway)


BAD_HTTP = [Raw(b) for b in (
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /wechat HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", b"\xff\xfe\x00\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
    b"POST /helpdesk/api/login HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n"
    + deep_json(30000).encode())]


@FUZZ
@given(chunks=st.lists(st.binary(min_size=1, max_size=512) | st.sampled_from(BAD_HTTP), min_size=1, max_size=3))
async def test_raw_bytes_on_the_socket_never_take_the_gateway_down(fuzz_gateway, chunks):
    reader, writer = await asyncio.open_connection(fuzz_gateway.host, fuzz_gateway.port)
    try:
        for chunk in chunks:
            writer.write(chunk)
        await writer.drain()
        head = await asyncio.wait_for(reader.read(64), 1)
        if head.startswith(b"HTTP/1."):
            assert not head[9:10] == b"5", head  # a status line: 2xx/4xx
    except (ConnectionError, asyncio.TimeoutError):
        pass  # the server may hang up on garbage, or wait for the rest of a request
    finally:
        writer.close()
    await assert_up(fuzz_gateway)
