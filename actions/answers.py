"""How the actions phrase answers: short Chinese text, a source line, buttons, and custom payloads.

Every policy answer carries its citation in the text (plain-text channels such as WeChat show only text) and
a ``{"type": "citations"}`` custom message with the quoted passages, which the web widget expands.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

SOURCE_PREFIX = "依据："
GUIDE_HINT = "具体金额、申报时间和完整材料以对应资金管理办法和当年官方申报指南为准。"
HOTLINE = "12345"


def button(title: str, intent: str, **entities: str) -> dict[str, str]:
    payload = f"/{intent}"
    if entities:
        payload += json.dumps(entities, ensure_ascii=False)
    return {"title": title, "payload": payload}


NEXT_STEPS = {
    "eligibility": button("我们能申请吗", "check_eligibility"),
    "materials": button("要准备什么材料", "ask_materials"),
    "funds": button("有哪些资金", "list_funds"),
    "need": button("按需求找资金", "describe_need"),
    "human": button("转人工", "request_human"),
}


def steps(*names: str) -> list[dict[str, str]]:
    return [NEXT_STEPS[n] for n in names]


def source_line(citations: Iterable[str]) -> str:
    unique = list(dict.fromkeys(c for c in citations if c))
    return SOURCE_PREFIX + "；".join(unique) if unique else ""


def shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def say(dispatcher: CollectingDispatcher, text: str, *, citations: Iterable[tuple[str, str, str]] = (),
        buttons: list[dict[str, str]] | None = None) -> None:
    """One answer: text with its source line and buttons, then the quoted passages for rich channels.

    ``citations`` are (citation, quote, section_id) triples.
    """
    items = list(citations)
    line = source_line(c for c, _, _ in items)
    payload = {"type": "citations", "items": [{"citation": c, "quote": q, "section_id": s} for c, q, s in items]}
    # One bot event carrying both: channels get the text, then the custom payload, as two messages.
    dispatcher.utter_message(text=f"{text}\n{line}" if line else text, buttons=buttons or [],
                             json_message=payload if items else None)
