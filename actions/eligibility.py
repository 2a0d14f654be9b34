"""The eligibility form (asks only what it does not know) and the verdict, condition by condition."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.answers import button, say, steps
from actions.base import PolicyAction, user_text
from actions.knowledge import get_vocabulary
from bot.knowledge.store import Verdict
from bot.knowledge.vocabulary import Vocabulary, preferred

UNKNOWN = "unknown"
PROFILE = ("subject_type", "registration", "hightech")
VALID = {
    "subject_type": {"enterprise", "university", "research_institute", "service_org", "social_org", "other"},
    "registration": {"zgc", "beijing_other", "outside"},
    "hightech": {"national", "zgc", "none", "certified"},
}
_DONT_KNOW = re.compile(r"不太?(确定|知道|清楚|了解)|没数|说不好|搞不清|不记得")
_BEIJING_HINT = ("中关村示范区实行“一区多园”，北京各区都有示范区的园区，但不是全区都在范围内。"
                 "请确认注册地址是否在示范区范围内（可查营业执照地址或问所在园区）。")
ICONS = {"met": "✅", "not_met": "❌", "unknown": "❓", "reference": "⚠️"}
STATUS_WORDS = {"met": "满足", "not_met": "不满足", "unknown": "待确认", "reference": "参照执行"}
SUBJECT_NAMES = {"enterprise": "企业", "university": "高等学校", "research_institute": "科研机构",
                 "service_org": "服务机构", "social_org": "社会组织", "other": "其他主体"}


def registration_buttons() -> list[dict[str, str]]:
    return [button("在中关村示范区内", "inform", registration="zgc"),
            button("在北京其他区", "inform", registration="beijing_other"),
            button("在北京以外", "inform", registration="outside"),
            button("不确定", "inform", registration=UNKNOWN)]


class ValidateEligibilityForm(FormValidationAction):
    """Fills the profile from entities, from words the NLU did not tag, and from yes/no answers."""

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self._vocabulary = vocabulary

    @property
    def vocabulary(self) -> Vocabulary:
        return self._vocabulary or get_vocabulary()

    def name(self) -> str:
        return "validate_eligibility_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        subject = tracker.get_slot("subject_type")
        if subject and subject not in ("enterprise", UNKNOWN):
            return [s for s in domain_slots if s != "hightech"]  # the high-tech condition is for enterprises
        return domain_slots

    # extraction: what the NLU left out ----------------------------------------------------------

    def _from_text(self, tracker: Tracker, slot: str) -> dict[str, Any]:
        text = user_text(tracker)
        if not text or list(tracker.get_latest_entity_values(slot)):
            return {}
        if found := self.vocabulary.best(text, slot):
            return {slot: found}
        if tracker.get_slot("requested_slot") != slot:
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if _DONT_KNOW.search(text):
            return {slot: UNKNOWN}
        if slot == "hightech" and intent == "affirm":
            return {slot: "certified"}
        if slot == "hightech" and intent == "deny":
            return {slot: "none"}
        if slot == "registration" and intent == "affirm":
            return {slot: "zgc"}
        return {}

    async def extract_subject_type(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        return self._from_text(tracker, "subject_type")

    async def extract_registration(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        return self._from_text(tracker, "registration")

    async def extract_hightech(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any]:
        return self._from_text(tracker, "hightech")

    # validation: codes only ---------------------------------------------------------------------

    def _code(self, slot: str, value: Any) -> str | None:
        if value is None:
            return None
        values = value if isinstance(value, list) else [value]
        codes = [str(v) if str(v) == UNKNOWN or str(v) in VALID[slot] else self.vocabulary.code(slot, str(v))
                 for v in values]
        return preferred(slot, [c for c in codes if c])

    async def validate_subject_type(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> dict[str, Any]:
        code = self._code("subject_type", value)
        return {"subject_type": code if code in VALID["subject_type"] | {UNKNOWN} else None}

    async def validate_registration(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> dict[str, Any]:
        code = self._code("registration", value)
        if code == "beijing":
            dispatcher.utter_message(text=_BEIJING_HINT)
            return {"registration": None}
        return {"registration": code if code in VALID["registration"] | {UNKNOWN} else None}

    async def validate_hightech(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        code = self._code("hightech", value)
        return {"hightech": code if code in VALID["hightech"] | {UNKNOWN} else None}


class ActionAskRegistration(PolicyAction):
    def name(self) -> str:
        return "action_ask_registration"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(text="贵单位注册在中关村示范区范围内吗？", buttons=registration_buttons())
        return []


def profile_of(tracker: Tracker) -> dict[str, str | None]:
    """The profile for the store: "unknown" answers count as not known."""
    out: dict[str, str | None] = {}
    for slot in PROFILE:
        value = tracker.get_slot(slot)
        out[slot] = value if isinstance(value, str) and value in VALID[slot] else None
    if out["hightech"] == "certified":
        out["hightech"] = "national"  # either certificate meets the condition; the user did not say which
    return out


def describe_verdict(verdict: Verdict, profile: dict[str, str | None]) -> str:
    who = SUBJECT_NAMES.get(profile.get("subject_type") or "", "贵单位")
    lines = {
        "eligible": f"初步判断：贵单位（{who}）属于文件规定的支持对象，可以申报。",
        "not_eligible": "初步判断：按文件规定，贵单位目前不属于支持对象。",
        "reference": "初步判断：贵单位注册在北京市其他地区，按文件“参照执行”——不是直接适用，也不是不能申报，需向主管部门确认。",
        "unknown": "初步判断：还有条件需要确认。",
    }
    out = [lines[verdict.outcome]]
    for c in verdict.conditions:
        out.append(f"{ICONS[c.status]} {c.label}：{STATUS_WORDS[c.status]}")
    if verdict.outcome == "eligible":
        out.append("具体项目还须符合对应资金管理办法和申报指南的要求。")
    if verdict.outcome == "not_eligible" and any(c.code == "hightech" and c.status == "not_met"
                                                 for c in verdict.conditions):
        out.append("企业须先取得国家高新技术企业或中关村高新技术企业资质。")
    return "\n".join(out)


class ActionCheckEligibility(PolicyAction):
    """A verdict per condition of section 三（一）, with the words each rests on."""

    def name(self) -> str:
        return "action_check_eligibility"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        profile = profile_of(tracker)
        verdict = await self.call(self.store.check_eligibility, profile)
        quotes = list(dict.fromkeys(c.quote for c in verdict.conditions))
        next_steps = steps("materials", "need") if verdict.outcome in ("eligible", "reference") else steps("human")
        say(dispatcher, describe_verdict(verdict, profile),
            citations=[(verdict.citation, "……".join(quotes), verdict.section_id)], buttons=next_steps)
        record = {"outcome": verdict.outcome,
                  "conditions": [{"code": c.code, "label": c.label, "status": c.status, "value": c.value}
                                 for c in verdict.conditions],
                  "citation": verdict.citation}
        return [SlotSet("eligibility_verdict", record)]
