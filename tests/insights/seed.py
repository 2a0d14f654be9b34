"""A tracker store seeded with known conversations, in the JSON shapes Rasa 3.6 writes (`event.as_dict()`).

``seed_plain`` writes the rows the way Rasa's SQLTrackerStore does (tests/insights/test_seed_is_rasa.py checks
that Rasa's own store writes exactly these rows and reads them back), so the report can be tested in either
environment. The expected figures are in ``EXPECTED``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text
from sqlalchemy.engine import Engine

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
SECRET_SESSION = "s3cr3t-widget-session-QWERTY123456"  # a widget's session id: must never reach the report


def _user(ts: float, text: str, intent: str, channel: str | None = "web", **meta: Any) -> dict[str, Any]:
    metadata = {"channel": channel, "message_id": f"m{ts}", **meta} if channel else {}
    return {"event": "user", "timestamp": ts, "metadata": metadata, "text": text,
            "parse_data": {"intent": {"name": intent, "confidence": 0.91}, "entities": [], "text": text,
                           "message_id": f"m{ts}", "metadata": metadata,
                           "intent_ranking": [{"name": intent, "confidence": 0.91}]},
            "input_channel": "rest", "message_id": f"m{ts}"}


def _bot(ts: float, text: str, custom: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {"event": "bot", "timestamp": ts, "metadata": meta, "text": text,
            "data": {"elements": None, "quick_replies": None, "buttons": None, "attachment": None, "image": None,
                     "custom": custom}}


def _action(ts: float, name: str) -> dict[str, Any]:
    return {"event": "action", "timestamp": ts, "metadata": {"model_id": "x"}, "name": name, "policy": "RulePolicy",
            "confidence": 1.0, "action_text": None, "hide_rule_turn": False}


def _slot(ts: float, name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": ts, "metadata": {"model_id": "x"}, "name": name, "value": value}


def _loop(ts: float, name: str | None) -> dict[str, Any]:
    return {"event": "active_loop", "timestamp": ts, "metadata": {"model_id": "x"}, "name": name}


def _start(ts: float) -> list[dict[str, Any]]:
    return [{"event": "action", "timestamp": ts, "metadata": {"model_id": "x"}, "name": "action_session_start",
             "policy": None, "confidence": 1.0, "action_text": None, "hide_rule_turn": False},
            {"event": "session_started", "timestamp": ts, "metadata": {"model_id": "x"}},
            _action(ts, "action_listen")]


NOT_IN_DOC = "京科发〔2022〕4号没有涉及“金额”本身（可咨询12345或转人工）；最高金额以申报指南为准。"
OUT_OF_SCOPE = "抱歉，这个问题超出了我的范围。我只解答中关村支持资金政策（京科发〔2022〕4号）。"
NO_ANSWER = "文件里没有找到能直接回答这个问题的内容。您可以换个说法，或者转人工咨询。"


def conversations() -> dict[str, list[dict[str, Any]]]:
    t = (NOW - timedelta(days=1)).timestamp()
    old = (NOW - timedelta(days=30)).timestamp()
    return {
        # contained: a need → fund and measures, then a measure asked by number
        "web:aaaa": [*_start(t), _user(t + 1, "我们是高新企业，想解决贷款融资问题", "state_need",
                                       session_id=SECRET_SESSION),
                     _action(t + 1.05, "action_recommend"), _slot(t + 1.05, "suggested_fund", "科技金融"),
                     _slot(t + 1.05, "suggested_measures", [5, 6, 7]), _bot(t + 1.1, "推荐【科技金融】第5—7条"),
                     _action(t + 1.1, "action_listen"),
                     _user(t + 10, "第5条讲的什么", "ask_measure"), _slot(t + 10.1, "measure", "5"),
                     _bot(t + 10.3, "第五条……文件没有写明执行到哪一年"),  # an answer: no unanswered_question
                     _action(t + 10.3, "action_listen")],
        # contained: an eligibility check started and finished
        "web:bbbb": [*_start(t), _user(t + 2, "我们能申请吗", "check_eligibility"),
                     _action(t + 2.1, "eligibility_form"), _loop(t + 2.1, "eligibility_form"),
                     _bot(t + 2.4, "请问贵单位是什么类型的主体？"), _action(t + 2.4, "action_listen"),
                     _user(t + 20, "企业，注册在中关村，有国高", "inform"),
                     _slot(t + 20.1, "eligibility_verdict", {"outcome": "eligible", "missing": []}),
                     _loop(t + 20.1, None), _bot(t + 20.5, "✅ 符合三（一）"), _action(t + 20.5, "action_listen"),
                     _user(t + 30, "介绍下科技金融资金", "ask_fund"), _slot(t + 30.1, "fund", "科技金融"),
                     _bot(t + 30.2, "【科技金融】……")],
        # WeChat: the document is silent, then something out of scope; a second check started, not finished
        "wechat:oCCCC": [*_start(t), _user(t + 3, "最高能补贴多少钱", "ask_unstated", "wechat"),
                         _bot(t + 3.5, NOT_IN_DOC),
                         _user(t + 40, "今天天气怎么样", "out_of_scope", "wechat"), _bot(t + 40.6, OUT_OF_SCOPE),
                         _user(t + 50, "我们能申请吗", "check_eligibility", "wechat"),
                         _loop(t + 50.1, "eligibility_form"), _bot(t + 50.7, "请问贵单位是什么类型的主体？")],
        # WeCom: a fallback, then a person asked for; messages relayed to and from staff
        "wecom:DDDD": [*_start(t), _user(t + 4, "那个东西咋弄 联系13812345678", "nlu_fallback", "wecom"),
                       _action(t + 4.1, "action_fallback"), _bot(t + 4.8, NO_ANSWER),
                       _user(t + 60, "/request_human", "request_human", "wecom"),
                       _action(t + 60.1, "action_request_handoff"),
                       _bot(t + 60.9, "好的，已为您转人工", {"type": "handoff", "reason": "fallback", "summary": {}}),
                       _bot(t + 61, "正在为您接入人工服务，请稍候。", sender="system"),
                       _user(t + 70, "在吗", "handed_off", "wecom"),
                       _bot(t + 90, "您好，我是王老师", sender="staff", staff="王老师")],
        # no channel prefix: the message metadata says WeChat; out of scope
        "legacy-id-1": [*_start(t), _user(t + 5, "上海的政策有哪些", "out_of_scope", "wechat"),
                        _bot(t + 6.0, OUT_OF_SCOPE)],
        # web: out of scope, then asks for a person right away
        "web:eeee": [*_start(t), _user(t + 6, "明天天气怎么样", "out_of_scope"), _bot(t + 6.2, OUT_OF_SCOPE),
                     _user(t + 7, "上海有什么政策", "ask_policy"), _action(t + 7.1, "action_request_handoff"),
                     _bot(t + 7.3, "好的，已为您转人工", {"type": "handoff", "reason": "user_request", "summary": {}})],
        "web:ffff": [*_start(t), _user(t + 8, "补贴金额最高多少钱", "ask_unstated"), _bot(t + 8.4, NOT_IN_DOC),
                     # the document is silent (actions/unstated.py): no marker words, the slot says it
                     _user(t + 9, "最高补贴多少钱呀", "ask_unstated"), _action(t + 9.1, "action_answer_unstated"),
                     _bot(t + 9.2, "京科发〔2022〕4号没有写明补贴金额。以申报指南为准"),
                     _slot(t + 9.2, "unanswered_question", "最高补贴多少钱呀"), _action(t + 9.2, "action_listen")],
        # outside a 7-day period
        "web:old0": [*_start(old), _user(old + 1, "很久以前的问题没答上", "nlu_fallback"),
                     _action(old + 1.1, "action_fallback"), _bot(old + 1.2, NO_ANSWER)],
    }


# reply times (s) of the in-period bot turns — the first bot event after each user message, staff/system
# excluded: 0.1 0.3 | 0.4 0.5 0.2 | 0.5 0.6 0.7 | 0.8 0.9 | 1.0 | 0.2 0.3 | 0.4 0.2 → median 0.4, p95 1.0
EXPECTED = {
    "conversations": 7,
    "user_turns": 16,  # the message relayed to staff counts, but gets no reply time
    "containment": round(5 / 7, 4),  # all but wecom:DDDD (fallback, handoff) and web:eeee (handoff)
    "fallbacks": 1,
    "not_covered": 7,  # DDDD's fallback answer says so too
    "handoffs": {"total": 2, "by_reason": {"fallback": 1, "user_request": 1}},
    "eligibility": {"started": 2, "finished": 1, "verdicts": {"eligible": 1}},
    "funds": {"recommended": {"科技金融": 1}, "asked": {"科技金融": 1}},
    "measures": {"recommended": {"5": 1, "6": 1, "7": 1}, "asked": {"5": 1}},
    "channels": {"web": 4, "wechat": 2, "wecom": 1},
    "reply_time_ms": {"median": 400.0, "p95": 1000.0, "count": 15},
    "unanswered_total": 8,
    # sizes of the clusters, largest first, with their members (masked)
    "clusters": [
        {"最高能补贴多少钱", "补贴金额最高多少钱", "最高补贴多少钱呀"},
        {"上海的政策有哪些", "上海有什么政策"},
        {"今天天气怎么样", "明天天气怎么样"},
        {"那个东西咋弄 联系138****5678"},
    ],
}

EVENTS_TABLE = Table("events", MetaData(), Column("id", Integer, primary_key=True), Column("sender_id", String(255)),
                     Column("type_name", String(255)), Column("timestamp", Float), Column("intent_name", String(255)),
                     Column("action_name", String(255)), Column("data", Text))


def row(sender_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """The row Rasa's SQLTrackerStore writes for an event."""
    return {"sender_id": sender_id, "type_name": event["event"], "timestamp": event.get("timestamp"),
            "intent_name": (event.get("parse_data") or {}).get("intent", {}).get("name"),
            "action_name": event.get("name"), "data": json.dumps(event)}


def seed_plain(engine: Engine, convs: dict[str, list[dict[str, Any]]] | None = None) -> None:
    EVENTS_TABLE.metadata.create_all(engine)
    with engine.begin() as conn:
        for sender, events in (convs or conversations()).items():
            conn.execute(EVENTS_TABLE.insert(), [row(sender, e) for e in events])
