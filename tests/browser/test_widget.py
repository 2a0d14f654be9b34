"""The widget in a real browser against the real gateway, Rasa and action server."""

from __future__ import annotations

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser

W = "#zgc-policy-widget"  # Playwright's CSS engine pierces the widget's open shadow root


def open_widget(page, servers):  # type: ignore[no-untyped-def]
    page.goto(servers.config.gateway_url + "/")
    page.locator(f"{W} .launcher").click()
    page.locator(f"{W} textarea").wait_for()


def bot_texts(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(f"{W} .msg.bot .bubble").all_inner_texts()


def test_conversation_with_ime_quick_reply_citation_and_reload(page, servers):
    open_widget(page, servers)
    box = page.locator(f"{W} textarea")

    # Chinese IME: Enter while composing picks a candidate and must not send.
    box.fill("我们是中关村示范区的高新企业，想解决贷款和融资问题")
    box.dispatch_event("compositionstart", {"data": ""})
    box.evaluate("""el => el.dispatchEvent(new KeyboardEvent('keydown',
                    {key: 'Enter', code: 'Enter', isComposing: true, bubbles: true, cancelable: true}))""")
    box.evaluate("""el => { const e = new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true});
                    Object.defineProperty(e, 'keyCode', {get: () => 229}); el.dispatchEvent(e); }""")
    assert page.locator(f"{W} .msg.user").count() == 0
    assert box.input_value().startswith("我们是中关村")
    box.dispatch_event("compositionend", {"data": ""})
    box.press("Enter")
    page.locator(f"{W} .msg.user").first.wait_for()
    assert box.input_value() == ""

    # The answer: the fund and measures, a source line that expands to the quoted passage.
    page.locator(f"{W} .msg.bot .bubble", has_text="科技金融").wait_for()
    reply = bot_texts(page)[-1]
    assert "第5条" in reply and "第7条" in reply and "依据：" not in reply  # the source line is its own element
    source = page.locator(f"{W} details.source").first
    assert source.locator("summary").inner_text().startswith("来源：京科发〔2022〕4号 二（二）第5条")
    assert not source.locator("blockquote").is_visible()
    source.locator("summary").click()
    assert "份额转让" in source.locator("blockquote").inner_text()
    screenshot(page, "desktop-answer-with-citation")

    # A quick reply: the materials, as a checklist.
    page.locator(f"{W} .quick button", has_text="要准备什么材料").last.click()
    checklist = page.locator(f"{W} .materials")
    checklist.wait_for()
    assert "诚信承诺" in checklist.inner_text() and "请以官方申报指南为准" in checklist.inner_text()
    checklist.locator("input[type=checkbox]").first.check()

    # Reload: same conversation, history shown.
    page.reload()
    page.locator(f"{W} .launcher").click()
    page.locator(f"{W} .msg.user", has_text="我们是中关村示范区的高新企业").wait_for()
    page.locator(f"{W} .msg.user", has_text="要准备什么材料").wait_for()
    assert page.locator(f"{W} .materials").count() >= 1


def test_phone_width_and_keyboard(browser, servers):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    page = context.new_page()
    page.goto(servers.config.gateway_url + "/")
    page.keyboard.press("Tab")  # the launcher is reachable by keyboard
    launcher = page.locator(f"{W} .launcher")
    launcher.focus()
    page.keyboard.press("Enter")
    panel = page.locator(f"{W} .panel")
    panel.wait_for()
    assert panel.bounding_box()["width"] == pytest.approx(360, abs=1)
    page.locator(f"{W} textarea").fill("有哪些资金")
    page.keyboard.press("Enter")
    page.locator(f"{W} .msg.bot .bubble", has_text="5项支持资金").wait_for(timeout=20_000)
    screenshot(page, "phone-360-funds")
    page.keyboard.press("Escape")
    assert launcher.is_visible()
    context.close()


def test_markup_is_shown_as_text(page, servers):
    open_widget(page, servers)
    page.locator(f"{W} textarea").fill('<script>alert("x")</script><img src=x onerror=alert(1)>')
    page.keyboard.press("Enter")
    bubble = page.locator(f"{W} .msg.user .bubble").last
    bubble.wait_for()
    assert bubble.inner_text() == '<script>alert("x")</script><img src=x onerror=alert(1)>'
    assert page.locator(f"{W} .log script, {W} .log img").count() == 0
    page.locator(f"{W} .msg.bot").last.wait_for()  # the page's dialog handler fails the test if anything ran


def test_oversize_message_is_refused_visibly(page, servers):
    open_widget(page, servers)
    page.evaluate("window.ZgcPolicyWidget.send('长'.repeat(2001))")
    notice = page.locator(f"{W} .notice")
    notice.wait_for()
    assert "2000" in notice.inner_text()
    assert page.locator(f"{W} .msg.user").count() == 0


def test_handoff_button(page, servers):
    open_widget(page, servers)
    page.locator(f"{W} header button.human").click()
    page.locator(f"{W} .msg.user .bubble", has_text="转人工").wait_for()
    page.locator(f"{W} .msg.bot .bubble", has_text="已为您转人工").wait_for()
    page.locator(f"{W} .msg.bot .bubble", has_text="请稍候").wait_for()  # the queue notice


def test_unreachable_gateway_shows_an_error_with_retry(page, servers):
    page.goto(servers.config.gateway_url + "/healthz")  # any page of ours; then embed a widget pointed nowhere
    page.evaluate(f"""() => {{ const s = document.createElement('script');
        s.src = '{servers.config.gateway_url}/widget.js'; s.setAttribute('data-server', 'http://127.0.0.1:9');
        s.setAttribute('data-open', 'true'); document.body.appendChild(s); }}""")
    status = page.locator(f"{W} .status")
    status.wait_for()
    assert "无法连接" in status.inner_text()
    assert page.locator(f"{W} .status button.retry").is_visible()
    screenshot(page, "desktop-gateway-unreachable")
    page.errors.clear()  # the failed script load is the point of this test
