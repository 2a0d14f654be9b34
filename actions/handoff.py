"""Ask for a person: mark the conversation for handoff with a summary of what the bot knows."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import steps
from actions.base import PolicyAction, user_text
from actions.policy_search import previous_bot_action
from actions.eligibility import SUBJECT_NAMES, profile_of

#: words that ask for a person, not for a phone number or an office
ASKS_FOR_PERSON = re.compile(r"人工|客服|真人|工作人员|找个人|找人|转接|接线")
REGISTRATION_NAMES = {"zgc": "中关村示范区", "beijing_other": "北京其他区", "outside": "北京以外"}
HIGHTECH_NAMES = {"national": "国家高新技术企业", "zgc": "中关村高新技术企业", "none": "非高新技术企业"}


def handoff_summary(tracker: Tracker) -> dict[str, Any]:
    """What the helpdesk needs at a glance: profile, need, suggestions, verdict, materials, open question."""
    profile = profile_of(tracker)
    return {
        "profile": {
            "subject_type": SUBJECT_NAMES.get(profile["subject_type"] or "", None),
            "registration": REGISTRATION_NAMES.get(profile["registration"] or "", None),
            "hightech": HIGHTECH_NAMES.get(profile["hightech"] or "", None),
        },
        "need": tracker.get_slot("need_text"),
        "suggested_fund": tracker.get_slot("suggested_fund"),
        "suggested_measures": tracker.get_slot("suggested_measures") or [],
        "eligibility": tracker.get_slot("eligibility_verdict"),
        "materials_shown": tracker.get_slot("materials_shown") or [],
        "unanswered_question": tracker.get_slot("unanswered_question"),
    }


def summary_text(summary: dict[str, Any]) -> str:
    p = summary["profile"]
    parts = [f"主体：{p['subject_type'] or '未知'}", f"注册地：{p['registration'] or '未知'}",
             f"高新资质：{p['hightech'] or '未知'}"]
    if summary["need"]:
        parts.append(f"需求：{summary['need']}")
    if summary["suggested_fund"]:
        measures = "、".join(f"第{n}条" for n in summary["suggested_measures"])
        parts.append(f"推荐资金：{summary['suggested_fund']}" + (f"（{measures}）" if measures else ""))
    if summary["eligibility"]:
        parts.append(f"资格初判：{summary['eligibility'].get('outcome')}")
    if summary["unanswered_question"]:
        parts.append(f"未解答问题：{summary['unanswered_question']}")
    return "；".join(parts)


async def answer_contact_question(action: PolicyAction, dispatcher: CollectingDispatcher,
                                  tracker: Tracker) -> list[EventType] | None:
    """"有没有咨询电话 主管处室是哪个" read as a request for a person: a question the document leaves open, answered
    as such (None when the message asks for a person or for something else)."""
    text = user_text(tracker)
    if not text or ASKS_FOR_PERSON.search(text):
        return None
    doc = await action.call(action.store.document)
    topic = doc.unstated_topic(text)
    contact = next((t for t in doc.unstated if t["code"] == "contact"), None)
    # "那找谁报名 几号截止 有对接人电话没": a contact cue among other details still asks for information
    if not topic or not contact or not (topic["code"] == "contact" or any(c in text for c in contact.get("cues") or [])):
        return None
    from actions.unstated import answer_unstated

    return await answer_unstated(action, dispatcher, tracker, topic)


class ActionRequestHandoff(PolicyAction):
    def name(self) -> str:
        return "action_request_handoff"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        if (answered := await answer_contact_question(self, dispatcher, tracker)) is not None:
            return answered
        summary = handoff_summary(tracker)
        if summary["suggested_fund"]:
            fund = await self.call(self.store.fund, summary["suggested_fund"])
            summary["suggested_fund"] = fund.short_name if fund else summary["suggested_fund"]
        text = summary_text(summary)
        dispatcher.utter_message(
            text="好的，已为您转人工，工作人员会尽快接入。已把您的情况整理给工作人员，不用重复说明。"
                 "着急的话也可以拨打12345市民服务热线。",
            json_message={"type": "handoff", "summary": summary, "summary_text": text,
                          "reason": "fallback" if previous_bot_action(tracker) == "action_fallback" else "user_request"})
        return [SlotSet("handoff_requested", True), SlotSet("handoff_summary", text)]


class ActionWelcomeBack(PolicyAction):
    """After a person handed the conversation back: greet again and show what the bot still knows."""

    def name(self) -> str:
        return "action_welcome_back"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        if (answered := await answer_contact_question(self, dispatcher, tracker)) is not None:
            return answered
        summary = handoff_summary(tracker)
        p = summary["profile"]
        known = [f"{label}：{value}" for label, value in (("主体", p["subject_type"]), ("注册地", p["registration"]),
                                                         ("高新资质", p["hightech"])) if value]
        if summary["suggested_fund"]:
            fund = await self.call(self.store.fund, summary["suggested_fund"])
            if fund:
                known.append(f"推荐资金：{fund.short_name}")
        text = "我是政策助手，继续为您服务。"
        if known:
            text += "我记得：" + "；".join(known) + "。"
        dispatcher.utter_message(text=text + "还有什么可以帮您？", buttons=steps("need", "eligibility", "materials"))
        return [SlotSet("handoff_requested", False), SlotSet("handoff_offered", False)]


class ActionDeclineHandoff(PolicyAction):
    def name(self) -> str:
        return "action_decline_handoff"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_handoff_declined")
        return []


