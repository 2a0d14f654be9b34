"""The report as plain text for the terminal."""

from __future__ import annotations

from typing import Any


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f} %"


def _counts(d: dict[str, int], limit: int = 8) -> str:
    return "，".join(f"{k} {v}" for k, v in list(d.items())[:limit]) or "—"


def _block(name: str, f: dict[str, Any]) -> list[str]:
    rt = f["reply_time_ms"]
    return [
        f"[{name}] 会话 {f['conversations']}  用户消息 {f['user_turns']}  自助解决率 {_pct(f['containment'])}",
        f"  转人工 {f['handoffs']['total']}（{_counts(f['handoffs']['by_reason'])}）  兜底回复 {f['fallbacks']}  "
        f"文件未涉及 {f['not_covered']}",
        f"  资格检查 开始 {f['eligibility']['started']} 完成 {f['eligibility']['finished']}"
        f"（{_counts(f['eligibility']['verdicts'])}）",
        f"  资金 推荐：{_counts(f['funds']['recommended'])}；询问：{_counts(f['funds']['asked'])}",
        f"  措施 推荐：{_counts(f['measures']['recommended'])}；询问：{_counts(f['measures']['asked'])}",
        f"  回复时间 中位数 {rt['median']} ms  p95 {rt['p95']} ms",
    ]


def render_text(report: dict[str, Any]) -> str:
    lines = [f"政策助手 insights {report['period']['start']} — {report['period']['end']}", ""]
    lines += _block("合计", report)
    for name, figures in report["channels"].items():
        lines += _block(name, figures)
    hd = report.get("helpdesk")
    if hd:
        lines += ["", f"人工客服：{hd['total']} 次转入（{_counts(hd['by_status'])}），等待接入中位数 "
                      f"{hd['wait_to_claim_s']['median']} s"]
    lines += ["", f"未解答问题 {report['unanswered_total']}，{len(report['unanswered'])} 类："]
    for i, c in enumerate(report["unanswered"], 1):
        lines.append(f"  {i}. ×{c['size']} [{' '.join(c['terms'])}] {' ｜ '.join(c['examples'][:3])}"
                     f"  ({_counts(c['channels'])})")
    return "\n".join(lines)
