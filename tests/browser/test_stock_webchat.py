"""The stock Rasa web client (`rasa-webchat` 1.0.1 from npm) on a page of another origin, against the real gateway.

It renders a ``bot_uttered`` only in the shapes Rasa's own socketio channel emits, so this is the test that the
gateway's default wire format is Rasa's: greeting, a policy answer with its sources as text, a quick reply
clicked, and after a reload the conversation still shown (the widget keeps it in localStorage and the gateway
confirms the same session).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import ROOT
from .conftest import screenshot

pytestmark = pytest.mark.browser

WEBCHAT = ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"
PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>另一个网站</title></head>
<body><h1>某区政务服务网（another origin）</h1>
<script src="/webchat.js"></script>
<script>
  window.WebChat.default({socketUrl: "%(gateway)s", socketPath: "/socket.io/", title: "中关村政策助手",
                          inputTextFieldHint: "输入问题", params: {storage: "local"}}, null);
</script></body></html>
"""


@pytest.fixture
def other_origin(tmp_path: Path, servers) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A page on another origin (its own port) embedding the stock widget, pointed at the gateway."""
    if not WEBCHAT.exists():
        pytest.fail("rasa-webchat is not installed: `make setup` runs npm ci")
    shutil.copy(WEBCHAT, tmp_path / "webchat.js")
    (tmp_path / "index.html").write_text(PAGE % {"gateway": servers.config.gateway_url}, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def bot_texts(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(".rw-response").all_inner_texts()


def send(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(".rw-new-message").fill(text)
    page.locator(".rw-new-message").press("Enter")


def test_stock_rasa_webchat_on_another_origin(page, servers, other_origin):
    assert other_origin.split(":")[2] != servers.config.gateway_url.split(":")[2]  # another origin: another port
    page.goto(other_origin)
    page.locator(".rw-launcher").click()
    page.locator(".rw-new-message").wait_for()

    send(page, "你好")
    page.locator(".rw-response", has_text="政策助手").wait_for()
    assert page.locator(".rw-reply", has_text="有哪些资金").count() >= 1  # quick replies on the greeting

    send(page, "我们想融资，主要是贷款")
    page.locator(".rw-response", has_text="科技金融").wait_for()
    page.locator(".rw-response", has_text="来源：京科发〔2022〕4号").first.wait_for()  # citations as text lines
    screenshot(page, "stock-webchat-policy-answer")

    page.locator(".rw-reply", has_text="要准备什么材料").last.click()
    page.locator(".rw-client", has_text="要准备什么材料").wait_for()
    page.locator(".rw-response", has_text="诚信承诺").first.wait_for()  # the checklist, as text
    before = len(bot_texts(page))
    screenshot(page, "stock-webchat-quick-reply")

    page.reload()
    page.locator(".rw-launcher").wait_for()  # the widget has rendered; it keeps its open state in localStorage
    try:
        page.locator(".rw-new-message").wait_for(timeout=3000)
    except Exception:  # noqa: BLE001 - it came back closed: open it
        page.locator(".rw-launcher").click()
    page.locator(".rw-response", has_text="科技金融").first.wait_for()
    page.locator(".rw-client", has_text="我们想融资").wait_for()
    assert len(bot_texts(page)) >= before
    screenshot(page, "stock-webchat-after-reload")
