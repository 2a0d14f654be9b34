"""Materials to prepare for a fund or a measure. The document lists no application materials: what is shown is
what follows from its clauses (each with the clause), apart from what is only typical (confirm with the 申报指南)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import GUIDE_HINT, button, source_line, steps
from actions.base import PolicyAction, user_text
from actions.eligibility import profile_of
from bot.knowledge.store import MATERIAL_LABELS


CLAUSE_LABEL = MATERIAL_LABELS["clause"]
TYPICAL_LABEL = MATERIAL_LABELS["typical"]


def checklist(items: list, cite: bool = True) -> list[str]:  # type: ignore[type-arg]
    """The materials, the ones tied to a clause first (with their clause when ``cite``), then the typical ones."""
    stated = [i for i in items if i.source == "clause"]
    typical = [i for i in items if i.source == "typical"]
    lines: list[str] = []
    if stated:
        lines.append(f"{CLAUSE_LABEL}：")
        lines += [f"☐ {i.name}（依据{short_ref(i.citation)}）" if cite else f"☐ {i.name}" for i in stated]
    if typical:
        lines.append(f"{TYPICAL_LABEL}：")
        lines += [f"☐ {i.name}" for i in typical]
    return [*lines, GUIDE_HINT, source_line(i.citation for i in stated)]


def short_ref(citation: str | None) -> str:
    """"京科发〔2022〕4号 三（一）「资金来源及支持对象」" → "三（一）"."""
    if not citation:
        return "文件"
    return citation.split(" ", 1)[-1].split("「", 1)[0]


class ActionListMaterials(PolicyAction):
    checks_scope = True

    def name(self) -> str:
        return "action_list_materials"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        """"我们是协会 在示范区 能报吗 要啥材料", "民非能报吗？要不要高新资质": who may apply leads, and its action
        lists the materials beside it (actions/compound.py)."""
        text = user_text(tracker)
        from actions.eligibility import (ActionRouteEligibility, asks_kind_rule, asks_own_case, corrects_verdict,
                                         describes_own_case)

        if text and corrects_verdict(tracker, self.vocabulary):  # "证书三月份已经过期了 复审材料还没交"
            from actions.funds import ActionHandleProfileFacts

            return await ActionHandleProfileFacts(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        if text and (asks_own_case(tracker, self.vocabulary) or asks_kind_rule(self.vocabulary, text)
                     or describes_own_case(tracker, self.vocabulary)):
            return await ActionRouteEligibility(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        doc = await self.call(self.store.document)
        if text and (topic := doc.unstated_topic(text)) and topic["code"] not in ("materials",):
            # "材料交纸质的还是网上交": how to hand them in, which the document does not say either
            from actions.unstated import answer_unstated

            return await answer_unstated(self, dispatcher, tracker, topic)
        return await self.answer_list(dispatcher, tracker, domain)

    async def answer_list(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> list[EventType]:
        """The materials for the fund or measure in question (or which fund to list them for)."""
        number = self.latest(tracker, "measure")
        fund_code = self.latest(tracker, "fund")
        measure = await self.call(self.store.measure, int(number)) if number else None
        if measure and not fund_code:
            fund_code = measure.fund_code
        fund_code = fund_code or tracker.get_slot("fund") or tracker.get_slot("suggested_fund")
        fund = await self.call(self.store.fund, fund_code) if fund_code else None
        text = user_text(tracker)
        if fund is None and text and self.vocabulary.find(text, "topic"):
            # "人才公寓怎么申请，要啥条件": the measure for that need first, then what the document leaves open
            from actions.funds import ActionRecommendFund

            events = await ActionRecommendFund(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
            dispatcher.utter_message(text="文件没有写明申请流程和材料清单，以对应资金管理办法和当年申报指南为准；"
                                          "谁可以申报见三（一）。", buttons=steps("eligibility", "human"))
            return events
        if fund is None and text:
            doc = await self.call(self.store.document)
            topic = doc.unstated_topic(text)
            if topic and topic["code"] != "materials":  # "补贴款要交税吗", "需要企业自己出配套资金吗"
                from actions.unstated import answer_unstated

                return await answer_unstated(self, dispatcher, tracker, topic)
        if fund is None:
            funds = await self.call(self.store.funds)
            dispatcher.utter_message(text="文件没有列出申报材料清单（完整材料以各资金的申报指南为准）。您想申报哪项资金？我列出与文件条款相关的材料和常见材料。",
                                     buttons=[button(f.short_name, "ask_materials", fund=f.code) for f in funds])
            return []
        subject = profile_of(tracker)["subject_type"]
        items = await self.call(self.store.materials, fund.code, measure.number if measure else None, subject)
        target = f"第{measure.number}条“{measure.title}”" if measure else f"【{fund.short_name}】资金"
        lines = [f"文件没有列出申报材料清单，完整材料以申报指南为准。申报{target}，建议准备：", *checklist(items)]
        dispatcher.utter_message(text="\n".join(line for line in lines if line), buttons=steps("eligibility", "human"),
                                 json_message={
                                     "type": "materials",
                                     "fund": fund.short_name,
                                     "measure": measure.number if measure else None,
                                     "labels": MATERIAL_LABELS,
                                     "items": [{"name": i.name, "source": i.source, "citation": i.citation,
                                                "quote": i.quote, "section_id": i.section_id} for i in items],
                                 })
        return [SlotSet("fund", fund.code), SlotSet("materials_shown", [i.name for i in items])]
