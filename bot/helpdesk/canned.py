"""Canned replies for staff, drawn from the policy knowledge (so staff cite the document as the bot does)."""

from __future__ import annotations

from typing import Any

from bot.knowledge.store import MATERIAL_LABELS, PolicyStore

GUIDE = "具体金额、申报时间和完整材料以对应资金管理办法和当年官方申报指南为准。"


def canned_replies(store: PolicyStore) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in store.measures():
        text = f"您可以参考第{m.number}条“{m.title}”（{m.fund_name}资金）：{m.text[:120]}{'…' if len(m.text) > 120 else ''}\n依据：{m.citation}"
        out.append({"label": f"措施：第{m.number}条 {m.title}", "text": text})
    for f in store.funds():
        items = store.materials(fund_code=f.code)
        stated = [f"{i.name}（依据{(i.citation or '').split(' ', 1)[-1].split('「', 1)[0]}）"
                  for i in items if i.source == "clause"]
        typical = [i.name for i in items if i.source == "typical"]
        text = (f"文件没有列出申报材料清单。申报【{f.short_name}】资金建议准备：\n{MATERIAL_LABELS['clause']}："
                + "；".join(stated) + f"\n{MATERIAL_LABELS['typical']}：" + "；".join(typical) + f"\n{GUIDE}")
        out.append({"label": f"材料：{f.short_name}资金", "text": text})
    return out
