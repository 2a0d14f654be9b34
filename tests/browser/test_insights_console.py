"""The console's insights page in Chromium, under its Content-Security-Policy: a lead sees every chart drawn with
no console error; an agent gets 403. A gateway of its own in a thread (no Rasa needed)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.db import make_engine
from bot.app import create_app
from bot.helpdesk.service import HelpdeskService
from bot.settings import Settings

from ..insights.seed import seed_plain
from .conftest import screenshot

PASSWORD = "a-long-password-1"
PORT = 18090 + int(os.environ.get("TEST_PORT_OFFSET", "0"))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("insights-gw")
    tracker = f"sqlite:///{tmp / 'tracker.db'}"
    engine = make_engine(tracker)
    seed_plain(engine)
    engine.dispose()
    helpdesk = f"sqlite:///{tmp / 'helpdesk.db'}"
    service = HelpdeskService.from_url(helpdesk)
    service.add_staff("agent1", PASSWORD)
    service.add_staff("lead1", PASSWORD, "张主任", roles=["lead"])
    service.engine.dispose()
    settings = dataclasses.replace(Settings.from_env({}), rasa_url="http://127.0.0.1:9", rasa_token="t",
                                   database_url=f"sqlite:///{tmp / 'policy.db'}", helpdesk_database_url=helpdesk,
                                   tracker_store_url=tracker, web_session_key="k", helpdesk_cookie_secure=False)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings))
    started = threading.Event()

    def serve() -> None:  # its own loop in its own thread (Playwright's sync API holds one in this thread)
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", PORT).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(30), "the gateway did not start"
    yield f"http://127.0.0.1:{PORT}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _context(browser, base: str, username: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 1400}, locale="zh-CN", base_url=base)
    r = context.request.post("/helpdesk/api/login", data={"username": username, "password": PASSWORD})
    assert r.status == 200
    return context


def test_lead_sees_the_charts(browser, gateway: str) -> None:  # type: ignore[no-untyped-def]
    context = _context(browser, gateway, "lead1")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        page.goto("/helpdesk/insights")
        page.select_option("#since", "")
        page.fill("#start", "2026-11-01")
        page.fill("#end", "2026-11-30")
        page.click("button[type=submit]")
        page.wait_for_function("() => window.insightsCharts && window.insightsCharts.length === 6 && "
                               "document.querySelector('section.figures td:nth-child(2)').textContent === '7'")
        for chart_id in ("chart-channels", "chart-handoffs", "chart-unanswered"):
            assert page.evaluate("id => !!window.Chart.getChart(id)", chart_id), chart_id
        assert "138****5678" in page.inner_text("section.unanswered")
        screenshot(page, "insights-console")
        page.fill("#label-cluster", "3")  # 今天/明天天气怎么样
        page.select_option("#label-kind", "out_of_scope")
        page.click("#label-form button[type=submit]")
        page.wait_for_selector("#label-status:has-text('已标注 2 个问题')")
    finally:
        context.close()
    assert not problems, problems


def test_console_link_and_agent_refused(browser, gateway: str) -> None:  # type: ignore[no-untyped-def]
    context = _context(browser, gateway, "agent1")
    page = context.new_page()
    try:
        assert page.goto("/helpdesk/insights").status == 403
        page.goto("/helpdesk")
        page.wait_for_selector("#logout", state="visible")
        assert page.locator("#insights-link").is_hidden()
    finally:
        context.close()
    context = _context(browser, gateway, "lead1")
    page = context.new_page()
    try:
        page.goto("/helpdesk")
        page.wait_for_selector("#insights-link", state="visible")
    finally:
        context.close()
