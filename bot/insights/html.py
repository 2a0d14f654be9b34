"""The report as one self-contained HTML page: Chart.js (vendored from npm, bot/insights/static/) and the page's
script inlined, the report's data embedded as JSON. Opens from a file with no network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "static"
STYLE = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 24px; color: #111827; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 14px; margin: 0 0 8px; }
table { border-collapse: collapse; font-size: 13px; } th, td { border: 1px solid #d1d5db; padding: 4px 8px;
 text-align: left; vertical-align: top; } th { background: #f3f4f6; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 16px; margin-top: 16px; }
.chart { border: 1px solid #e5e7eb; border-radius: 6px; padding: 12px; height: 300px; display: flex;
 flex-direction: column; } .chart canvas { flex: 1; min-height: 0; }
.period { color: #4b5563; }
"""


def _inline(text: str) -> str:
    """Safe inside a <script> element: no closing tag."""
    return text.replace("</", "<\\/")


def _inline_json(data: Any) -> str:
    """JSON safe inside a <script> element: every '<' (only ever inside a string) escaped as \\u003c."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def render_html(report: dict[str, Any], title: str = "政策助手 · 咨询洞察") -> str:
    chart = (STATIC / "chart.umd.min.js").read_text(encoding="utf-8")
    page = (STATIC / "insights.js").read_text(encoding="utf-8")
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{STYLE}</style></head>
<body><h1>{title}</h1><main id="insights"></main>
<script>{_inline(chart)}</script>
<script>{_inline(page)}</script>
<script type="application/json" id="report-data">{_inline_json(report)}</script>
<script>window.insightsCharts = window.renderInsights(
  JSON.parse(document.getElementById("report-data").textContent), document.getElementById("insights"));</script>
</body></html>
"""
