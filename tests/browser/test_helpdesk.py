"""A user in the widget and a staff member in the console, in two pages at once, in a real browser."""

from __future__ import annotations

import pytest

from bot.helpdesk.service import HelpdeskService

from .conftest import screenshot

pytestmark = pytest.mark.browser

W = "#zgc-policy-widget"
PASSWORD = "browser test password"


@pytest.fixture(scope="module")
def staff_account(servers):  # type: ignore[no-untyped-def]
    service = HelpdeskService.from_url(servers.config.extra_env["DATABASE_URL"])
    try:
        service.add_staff("zhang", PASSWORD, "张老师")
    except ValueError:
        pass  # already there from an earlier module
    service.engine.dispose()
    return "zhang"


def test_handoff_chat_both_ways_and_return_to_bot(browser, servers, staff_account):
    user_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    staff_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    user, staff = user_ctx.new_page(), staff_ctx.new_page()
    for p in (user, staff):
        p.set_default_timeout(20_000)
    base = servers.config.gateway_url

    # the user asks a question, then for a person
    user.goto(base + "/")
    user.locator(f"{W} .launcher").click()
    user.locator(f"{W} textarea").fill("我们是海淀的科技公司，想了解融资政策")
    user.keyboard.press("Enter")
    user.locator(f"{W} .msg.bot .bubble", has_text="科技金融").wait_for()
    user.locator(f"{W} header button.human").click()
    user.locator(f"{W} .msg.bot .bubble", has_text="请稍候").wait_for()

    # staff logs in, sees the context card, claims
    staff.goto(base + "/helpdesk")
    staff.fill("#username", staff_account)
    staff.fill("#password", PASSWORD)
    staff.click("#login button[type=submit]")
    item = staff.locator(".item", has_text="融资").first
    item.wait_for()
    item.click()
    staff.locator("#card-body", has_text="渠道").wait_for()
    assert "web" in staff.locator("#card-body").inner_text()
    staff.click("#claim")
    user.locator(f"{W} .msg .bubble", has_text="张老师已接入").wait_for()

    # both ways, live
    user.locator(f"{W} textarea").fill("请问申报书模板在哪里下载？")
    user.keyboard.press("Enter")
    staff.locator("#log .line.user", has_text="申报书模板").wait_for()
    staff.fill("#reply", "模板以当年申报通知的附件为准，我把链接发您。")
    staff.click("#send")
    user.locator(f"{W} .msg.staff .bubble", has_text="模板以当年申报通知").wait_for()
    assert user.locator(f"{W} .msg.staff .who").first.inner_text() == "人工客服"
    screenshot(user, "handoff-user-widget")
    screenshot(staff, "handoff-staff-console")

    # back to the bot
    staff.click("#return")
    user.locator(f"{W} .msg.bot .bubble", has_text="继续为您服务").wait_for()
    user.locator(f"{W} textarea").fill("有哪些资金")
    user.keyboard.press("Enter")
    user.locator(f"{W} .msg.bot .bubble", has_text="5项支持资金").wait_for()
    user_ctx.close()
    staff_ctx.close()
