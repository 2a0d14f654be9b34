"""How the actions phrase answers: short Chinese text, a source line, buttons, and custom payloads.

Every policy answer carries its citation in the text (plain-text channels such as WeChat show only text) and
a ``{"type": "citations"}`` custom message with the quoted passages, which the web widget expands.
"""

from __future__ import annotations

import json
import re
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


_SENTENCE_END = re.compile(r"(?<=[。；;！!？?])")


def excerpt(text: str, query: str, limit: int = 220) -> str:
    """A long passage cut to the sentences that carry the question's words (a follow-up such as "中心城区的机构
    呢" is answered by the end of 第9条, not its opening); a short passage, or one the query does not touch, is
    cut from its start as :func:`shorten` does."""
    if len(text) <= limit:
        return text
    sentences = [s for s in _SENTENCE_END.split(text) if s]
    wanted = {query[i:i + 2] for i in range(len(query) - 1)} - {"的机", "什么", "一下", "可以", "能不", "是不"}

    def overlap(sentence: str) -> int:
        return sum(1 for i in range(len(sentence) - 1) if sentence[i:i + 2] in wanted)

    scores = [overlap(s) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: scores[i]) if sentences else 0
    if not sentences or scores[best] == 0 or sum(len(s) for s in sentences[:best + 1]) <= limit:
        return shorten(text, limit)
    start = end = best
    while True:  # widen around the best sentence while it fits, the preceding sentence first
        grown = False
        for i in (start - 1, end + 1):
            if 0 <= i < len(sentences) and sum(len(s) for s in sentences[min(start, i):max(end, i) + 1]) <= limit - 2:
                start, end, grown = min(start, i), max(end, i), True
        if not grown:
            break
    body = "".join(sentences[start:end + 1])
    if len(body) > limit - 2:
        body = body[:limit - 3] + "…"
    return ("…" if start > 0 else "") + body + ("…" if end < len(sentences) - 1 else "")


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
