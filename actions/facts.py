"""Facts of the document itself, what it does not say, and policies it does not cover."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import HOTLINE, say, steps
from actions.base import PolicyAction, user_text
from actions.policy_search import ActionSearchPolicy
from bot.knowledge.store import DocumentInfo, FactInfo

HEADER_FACTS = ("doc_number", "issuers", "issue_date", "effective_date", "repealed")


def header_answer(doc: DocumentInfo, fact: str) -> tuple[str, str]:
    """(answer, quoted words) for a fact read from the document's header."""
    title = f"《{doc.title}》"
    if fact == "doc_number":
        return f"{title}的文号是{doc.doc_number}。", doc.doc_number or ""
    if fact == "issuers":
        who = "、".join(doc.issuers)
        return f"{title}由{who}联合印发。", who
    if fact == "issue_date":
        day = f"{doc.issued.year}年{doc.issued.month}月{doc.issued.day}日" if doc.issued else "（文件未写明）"
        return f"{title}的印发日期是{day}。", day
    if fact == "effective_date":
        when = doc.effective or "文件未写明施行日期"
        day = (f"，即{doc.effective_date.year}年{doc.effective_date.month}月{doc.effective_date.day}日"
               if doc.effective_date else "")
        return f"本措施{when}{day}。", when
    repeals = "；".join(f"《{r['title']}》（{r['number']}）" for r in doc.repeals)
    return (f"本措施施行后，以下文件同时废止：{repeals}。" if repeals else "文件没有写明废止其他文件。"), repeals


class ActionAnswerDocFact(PolicyAction):
    def name(self) -> str:
        return "action_answer_doc_fact"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        fact = self.latest(tracker, "fact")
        doc = await self.call(self.store.document)
        if fact in HEADER_FACTS:
            text, quote = header_answer(doc, fact)
            section = doc.id
            if fact in ("effective_date", "repealed"):
                words = "起施行" if fact == "effective_date" else "废止"
                section = await self.call(self.store.section_containing, words) or doc.id
            citation = await self.call(self.store.section_citation, section)
            say(dispatcher, text, citations=[(citation, quote, section)], buttons=steps("funds", "need"))
            return []
        facts: dict[str, FactInfo] = await self.call(self.store.facts)
        if fact in facts:
            f = facts[fact]
            say(dispatcher, f"文件规定：「{f.quote}」。", citations=[(f.citation, f.quote, f.section_id)],
                buttons=steps("funds", "need"))
            return []
        return await ActionSearchPolicy(self._store, self._vocabulary).answer(dispatcher, tracker, domain)


class ActionAnswerUnstated(PolicyAction):
    """Amounts, deadlines, windows, where to submit: the document does not say; never guess."""

    def name(self) -> str:
        return "action_answer_unstated"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        doc = await self.call(self.store.document)
        code = self.current(tracker, "fund")
        fund = await self.call(self.store.fund, code) if code else None
        where = f"《{fund.name}》" if fund else "对应的支持资金管理办法"
        silent = "、".join(doc.silent_on) or "支持金额和申报时间"
        dispatcher.utter_message(
            text=(f"{doc.ref}没有规定{silent}。这些由{where}和当年发布的申报指南确定，"
                  f"请以北京市科委、中关村管委会发布的官方申报通知为准；也可以转人工或拨打{HOTLINE}咨询。"),
            buttons=steps("materials", "human"))
        return [SlotSet("unanswered_question", user_text(tracker) or None)]


class ActionAnswerOtherPolicy(PolicyAction):
    def name(self) -> str:
        return "action_answer_other_policy"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        doc = await self.call(self.store.document)
        term = self.vocabulary.other_policy_in(user_text(tracker))
        topic = f"“{term}”" if term else "这项政策"
        dispatcher.utter_message(
            text=(f"{doc.ref}（中关村支持资金政策）没有涉及{topic}，我不能替其他政策作答。"
                  f"请咨询{HOTLINE}市民服务热线或转人工。"),
            buttons=steps("human", "funds"))
        return [SlotSet("unanswered_question", user_text(tracker) or None)]

