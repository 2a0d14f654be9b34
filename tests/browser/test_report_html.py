"""The report's HTML page opens in headless Chromium from a file, with no network: no errors, every chart drawn."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.db import make_engine
from bot.insights.html import render_html
from bot.insights.report import build_report

from ..insights.seed import NOW, seed_plain
from .conftest import screenshot

CHARTS = ["chart-channels", "chart-handoffs", "chart-verdicts", "chart-funds", "chart-measures", "chart-unanswered"]


def test_report_page_shows_its_charts(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    seed_plain(engine)
    report = build_report(engine, None, since=timedelta(days=7), end=NOW)
    engine.dispose()
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(report), encoding="utf-8")

    context = browser.new_context(viewport={"width": 1280, "height": 1400}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("request", lambda r: problems.append(f"network: {r.url}") if not r.url.startswith("file:") else None)
    try:
        page.goto(page_file.as_uri())
        page.wait_for_function("window.insightsCharts && window.insightsCharts.length === 6")
        for chart_id in CHARTS:
            drawn = page.evaluate("""id => { const c = window.Chart.getChart(id);
                return c ? c.data.datasets.reduce((n, d) => n + d.data.length, 0) : -1; }""", chart_id)
            assert drawn > 0, chart_id
            box = page.locator(f"#{chart_id}").bounding_box()
            assert box and box["width"] > 100 and box["height"] > 100, chart_id
        assert page.locator("section.unanswered tr").count() == 1 + len(report["unanswered"])
        assert "138****5678" in page.inner_text("section.unanswered")
        assert page.locator("section.figures td").first.inner_text() == "合计"
        screenshot(page, "insights-report")
    finally:
        context.close()
    assert not problems, problems
